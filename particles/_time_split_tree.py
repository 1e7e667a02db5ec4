"""From gap closing times to the event log a :class:`particles.Trajectory` is built from.

Input: one sorted row ``xs`` (d,) and ``gap_time`` (d - 1,), the time gap
``g`` (between sorted particles ``g`` and ``g + 1``) closes. The merge tree is
the max-Cartesian tree of the gap times; its events, in merge order, are the
gaps sorted by (time, gap index) -- a stable sort, so exactly simultaneous
merges happen left to right. Each event merges the two runs on either side
of its gap as they are at that moment, so every event comes after the events
that made its two clusters, and times never decrease from child to parent.

One pass over the events in that order with the runs kept at their ends
(``head_at[end]`` the first index of the run ending at ``end``,
``stop_at[head]`` one past the run starting at ``head``) gives each event's
``[head, stop)`` and ``split = gap + 1`` in O(1). The centre of mass is kept
per run head as a weighted mean (``mA + (mB - mA) mB / (mA + mB)``, no sum
that could overflow near 1e308). Cost: the sort (packed-key radix sort,
``prox.sort_keys``) plus O(d); sequential (Numba).
"""
from __future__ import annotations

import numba
import numpy as np

from prox.sort_keys import sort_with_order
from prox.transform import velocity_jit

__all__ = ["events_from_gap_times"]


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
        m_a, m_b = b - a, c - b
        mean[a] = mean[a] + (mean[b] - mean[a]) * (m_b / (m_a + m_b))
        head_at[c - 1] = a
        stop_at[a] = c
        head[j], split[j], stop[j] = a, b, c
        position[j] = mean[a] + t * velocity_jit(0.5 * (a + c - 1), d)


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
