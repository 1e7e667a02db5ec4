"""The time split on the CPU, streaming: the same recursion as ``particles._time_split``, in Numba.

Every sub-problem of a level is handled in turn, left to right: its ``K + 1``
probes are weighted stack-PAVA passes over its super-particles (blocks kept
on a stack, pooled while the previous block's fit is not below the new one),
so the data are read in order and stay in cache for small sub-problems. The
splits, slabs, clamps and leaves are exactly those of
``particles._time_split`` (see its docstring for the maths and the level
bound); only the batched prox is replaced by sequential passes.

Layout of a level: ``bounds`` holds, sub-problem after sub-problem, the
boundaries ``b_0 < b_1 < ... < b_n`` of its ``n`` super-particles (sorted
indices; super-particle p is ``[b_p, b_p+1)``); ``sub_offset[s]`` is where
sub-problem s starts in ``bounds``, ``sub_count[s]`` its ``n``. A level holds
at most ``3 (d - 1)`` boundaries (every gap is in one sub-problem).

Work: ``(K + 1)`` PAVA passes per sub-problem and level, O(K d) per level;
memory O(K d) (the probes' block-start flags) plus the split prefix sums.
"""
from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["gap_times_numba", "simulate_time_split_numba"]


@numba.njit(inline="always", cache=True)
def _mean(coarse, fine, a, b):
    return ((coarse[b] - coarse[a]) + (fine[b] - fine[a])) / (b - a)


@numba.njit(inline="always", cache=True)
def _pair_time(coarse, fine, a, b, c, d):
    return (d - 1) * (_mean(coarse, fine, b, c) - _mean(coarse, fine, a, b)) / (c - a)


@numba.njit(inline="always", cache=True)
def _fit(coarse, fine, a, b, s, d):
    return _mean(coarse, fine, a, b) + s * ((d - a - b) / (d - 1))


@numba.njit(cache=True)
def _bits_to_float(bits):
    return np.array([bits], np.int64).view(np.float64)[0]


@numba.njit(cache=True)
def _float_to_bits(value):
    return np.array([value], np.float64).view(np.int64)[0]


@numba.njit(cache=True)
def _next_up(value):
    return np.nextafter(value, np.inf)


@numba.njit(cache=True)
def _pava_starts(coarse, fine, bounds, offset, n, s, d, stack, starts_row):
    """Weighted stack PAVA at time s; starts_row[p] = True where a block begins. Returns #blocks."""
    top = -1
    for p in range(n):
        a = p
        while top >= 0:
            prev = stack[top]
            # Pool while the previous block's fit is not below the new block's.
            if (_fit(coarse, fine, bounds[offset + prev], bounds[offset + a], s, d)
                    >= _fit(coarse, fine, bounds[offset + a], bounds[offset + p + 1], s, d)):
                a = prev
                top -= 1
            else:
                break
        top += 1
        stack[top] = a
    for p in range(n):
        starts_row[p] = False
    for i in range(top + 1):
        starts_row[stack[i]] = True
    return top + 1


@numba.njit(cache=True)
def _emit(bounds, offset, n, inner, outer, t_lo, t_hi, out_bounds, out_lo, out_hi, out_offset,
          out_count, n_out, used):
    """Append the children of one slab: outer blocks holding >= 2 inner blocks."""
    p = 0
    while p < n:
        q = p + 1
        while q < n and not outer[q]:
            q += 1
        inside = 0
        for r in range(p, q):
            if inner[r]:
                inside += 1
        if inside >= 2:
            out_offset[n_out] = used
            out_count[n_out] = inside
            out_lo[n_out] = t_lo
            out_hi[n_out] = t_hi
            for r in range(p, q):
                if inner[r]:
                    out_bounds[used] = bounds[offset + r]
                    used += 1
            out_bounds[used] = bounds[offset + q]
            used += 1
            n_out += 1
        p = q
    return n_out, used


@numba.njit(cache=True)
def _level(coarse, fine, d, k, bounds, sub_offset, sub_count, sub_lo, sub_hi, n_sub, times,
           scale, out_bounds, out_offset, out_count, out_lo, out_hi, flags, stack, counts):
    n_out = 0
    used = 0
    probes = np.empty(k + 1)
    all_true = np.ones(d, np.bool_)
    for sub in range(n_sub):
        offset, n = sub_offset[sub], sub_count[sub]
        t_lo, t_hi = sub_lo[sub], sub_hi[sub]
        t_min, t_max = np.inf, -np.inf
        first, end = bounds[offset], bounds[offset + n]
        for p in range(n - 1):
            b, c = bounds[offset + p + 1], bounds[offset + p + 2]
            t_min = min(t_min, _pair_time(coarse, fine, bounds[offset + p], b, c, d))
            t_max = max(t_max, _pair_time(coarse, fine, first, b, end, d))
        t_min = min(max(t_min, t_lo), t_hi) + 0.0
        t_max = min(max(t_max, t_lo), t_hi) + 0.0
        if t_min >= t_max:
            for p in range(1, n):
                times[bounds[offset + p] - 1] = t_max * scale
            continue
        bits_lo = _float_to_bits(t_min)
        span = _float_to_bits(t_max) - bits_lo
        for i in range(k + 1):
            probes[i] = _bits_to_float(bits_lo + (span // (k + 1)) * i
                                       + ((span % (k + 1)) * i) // (k + 1))
        for i in range(k + 1):
            counts[i] = n - _pava_starts(coarse, fine, bounds, offset, n, probes[i], d, stack,
                                         flags[i])
        m = n - 1
        if counts[0] == m:  # one block at t_min: every gap closes at t_min
            for p in range(1, n):
                times[bounds[offset + p] - 1] = t_min * scale
            continue
        # j: the last probe closing at most half the gaps (none: cut at t_min only).
        j, j_next = 0, 0
        for i in range(k + 1):
            if 2 * counts[i] <= m:
                j = i
                j_next = i + 1 if i < k else i
        st1 = flags[j]
        st2 = flags[j_next]
        for p in range(n):
            st2[p] = st2[p] and st1[p]
        st1[0] = True
        st2[0] = True
        sigma_1, sigma_2 = probes[j], probes[j_next]
        st3 = np.zeros(n, np.bool_)
        st3[0] = True
        n_out, used = _emit(bounds, offset, n, all_true, st1, t_lo, sigma_1, out_bounds,
                            out_lo, out_hi, out_offset, out_count, n_out, used)
        n_out, used = _emit(bounds, offset, n, st1, st2, _next_up(sigma_1), sigma_2,
                            out_bounds, out_lo, out_hi, out_offset, out_count, n_out, used)
        n_out, used = _emit(bounds, offset, n, st2, st3, _next_up(sigma_2), t_hi,
                            out_bounds, out_lo, out_hi, out_offset, out_count, n_out, used)
    return n_out


def gap_times_numba(xs: np.ndarray, probes: int = 8):
    """Gap closing times of one sorted float64 row (d,), and the number of levels.

    Same values as :func:`particles._time_split.gap_times_rows` up to rounding
    in the means (this one sums in a different order).
    """
    d = xs.shape[0]
    times = np.full(max(d - 1, 0), np.nan)
    if d <= 1:
        return times, 0
    largest = float(np.abs(xs).max())
    scale = math.ldexp(1.0, math.frexp(largest)[1]) if largest > 0 else 1.0
    x = xs / scale
    # Split prefix sums: an exact part on a grid, and a small part (see
    # prox.torch_blocks.split_prefix_sums for the error bound).
    grid = math.ldexp(1.0, 1 - (52 - d.bit_length()))
    coarse_x = np.round(x / grid) * grid
    coarse = np.concatenate(([0.0], np.cumsum(coarse_x)))
    fine = np.concatenate(([0.0], np.cumsum(x - coarse_x)))
    tied = xs[1:] == xs[:-1]
    times[tied] = 0.0
    starts = np.concatenate(([0], np.flatnonzero(~tied) + 1))
    if starts.shape[0] < 2:
        return times, 0
    k = probes - 1
    capacity = 3 * d + 3
    bounds = np.empty(capacity, np.int64)
    bounds[: starts.shape[0]] = starts
    bounds[starts.shape[0]] = d
    sub_offset = np.zeros(d, np.int64)
    sub_count = np.full(d, starts.shape[0], np.int64)
    sub_lo = np.full(d, np.nextafter(0.0, 1.0))
    sub_hi = np.full(d, np.inf)
    n_sub = 1
    out = (np.empty(capacity, np.int64), np.empty(d, np.int64), np.empty(d, np.int64),
           np.empty(d), np.empty(d))
    flags = np.empty((k + 1, d), np.bool_)
    stack = np.empty(d, np.int64)
    counts = np.empty(k + 1, np.int64)
    levels = 0
    while n_sub > 0:
        levels += 1
        n_next = _level(coarse, fine, d, k, bounds, sub_offset, sub_count, sub_lo, sub_hi, n_sub,
                        times, scale, *out, flags, stack, counts)
        (bounds, sub_offset, sub_count, sub_lo, sub_hi), out = out, (
            bounds, sub_offset, sub_count, sub_lo, sub_hi)
        n_sub = n_next
    return times, levels


def simulate_time_split_numba(w, *, probes: int = 8):
    """``particles.Trajectory`` of a 1-D numpy row from the streaming CPU time split.

    Sort (packed keys), gap times (:func:`gap_times_numba`), event log
    (``particles._time_split_tree``). ``rounds`` is the number of levels.
    """
    from prox.sort_keys import sort_with_order
    from prox.validation import check_weights

    from ._time_split_tree import events_from_gap_times
    from .trajectory import Trajectory

    w = check_weights(w)
    if w.ndim != 1:
        raise ValueError(f"Invalid w: shape {tuple(w.shape)}; expected 1-D")
    dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.float64
    order, xs = sort_with_order(np.ascontiguousarray(w, dtype=dtype).reshape(1, -1))
    times, levels = gap_times_numba(xs[0], probes)
    return Trajectory(order[0], xs[0], *events_from_gap_times(xs[0], times),
                      backend="time_split", rounds=levels)
