"""OWL solver ``"pava"``: sort the magnitudes, one stack pass, in Numba.

Per row of length d (the maths of :mod:`prox.owl`):

1. sort ``|w|`` ascending with its permutation through packed uint64 keys, as
   the weight-sharing ``pava`` does (:mod:`prox.solvers._sort_keys`): the key of entry
   ``i`` is the order-preserving bit pattern of ``|w_i|`` (the sign bit cleared,
   no ``abs`` array for float32) with ``i`` in its low bits, radix-sorted;
2. the magnitude of ascending rank ``j`` is paired with ``theta[d-1-j]`` (the
   largest magnitude gets the largest weight); one forward stack pass of
   pool-adjacent-violators gives the non-decreasing fit of
   ``z_j = |w|_(j) - theta[d-1-j]``;
3. one backward pass over the blocks clips each block mean at 0 and writes it,
   with the sign of ``w``, to the original positions. Both come from the keys:
   the forward pass rewrites each key it has read as index + sign bit.

Ascending order with a non-decreasing fit is the same problem as the textbook
descending order with a non-increasing fit, read backwards.

Work O(d log d) (the sort) + O(d); sequential. Memory besides input and
output: the uint64 keys (plus the radix sort's one-row scratch), a block stack
of one float64 and one int64 per entry of a row, and for float64 input an
``abs`` copy that the sort's repair of truncated keys compares.
"""
from __future__ import annotations

import numba
import numpy as np

from ..scaling import pooled_mean_jit
from ..solvers._sort_keys import check_packable, index_bits_for, repair_truncated_runs, sort_keys

__all__ = ["owl_pava_kernel", "prox_owl_pava_rows"]

_U64 = np.uint64


@numba.njit(cache=True)
def _pack_magnitude_keys(bits, index_bits, keys):
    """``keys[r, i]``: the order-preserving key of ``|w[r, i]|`` (from its bits) and ``i``."""
    rows, d = bits.shape
    shift = _U64(index_bits)
    single = bits.itemsize == 4
    for r in range(rows):
        for i in range(d):
            if single:
                # Clear the sign bit, set it as the flip of a non-negative float;
                # park the sign at bit 31, between the index (< 2**30) and the
                # value bits: the radix sort reads only bits 32..63 of float32
                # keys, and numpy's sort (short rows) only reorders equal |w| by it.
                key = (_U64(bits[r, i]) | _U64(0x80000000)) << _U64(32)
                sign = (_U64(bits[r, i]) >> _U64(31)) << _U64(31)
                keys[r, i] = ((key >> shift) << shift) | sign | _U64(i)
            else:
                key = _U64(bits[r, i]) | (_U64(1) << _U64(63))
                keys[r, i] = ((key >> shift) << shift) | _U64(i)


@numba.njit(cache=True)
def owl_pava_kernel(rows, keys, index_bits, theta, out):
    """Write ``prox_{OWL_theta}`` of every row of ``rows`` into ``out``.

    rows  : float32/float64 (n, d), the input
    keys  : uint64 (n, d), each row the sorted magnitude keys of that row; the
            forward pass overwrites each with its index and the sign of w at bit 63
    theta : float64 (d,), non-increasing, >= 0
    out   : float32/float64 (n, d), written
    """
    n, d = keys.shape
    mask = (_U64(1) << _U64(index_bits)) - _U64(1)
    means = np.empty(d)
    starts = np.empty(d, np.int64)
    single = rows.itemsize == 4
    # float32 magnitudes are whole in the keys' high bits: read them there, in
    # order, instead of at a random index (a one-element view casts the bits).
    cast_u32 = np.empty(1, np.uint32)
    cast_f32 = cast_u32.view(np.float32)
    for r in range(n):
        if not single:
            # Gather the sorted entries first, in a branch-free pass that keeps
            # many cache misses in flight; they wait in ``out``'s row, which the
            # backward pass overwrites only after the forward pass read it.
            for j in range(d):
                out[r, j] = rows[r, np.int64(keys[r, j] & mask)]
        top = 0
        for j in range(d):
            key = keys[r, j]
            index = key & mask
            if single:
                cast_u32[0] = np.uint32((key >> _U64(32)) ^ _U64(0x80000000))
                magnitude = np.float64(cast_f32[0])
                negative = (key >> _U64(31)) & _U64(1)
            else:
                value = np.float64(out[r, j])
                magnitude = abs(value)
                negative = _U64(1) if value < 0 else _U64(0)
            # The backward pass needs only where the entry goes and its sign:
            # keep both in the key just read, so it never reads ``rows`` at random.
            keys[r, j] = index | (negative << _U64(63))
            mean = magnitude - theta[d - 1 - j]
            start = j
            size = 1
            # Pool while the block before is not below this one (>=: equal
            # neighbours pool too, so ties form one block).
            while top > 0 and means[top - 1] >= mean:
                top -= 1
                previous_size = start - starts[top]
                mean = pooled_mean_jit(means[top], previous_size, mean, size)
                size += previous_size
                start = starts[top]
            means[top] = mean
            starts[top] = start
            top += 1
        end = d
        for block in range(top - 1, -1, -1):
            value = max(means[block], 0.0)
            for j in range(starts[block], end):
                key = keys[r, j]
                out[r, np.int64(key & mask)] = -value if key >> _U64(63) else value
            end = starts[block]


def prox_owl_pava_rows(rows: np.ndarray, theta: np.ndarray):
    """OWL prox of every row of a C-contiguous float32/float64 array (not modified).

    A rows kernel ``(rows, theta) -> (out, None)`` as in :mod:`prox._registry`,
    with a validated float64 ``theta`` of shape (d,) instead of ``lam``.
    """
    out = np.empty_like(rows)
    if rows.size == 0:
        return out, None
    d = rows.shape[-1]
    single = rows.dtype == np.float32
    check_packable(d, single)
    index_bits = index_bits_for(d)
    rows = np.ascontiguousarray(rows)
    keys = np.empty(rows.shape, np.uint64)
    _pack_magnitude_keys(rows.view(np.uint32 if single else np.uint64), index_bits, keys)
    sort_keys(keys, index_bits, 32 if single else 64)
    if not single:
        # Keys lost their lowest bits to the index: re-sort equal runs by |w|.
        repair_truncated_runs(keys, np.abs(rows), index_bits)
    owl_pava_kernel(rows, keys, index_bits, np.ascontiguousarray(theta, np.float64), out)
    return out, None
