"""Event-driven simulation of the OWL particle system with a wall at 0 (Numba).

State, for the magnitudes ``xs`` sorted DESCENDING (rank 0 the largest) and
the OWL weights ``theta`` (non-increasing, >= 0):

* clusters are runs ``[a, b)`` of ranks in a doubly linked list over their
  heads (``nxt[a] = b``, ``prv[a]``); a cluster carries its mean start
  position ``mx[a]`` and mean speed ``mt[a]`` (weighted-mean updates, so no
  sum can overflow). Away from the wall it sits at ``mx - t * mt``;
* the *wall* is the run ``[wall, d)`` of ranks already at 0 (``wall == d``:
  nobody there yet). The cluster just above it pairs with the wall as with a
  neighbour at position 0 and speed 0.

Events. Pair ``a`` is the cluster at head ``a`` and the one below it:

* a *merge* when the lower one is a cluster ``[b, c)``: they meet at
  ``(mx_a - mx_b) / (mt_a - mt_b)`` (never if the speeds are equal, at once if
  they already touch: ties in ``|w|``);
* a *wall* event when the lower one is the wall: ``[a, b)`` reaches 0 at
  ``mx_a / mt_a`` (at once for zeros in ``w``) and joins the wall.

Every pair is in one indexed heap (``particles.backends.heap``) ordered by (time,
head), so simultaneous events pop top to bottom. After an event, the times of
the pairs it touches are recomputed and their entries moved up OR down: merging
speeds a pair up, but a cluster that stops at the wall makes the pair above it
later. Recomputed times are clamped to ``t >= t_now`` and snapped to ``t_now``
within a few ulps of it,
so events that are simultaneous in exact arithmetic (evenly spaced grids,
OSCAR's affine weights) stay simultaneous under rounding instead of drifting
apart or into the past.

Cost: at most d events (each removes one cluster from the open system), each
O(log d): O(d log d) work, O(d) memory; sequential.
"""
from __future__ import annotations

import numba
import numpy as np

from prox.scaling import pooled_mean_jit

from .heap import heapify, place, remove

__all__ = ["simulate_owl_sorted", "MERGE", "WALL"]

MERGE = 0
WALL = 1
#: Times within this many ulps (relative) of now are now (see the module docstring).
_SNAP = 8.0 * np.finfo(np.float64).eps


@numba.njit(cache=True)
def _pair_time(a, mx, mt, nxt, wall, t_now):
    """When the cluster at head ``a`` meets what is below it (clamped and snapped)."""
    b = nxt[a]
    if b == wall:
        gap, closing = mx[a], mt[a]
    else:
        gap, closing = mx[a] - mx[b], mt[a] - mt[b]
    if gap <= 0.0:
        time = 0.0
    elif closing <= 0.0:
        return np.inf
    else:
        time = gap / closing
    if time <= t_now * (1.0 + _SNAP):
        return t_now
    return time


@numba.njit(cache=True)
def simulate_owl_sorted(xs, theta, ev_time, ev_kind, ev_head, ev_split, ev_stop,
                        ev_position):
    """Run every event (merges and wall events) to the end; return their number.

    xs    : float64 (d,), magnitudes sorted descending, >= 0, d >= 1
    theta : float64 (d,), non-increasing, >= 0
    ev_*  : outputs of length >= d. Event j: ``ev_time[j]``, ``ev_kind[j]``
            (MERGE or WALL), the run ``[ev_head[j], ev_stop[j])`` it makes (a
            merge) or that joins the wall (a wall event), ``ev_split[j]`` the
            first rank of the lower part (== ``ev_stop`` for a wall event) and the
            magnitude ``ev_position[j]`` where it happens (0 for the wall).
    Events stop when no pair can ever meet (infinite times, e.g. theta == 0).
    """
    d = xs.shape[0]
    mx = xs.copy()
    mt = theta.copy()
    nxt = np.arange(1, d + 1)
    prv = np.arange(-1, d - 1)
    pos = np.empty(d, np.int64)
    htime = np.empty(d)
    hpair = np.empty(d, np.int64)
    wall = d
    t_now = 0.0
    for a in range(d):
        htime[a] = _pair_time(a, mx, mt, nxt, wall, t_now)
        hpair[a] = a
        pos[a] = a
    size = d
    heapify(htime, hpair, pos, size)
    n = 0
    while size > 0 and htime[0] < np.inf:
        t_now = max(t_now, htime[0])
        a = hpair[0]
        size = remove(htime, hpair, pos, 0, size)
        b = nxt[a]
        ev_time[n] = t_now
        ev_head[n] = a
        if b == wall:
            # [a, b) reaches 0 and becomes the top of the wall.
            ev_kind[n] = WALL
            ev_split[n] = b
            ev_stop[n] = b
            ev_position[n] = 0.0
            wall = a
            nxt[a] = d
            p = prv[a]
            if p >= 0:
                htime[pos[p]] = _pair_time(p, mx, mt, nxt, wall, t_now)
                place(htime, hpair, pos, pos[p], size)
        else:
            # Merge B = [b, c) into A = [a, b): mean position and mean speed.
            c = nxt[b]
            mx[a] = pooled_mean_jit(mx[a], b - a, mx[b], c - b)
            mt[a] = pooled_mean_jit(mt[a], b - a, mt[b], c - b)
            nxt[a] = c
            if c < d:
                prv[c] = a
            if pos[b] >= 0:  # B's own pair is gone: A now owns it
                size = remove(htime, hpair, pos, pos[b], size)
            ev_kind[n] = MERGE
            ev_split[n] = b
            ev_stop[n] = c
            ev_position[n] = max(mx[a] - t_now * mt[a], 0.0)
            htime[size], hpair[size] = _pair_time(a, mx, mt, nxt, wall, t_now), a
            pos[a] = size
            size += 1
            place(htime, hpair, pos, size - 1, size)
            p = prv[a]
            if p >= 0:
                htime[pos[p]] = _pair_time(p, mx, mt, nxt, wall, t_now)
                place(htime, hpair, pos, pos[p], size)
        n += 1
    return n
