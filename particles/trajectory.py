"""The :class:`Trajectory`: every query answered from one event log, in numpy.

A simulation (either backend) yields, in merge order, events ``j = 0 .. d-2``:
``time[j]``, the merged run ``[head[j], stop[j])`` of sorted indices, the first
index ``split[j]`` of its right part, and the centre of mass ``position[j]``
at the merge. Everything else follows:

* the gap between sorted particles ``split[j] - 1`` and ``split[j]`` closes at
  ``time[j]``; at time ``t`` the clusters are the runs between the gaps still
  open (``gap_time > t``);
* a cluster ``[a, b)`` sits at ``mean(xs[a:b]) + t * velocity((a+b-1)/2, d)``
  (centre of mass; the velocities of a run of ranks average to the velocity of
  its middle rank);
* the SciPy linkage numbers new clusters ``d, d+1, ...`` in event order.
"""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from prox._validation import check_strength, is_torch_tensor
from prox.transform import velocity

__all__ = ["Trajectory", "EVENT_DTYPE"]

#: Fields of :attr:`Trajectory.events` (left/right are linkage cluster ids).
EVENT_DTYPE = np.dtype(
    [("time", "f8"), ("left", "i8"), ("right", "i8"), ("position", "f8"), ("mass", "i8")]
)


def _check_times(t, name: str):
    """Return ``(times, scalar)``: float64 1-D array of finite, >= 0 times."""
    if is_torch_tensor(t):
        t = t.detach().cpu().numpy()
    if np.ndim(t) == 0:
        return np.array([check_strength(t, name)]), True
    times = np.asarray(t)
    if times.dtype.kind not in "fiu":
        raise TypeError(f"Invalid {name}: dtype {times.dtype} is not a real number type")
    times = times.astype(np.float64).ravel()
    if not np.isfinite(times).all():
        raise ValueError(f"Invalid {name}: contains NaN or infinite entries")
    if (times < 0).any():
        raise ValueError(f"Invalid {name}: {times[times < 0][0]} (must be >= 0)")
    return times, False


def _power_of_two_above(value: float) -> float:
    # Dividing by a power of two is exact, and keeps segment sums from overflowing.
    if value == 0.0:
        return 1.0
    return math.ldexp(1.0, math.frexp(value)[1])


class Trajectory:
    """The whole merge history of the particle system started at ``w``.

    Time is the regularization strength: ``positions(lam) == prox_ws(w, lam)``.
    Built by :func:`particles.simulate`; not meant to be constructed by hand.

    Attributes
    ----------
    d : int
        Number of particles (weights).
    backend : str
        ``"numba"`` or ``"torch"``.
    rounds : int or None
        Parallel event rounds the torch backend took (None for numba).
    times : ndarray float64, shape (d-1,)
        Event times in merge order (non-decreasing).
    lam_max : float
        Time of the last merge (0.0 for d <= 1); afterwards all sit at mean(w).
    linkage : ndarray float64, shape (d-1, 4)
        SciPy linkage ``[left id, right id, time, size]`` (built on first use).
    events : structured ndarray, dtype :data:`EVENT_DTYPE`, shape (d-1,)
        Fields ``time, left, right, position, mass`` (built on first use).

    Output policy: positions/prox are float64 ndarrays for numpy input; for
    torch input they are tensors of the input's float dtype (float64 for
    integer input) on the input's device. Queries cost O(d) each
    (``n_clusters`` and ``lam_for_clusters`` O(log d)).
    """

    def __init__(self, order, xs, time, head, split, stop, position, *,
                 backend: str, rounds=None, like=None):
        self.d = int(xs.shape[0])
        self.backend = backend
        self.rounds = rounds
        self._order = order
        self._xs = xs
        self.times = time
        self._head = head
        self._split = split
        self._stop = stop
        self._position = position
        self._like = like  # (dtype, device) of a torch input, else None
        d = self.d
        self._scale = _power_of_two_above(float(np.abs(xs).max())) if d else 1.0
        self._xs_scaled = xs / self._scale
        # gap g (between sorted particles g and g+1) closes at gap_time[g].
        self._gap_time = np.empty(max(d - 1, 0))
        self._gap_time[split - 1] = time

    # ------------------------------------------------------------------ state
    @property
    def lam_max(self) -> float:
        return float(self.times[-1]) if self.d > 1 else 0.0

    def _sorted_positions(self, t: float) -> np.ndarray:
        d = self.d
        if d <= 1:
            return self._xs.copy()
        starts = np.concatenate(([0], np.flatnonzero(self._gap_time > t) + 1))
        stops = np.append(starts[1:], d)
        sizes = stops - starts
        means = np.add.reduceat(self._xs_scaled, starts) / sizes * self._scale
        values = means + t * velocity(0.5 * (starts + stops - 1), d)
        return np.repeat(values, sizes)

    def _output(self, array):
        if self._like is None:
            return array
        import torch

        dtype, device = self._like
        return torch.from_numpy(array).to(device=device, dtype=dtype)

    def positions(self, t):
        """Positions of all particles at time ``t`` >= 0, in the ORIGINAL order.

        Scalar ``t``: shape (d,). 1-D array of times: shape (len(t), d).
        O(d) per time (segment sums over the clusters alive at ``t``).
        """
        times, scalar = _check_times(t, "t")
        out = np.empty((times.size, self.d))
        for row, time in enumerate(times):
            out[row, self._order] = self._sorted_positions(float(time))
        return self._output(out[0] if scalar else out)

    def prox(self, lam):
        """``prox_{lam R}(w)`` (== ``prox.prox_ws(w, lam)``), shape (d,)."""
        lam = check_strength(lam, "lam")
        out = np.empty(self.d)
        out[self._order] = self._sorted_positions(lam)
        return self._output(out)

    def n_clusters(self, t) -> int:
        """Number of clusters (distinct positions) at time ``t``; O(log d)."""
        t = check_strength(t, "t")
        if self.d <= 1:
            return self.d
        return self.d - int(np.searchsorted(self.times, t, side="right"))

    def lam_for_clusters(self, k) -> float:
        """Smallest ``lam`` at which at most ``k`` clusters remain (0.0 if already).

        ``k`` is an int >= 1 (or >= 0 when d == 0).
        """
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"Invalid k: expected an int, got {type(k).__name__}")
        if k < min(1, self.d):
            raise ValueError(f"Invalid k: {k} (at least one cluster always remains)")
        if k >= self.d:
            return 0.0
        return float(self.times[self.d - k - 1])

    def labels(self, t) -> np.ndarray:
        """Cluster id of every weight at time ``t`` (original order), int64 (d,).

        Equal positions get equal labels; ids run 0 .. n-1 in increasing order
        of position.
        """
        t = check_strength(t, "t")
        values = self._sorted_positions(t)
        sorted_labels = np.zeros(self.d, np.int64)
        np.cumsum(values[1:] != values[:-1], out=sorted_labels[1:])
        labels = np.empty(self.d, np.int64)
        labels[self._order] = sorted_labels
        return labels

    # ------------------------------------------------------------ the tree
    @cached_property
    def _children(self):
        # Child ids of each event. The left cluster of event j was made by the
        # latest earlier event with the same head; the right cluster (head
        # split[j]) by the LAST event with that head, since a head never
        # returns once absorbed. Both found by grouping events by head.
        d, n = self.d, self.d - 1
        by_head = np.argsort(self._head, kind="stable")
        heads_sorted = self._head[by_head]
        same = np.zeros(n, bool)
        same[1:] = heads_sorted[1:] == heads_sorted[:-1]
        previous = np.full(n, -1)
        previous[by_head[same]] = by_head[np.flatnonzero(same) - 1]
        last = np.full(d, -1)
        group_end = np.flatnonzero(np.append(~same[1:], True))
        last[heads_sorted[group_end]] = by_head[group_end]
        left = np.where(previous >= 0, d + previous, self._order[self._head])
        made_right = last[self._split]
        right = np.where(made_right >= 0, d + made_right, self._order[self._split])
        return left.astype(np.int64), right.astype(np.int64)

    @cached_property
    def linkage(self) -> np.ndarray:
        if self.d <= 1:
            return np.empty((0, 4))
        left, right = self._children
        return np.column_stack((left, right, self.times, self._stop - self._head)).astype(
            np.float64
        )

    @cached_property
    def events(self) -> np.ndarray:
        n = max(self.d - 1, 0)
        record = np.empty(n, EVENT_DTYPE)
        if n:
            record["left"], record["right"] = self._children
            record["time"] = self.times
            record["position"] = self._position
            record["mass"] = self._stop - self._head
        return record

    def __repr__(self) -> str:
        return (f"Trajectory(d={self.d}, backend={self.backend!r}, "
                f"lam_max={self.lam_max:.6g}, rounds={self.rounds})")
