"""Every gap's closing time by divide and conquer over TIME (torch, batched, any device).

Facts (docs/maths.md, 'Merge times without a queue'). Sort each row, ``x``
ascending, ranks ``k = 0 .. d-1`` with velocities ``c_k = (d-1-2k)/(d-1)``.
Two adjacent runs ``A = [a, b)`` and ``B = [b, c)`` of particles, moving as
their centres of mass from ``t = 0``, meet at

    T(A, B) = (d - 1) * (mean x[b:c] - mean x[a:b]) / (c - a),

and gap ``g`` (between sorted particles ``g`` and ``g + 1``) closes at
``t_g = min T(A, B)`` over all ``A`` ending at ``g`` and ``B`` starting at
``g + 1``: the first time point ``g + 1`` of the cumulative sums of
``x + t c`` leaves their lower convex hull. So gap ``g`` is closed at time
``s`` (``t_g <= s``) iff it is not a block boundary of the isotonic fit of
``x + s c``, i.e. of the prox at ``s``. A cluster at time ``s`` is a closed
system (its members' history before ``s`` ignores everyone else), and after
``s`` the clusters move as super-particles (mass, mean start, mean velocity);
the merge tree is the max-Cartesian tree of the ``t_g``.

Sub-problems. A sub-problem is a run of adjacent super-particles (clusters at
some time) that forms one cluster later, with clamps ``[t_lo, t_hi]`` known to
hold all its gap times; its gaps are the gaps between its super-particles.
Two of its gap times are known exactly and cheaply:

* ``t_min`` = min of the adjacent pair times ``T(P_p, P_p+1)``: the first
  collision of the sub-problem is between two adjacent super-particles, and
  every gap time is ``>= t_min``;
* ``t_max`` = max over its split points of ``T(prefix, suffix)``: the
  sub-problem is one cluster exactly from that time on (all prefix means of
  the fit ``>=`` the total mean), so this is its last gap time.

If ``t_min >= t_max`` every gap closes at that one instant (an evenly spaced
grid closes all at once, at ``(d - 1) / 2`` for ``x = 0 .. d-1``): a leaf,
detected without any tolerance. Otherwise the sub-problem is probed at
``K + 1`` times ``s_0 = t_min < s_1 < ... < s_K < t_max`` evenly spaced in the
ORDERED BIT PATTERNS of the float64 values (non-negative doubles are ordered
like their int64 bits): ``bits(s_i) = bits(t_min) + floor(R i / (K + 1))``,
``R = bits(t_max) - bits(t_min)``. All probes of all sub-problems of a level
are the rows of ONE batched weighted prox
(:func:`prox.solvers.divide_conquer.weighted_blocks`, the weighted form of the
prox solver "divide_conquer"); ``C_i`` = number of
gaps closed at ``s_i``. If the prox at ``t_min`` is one block, every gap lies
in ``[t_min, t_min]``: a leaf. Else let ``j`` be the largest ``i`` with
``2 C_i <= m`` (``m`` gaps) and cut at ``s_j`` and ``s_{j+1}`` (only at ``s_j``
when ``j = K``; only at ``s_0`` when no ``i`` qualifies). The cuts
``sigma_1 <= sigma_2`` make three slabs:

* slab 0, ``[t_lo, sigma_1]``: every block of the fit at ``sigma_1`` holding
  >= 2 super-particles, with those super-particles;
* slab 1, ``[next(sigma_1), sigma_2]``: every block at ``sigma_2`` holding
  >= 2 blocks of ``sigma_1``, with those blocks as super-particles;
* slab 2, ``[next(sigma_2), t_hi]``: the blocks at ``sigma_2`` as
  super-particles, if there are >= 2.

(``next`` is the next float up: a gap open at ``s`` closes strictly after
``s``.) Every gap of the sub-problem lands in exactly one child. Computed
gap times are clamped into their sub-problem's ``[t_lo, t_hi]``, so rounding
can never contradict the slab structure: the output is always a consistent
tree, and the per-gap values are the formula's up to rounding.

Level count (proof). Let a sub-problem have ``m >= 1`` gaps and bit range
``R = bits(t_max) - bits(t_min) >= 1``. Its children satisfy:

* slab 0: ``m' <= C_j <= m / 2`` (the gaps inside blocks at ``s_j`` are
  exactly the ``C_j`` closed ones); with no ``j`` the cut is ``s_0 = t_min``
  and every slab-0 child has its gaps in ``[t_min, t_min]``, a leaf at once;
* slab 2: ``m' = m - C_{j+1} < m / 2`` by the choice of ``j`` (for
  ``j = K`` or no ``j`` see the next item);
* slab 1 (and slab 2 when ``j = K``): the child's clamps lie inside
  ``[next(s_j), s_{j+1}]`` (resp. ``[next(s_K), t_max]``), a bit range
  ``< R / (K + 1)``.

So along any path of the recursion every level halves ``m`` or divides
``R + 1`` by at least ``K + 1``; ``m < d`` and ``R < 2^63`` give

    levels <= floor(log2(d - 1)) + ceil(63 / log2(K + 1)) + 1,

whatever the input and whatever rounding does to the individual proxes (the
argument only uses the counts the proxes returned). Rounds: each level is
one batched prox (at most ``l (l + 1) / 2`` search steps for its largest row,
``l = ceil(log2(largest sub-problem))``) plus one bookkeeping step; so
rounds ``<= levels * (L (L + 1) / 2 + 1)`` with ``L = ceil(log2 d)``. That
proven bound exceeds ``log2(d)^3`` for small ``d``; the measured rounds
(``benchmarks/bench_time_split.py``) are far below it, because in practice
most levels both halve ``m`` and shrink ``R`` and the rows shrink with depth.

Cost: work O(K d log d) per level (the probes are extra rows of the batched
prox, which is O(N log N) for N entries); measured 25-75 probe entries per
particle in all at d = 2^10 (``stats["work"]``). Host syncs (counted in
``stats["syncs"]``): about a dozen per level for sizes of work lists, two per
merge level of the prox and one per search step (its termination test), none
per element.

``PROBES = K + 1 = 8``, so the proven bound is ``floor(log2(d - 1)) + 22``
levels. A Numba prototype of the same recursion (since removed) was 1.3-2x slower
than the event heap on the CPU at d = 1e5 .. 1e7 (14.1x argsort at d = 1e7 before
its removal), so the heap is the CPU backend and this one serves tensors
(``simulate(..., backend="torch")``).
"""
from __future__ import annotations

import numba
import numpy as np
import torch

from prox.scaling import pooled_mean_jit, power_of_two_scales
from prox.solvers.divide_conquer import range_mean, weighted_blocks
from prox.solvers.torch_blocks import flat_ranges, split_prefix_sums
from prox.sort_keys import sort_with_order
from prox.transform import run_velocity_jit

__all__ = ["gap_times_rows", "events_from_gap_times", "PROBES"]

#: Probe times per sub-problem and level: ``K + 1`` (``s_0 = t_min`` and ``K`` more).
PROBES = 8


def _pair_time(prefix, orow, a, b, c, d):
    """``T([a, b), [b, c))`` of original row ``orow`` (elementwise, int64 tensors)."""
    left = range_mean(prefix, orow, a, b)
    right = range_mean(prefix, orow, b, c)
    return (d - 1) * (right - left) / (c - a).to(torch.float64)


def _next_up(t):
    return torch.nextafter(t, torch.full_like(t, torch.inf))


def _segment_reduce(values, owner, n_owner, how, init):
    out = torch.full((n_owner,), init, dtype=values.dtype, device=values.device)
    return out.scatter_reduce_(0, owner, values, how)


class _Level:
    """Flat description of the sub-problems of one level.

    Entries (super-particles), grouped by sub-problem, left to right:
    ``sub`` (owner), ``lo``, ``hi`` (run of sorted indices). Sub-problems:
    ``row`` (original row), ``t_lo``, ``t_hi`` (clamps), ``first`` (first
    entry), ``count`` (entries, >= 2).
    """

    def __init__(self, sub, lo, hi, row, t_lo, t_hi):
        self.sub, self.lo, self.hi = sub, lo, hi
        self.row, self.t_lo, self.t_hi = row, t_lo, t_hi
        n_sub = row.shape[0]
        self.count = torch.bincount(sub, minlength=n_sub)
        self.first = torch.cumsum(self.count, 0) - self.count


def _initial_level(xs):
    """Runs of equal values are clusters at time 0; each row with >= 2 runs is a sub-problem."""
    n_rows, d = xs.shape
    device = xs.device
    new_run = torch.ones((n_rows, d), dtype=torch.bool, device=device)
    new_run[:, 1:] = xs[:, 1:] != xs[:, :-1]
    runs_per_row = new_run.sum(1)
    keep_row = runs_per_row >= 2
    if not bool(keep_row.any()):
        return _empty_level(device)
    starts = (new_run & keep_row[:, None]).nonzero()  # (row, index), row-major
    row_of, lo = starts[:, 0], starts[:, 1]
    hi = torch.cat((lo[1:], lo.new_zeros(1)))
    last_of_row = torch.ones_like(lo, dtype=torch.bool)
    last_of_row[:-1] = row_of[1:] != row_of[:-1]
    hi = torch.where(last_of_row, d, hi)
    rows = keep_row.nonzero().squeeze(1)
    sub = torch.searchsorted(rows, row_of)
    zero = torch.zeros(rows.shape[0], dtype=torch.float64, device=device)
    # Distinct values: every remaining gap closes strictly after 0.
    level = _Level(sub, lo, hi, rows, _next_up(zero), torch.full_like(zero, torch.inf))
    return level


def _probe_times(t_min, t_max, k):
    """``k + 1`` times from ``t_min`` up, evenly spaced in bit patterns below ``t_max``."""
    bits_lo = t_min.view(torch.int64)
    span = t_max.view(torch.int64) - bits_lo
    i = torch.arange(k + 1, device=t_min.device)
    step = (span // (k + 1))[:, None] * i + ((span % (k + 1))[:, None] * i) // (k + 1)
    return (bits_lo[:, None] + step).view(torch.float64)


def gap_times_rows(xs: torch.Tensor, *, probes: int = PROBES):
    """Closing time of every gap of every sorted row.

    xs : float64 (rows, d), each row sorted ascending, finite; any device.
    Returns ``(times, stats)``: float64 (rows, d - 1), ``times[r, g]`` the
    time gap g of row r closes; ``stats`` a dict with ``rounds`` (sequential
    whole-tensor steps of the whole batch: the probes' search steps plus one
    per level), ``levels``, ``syncs`` (host synchronisations), ``work``
    (super-particle probe entries processed).
    """
    if not isinstance(probes, int) or isinstance(probes, bool) or probes < 2:
        raise ValueError(f"Invalid probes: {probes!r} (an int >= 2)")
    if xs.ndim != 2 or xs.dtype != torch.float64:
        raise ValueError(f"Invalid xs: {xs.dtype} of shape {tuple(xs.shape)}; "
                         "expected float64 (rows, d)")
    n_rows, d = xs.shape
    device = xs.device
    times = torch.full((n_rows, max(d - 1, 0)), torch.nan, dtype=torch.float64, device=device)
    stats = dict(rounds=0, levels=0, syncs=0, work=0)
    if d <= 1:
        return times, stats
    times[xs[:, 1:] == xs[:, :-1]] = 0.0  # ties collide at once
    # Work on x / 2^e (exact) so sums cannot overflow; times scale the same way.
    scale = power_of_two_scales(xs.abs().amax(1))
    scaled = xs / scale[:, None]
    prefix = torch.nn.functional.pad(split_prefix_sums(scaled), (0, 0, 1, 0))
    flat_times = times.view(-1)
    level = _initial_level(scaled)
    k = probes - 1
    while level.row.shape[0] > 0:
        stats["levels"] += 1
        stats["rounds"] += 1
        level = _step(level, prefix, d, k, flat_times, scale, stats)
    stats["syncs"] += 1
    if bool(torch.isnan(times).any()):
        raise RuntimeError("internal error: a gap time was not assigned")
    return times, stats


def _assign(level, mask_sub, value, flat_times, scale, d):
    """Give every gap of the sub-problems in ``mask_sub`` the time ``value[sub]``."""
    sub = level.sub
    is_gap = mask_sub.index_select(0, sub) & (level.first.index_select(0, sub)
                                              != torch.arange(sub.shape[0], device=sub.device))
    entries = is_gap.nonzero().squeeze(1)
    owner = sub.index_select(0, entries)
    row = level.row.index_select(0, owner)
    gap = level.lo.index_select(0, entries) - 1
    flat_times.index_copy_(0, row * (d - 1) + gap,
                           value.index_select(0, owner) * scale.index_select(0, row))


def _step(level, prefix, d, k, flat_times, scale, stats):
    """One level of the time split: assign what can be read off, return the next level.

    The phases (the module docstring gives the maths):

    1. :func:`_known_times`: ``t_min`` and ``t_max`` of every sub-problem; a
       sub-problem with ``t_min >= t_max`` is a leaf, all its gaps close then.
    2. :func:`_probe`: every other sub-problem at ``K + 1`` probe times, all as
       rows of ONE batched weighted prox; block starts and closed-gap counts.
    3. A sub-problem that is one block at ``t_min`` closes all its gaps then.
    4. :func:`_cut_times`: the cuts ``sigma_1 <= sigma_2`` of the others.
    5. :func:`_slabs`: their three slabs are the next level's sub-problems.
    """
    t_min, t_max = _known_times(level, prefix, d)
    leaf = t_min >= t_max
    _assign(level, leaf, t_max, flat_times, scale, d)
    open_subs = (~leaf).nonzero().squeeze(1)
    stats["syncs"] += 2
    if open_subs.shape[0] == 0:
        return _empty_level(level.sub.device)
    probe = _probe_times(t_min.index_select(0, open_subs), t_max.index_select(0, open_subs), k)
    is_start, closed = _probe(level, open_subs, probe, prefix, d, stats)
    gaps = level.count - 1
    one_block = ~leaf & (closed[0] == gaps)
    _assign(level, one_block, t_min, flat_times, scale, d)
    splitting = ~leaf & ~one_block
    j, j_next, sigma_1, sigma_2 = _cut_times(closed, gaps, open_subs, probe)
    stats["syncs"] += 6
    return _slabs(level, is_start, splitting, j, j_next, sigma_1, sigma_2)


def _known_times(level, prefix, d):
    """``(t_min, t_max)`` per sub-problem, clamped into its ``[t_lo, t_hi]``.

    ``t_min``: the earliest adjacent pair time inside the sub-problem (its
    first collision); ``t_max``: the latest prefix/suffix split time (from
    then on it is one cluster).
    """
    device = level.sub.device
    n_sub, n_ent = level.row.shape[0], level.sub.shape[0]
    sub, lo, hi = level.sub, level.lo, level.hi
    orow = level.row.index_select(0, sub)
    last = level.first + level.count - 1
    has_next = torch.zeros(n_ent, dtype=torch.bool, device=device)
    has_next[:-1] = sub[1:] == sub[:-1]
    nxt = torch.arange(1, n_ent + 1, device=device).clamp(max=n_ent - 1)
    pair = _pair_time(prefix, orow, lo, hi, hi.index_select(0, nxt), d)
    t_min = _segment_reduce(torch.where(has_next, pair, torch.inf), sub, n_sub, "amin", torch.inf)
    sub_lo = lo.index_select(0, level.first).index_select(0, sub)
    sub_hi = hi.index_select(0, last).index_select(0, sub)
    split = _pair_time(prefix, orow, sub_lo, hi, torch.where(has_next, sub_hi, hi), d)
    t_max = _segment_reduce(torch.where(has_next, split, -torch.inf), sub, n_sub, "amax",
                            -torch.inf)
    t_min = torch.minimum(torch.maximum(t_min, level.t_lo), level.t_hi) + 0.0  # no -0.0
    t_max = torch.minimum(torch.maximum(t_max, level.t_lo), level.t_hi) + 0.0
    return t_min, t_max


def _probe(level, open_subs, probe, prefix, d, stats):
    """The weighted prox of every open sub-problem at each of its probe times, in one batch.

    ``probe``: float64 (n_open, K + 1). One row per (open sub-problem, probe),
    padded to a power of two and laid out largest first, so every row starts
    at a multiple of its length (:func:`prox.solvers.divide_conquer.weighted_blocks`).
    Returns ``is_start`` bool (K + 1, entries): the entry starts a block at
    that probe; ``closed`` int64 (K + 1, sub-problems): gaps closed at that
    probe (meaningful on the open sub-problems).
    """
    device = level.sub.device
    n_sub, n_ent = level.row.shape[0], level.sub.shape[0]
    n_open, k = open_subs.shape[0], probe.shape[1] - 1
    count = level.count.index_select(0, open_subs)
    row_sub = torch.arange(n_open, device=device).repeat_interleave(k + 1)
    row_probe = torch.arange(k + 1, device=device).repeat(n_open)
    row_len = _next_pow2(count).index_select(0, row_sub)
    order = torch.argsort(-row_len, stable=True)
    row_sub, row_probe, row_len = row_sub[order], row_probe[order], row_len[order]
    biggest = int(row_len[0])
    total = int(row_len.sum())
    stats["syncs"] += 2
    n_flat = -(-total // biggest) * biggest
    row_start = torch.cumsum(row_len, 0) - row_len
    owner, position = flat_ranges(row_start, row_len)
    offset = position - row_start.index_select(0, owner)
    owner_sub = row_sub.index_select(0, owner)
    real_here = offset < count.index_select(0, owner_sub)
    entry = level.first.index_select(0, open_subs.index_select(0, owner_sub)) + offset
    entry = torch.where(real_here, entry, 0)
    orow = level.row.index_select(0, level.sub)

    def spread(values, fill, dtype):
        out = torch.full((n_flat,), fill, dtype=dtype, device=device)
        out[position] = values
        return out

    real = spread(real_here, False, torch.bool)
    row_id = spread(owner, -1, torch.int64)
    lo = spread(torch.where(real_here, level.lo.index_select(0, entry), 0), 0, torch.int64)
    hi = spread(torch.where(real_here, level.hi.index_select(0, entry), 1), 1, torch.int64)
    flat_orow = spread(torch.where(real_here, orow.index_select(0, entry), 0), 0, torch.int64)
    flat_probe = spread(probe[owner_sub, row_probe.index_select(0, owner)], 0.0, torch.float64)
    levels = biggest.bit_length() - 1
    starts, rounds = weighted_blocks(real, row_id, flat_orow, lo, hi, flat_probe, prefix, d,
                                     levels)
    stats["rounds"] += rounds
    stats["work"] += int(real_here.sum())
    stats["syncs"] += 2 + 2 * levels + rounds
    # Block starts back in entry order, and blocks counted per (probe, sub-problem).
    real_pos = position[real_here]
    real_entry = entry[real_here]
    real_probe = row_probe.index_select(0, owner[real_here])
    is_start = torch.zeros((k + 1, n_ent), dtype=torch.bool, device=device)
    is_start[real_probe, real_entry] = starts.index_select(0, real_pos)
    blocks = torch.zeros((k + 1, n_sub), dtype=torch.int64, device=device)
    blocks.index_put_((real_probe, level.sub.index_select(0, real_entry)),
                      starts.index_select(0, real_pos).to(torch.int64), accumulate=True)
    return is_start, level.count[None, :] - blocks


def _cut_times(closed, gaps, open_subs, probe):
    """The cut probes ``j <= j_next`` of every sub-problem and their times ``sigma_1, sigma_2``.

    ``j`` is the last probe that closes at most half the gaps (0 if none does),
    ``j_next = j + 1`` (or ``j`` when ``j`` is the last probe or none qualifies).
    """
    k = closed.shape[0] - 1
    n_sub = closed.shape[1]
    fits = 2 * closed <= gaps[None, :]
    any_fit = fits.any(0)
    j = torch.where(any_fit, k - torch.argmax(fits.flip(0).to(torch.int64), 0), 0)
    j_next = torch.where(any_fit & (j < k), j + 1, j)
    probe_full = torch.zeros((n_sub, k + 1), dtype=torch.float64, device=closed.device)
    probe_full[open_subs] = probe
    sigma_1 = probe_full.gather(1, j[:, None]).squeeze(1)
    sigma_2 = probe_full.gather(1, j_next[:, None]).squeeze(1)
    return j, j_next, sigma_1, sigma_2


def _slabs(level, is_start, splitting, j, j_next, sigma_1, sigma_2):
    """The next level: the three slabs of every splitting sub-problem (module docstring).

    Slab 0 ``[t_lo, sigma_1]``: blocks at ``sigma_1`` of >= 2 super-particles;
    slab 1 ``[next(sigma_1), sigma_2]``: blocks at ``sigma_2`` of >= 2 blocks of
    ``sigma_1``; slab 2 ``[next(sigma_2), t_hi]``: the blocks at ``sigma_2``.
    """
    sub = level.sub
    entries = torch.arange(sub.shape[0], device=sub.device)
    sub_start = level.first.index_select(0, sub) == entries
    st1 = is_start.gather(0, j.index_select(0, sub)[None, :]).squeeze(0) | sub_start
    st2 = is_start.gather(0, j_next.index_select(0, sub)[None, :]).squeeze(0) & st1 | sub_start
    keep = splitting.index_select(0, sub)
    st0 = keep.clone()
    st1, st2, st3 = st1 & keep, st2 & keep, sub_start & keep
    bounds = [
        (level.t_lo, sigma_1),
        (_next_up(sigma_1), sigma_2),
        (_next_up(sigma_2), level.t_hi),
    ]
    parts = [_children(level, inner, outer, t_lo, t_hi)
             for (t_lo, t_hi), (inner, outer) in zip(bounds, ((st0, st1), (st1, st2), (st2, st3)))]
    return _concat(parts, sub.device)


def _next_pow2(count):
    exponent = torch.ceil(torch.log2(count.to(torch.float64))).to(torch.int64)
    power = torch.ones_like(count) << exponent
    # log2 of an exact power of two is exact; guard the rounding of others.
    power = torch.where(power < count, power * 2, power)
    return power


def _children(level, inner, outer, t_lo, t_hi):
    """Sub-problems of one slab: blocks of ``outer`` holding >= 2 blocks of ``inner``.

    ``inner`` / ``outer``: bool over entries, True where a block of the finer /
    coarser partition starts (outer implies inner; False off the splitting
    sub-problems). The new super-particles are the inner blocks.
    """
    device = level.sub.device
    n_ent = level.sub.shape[0]
    idx = torch.arange(n_ent, device=device)
    # End of each inner block: the next inner start (or the end of its sub-problem).
    boundary = inner | (level.first.index_select(0, level.sub) == idx)
    next_start = torch.where(boundary, idx, n_ent)
    next_start = torch.cat((next_start[1:], next_start.new_full((1,), n_ent)))
    next_start = next_start.flip(0).cummin(0).values.flip(0)
    last_entry = level.first + level.count - 1
    block_end = torch.minimum(next_start - 1, last_entry.index_select(0, level.sub))
    child = torch.cumsum(outer.to(torch.int64), 0) - 1
    inner_idx = inner.nonzero().squeeze(1)
    child_of = child.index_select(0, inner_idx)
    sizes = torch.bincount(child_of, minlength=int(outer.sum()))
    good = sizes >= 2
    keep = good.index_select(0, child_of)
    kept = inner_idx[keep]
    kept_child = child_of[keep]
    new_ids = torch.cumsum(good.to(torch.int64), 0) - 1
    parent = level.sub.index_select(0, outer.nonzero().squeeze(1))[good]
    return dict(
        sub=new_ids.index_select(0, kept_child),
        lo=level.lo.index_select(0, kept),
        hi=level.hi.index_select(0, block_end.index_select(0, kept)),
        row=level.row.index_select(0, parent),
        t_lo=t_lo.index_select(0, parent),
        t_hi=t_hi.index_select(0, parent),
    )


def _concat(parts, device):
    subs, offset = [], 0
    for part in parts:
        subs.append(part["sub"] + offset)
        offset += part["row"].shape[0]
    if offset == 0:
        return _empty_level(device)
    return _Level(torch.cat(subs), torch.cat([p["lo"] for p in parts]),
                  torch.cat([p["hi"] for p in parts]), torch.cat([p["row"] for p in parts]),
                  torch.cat([p["t_lo"] for p in parts]), torch.cat([p["t_hi"] for p in parts]))


def _empty_level(device):
    empty_i = torch.empty(0, dtype=torch.int64, device=device)
    empty_f = torch.empty(0, dtype=torch.float64, device=device)
    return _Level(empty_i, empty_i, empty_i, empty_i, empty_f, empty_f)


# ------------------------------------------------------------------ the event log
# From gap closing times to the event log a :class:`particles.Trajectory` is built from.
#
# Input: one sorted row ``xs`` (d,) and ``gap_time`` (d - 1,), the time gap
# ``g`` (between sorted particles ``g`` and ``g + 1``) closes. The merge tree is
# the max-Cartesian tree of the gap times; its events, in merge order, are the
# gaps sorted by (time, gap index) -- a stable sort, so exactly simultaneous
# merges happen left to right. Each event merges the two runs on either side
# of its gap as they are at that moment, so every event comes after the events
# that made its two clusters, and times never decrease from child to parent.
#
# One pass over the events in that order with the runs kept at their ends
# (``head_at[end]`` the first index of the run ending at ``end``,
# ``stop_at[head]`` one past the run starting at ``head``) gives each event's
# ``[head, stop)`` and ``split = gap + 1`` in O(1). The centre of mass is kept
# per run head as a pooled mean (``prox.scaling.pooled_mean``: no sum that
# could overflow near 1e308). Cost: the sort (packed-key radix sort,
# ``prox.sort_keys``) plus O(d); sequential (Numba).


@numba.njit(cache=True)
def _events(xs, gaps_in_order, times_in_order, head, split, stop, position):
    d = xs.shape[0]
    head_at = np.arange(d)  # at a run's last index: its first index
    stop_at = np.arange(1, d + 1)  # at a run's first index: one past its last
    mean = xs.copy()  # at a run's first index: its mean start position
    for j in range(d - 1):
        g = gaps_in_order[j]
        t = times_in_order[j]
        a = head_at[g]
        b = g + 1
        c = stop_at[b]
        mean[a] = pooled_mean_jit(mean[a], b - a, mean[b], c - b)
        head_at[c - 1] = a
        stop_at[a] = c
        head[j], split[j], stop[j] = a, b, c
        position[j] = mean[a] + t * run_velocity_jit(a, c, d)


def events_from_gap_times(xs: np.ndarray, gap_time: np.ndarray):
    """Event log ``(time, head, split, stop, position)`` in merge order.

    xs : float64 (d,), sorted ascending; gap_time : float64 (d - 1,), >= 0.
    Returns float64 (d-1,) times (non-decreasing), int64 head/split/stop and
    float64 positions (centre of mass at the merge), as ``Trajectory`` takes them.
    """
    d = xs.shape[0]
    n = max(d - 1, 0)
    head, split, stop = (np.empty(n, np.int64) for _ in range(3))
    position = np.empty(n)
    if n == 0:
        return np.empty(0), head, split, stop, position
    order, times = sort_with_order(np.ascontiguousarray(gap_time, np.float64).reshape(1, n))
    _events(np.ascontiguousarray(xs, np.float64), order[0], times[0], head, split, stop,
            position)
    return times[0], head, split, stop, position
