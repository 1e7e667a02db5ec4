"""The :class:`Trajectory`: every query answered from one event log, in numpy.

A simulation (any backend) yields, in merge order, events ``j = 0 .. d-2``:
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

from functools import cached_property

import numpy as np

from prox._arrays import OutputKind
from prox.scaling import power_of_two_scale
from prox.transform import run_velocity, velocity
from prox.validation import check_strength, check_times

__all__ = ["Trajectory", "EVENT_DTYPE", "merge_children", "check_cluster_count"]

#: Fields of :attr:`Trajectory.events` (left/right are linkage cluster ids).
EVENT_DTYPE = np.dtype(
    [("time", "f8"), ("left", "i8"), ("right", "i8"), ("position", "f8"), ("mass", "i8")]
)


def merge_children(order, head, split):
    """Linkage ids of the two clusters each merge joins: ``(first, second)``, int64 (n,).

    The merges, in time order, join adjacent runs of an ordering of the
    particles (``order[r]`` is the particle at position ``r``): merge ``j``
    joins the run starting at ``head[j]`` with the run starting at
    ``split[j]``, and makes cluster ``d + j`` (SciPy's numbering). The first
    part was made by the latest earlier merge with the same head (else it is
    the particle ``order[head[j]]``); the second by the LAST merge with head
    ``split[j]``, since a head never returns once absorbed. Both found by
    grouping merges by head: O(n log n), no loop.
    """
    d, n = order.shape[0], head.shape[0]
    by_head = np.argsort(head, kind="stable")
    heads_sorted = head[by_head]
    same = np.zeros(n, bool)
    same[1:] = heads_sorted[1:] == heads_sorted[:-1]
    previous = np.full(n, -1)
    previous[by_head[same]] = by_head[np.flatnonzero(same) - 1]
    last = np.full(d, -1)
    group_end = np.flatnonzero(np.append(~same[1:], True)) if n else np.empty(0, np.int64)
    last[heads_sorted[group_end]] = by_head[group_end]
    first = np.where(previous >= 0, d + previous, order[head])
    made_second = last[split]
    second = np.where(made_second >= 0, d + made_second, order[split])
    return first.astype(np.int64), second.astype(np.int64)


def check_cluster_count(k, d: int) -> int:
    """``k`` as an int number of clusters for ``d`` particles (>= 1, or >= 0 when d == 0)."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"Invalid k: expected an int, got {type(k).__name__}")
    if k < min(1, d):
        raise ValueError(f"Invalid k: {k} (at least one cluster always remains)")
    return int(k)


class Trajectory:
    """The whole merge history of the particle system started at ``w``.

    Time is the regularization strength: ``positions(lam) == prox_ws(w, lam)``.
    Built by :func:`particles.simulate`; not meant to be constructed by hand.

    Attributes
    ----------
    d : int
        Number of particles (weights).
    backend : str
        The backend that ran it: ``"numba"``, ``"torch"`` or ``"torch_events"``
        (:data:`particles.BACKENDS`).
    rounds : int or None
        Sequential whole-tensor steps a torch backend took (None for numba).
    times : ndarray float64, shape (d-1,)
        Event times in merge order (non-decreasing).
    lam_max : float
        Time of the last merge (0.0 for d <= 1); afterwards all sit at mean(w).
    linkage : ndarray float64, shape (d-1, 4)
        SciPy linkage ``[left id, right id, time, size]`` (built on first use).
    events : structured ndarray, dtype :data:`EVENT_DTYPE`, shape (d-1,)
        Fields ``time, left, right, position, mass`` (built on first use).

    Output policy (the package's dtype policy): positions/prox come back in
    the input's kind and result dtype: ndarrays for array input, tensors on
    the input's device for tensor input; float32 stays float32, float64 and
    integer input give float64. Times, events and the linkage are float64. Queries cost O(d) each
    (``n_clusters`` and ``lam_for_clusters`` O(log d)).
    """

    def __init__(self, order, xs, time, head, split, stop, position, *,
                 backend: str, rounds=None, like=None):
        self.d = int(xs.shape[0])
        self.backend = backend
        self.rounds = rounds
        self._order = order
        self._xs = np.asarray(xs, np.float64)  # float32 input is summed in float64
        self.times = time
        self._head = head
        self._split = split
        self._stop = stop
        self._position = position
        # The kind positions come back in (the input's); float64 ndarrays by default.
        self._like = like if like is not None else OutputKind(np.dtype(np.float64))
        d = self.d
        # Positions are computed on xs / scale (a power of two: exact), so
        # segment sums and ``mean + t * velocity`` stay finite near 1e308.
        self._scale = power_of_two_scale(float(np.abs(xs).max())) if d else 1.0
        self._xs_scaled = self._xs / self._scale
        # gap g (between sorted particles g and g+1) closes at gap_time[g].
        self._gap_time = np.empty(max(d - 1, 0))
        self._gap_time[split - 1] = time

    # ------------------------------------------------------------------ state
    @property
    def lam_max(self) -> float:
        return float(self.times[-1]) if self.d > 1 else 0.0

    def _cluster_starts(self, t: float) -> np.ndarray:
        # First sorted index of every cluster alive at time t: the gaps still
        # open (closing strictly after t) separate them.
        return np.concatenate(([0], np.flatnonzero(self._gap_time > t) + 1))

    def _sorted_positions(self, t: float) -> np.ndarray:
        d = self.d
        if d <= 1:
            return self._xs.copy()
        # After the last merge nothing moves (the one cluster's velocity is 0).
        t = min(t, self.lam_max)
        starts = self._cluster_starts(t)
        stops = np.append(starts[1:], d)
        sizes = stops - starts
        means = np.add.reduceat(self._xs_scaled, starts) / sizes
        values = means + (t / self._scale) * run_velocity(starts, stops, d)
        # The prox is a contraction towards the mean: exact positions never
        # leave [min w, max w]; clipping only removes rounding at the edges.
        values = np.clip(values * self._scale, self._xs[0], self._xs[-1])
        return np.repeat(values, sizes)

    def _output(self, array):
        return self._like(array)

    def positions(self, t):
        """Positions of all particles at time ``t`` >= 0, in the ORIGINAL order.

        Scalar ``t``: shape (d,). 1-D array of times: shape (len(t), d).
        O(d) per time (segment sums over the clusters alive at ``t``).
        """
        times, scalar = check_times(t, "t")
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
        if check_cluster_count(k, self.d) >= self.d:
            return 0.0
        return float(self.times[self.d - k - 1])

    def labels(self, t) -> np.ndarray:
        """Cluster id of every weight at time ``t`` (original order), int64 (d,).

        Weights in one cluster (merged at a time <= ``t``) share a label; ids run
        0 .. n-1 in increasing order of position, ``n == n_clusters(t)``. Read
        from the merge times, not from float equality of positions, so at the
        very instant two clusters meet the labels agree with ``n_clusters`` and
        with ``fcluster(linkage, t, "distance")``.
        """
        t = check_strength(t, "t")
        sorted_labels = np.zeros(self.d, np.int64)
        if self.d > 1:
            np.cumsum(self._gap_time > t, out=sorted_labels[1:])
        labels = np.empty(self.d, np.int64)
        labels[self._order] = sorted_labels
        return labels

    # ------------------------------------------------------------ the tree
    @cached_property
    def _children(self):
        return merge_children(self._order, self._head, self._split)

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

    # ------------------------------------------------------- geometry for drawing
    def cluster_state(self, t):
        """The clusters at time ``t`` >= 0, left to right: ``(position, mass, leftmost)``.

        ``position`` float64 (n,), ``mass`` int64 (n,) (particles per cluster),
        ``leftmost`` int64 (n,): the sorted rank of each cluster's leftmost
        particle, which names a cluster for its whole life (a merged cluster
        keeps its left part's). ``n == n_clusters(t)``; O(d).
        """
        t = check_strength(t, "t")
        if self.d == 0:
            empty = np.empty(0, np.int64)
            return np.empty(0), empty, empty
        starts = self._cluster_starts(t).astype(np.int64)
        mass = np.diff(np.append(starts, self.d))
        return self._sorted_positions(t)[starts], mass, starts

    def spacetime_segments(self, t0=0.0, t1=None) -> dict:
        """Every cluster alive during ``[t0, t1]`` as a straight segment in (time, position).

        A cluster lives from its birth (0 for a particle, its merge time
        otherwise) to the merge that absorbs it (the last one lives on); it
        moves at its constant velocity in between (the mean of its members'
        velocities), so the two end points, clipped to ``[t0, t1]``, draw it
        exactly. ``t1`` defaults to ``lam_max``.

        Returns a dict of float64/int64 arrays, one entry per segment, in
        linkage-id order (particles ``0..d-1``, then merges ``d..2d-2``):
        ``id, t0, t1, x0, x1, leftmost`` (sorted rank of the cluster's
        leftmost particle, as in :meth:`cluster_state`). O(d).
        """
        t0 = check_strength(t0, "t0")
        t1 = self.lam_max if t1 is None else check_strength(t1, "t1")
        if t1 < t0:
            raise ValueError(f"Invalid t1: {t1} (must be >= t0 = {t0})")
        d, n = self.d, max(self.d - 1, 0)
        rank = np.empty(d, np.int64)
        rank[self._order] = np.arange(d)
        head = np.asarray(self._head[:n], np.int64)
        stop = np.asarray(self._stop[:n], np.int64)
        birth_t = np.concatenate((np.zeros(d), self.times[:n]))
        birth_x = np.concatenate((self._xs[rank], self._position[:n]))
        leftmost = np.concatenate((rank, head))
        mid_rank = np.concatenate((rank, 0.5 * (head + stop - 1)))
        speed = velocity(mid_rank, d) if d > 1 else np.zeros(d)
        death_t = np.full(d + n, np.inf)
        if n:
            left, right = self._children
            death_t[left] = self.times
            death_t[right] = self.times
        # Alive in the window: born by t1 and not dead before t0 (a cluster born
        # and absorbed at t0 itself, e.g. ties at t = 0, is a point: kept).
        alive = (birth_t <= t1) & ((death_t > t0) | (birth_t >= t0))
        ids = np.flatnonzero(alive)
        start = np.maximum(birth_t[ids], t0)
        end = np.minimum(death_t[ids], t1)
        # In units of the power-of-two scale (exact), so nothing overflows near 1e308.
        x_scaled, v_scaled = birth_x[ids] / self._scale, speed[ids] / self._scale
        return dict(
            id=ids,
            t0=start,
            t1=end,
            x0=(x_scaled + (start - birth_t[ids]) * v_scaled) * self._scale,
            x1=(x_scaled + (end - birth_t[ids]) * v_scaled) * self._scale,
            leftmost=leftmost[ids],
        )

    def __repr__(self) -> str:
        return (f"Trajectory(d={self.d}, backend={self.backend!r}, "
                f"lam_max={self.lam_max:.6g}, rounds={self.rounds})")
