"""The Watch tab's clock: how far the time axes go, where the time slider may stand, how Play steps.

Time is λ: the particles at time ``t`` sit at ``prox_{tR}(w)``. Nothing moves
after the last merge ``lam_max``, so the axes stop near it even for a huge λ,
and the slider's steps stay fine on ``[0, lam_max]``.

The rules, all in terms of ``lam_max`` and the sidebar's ``lam``:

* the time axes end at ``time_axis_end = 1.05 * max(lam_max, min(lam, 2 * lam_max))``
  (λ itself is on the axes unless it is more than twice ``lam_max``);
  when nothing ever merges (``lam_max == 0``) they end at ``1.05 * lam`` (1 for λ = 0);
* the time slider runs over ``[0, slider_end]``, ``slider_end = min(lam, time_axis_end)``,
  in :data:`SLIDER_STEPS` steps;
* the time shown is KEPT across reruns while it stays in ``[0, slider_end]`` and
  clamped to ``slider_end`` otherwise (raising λ keeps it, lowering λ below it
  moves it to the new end); with no time yet it starts at ``slider_end / 2``;
* Play advances it by ``slider_end / PLAY_STEPS`` per tick from wherever it
  stands, and stops at ``slider_end``.

>>> time_axis_end(2.4, 1e6), slider_end(2.4, 1e6)
(5.04, 5.04)
>>> kept_time(0.3, 2.0), kept_time(3.0, 2.0), kept_time(None, 2.0)
(0.3, 2.0, 1.0)
"""
from __future__ import annotations

import sys

import numpy as np

__all__ = [
    "SLIDER_STEPS",
    "PLAY_STEPS",
    "time_axis_end",
    "slider_end",
    "kept_time",
    "play_step",
    "cluster_count_steps",
]

#: Steps of the time slider over its range.
SLIDER_STEPS = 200
#: Ticks of Play from 0 to the slider's end.
PLAY_STEPS = 40


def time_axis_end(lam_max: float, lam: float) -> float:
    """Right end of every time axis (see the module docstring)."""
    lam_max, lam = float(lam_max), float(lam)
    if lam_max > 0:
        end = 1.05 * max(lam_max, min(lam, 2.0 * lam_max))
    else:
        end = 1.05 * lam if lam > 0 else 1.0
    return min(end, sys.float_info.max)  # finite even for λ near 1e308


def slider_end(lam_max: float, lam: float) -> float:
    """Largest time the slider offers: λ, or the axes' end if λ is far past the last merge."""
    return min(float(lam), time_axis_end(lam_max, lam))


def kept_time(previous: float | None, end: float) -> float:
    """The time to show: ``previous`` if it lies in ``[0, end]``, clamped otherwise.

    ``None`` (nothing shown yet) starts half way.
    """
    if previous is None:
        return 0.5 * end
    return float(min(max(float(previous), 0.0), end))


def play_step(t: float, end: float, *, steps: int = PLAY_STEPS) -> tuple[float, bool]:
    """One Play tick from ``t``: ``(next time, still playing)``; stops at ``end``."""
    if end <= 0 or t >= end:
        return float(end), False
    step = end / steps
    nxt = float(t) + step
    if nxt > end - 0.5 * step:  # the last step lands on the end, not a rounding short of it
        nxt = end
    return nxt, nxt < end


def cluster_count_steps(times, d: int, t_end: float, *, max_drawn: int = 2000):
    """The exact step function ``n(λ) = number of clusters at λ``, ready to draw with ``hv`` lines.

    ``times``: the trajectory's event times (non-decreasing, ``d - 1`` of them);
    ``n(λ) = d - #{times <= λ}``. Returns ``(x, y)``: ``x[0] = 0``, then the
    times at which the count drops, then ``t_end``; ``y`` the count from each
    ``x`` on. Every point drawn is exact (``y[i] == n(x[i])``).

    When there are more than ``max_drawn`` drops, the drawing keeps every drop
    to a count of at most ``max_drawn // 2`` (the last merges, the ones a
    reader looks for) exactly, and above that the first drop below each of
    ``max_drawn // 2`` levels spaced evenly on the log axis the chart uses, so
    between two drawn points the count changes by a factor of at most
    ``(d / (max_drawn // 2)) ** (2 / max_drawn)`` (1.3% at d = 1e6). O(d).
    """
    times = np.asarray(times, dtype=np.float64)
    d = int(d)
    if d == 0:
        return np.array([0.0, t_end]), np.array([0, 0])
    drops = np.unique(times[times <= t_end])
    # Count after each distinct time u: d - #{times <= u}.
    counts = d - np.searchsorted(times, drops, side="right")
    start = d - int(np.searchsorted(times, 0.0, side="right"))  # ties at t = 0 merge at once
    positive = drops > 0
    drops, counts = drops[positive], counts[positive]
    if drops.size > max_drawn:
        few = max(max_drawn // 2, 1)
        keep = np.flatnonzero(counts <= few)
        levels = np.geomspace(few, d, max(max_drawn - few, 2))
        # first drop to a count <= level; counts decrease, so search on -counts
        first = np.searchsorted(-counts, -levels, side="left")
        keep = np.union1d(keep, first[first < counts.size])
        drops, counts = drops[keep], counts[keep]
    x = np.concatenate(([0.0], drops, [float(t_end)]))
    last = counts[-1] if counts.size else start
    y = np.concatenate(([start], counts, [last])).astype(np.int64)
    return x, y
