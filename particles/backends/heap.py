"""An indexed 4-ary min-heap of pair times in flat arrays, for the Numba event loops.

Entries are ``(htime[slot], hpair[slot])`` ordered by (time, pair name)
lexicographically, so exactly simultaneous events pop in name order
(deterministic whatever the heap's shape). ``pos[pair]`` is the slot of a
pair's entry (-1 when it has none), so an entry whose time changed is moved
in place -- up or down -- instead of leaving a stale copy behind. Four children
per node: half the levels of a binary heap, one cache line of children.
"""
from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch", "before", "sink", "place", "push", "remove", "heapify"]

_ARITY = 4

@intrinsic
def prefetch(typingctx, array, index):
    """Hint the CPU to load ``array[index]`` into cache (LLVM's llvm.prefetch).

    A hint only: no bounds check, no fault, no effect on any value.
    """
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [args[1]],
                                           wraparound=False, boundscheck=False)
        bytes_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [bytes_pointer, int32, int32, int32]),
            "llvm.prefetch.p0i8")
        builder.call(function, [builder.bitcast(pointer, bytes_pointer), ir.Constant(int32, 0),
                                ir.Constant(int32, 3), ir.Constant(int32, 1)])
        return context.get_dummy_value()
    return types.void(array, index), codegen


@numba.njit(inline="always", cache=True)
def before(time_1, left_1, time_2, left_2):
    # Heap order: (time, left head) lexicographically.
    return time_1 < time_2 or (time_1 == time_2 and left_1 < left_2)


@numba.njit(cache=True)
def sink(htime, hpair, pos, slot, size):
    """Move the entry at ``slot`` down to its place (hole-based sift-down)."""
    time, pair = htime[slot], hpair[slot]
    while True:
        first = _ARITY * slot + 1
        if first >= size:
            break
        # Earliest child, selected without data-dependent branches (the
        # comparisons are unpredictable; conditional moves are not).
        best, best_time, best_pair = first, htime[first], hpair[first]
        for child in range(first + 1, min(first + _ARITY, size)):
            child_time, child_pair = htime[child], hpair[child]
            take = (child_time < best_time) | ((child_time == best_time) & (child_pair < best_pair))
            best = child if take else best
            best_time = child_time if take else best_time
            best_pair = child_pair if take else best_pair
        if not before(best_time, best_pair, time, pair):
            break
        htime[slot], hpair[slot] = best_time, best_pair
        pos[best_pair] = slot
        slot = best
    htime[slot], hpair[slot] = time, pair
    pos[pair] = slot


@numba.njit(cache=True)
def place(htime, hpair, pos, slot, size):
    """Move the entry at ``slot`` (whose key changed) up or down to its place."""
    time, pair = htime[slot], hpair[slot]
    start = slot
    while slot > 0:
        parent = (slot - 1) // _ARITY
        if not before(time, pair, htime[parent], hpair[parent]):
            break
        htime[slot], hpair[slot] = htime[parent], hpair[parent]
        pos[hpair[slot]] = slot
        slot = parent
    htime[slot], hpair[slot] = time, pair
    pos[pair] = slot
    if slot == start:
        sink(htime, hpair, pos, slot, size)


@numba.njit(cache=True)
def push(htime, hpair, pos, pair, time, size):
    htime[size], hpair[size] = time, pair
    place(htime, hpair, pos, size, size + 1)
    return size + 1


@numba.njit(cache=True)
def remove(htime, hpair, pos, slot, size):
    """Delete the entry at ``slot`` (the root for a pop); return the new size."""
    pos[hpair[slot]] = -1
    size -= 1
    if slot < size:
        htime[slot], hpair[slot] = htime[size], hpair[size]
        pos[hpair[slot]] = slot
        place(htime, hpair, pos, slot, size)
    return size


@numba.njit(cache=True)
def heapify(htime, hpair, pos, size):
    """Order the first ``size`` entries into a heap, O(size)."""
    for slot in range((size - 2) // _ARITY, -1, -1):
        sink(htime, hpair, pos, slot, size)
