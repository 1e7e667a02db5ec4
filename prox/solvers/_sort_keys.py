"""Sort-with-permutation through packed integer keys (Numba).

``numpy.argsort`` is several times slower than ``numpy.sort``. Packing each
value's order-preserving bit pattern and its index into ONE uint64 lets a plain
``numpy.sort`` of integers return both the sorted values and the permutation:

    key = (flip(bits(w_i)) >> index_bits << index_bits) | i

``flip`` maps IEEE-754 bit patterns to unsigned integers in the order of the
floats (negative: invert all bits; non-negative: set the sign bit).

* float32 values have 32 key bits, so with ``index_bits <= 32`` the key keeps
  them whole and the sort is exact.
* float64 values lose their lowest ``index_bits`` bits. Entries that differ
  only there land in one run of equal truncated keys, ordered by index;
  :func:`repair_truncated_runs` re-sorts each such run by the full value.
  For random data runs are rare and short; the repair is O(d) plus the sort of
  the runs.

The keys themselves are sorted by :func:`sort_keys`: an LSD radix sort on the
bits above the index (the index bits are already in increasing order and the
radix sort is stable, so they need no pass), or ``numpy.sort`` in place for
short rows and for very long ones, where the radix sort's scratch buffer would
push peak memory past ~5x the input.

Which sort in between is chosen per machine, once (like FFTW's planner):
where numpy's integer sort is SIMD-accelerated (x86-simd-sort with AVX-512)
it beats the radix sort, elsewhere the radix sort wins. On the first sort of
a row in that range, :func:`sort_plan` times both on 2^20 packed keys of
random normal values of that row's width (float32 keys need fewer radix
passes than float64 ones, so each width is planned on its own; best of 3,
about 0.2 s once per width and process) and caches the faster in a module
variable. ``WS_SORT=radix`` or
``WS_SORT=numpy`` in the environment skips the timing and forces a path.
Both paths sort the same keys, so they give identical results; numpy sorts
in place, so the peak-memory bound only gets lower.
"""
from __future__ import annotations

import os
import time

import numba
import numpy as np

__all__ = [
    "index_bits_for", "packable", "check_packable", "pack_keys", "sort_keys",
    "repair_truncated_runs", "sorted_keys", "sort_with_order", "sort_plan", "SORT_PATHS",
]

_U64 = np.uint64

#: Digit width of the radix sort: 2**11 counters fit in L1 cache.
RADIX_BITS = 11
#: Rows shorter than this are sorted by numpy (the counters would dominate).
RADIX_MIN_LENGTH = 1 << 12
#: Rows longer than this are sorted in place by numpy to bound peak memory.
RADIX_MAX_LENGTH = 1 << 25


def index_bits_for(d: int) -> int:
    """Number of low key bits that hold an index in ``[0, d)`` (at least 1)."""
    return max(1, int(d - 1).bit_length())


def packable(d: int, single: bool) -> bool:
    """Whether rows of length ``d`` fit the packed keys.

    The index takes at most 32 bits (float64 keys keep at least their top 32
    value bits) and, for float32 (``single``), stays below 2**30: the kernels
    keep flags (a block's singleton mark, the sign of w) in bits 30 and 31.
    """
    return index_bits_for(d) <= 32 and not (single and d >= 2**30)


def check_packable(d: int, single: bool) -> None:
    """ValueError unless rows of length ``d`` fit the packed keys (:func:`packable`)."""
    if not packable(d, single):
        raise ValueError(f"rows of length {d} are too long for the packed-key sort")


@numba.njit(cache=True)
def _flip32(bits):
    if bits & _U64(0x80000000):
        return bits ^ _U64(0xFFFFFFFF)
    return bits | _U64(0x80000000)


@numba.njit(cache=True)
def _flip64(bits):
    if bits >> _U64(63):
        return ~bits
    return bits | (_U64(1) << _U64(63))


@numba.njit(cache=True)
def pack_keys(bits, index_bits, keys):
    """Fill ``keys[r, i]`` with the packed key of ``bits[r, i]`` (see module doc).

    bits : uint32 (float32 data) or uint64 (float64 data), shape (rows, d), C order
    keys : uint64, shape (rows, d), written
    """
    rows, d = bits.shape
    shift = _U64(index_bits)
    single = bits.itemsize == 4
    for r in range(rows):
        for i in range(d):
            if single:
                key = _flip32(_U64(bits[r, i])) << _U64(32)
            else:
                key = _flip64(_U64(bits[r, i]))
            keys[r, i] = ((key >> shift) << shift) | _U64(i)


@numba.njit(cache=True)
def _sort_run(keys_row, values_row, start, stop, mask):
    # Re-sort keys_row[start:stop] (equal truncated keys) by the full value.
    n = stop - start
    if n <= 16:
        # Insertion sort: strict comparison keeps equal values in index order.
        for a in range(start + 1, stop):
            key = keys_row[a]
            value = values_row[np.int64(key & mask)]
            b = a - 1
            while b >= start and values_row[np.int64(keys_row[b] & mask)] > value:
                keys_row[b + 1] = keys_row[b]
                b -= 1
            keys_row[b + 1] = key
        return
    run = keys_row[start:stop].copy()
    run_values = np.empty(n, values_row.dtype)
    for a in range(n):
        run_values[a] = values_row[np.int64(run[a] & mask)]
    for a, j in enumerate(np.argsort(run_values, kind="mergesort")):
        keys_row[start + a] = run[j]


@numba.njit(cache=True)
def repair_truncated_runs(keys, values, index_bits):
    """Make each sorted key row sort ``values`` exactly (float64 keys only).

    Precondition: every row of ``keys`` is sorted and was packed from the same
    row of ``values`` by :func:`pack_keys`. Runs of equal truncated keys are
    re-sorted by the full value (ties stay in index order).
    """
    rows, d = keys.shape
    shift = _U64(index_bits)
    mask = (_U64(1) << shift) - _U64(1)
    for r in range(rows):
        start = 0
        while start < d:
            head = keys[r, start] >> shift
            stop = start + 1
            while stop < d and (keys[r, stop] >> shift) == head:
                stop += 1
            if stop - start > 1:
                _sort_run(keys[r], values[r], start, stop, mask)
            start = stop


@numba.njit(cache=True)
def _radix_sort_row(row, scratch, low_bit):
    # Stable LSD radix sort of ``row`` by bits [low_bit, 64), RADIX_BITS at a time.
    d = row.shape[0]
    n_passes = (64 - low_bit + RADIX_BITS - 1) // RADIX_BITS
    n_buckets = 1 << RADIX_BITS
    digit_mask = _U64(n_buckets - 1)
    counts = np.zeros((n_passes, n_buckets), np.int64)
    for i in range(d):  # every pass's histogram in one read of the data
        key = row[i]
        for p in range(n_passes):
            counts[p, np.int64((key >> _U64(low_bit + p * RADIX_BITS)) & digit_mask)] += 1
    source, target = row, scratch
    moved = 0
    for p in range(n_passes):
        shift = _U64(low_bit + p * RADIX_BITS)
        if counts[p].max() == d:
            continue  # every key has the same digit here: nothing to move
        offsets = np.empty(n_buckets, np.int64)
        total = 0
        for b in range(n_buckets):
            offsets[b] = total
            total += counts[p, b]
        for i in range(d):
            key = source[i]
            b = np.int64((key >> shift) & digit_mask)
            target[offsets[b]] = key
            offsets[b] += 1
        source, target = target, source
        moved += 1
    if moved % 2 == 1:  # the result ended in scratch
        row[:] = scratch


@numba.njit(cache=True)
def _radix_sort_rows(keys, low_bit):
    scratch = np.empty(keys.shape[1], np.uint64)
    for r in range(keys.shape[0]):
        _radix_sort_row(keys[r], scratch, low_bit)


#: The two ways :func:`sort_keys` can sort rows of mid-range length.
SORT_PATHS = ("radix", "numpy")
#: Environment variable that forces one of :data:`SORT_PATHS` (no timing).
SORT_ENV = "WS_SORT"
#: Row length the planner times both sorts on.
PLAN_LENGTH = 1 << 20

_plans: dict = {}  # value bits (32 or 64) -> the cached choice, see sort_plan()


def _time_both(length: int, value_bits: int = 32, repeats: int = 3) -> dict:
    """Best-of-``repeats`` seconds of each sort on one row of packed random keys."""
    dtype = np.float32 if value_bits == 32 else np.float64
    values = np.random.default_rng(0).standard_normal((1, length)).astype(dtype)
    index_bits = index_bits_for(length)
    keys = np.empty(values.shape, np.uint64)
    pack_keys(values.view(np.uint32 if value_bits == 32 else np.uint64), index_bits, keys)
    low_bit = max(index_bits, 64 - value_bits)
    _radix_sort_rows(keys[:, :RADIX_MIN_LENGTH].copy(), low_bit)  # compile before timing
    seconds = {}
    for path in SORT_PATHS:
        best = float("inf")
        for _ in range(repeats):
            work = keys.copy()
            start = time.perf_counter()
            if path == "radix":
                _radix_sort_rows(work, low_bit)
            else:
                work.sort(axis=-1)
            best = min(best, time.perf_counter() - start)
        seconds[path] = best
    return seconds


def sort_plan(value_bits: int = 32, *, refresh: bool = False) -> dict:
    """The sort chosen for rows of ``RADIX_MIN_LENGTH .. RADIX_MAX_LENGTH`` keys.

    ``value_bits``: 32 (float32 keys) or 64 (float64 keys). Returns
    ``{"path": "radix" | "numpy", "source": "env" | "timed", "seconds":
    {path: best time at PLAN_LENGTH keys} (timed only)}``. Decided on the
    first call per width and cached for the process (``refresh=True`` decides
    again, re-reading ``WS_SORT``). Raises ValueError for an unknown
    ``WS_SORT`` value or a width other than 32 or 64.
    """
    if value_bits not in (32, 64):
        raise ValueError(f"Invalid value_bits: {value_bits!r}; expected 32 or 64")
    if value_bits in _plans and not refresh:
        return _plans[value_bits]
    forced = os.environ.get(SORT_ENV)
    if forced is not None and forced != "":
        if forced not in SORT_PATHS:
            raise ValueError(
                f"Invalid {SORT_ENV}={forced!r}; expected one of 'radix', 'numpy' (or unset)"
            )
        plan = {"path": forced, "source": "env", "seconds": {}}
    else:
        seconds = _time_both(PLAN_LENGTH, value_bits)
        plan = {"path": min(SORT_PATHS, key=seconds.__getitem__), "source": "timed",
                "seconds": seconds}
    _plans[value_bits] = plan
    return plan


def sort_keys(keys, index_bits: int, value_bits: int) -> None:
    """Sort each row of packed ``keys`` in place (uint64, shape (rows, d)).

    Only bits ``[max(index_bits, 64 - value_bits), 64)`` carry value
    information; the radix sort skips the rest. Rows of
    ``RADIX_MIN_LENGTH .. RADIX_MAX_LENGTH`` keys go to the path
    :func:`sort_plan` chose for this machine; shorter rows, and longer ones
    (whose radix scratch row would raise peak memory), to numpy in place.
    """
    d = keys.shape[-1]
    if RADIX_MIN_LENGTH <= d <= RADIX_MAX_LENGTH and sort_plan(value_bits)["path"] == "radix":
        _radix_sort_rows(keys, max(index_bits, 64 - value_bits))
    else:
        keys.sort(axis=-1)


def sorted_keys(rows: np.ndarray):
    """Packed keys of ``rows`` (C-contiguous float32/float64, (rows, d)), each row sorted.

    Returns ``(keys, index_bits)``; ``keys[r, k] & (2**index_bits - 1)`` is the
    original index of the k-th smallest entry of row r (ties in index order).
    ``rows`` is only read. Raises ValueError for rows too long to pack.
    """
    d = rows.shape[-1]
    single = rows.dtype == np.float32
    check_packable(d, single)
    index_bits = index_bits_for(d)
    keys = np.empty(rows.shape, np.uint64)
    pack_keys(rows.view(np.uint32 if single else np.uint64), index_bits, keys)
    sort_keys(keys, index_bits, 32 if single else 64)
    if not single:
        repair_truncated_runs(keys, rows, index_bits)
    return keys, index_bits


def sort_with_order(rows: np.ndarray):
    """Stable sort of each row with its permutation, faster than ``numpy.argsort``.

    Returns ``(order, xs)``: int64 (rows, d) with ``xs[r] == rows[r, order[r]]``,
    and the sorted values as float64 (rows, d). Rows too long to pack fall back
    to ``numpy.argsort`` (stable).
    """
    if not packable(rows.shape[-1], rows.dtype == np.float32):
        order = np.argsort(rows, axis=-1, kind="stable")
        return order, np.take_along_axis(rows, order, axis=-1).astype(np.float64, copy=False)
    keys, index_bits = sorted_keys(rows)
    keys &= np.uint64((1 << index_bits) - 1)
    order = keys.view(np.int64)  # the low bits are the index: reuse the buffer
    return order, np.take_along_axis(rows, order, axis=-1).astype(np.float64, copy=False)
