"""Event-driven simulation of the particle system in Numba.

Maths: docs/maths.md, 'The particle picture' and 'Algorithms' (event-driven simulation).

State, for one row of ``d`` particles sorted ascending (``xs``):

* clusters are runs ``[a, b)`` of sorted indices, kept in a doubly linked list
  over their *heads* ``a`` (``nxt[a] = b`` is the next head or ``d``;
  ``prv[a]`` the previous head or ``-1``);
* each cluster carries the centre-of-mass triple (m, S, V) (docs/maths.md, 'The particle picture'),
  stored divided by the mass: ``m = b - a``, ``mean[a] = S/m`` (mean start
  position) and ``V/m = velocity(rank=(a+b-1)/2, d)``. Its position at time t
  is ``S/m + t V/m``.

  Deviations, both for accuracy: ``S/m`` is updated as a weighted mean
  (``mA + (mB - mA) mB/(mA+mB)``) rather than summing S, so inputs near 1e308
  cannot overflow; ``V/m`` is not accumulated but recomputed from the rank
  range, because the velocities of a run of ranks form an arithmetic
  progression whose mean is the velocity of the middle rank (exact, no
  rounding drift after many merges). Merging is still "adding the triples".

* adjacent clusters A = [a, b) and B = [b, c) meet at

      t = (S_B/m_B - S_A/m_A) / (V_A/m_A - V_B/m_B) = (d-1) (S_B/m_B - S_A/m_A) / (c - a)

  (the velocity difference is exactly ``(c - a) / (d - 1)``, so it is formed
  from integers, not from two rounded velocities). Computed times are clamped
  to ``t >= t_now``: rounding may put a new collision a hair before the event
  that created the pair, which cannot happen physically.

* the pending collisions live in a 4-ary min-heap in flat arrays, ordered by
  (time, left head) so exactly simultaneous events pop left to right
  (deterministic). A pair is named by its left head ``a``.

  Deviations from a textbook lazy heap with version stamps, for speed:
  (1) a pair's heap entry is updated in place through ``pos[a]`` (sifted up
  or down) when a merge changes its time, instead of pushing a new entry and
  skipping the stale one by a stamp: no stale entries, d - 1 pops in all;
  (2) only pairs that come before both neighbouring pairs ("local minima")
  are kept in the heap. The global minimum is always a local minimum, so the
  heap's root is always the next event, PROVIDED every local minimum is in
  the heap. A merge changes the times of at most two pairs (the new cluster
  with each neighbour), so local-minimum status can change only for those two
  and their outer neighbours. The two are re-checked after every merge, and
  an outer neighbour whenever the time next to it moved LATER. (Physically a
  recomputed time only moves earlier; but when many collisions happen at one
  instant -- evenly spaced or quantized weights -- rounding can move a time
  later by an ulp, and the outer neighbour then becomes the next event. This
  makes the loop exact whatever the rounding, at the cost of a comparison
  per merge where nothing went later.) A heap entry that
  stops being a local minimum is harmless: it still holds its pair's current
  time. The heap holds about d/3 entries on random input;
  (3) the popped root's slot is left as a hole (key -inf) during the merge.
  The first pair woken by the merge is written there and sunk: one sift
  instead of a pop's sift down plus a push's sift up. If none wakes, a pair
  in the heap whose time changed moves there (the last entry takes its old
  slot and settles near the bottom, where it belongs) instead of rising from
  its slot while the last entry sinks the whole height from the root. The
  heap holds the same entries as with pop-then-push, and its root is always
  the least (time, left head) of all pairs, so the events are the same.

Simultaneous collisions (grids, ties, multi-way collisions) are therefore
ordinary events: they pop one pair at a time, in (time, left head) order, and
a k-way collision at time t becomes k-1 binary merges at time t.

Cost: O(d log d) work, O(d) memory; sequential.
"""
from __future__ import annotations

import numba
import numpy as np

from prox.scaling import pooled_mean_jit
from prox.transform import run_velocity_jit

from .heap import before, heapify, place, prefetch, push, sink

__all__ = ["simulate_sorted", "collision_time"]

@numba.njit(cache=True)
def collision_time(mean_a, a, b, mean_b, c, d):
    """Time at which clusters ``[a, b)`` and ``[b, c)`` (mean starts given) meet.

    The velocity difference of the two centres of mass is exactly
    ``(c - a) / (d - 1)`` (half a rank per particle, ``2 / (d - 1)`` per rank),
    so it is formed from integers instead of subtracting two rounded
    velocities: equal physical times come out equal far more often, and the
    time is ``(d - 1) (mean_b - mean_a) / (c - a)`` to one rounding per step.
    """
    return (d - 1) * (mean_b - mean_a) / (c - a)


@numba.njit(inline="always", cache=True)
def _is_local_min(pair, ptime, nxt, prv, d):
    # The pair (pair, nxt[pair]) comes before both neighbouring pairs.
    left = prv[pair]
    if left >= 0 and before(ptime[left], left, ptime[pair], pair):
        return False
    right = nxt[pair]
    if nxt[right] < d and before(ptime[right], right, ptime[pair], pair):
        return False
    return True


@numba.njit(inline="always", cache=True)
def _wake(htime, hpair, pos, ptime, pair, size, hole):
    # Put a pair that became a local minimum into the heap: into the root's
    # hole if there is one (every other entry is a valid heap below it, so one
    # sift down places it), else pushed at the end. Returns (size, hole).
    if hole:
        htime[0], hpair[0] = ptime[pair], pair
        sink(htime, hpair, pos, 0, size)
        return size, False
    return push(htime, hpair, pos, pair, ptime[pair], size), False


@numba.njit(inline="always", cache=True)
def _into_hole(htime, hpair, pos, slot, pair, time, size):
    # Move the entry at ``slot`` (``pair``, whose time is now ``time``) into
    # the root's hole: the last entry takes its slot, then it sinks from the root.
    size -= 1
    if slot < size:
        htime[slot], hpair[slot] = htime[size], hpair[size]
        place(htime, hpair, pos, slot, size)
    htime[0], hpair[0] = time, pair
    sink(htime, hpair, pos, 0, size)
    return size


@numba.njit(cache=True)
def simulate_sorted(xs, t_stop, mean, nxt, prv, pos, ptime, htime, hpair,
                    ev_time, ev_head, ev_split, ev_stop, ev_position, record):
    """Run every collision with time <= ``t_stop``; return the number of events.

    Preconditions: ``xs`` float64 (d,) sorted ascending, d >= 2. Work buffers
    (written), all of length d: ``mean``, ``ptime`` float64; ``nxt``, ``prv``,
    ``pos`` int; heap ``htime`` float64 and ``hpair`` int.
    If ``record``, event j is written to ``ev_*[j]`` (length >= d - 1):
    its time, the merged cluster ``[head, stop)``, the first index ``split``
    of the right cluster, and the centre of mass at the merge.
    On return ``nxt``/``prv``/``mean`` describe the clusters at ``t_stop``.
    """
    d = xs.shape[0]
    # Every particle is its own cluster. Pairs are named by their left head;
    # ``ptime[a]`` is the collision time of pair a, ``pos[a]`` its heap slot
    # (-1: dormant, see the module docstring).
    for k in range(d):
        mean[k] = xs[k]
        nxt[k] = k + 1
        prv[k] = k - 1
        pos[k] = -1
    for k in range(d - 1):
        ptime[k] = max(collision_time(xs[k], k, k + 1, xs[k + 1], k + 2, d), 0.0)
    size = 0
    for k in range(d - 1):
        if _is_local_min(k, ptime, nxt, prv, d):
            htime[size], hpair[size] = ptime[k], k
            pos[k] = size
            size += 1
    heapify(htime, hpair, pos, size)
    n_events = 0
    while size > 0:
        t_now = htime[0]
        if t_now > t_stop:
            break
        a = hpair[0]
        # The next event is most often the earliest child of the root: start
        # loading its clusters' data now, while this merge works.
        if size > 1:
            q = hpair[1]
            t_q = htime[1]
            for child in range(2, min(5, size)):
                if before(htime[child], hpair[child], t_q, q):
                    q, t_q = hpair[child], htime[child]
            prefetch(nxt, q)
            prefetch(mean, q)
            prefetch(prv, q)
        # The root's entry is dropped, but its slot stays a hole until the end
        # of the merge: the first pair woken below fills it with one sift down
        # (instead of a pop's sift down plus a push's sift up). Meanwhile the
        # hole holds -inf, so no entry moved up below can pass it.
        pos[a] = -1
        htime[0] = -np.inf
        hole = True
        # Merge A = [a, b) with B = [b, c): add the triples (as weighted means).
        b = nxt[a]
        c = nxt[b]
        m_a = b - a
        m_b = c - b
        mean[a] = pooled_mean_jit(mean[a], m_a, mean[b], m_b)
        nxt[a] = c
        if record:
            ev_time[n_events] = t_now
            ev_head[n_events] = a
            ev_split[n_events] = b
            ev_stop[n_events] = c
            ev_position[n_events] = mean[a] + t_now * run_velocity_jit(a, c, d)
        n_events += 1
        # The two pairs touching the new cluster get new (earlier) times.
        later_right = later_left = False
        slot_b = -1
        if c < d:
            prv[c] = a
            ptime[a] = max(collision_time(mean[a], a, c, mean[c], nxt[c], d), t_now)
            later_right = ptime[a] > ptime[b]  # the pair (B, C) is now (A+B, C)
            slot_b = pos[b]
            pos[b] = -1
        p = prv[a]
        if p >= 0:
            old_time = ptime[p]
            ptime[p] = max(collision_time(mean[p], p, a, mean[a], c, d), t_now)
            later_left = ptime[p] > old_time
        # The dormant pairs that just became local minima: the two recomputed
        # ones, and an outer neighbour of one whose time moved LATER. In exact
        # arithmetic a recomputed time only moves earlier; but when several
        # collisions happen at one instant (grids, quantized weights) rounding
        # can move it later by an ulp, and the outer neighbour that now comes
        # first must not be left dormant. (A pair whose neighbour moved earlier,
        # or kept its time with a smaller name, cannot have become a local minimum.)
        # Decided from the times alone, before the heap moves.
        wake_a = c < d and slot_b < 0 and _is_local_min(a, ptime, nxt, prv, d)
        wake_c = (c < d and later_right and nxt[c] < d and pos[c] < 0
                  and _is_local_min(c, ptime, nxt, prv, d))
        wake_p = p >= 0 and pos[p] < 0 and _is_local_min(p, ptime, nxt, prv, d)
        outer = prv[p] if p >= 0 else -1
        wake_outer = (later_left and outer >= 0 and pos[outer] < 0
                      and _is_local_min(outer, ptime, nxt, prv, d))
        # If nobody wakes, the first entry whose time changed moves into the
        # hole (it sinks from the root; the last entry fills its old slot)
        # instead of rising from its slot while the last entry sinks from the root.
        any_wake = wake_a or wake_c or wake_p or wake_outer
        hole = not any_wake
        if slot_b >= 0:
            if hole:
                size = _into_hole(htime, hpair, pos, slot_b, a, ptime[a], size)
                hole = False
            else:
                htime[slot_b], hpair[slot_b] = ptime[a], a
                place(htime, hpair, pos, slot_b, size)
        if p >= 0 and pos[p] >= 0:
            if hole:
                size = _into_hole(htime, hpair, pos, pos[p], p, ptime[p], size)
                hole = False
            else:
                htime[pos[p]] = ptime[p]
                place(htime, hpair, pos, pos[p], size)
        if hole:
            # Nothing changed in the heap: the last entry fills the hole (a pop).
            size -= 1
            if size > 0:
                htime[0], hpair[0] = htime[size], hpair[size]
                sink(htime, hpair, pos, 0, size)
        elif any_wake:
            # The first pair woken fills the hole, the others are pushed.
            hole = True
            if wake_a:
                size, hole = _wake(htime, hpair, pos, ptime, a, size, hole)
            if wake_c:
                size, hole = _wake(htime, hpair, pos, ptime, c, size, hole)
            if wake_p:
                size, hole = _wake(htime, hpair, pos, ptime, p, size, hole)
            if wake_outer:
                size, hole = _wake(htime, hpair, pos, ptime, outer, size, hole)
    return n_events


@numba.njit(cache=True)
def positions_from_clusters(xs, nxt, t, scale, out_sorted):
    """Write each sorted particle's position at time ``t`` given the clusters ``nxt``.

    The cluster mean is re-summed from ``xs`` (divided by the power of two
    ``scale`` so sums cannot overflow) rather than read from the running mean,
    so the result is accurate to rounding of one summation.
    """
    d = xs.shape[0]
    a = 0
    while a < d:
        b = nxt[a]
        total = 0.0
        for k in range(a, b):
            total += xs[k] / scale
        value = total / (b - a) * scale + t * run_velocity_jit(a, b, d)
        for k in range(a, b):
            out_sorted[k] = value
        a = b


def index_dtype(d: int):
    """Integer dtype for head indices of rows of length ``d``."""
    return np.int32 if d < 2**31 else np.int64


def allocate(d: int):
    """Work buffers for :func:`simulate_sorted` on rows of length ``d``."""
    index = index_dtype(d)
    # Order matters: the buffers are passed positionally after ``t_stop``.
    return dict(
        mean=np.empty(d),
        nxt=np.empty(d, index),
        prv=np.empty(d, index),
        pos=np.empty(d, index),
        ptime=np.empty(d),
        htime=np.empty(d),
        hpair=np.empty(d, index),
    )
