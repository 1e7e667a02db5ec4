"""Parallel event rounds in torch (docs/maths.md, 'Algorithms', parallel event rounds).

Each round merges, in every row at once, a set of adjacent pairs whose
predicted collisions are certain, then recomputes the pairs. Every step is a
whole-tensor operation on (rows, d) tensors; Python loops only over rounds
(and over the O(log d) window sizes inside a round).

Which pairs are certain. The tempting rule "a collision earlier than both
neighbouring pairs' collisions is certain" is NOT enough: a neighbouring
pair's time can only move EARLIER when its outer cluster merges (the merged
cluster is faster towards us), so a chain of merges further out can reach A
or B first. (Counterexample: ``numpy.random.default_rng(0).standard_normal(20)``;
merging every such local minimum gives a prox off by up to 0.47 near lam = 1.95.)
A pair (A, B) is merged in a round when
  1. its (time, gap index) is smaller than both neighbouring pairs' -- ties
     by index, so two pairs sharing a cluster never both merge -- and
  2. its time is <= a lower bound on when any block of clusters beyond the
     neighbours can reach A or B (:func:`_far_bounds`, proof there), or
  3. it is the earliest pair of its row (always certain: progress).

State per row (sorted particles, float64): ``gap_open[g]`` says the gap
between sorted particles g and g+1 is still open; a cluster is a run between
open gaps, stored at its head (first index) as ``mean`` (mean start position,
S/m) and ``born`` (its creation time). The pair arithmetic copies the Numba
kernel operation for operation (:mod:`particles.backends.numba_events`), so every merge combines
the same two clusters with the same floating-point operations and the times
agree to the last bit, up to the order of exactly simultaneous merges.
Collision times are clamped to ``>= max(born_A, born_B)``, which equals the
Numba kernel's ``t_now`` clamp.

Cost per round: O(rows * d * W) work with W ~ 3 log2(d) windows, O(log d)
depth. Rounds: at least the height of the merge tree (a merge needs both of its
clusters); measured about 1.6x that height on random input (442 rounds at
d = 1024, 891 at d = 2048), where the height itself is nearly linear, about
0.24 d (277 at d = 1024, 1943 at d = 8192, 15505 at d = 2^16;
``benchmarks/results/time_split.md``), and d - 1 on a cascade or on d equal
weights (ties merge one per round, left to right).
"""
from __future__ import annotations

import torch

from prox.scaling import pooled_mean
from prox.transform import run_velocity

__all__ = ["simulate_rounds"]

#: Far/near cluster distance of the windows in :func:`_far_bounds`.
_WINDOW_RATIO = 1.25


def _window_steps(d: int, ratio: float):
    """Cluster distances (near, far) of the windows :func:`_far_bounds` checks."""
    windows, near = [], 2
    while near < d:
        far = max(near, int(near * ratio))
        windows.append((near, far))
        near = far + 1
    return windows


def _far_bounds(is_head, prefix, d, ratio=_WINDOW_RATIO):
    """Lower bound on when clusters beyond the neighbours can hit A or B.

    Whatever hits A = [a, b) from the left is a block L = [h, a) of current
    clusters, and its position at every time is the mean of its particles'
    free lines, ``M_L + v_L t`` (M: mean start position, v: mean velocity;
    docs/maths.md, 'Merge times without a queue'). So it hits A exactly at
    ``T(L, A) = (M_A - M_L) / (v_L - v_A)``. For heads h in a window of cluster
    distances [near, far] to the left, M_L is largest for the nearest head and
    v_L for the farthest, which bounds every T(L, A) in the window; likewise on
    the right of B. Returns, per gap (rows, d - 1), the minimum over windows
    beyond distance 1 (the neighbouring pair is checked exactly by the caller).
    ``prefix`` (rows, d + 1) are cumulative sums of the sorted positions.
    O(d * windows) work, O(log d) depth.
    """
    n_rows = is_head.shape[0]
    device = is_head.device
    rank = is_head.cumsum(dim=1) - 1  # cluster rank of every particle
    last = rank[:, -1:]
    index = torch.arange(d, device=device)
    # Head of each cluster rank (column d collects the non-heads).
    heads = torch.zeros((n_rows, d + 1), dtype=torch.int64, device=device)
    heads.scatter_(1, torch.where(is_head, rank, d), index.expand(n_rows, d))
    heads[:, d] = d  # the end of the last cluster is d
    heads = torch.where(torch.arange(d + 1, device=device) <= last, heads, d)
    gap = index[:-1]
    rank_a = rank[:, :-1]
    a, b = heads.gather(1, rank_a), gap + 1
    c = heads.gather(1, rank_a + 2)

    def block_mean(lo, hi):
        return (prefix.gather(1, hi) - prefix.gather(1, lo)) / (hi - lo).to(torch.float64)

    m_a, v_a = block_mean(a, b.expand_as(a)), run_velocity(a, b, d)
    m_b, v_b = block_mean(b.expand_as(c), c), run_velocity(b, c, d)
    bound = torch.full(rank_a.shape, float("inf"), dtype=torch.float64, device=device)
    for near, far in _window_steps(d, ratio):
        # Left of A: blocks [h, a) with h = heads[rank_a - k], k in [near, far].
        h_near = heads.gather(1, (rank_a - near).clamp(min=0))
        h_far = heads.gather(1, (rank_a - far).clamp(min=0))
        left = (m_a - block_mean(h_near, a)) / (run_velocity(h_far, a, d) - v_a)
        bound = torch.minimum(bound, torch.where(rank_a - near >= 0, left, bound))
        # Right of B: blocks [c, e) with e = heads[rank_b + 1 + k], k in [near, far].
        rank_e = rank_a + 2 + near
        e_near = heads.gather(1, rank_e.clamp(max=d))
        e_far = heads.gather(1, (rank_a + 2 + far).minimum(last + 1))
        right = (block_mean(c, e_near) - m_b) / (v_b - run_velocity(c, e_far, d))
        bound = torch.minimum(bound, torch.where(rank_e <= last + 1, right, bound))
    return bound


def simulate_rounds(xs: torch.Tensor):
    """Run all d - 1 merges of every row of sorted float64 ``xs`` (rows, d), d >= 2.

    Returns a dict of 1-D tensors, one entry per event (all rows together):
    ``row, round, time, head, split, stop, position`` (``[head, stop)`` is the
    merged run, ``split`` the first index of its right part), plus
    ``rounds`` (rows,) int64: the rounds each row needed.
    """
    n_rows, d = xs.shape
    device = xs.device
    index = torch.arange(d, device=device)
    flat_base = (torch.arange(n_rows, device=device) * d)[:, None]
    inf = torch.tensor(float("inf"), dtype=torch.float64, device=device)
    mean = xs.clone()
    prefix = torch.nn.functional.pad(xs.cumsum(dim=1), (1, 0))
    born = torch.zeros_like(xs)
    gap_open = torch.ones((n_rows, d - 1), dtype=torch.bool, device=device)
    rounds = torch.zeros(n_rows, dtype=torch.int64, device=device)
    log = []
    round_number = 0
    while bool(gap_open.any()):
        # Cluster structure: head of each particle's cluster, next head after it.
        is_head = torch.ones((n_rows, d), dtype=torch.bool, device=device)
        is_head[:, 1:] = gap_open
        head_of = torch.where(is_head, index, 0).cummax(dim=1).values
        heads_or_d = torch.where(is_head, index, d)
        next_head = torch.cat(
            (heads_or_d.flip(1).cummin(dim=1).values.flip(1)[:, 1:],
             torch.full((n_rows, 1), d, device=device, dtype=torch.int64)),
            dim=1,
        )  # next_head[k] = first head > k (d if none)
        # Pair across gap g: A = [a, g+1), B = [g+1, c).
        a = head_of[:, :-1]
        c = next_head[:, 1:]
        mean_a = mean.gather(1, a)
        mean_b = mean[:, 1:]
        # The same operations as _numba_events.collision_time: bitwise equal times.
        t = (d - 1) * (mean_b - mean_a) / (c - a).to(torch.float64)
        t = torch.maximum(t, torch.maximum(born.gather(1, a), born[:, 1:]))
        t = torch.where(gap_open, t, inf)
        # Neighbouring open gaps: a - 1 (left of A) and c - 1 (right of B).
        t_left = torch.where(a > 0, t.gather(1, (a - 1).clamp(min=0)), inf)
        t_right = torch.where(c < d, t.gather(1, (c - 1).clamp(max=d - 2)), inf)
        # Lexicographic (time, gap) order against the neighbouring pairs: the
        # left one has a smaller index, so it must be strictly later; the right
        # one may tie. Two pairs sharing a cluster are never both chosen.
        chosen = gap_open & (t < t_left) & (t <= t_right)
        # ...and no chain of merges further out may reach A or B first.
        chosen &= t <= _far_bounds(is_head, prefix, d)
        # The earliest pair of each row is always safe: progress every round.
        first = t.argmin(dim=1)
        live = gap_open.any(dim=1)
        chosen[live, first[live]] = True
        rows, gaps = chosen.nonzero(as_tuple=True)
        ha, hb, hc = a[rows, gaps], gaps + 1, c[rows, gaps]
        time = t[rows, gaps]
        m_a = (hb - ha).to(torch.float64)
        m_b = (hc - hb).to(torch.float64)
        flat_a = flat_base[rows, 0] + ha
        mean_flat = mean.view(-1)
        new_mean = pooled_mean(mean_flat[flat_a], m_a, mean_flat[flat_base[rows, 0] + hb], m_b)
        mean_flat[flat_a] = new_mean
        born.view(-1)[flat_a] = time
        gap_open[rows, gaps] = False
        position = new_mean + time * run_velocity(ha, hc, d)
        rounds += chosen.any(dim=1)
        log.append((rows, torch.full_like(rows, round_number), time, ha, hb, hc, position))
        round_number += 1
    names = ("row", "round", "time", "head", "split", "stop", "position")
    if log:
        result = {name: torch.cat(parts) for name, parts in zip(names, zip(*log))}
    else:
        empty = torch.empty(0, dtype=torch.int64, device=device)
        result = {name: empty for name in names}
    result["rounds"] = rounds
    return result
