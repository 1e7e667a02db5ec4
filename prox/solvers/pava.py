"""Solver ``"pava"``: sort + pool-adjacent-violators, in Numba (the reference fast path).

Algorithm (docs/maths.md, 'Algorithms', sort + PAVA), per row of length d:

1. Sort with permutation through packed uint64 keys (``_sort_keys``): one
   radix-sorted array of integers gives both the sorted values and the order.
   float32 values are read back from the keys' high bits; float64 values are
   gathered into sorted order by one branch-free pass first (staged in the
   output row), so their cache misses overlap instead of stalling the stack pass.
2. One forward stack pass over the sorted transform ``z_k = x_k + lam * c_k``
   (``transform.velocity_jit``): push ``z_k`` as a block, then pool it with the
   block before it while that block's mean is not below it.
3. One backward pass over the final blocks scatters each block mean to the
   original positions of its members.

Work O(d log d) (the sort) + O(d); depth O(d) (sequential). Batches of at most
``ONE_CALL_SIZE`` entries run all steps in one compiled call (numba's sort instead
of numpy's), so a short row pays one call's fixed cost, not four;
``prox_short_checked`` adds the dispatcher's input checks to that call (the
fast path of ``prox_ws``).

Memory. The kernel keeps its block stack inside the key buffer it has already
read (the stack never outgrows the number of elements read), so besides input
and output it needs only the uint64 keys: for float32 input the permutation is
parked in the output buffer until the scatter, i.e. about 4x the input's bytes
in all.  Deviation from textbook PAVA: blocks are stored at their LAST element
(mean of its sorted values there, start index just before it, or a "singleton" flag bit on the
permutation entry) instead of in a separate stack.
"""
from __future__ import annotations

import numba
import numpy as np

from .._arrays import _largest_magnitude_flat
from ..scaling import outside_window_jit, pooled_mean_jit, safe_window
from ..transform import run_velocity_jit, velocity_jit
from ..validation import _finite_sum_is_zero
from ._sort_keys import index_bits_for, pack_keys, repair_truncated_runs, sorted_keys

__all__ = ["prox_pava_rows", "pava_kernel", "prox_short_checked", "short_index_bits"]

_U64 = np.uint64


@numba.njit(cache=True)
def pava_kernel(keys, values, lam, order, out, index_bits):
    """Pool adjacent violators on sorted packed keys and scatter the fit.

    Block means are kept for the sorted values x; the fit of a block of ranks
    [s, e] is ``mean(x) + lam * velocity((s + e) / 2)`` (c is affine in the rank).

    keys   : uint64 (rows, d), each row sorted exactly (after repair); destroyed
    values : float32/float64 (rows, d), the rows the keys were packed from
    order  : int32/int64 (rows, d) scratch; may be ``out`` viewed as int32 when
             ``out`` is float32 (then the fit is staged in ``keys`` first)
    out    : float32/float64 (rows, d), receives prox rows in original order
    """
    rows, d = keys.shape
    shift = _U64(index_bits)
    mask = (_U64(1) << shift) - _U64(1)
    single = values.itemsize == 4
    aliased = order.itemsize == 4 and out.itemsize == 4
    flag = order.dtype.type(1) << (order.itemsize * 8 - 2)  # "singleton block here"
    # Scalar bit casts between float32 and uint32 go through one-element views.
    cast_u32 = np.empty(1, np.uint32)
    cast_f32 = cast_u32.view(np.float32)
    for r in range(rows):
        keys_row = keys[r]
        store = keys_row.view(np.float64)   # block mean at the block's last slot
        starts = keys_row.view(np.int64)    # block start one slot before that
        order_row = order[r]
        if not single:
            # Gather the sorted values first, in a branch-free pass that keeps
            # many cache misses in flight (inside the stack pass, mispredicted
            # branches would throw them away). They wait in ``out``'s row,
            # which the scatter below overwrites only after this pass read it.
            for k in range(d):
                out[r, k] = values[r, np.int64(keys_row[k] & mask)]
        # Forward pass: stack PAVA on z_k = x_k + lam * c_k.
        for k in range(d):
            key = keys_row[k]
            index = np.int64(key & mask)
            if single:
                high = key >> _U64(32)
                if high & _U64(0x80000000):
                    high ^= _U64(0x80000000)
                else:
                    high ^= _U64(0xFFFFFFFF)
                cast_u32[0] = np.uint32(high)
                x = np.float64(cast_f32[0])
            else:
                x = np.float64(out[r, k])
            # Blocks keep the mean of their sorted values; the mean of z over
            # ranks [start, end] adds lam * c at the mean rank, since c is affine
            # in the rank. Same maths as summing z, without summing lam * c.
            mean = x
            start = k
            size = 1
            fit = x + lam * velocity_jit(k, d)
            while start > 0:
                prev_end = start - 1
                if order_row[prev_end] & flag:
                    prev_start = prev_end
                else:
                    prev_start = starts[prev_end - 1]
                prev_mean = store[prev_end]
                prev_fit = prev_mean + lam * run_velocity_jit(prev_start, prev_end + 1, d)
                if prev_fit < fit:
                    break
                if prev_start == prev_end:
                    order_row[prev_end] ^= flag
                prev_size = prev_end - prev_start + 1
                mean = pooled_mean_jit(prev_mean, prev_size, mean, size)
                start = prev_start
                size += prev_size
                fit = mean + lam * run_velocity_jit(start, k + 1, d)
            order_row[k] = index | flag if start == k else index
            store[k] = mean
            if start < k:
                starts[k - 1] = start
        # Backward pass over the final blocks: scatter (or stage) the means.
        end = d - 1
        while end >= 0:
            start = end if order_row[end] & flag else starts[end - 1]
            mean = store[end] + lam * run_velocity_jit(start, end + 1, d)
            for k in range(start, end + 1):
                index = order_row[k] & ~flag
                if aliased:
                    cast_f32[0] = np.float32(mean)
                    keys_row[k] = (_U64(cast_u32[0]) << _U64(32)) | _U64(index)
                else:
                    out[r, index] = mean
            end = start - 1
        if aliased:
            # The permutation lived in ``out``; now that it is staged in the keys,
            # write the float32 fit over it.
            for k in range(d):
                key = keys_row[k]
                cast_u32[0] = np.uint32(key >> _U64(32))
                out[r, np.int64(key & _U64(0xFFFFFFFF))] = cast_f32[0]


@numba.njit(cache=True)
def _pava_in_one_call(rows, lam, index_bits):
    # The steps of prox_pava_rows in one compiled call (allocations included),
    # for batches so small that the fixed cost of each call from Python would
    # dominate: numba's in-kernel sort stands in for numpy's.
    out = np.empty_like(rows)
    if rows.itemsize == 4:
        order = out.view(np.int32)
    else:
        order = np.empty(rows.shape, np.int32)
    keys = np.empty(rows.shape, np.uint64)
    if rows.itemsize == 4:
        pack_keys(rows.view(np.uint32), index_bits, keys)
    else:
        pack_keys(rows.view(np.uint64), index_bits, keys)
    for r in range(rows.shape[0]):
        keys[r].sort()
    if rows.itemsize == 8:
        repair_truncated_runs(keys, rows, index_bits)
    pava_kernel(keys, rows, lam, order, out, index_bits)
    return out


#: Batches of at most this many entries are solved in one compiled call.
ONE_CALL_SIZE = 2048

#: Status codes of :func:`prox_short_checked`: the prox is returned; ``w`` has a
#: NaN or an infinite entry; ``max(max|w|, lam)`` needs the overflow guard.
SHORT_DONE, SHORT_NOT_FINITE, SHORT_NEEDS_SCALING = 0, 1, 2
# The window of magnitudes that need no overflow guard. Numpy kernels compute
# in float64 whatever the input dtype, so float64's window serves both.
_SAFE_UPPER, _SAFE_LOWER = safe_window(np.float64)


@numba.njit(cache=True)
def short_index_bits(d):
    """:func:`index_bits_for` compiled (Numba has no ``int.bit_length``): the
    fewest bits, at least 1, that hold every index ``0 .. d-1``."""
    bits = 1
    while (1 << bits) < d:
        bits += 1
    return bits


@numba.njit(cache=True)
def prox_short_checked(w, lam):
    """``(status, prox)`` of a short batch, with the dispatcher's checks, in one compiled call.

    ``w``: C-contiguous float32/float64 ndarray, 1-D or 2-D, of at most
    :data:`ONE_CALL_SIZE` entries (not modified); ``lam``: a float, finite and
    >= 0. The steps and their order are the dispatcher's: finiteness of ``w``,
    the identity for rows of length <= 1 or ``lam == 0`` (a copy), the
    overflow-guard test on ``max(max|w|, lam)``, then :func:`_pava_in_one_call`. Status
    :data:`SHORT_DONE` comes with the prox of each row (shape of ``w``);
    :data:`SHORT_NOT_FINITE` and :data:`SHORT_NEEDS_SCALING` with an unused
    array: the caller then takes the general path, which raises or scales.
    One call from Python instead of four saves microseconds on short rows.
    """
    flat = w.ravel()
    if not _finite_sum_is_zero(flat):
        return SHORT_NOT_FINITE, np.empty_like(w)
    d = w.shape[-1]
    if d <= 1 or lam == 0.0:
        return SHORT_DONE, w.copy()
    if outside_window_jit(max(_largest_magnitude_flat(flat), lam), _SAFE_UPPER, _SAFE_LOWER):
        return SHORT_NEEDS_SCALING, np.empty_like(w)
    out = _pava_in_one_call(flat.reshape((flat.size // d, d)), lam, short_index_bits(d))
    return SHORT_DONE, out.reshape(w.shape)


def prox_pava_rows(rows: np.ndarray, lam: float):
    """Prox of every row of a C-contiguous float32/float64 array (not modified).

    Returns ``(out, None)``: a new array of the same dtype and no round count
    (the algorithm is sequential).
    """
    n_rows, d = rows.shape
    single = rows.dtype.char == "f"
    if 2 <= d and rows.size <= ONE_CALL_SIZE:
        return _pava_in_one_call(rows, float(lam), index_bits_for(d)), None
    out = np.empty_like(rows)
    if d <= 1 or rows.size == 0:
        out[...] = rows
        return out, None
    if single:
        order = out.view(np.int32)
    else:
        order = np.empty(rows.shape, np.int32 if d < 2**30 else np.int64)
    keys, index_bits = sorted_keys(rows)
    pava_kernel(keys, rows, float(lam), order, out, index_bits)
    return out, None
