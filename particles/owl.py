"""The OWL family as particle systems: magnitudes drifting to a wall at 0.

Sort the magnitudes ``|w|`` descending. Under ``OWL_theta`` (``theta``
non-increasing, >= 0) the particle of rank ``i`` moves toward 0 with speed
``theta_i``; particles that meet stick (the cluster sits at their mean and
moves at their mean speed); a particle or cluster that reaches 0 stays there
(the *wall*). At time ``t`` the magnitudes are ``|prox_{t OWL_theta}(w)|``
and the signs are those of ``w`` (``docs/maths.md``, the OWL family):

* Lasso is ``theta`` constant: nobody ever meets, everyone walks into the wall;
* OSCAR's ``theta`` is affine in the rank, exactly like the weight-sharing
  velocities, so OSCAR is R's motion on the magnitudes plus a wall;
* GrOWL does this on the row norms of a matrix and rescales every row.

:func:`simulate_owl` runs the event simulation once (Numba,
:mod:`particles.backends.owl_events`) and returns an :class:`OwlTrajectory` that
answers for every ``t`` at once; :func:`simulate_growl` does the same for
GrOWL and returns a :class:`GrowlTrajectory`.
"""
from __future__ import annotations

import numpy as np

from prox.owl import check_theta
from prox.scaling import power_of_two_scale
from prox.validation import check_strength, check_times, check_weights, is_torch_tensor

from .backends import owl_events
from .trajectory import check_cluster_count

__all__ = ["simulate_owl", "simulate_growl", "OwlTrajectory", "GrowlTrajectory",
           "OWL_EVENT_DTYPE"]

#: Fields of :attr:`OwlTrajectory.events`. ``kind`` is ``"merge"`` or ``"wall"``;
#: ``[head, stop)`` are descending magnitude ranks (``rank_order`` maps them to
#: indices of ``w``): the cluster made by a merge (its lower part starts at
#: ``split``) or the cluster that joins the wall (``split == stop``);
#: ``position`` is the magnitude where it happens (0 for the wall); ``mass``
#: the number of weights in the cluster.
OWL_EVENT_DTYPE = np.dtype([("time", "f8"), ("kind", "U5"), ("head", "i8"), ("split", "i8"),
                            ("stop", "i8"), ("position", "f8"), ("mass", "i8")])

_KIND_NAMES = np.array(["merge", "wall"])


class OwlTrajectory:
    """The whole history of the OWL particle system started at ``w`` with weights ``theta``.

    Time is the strength: ``prox(t) == prox.owl.prox_owl(w, t * theta)``.
    Built by :func:`simulate_owl`. Outputs are float64 ndarrays.

    Attributes
    ----------
    d : int
        Number of weights.
    theta : ndarray float64 (d,)
        The OWL weights (speed of the particle of each descending magnitude rank).
    rank_order : ndarray int64 (d,)
        ``w[rank_order]`` has non-increasing magnitudes (ties in index order).
    events : structured ndarray, dtype :data:`OWL_EVENT_DTYPE`
        Merges and wall events in time order (at most d).
    times : ndarray float64
        ``events["time"]`` (non-decreasing).
    t_zero : float
        Time at which every weight is 0 (``inf`` if that never happens:
        ``theta == 0`` and ``w != 0``).
    wall_time : ndarray float64 (d,)
        Time at which each weight (original order) reaches 0 (``inf``: never).

    Queries cost O(d) per time (``n_clusters`` O(log d)).
    """

    def __init__(self, w, theta, order, xs, events):
        self.d = int(w.size)
        self.theta = theta
        self.rank_order = order
        self.events = events
        self.times = events["time"]
        self._sign = np.where(w < 0, -1.0, 1.0)
        self._xs = xs
        d = self.d
        self._scale_x = power_of_two_scale(float(xs[0])) if d else 1.0
        self._scale_theta = power_of_two_scale(float(theta[0])) if d else 1.0
        self._xs_scaled = xs / self._scale_x
        self._theta_scaled = theta / self._scale_theta
        # Gap g (between ranks g and g+1) closes when they join one cluster: a
        # merge at split g+1, or the cluster above it joining a non-empty wall.
        self._gap_time = np.full(max(d - 1, 0), np.inf)
        closes = events["split"] < d
        self._gap_time[events["split"][closes] - 1] = events["time"][closes]
        self._closing_times = np.sort(self._gap_time)
        wall = events[events["kind"] == "wall"]
        self._wall_event_times = wall["time"]
        self._wall_heads = wall["head"]
        wall_time_sorted = np.full(d, np.inf)
        if wall.size:
            # Wall heads decrease: rank r joined with the first wall event whose head is <= r.
            ranks = np.arange(int(wall["head"][-1]), d)
            first = np.searchsorted(-wall["head"], -ranks, side="left")
            wall_time_sorted[ranks] = wall["time"][first]
        self.wall_time = np.empty(d)
        self.wall_time[order] = wall_time_sorted
        if d == 0:
            self.t_zero = 0.0
        else:
            self.t_zero = float(wall["time"][-1]) if wall.size and wall["head"][-1] == 0 else np.inf

    # ------------------------------------------------------------ structure
    def _wall_start(self, t: float) -> int:
        """First descending rank that sits on the wall at time ``t`` (d: nobody)."""
        count = int(np.searchsorted(self._wall_event_times, t, side="right"))
        return int(self._wall_heads[count - 1]) if count else self.d

    def clusters(self, t):
        """The clusters at time ``t``, largest magnitude first.

        Returns ``(start, stop, magnitude)``: int64, int64, float64 arrays; the
        cluster ``i`` holds the descending ranks ``[start[i], stop[i])`` (the
        weights ``w[rank_order[start[i]:stop[i]]]``) at ``magnitude[i]``. The
        wall, if anyone is on it, is the last cluster (magnitude 0).
        """
        t = check_strength(t, "t")
        d = self.d
        if d == 0:
            empty = np.empty(0, np.int64)
            return empty, empty, np.empty(0)
        start = np.concatenate(([0], np.flatnonzero(self._gap_time > t) + 1)).astype(np.int64)
        stop = np.append(start[1:], d).astype(np.int64)
        size = stop - start
        mean_x = np.add.reduceat(self._xs_scaled, start) / size * self._scale_x
        mean_theta = np.add.reduceat(self._theta_scaled, start) / size * self._scale_theta
        magnitude = np.maximum(mean_x - t * mean_theta, 0.0)
        magnitude[start >= self._wall_start(t)] = 0.0
        return start, stop, magnitude

    def _sorted_magnitudes(self, t: float) -> np.ndarray:
        start, stop, magnitude = self.clusters(t)
        return np.repeat(magnitude, stop - start)

    # ------------------------------------------------------------ queries
    def magnitudes(self, t):
        """``|prox(t)|`` in the original order: shape (d,), or (len(t), d) for an array."""
        times, scalar = check_times(t)
        out = np.empty((times.size, self.d))
        for row, time in enumerate(times):
            out[row, self.rank_order] = self._sorted_magnitudes(float(time))
        return out[0] if scalar else out

    def positions(self, t):
        """Signed weights at time ``t`` (original order): shape (d,), or (len(t), d)."""
        return self.magnitudes(t) * self._sign

    def prox(self, t):
        """``prox_{t OWL_theta}(w)`` (== ``prox.owl.prox_owl(w, t * theta)``), shape (d,)."""
        return self.positions(check_strength(t, "t"))

    def n_clusters(self, t) -> int:
        """Number of clusters (distinct magnitudes, the wall counted once) at ``t``; O(log d)."""
        t = check_strength(t, "t")
        return self.d - int(np.searchsorted(self._closing_times, t, side="right"))

    def labels(self, t) -> np.ndarray:
        """Cluster id of every weight at ``t`` (original order), int64 (d,).

        Ids run 0 .. n-1 in increasing magnitude, so the wall (if reached) is 0.
        Weights of opposite signs can share a cluster: the groups of OWL/OSCAR
        are groups of equal magnitude.
        """
        start, stop, _ = self.clusters(t)
        sorted_labels = np.repeat(np.arange(start.size - 1, -1, -1), stop - start)
        labels = np.empty(self.d, np.int64)
        labels[self.rank_order] = sorted_labels
        return labels

    def zeros(self, t) -> np.ndarray:
        """Boolean mask (original order) of the weights on the wall at ``t``."""
        t = check_strength(t, "t")
        return self.wall_time <= t

    def n_zeros(self, t) -> int:
        """Number of weights on the wall at ``t``."""
        return self.d - self._wall_start(check_strength(t, "t"))

    def t_for_clusters(self, k) -> float:
        """Smallest ``t`` at which at most ``k`` clusters remain (0.0 if already; inf if never)."""
        if check_cluster_count(k, self.d) >= self.d:
            return 0.0
        return float(self._closing_times[self.d - k - 1])

    def __repr__(self) -> str:
        return (f"OwlTrajectory(d={self.d}, events={self.events.size}, "
                f"t_zero={self.t_zero:.6g})")


def _run_owl(magnitudes: np.ndarray, theta: np.ndarray, sign_source: np.ndarray):
    """Sort, simulate and wrap (``magnitudes`` float64 (d,) >= 0)."""
    d = magnitudes.size
    order = np.argsort(-magnitudes, kind="stable")
    xs = np.ascontiguousarray(magnitudes[order])
    time, position = np.empty(d), np.empty(d)
    kind, head, split, stop = (np.empty(d, np.int64) for _ in range(4))
    n = owl_events.simulate_owl_sorted(xs, theta, time, kind, head, split, stop,
                                        position) if d else 0
    events = np.empty(n, OWL_EVENT_DTYPE)
    events["time"], events["kind"] = time[:n], _KIND_NAMES[kind[:n]]
    events["head"], events["split"], events["stop"] = head[:n], split[:n], stop[:n]
    events["position"], events["mass"] = position[:n], stop[:n] - head[:n]
    return OwlTrajectory(sign_source, theta, order, xs, events)


def _as_float64(w, name: str) -> np.ndarray:
    w = check_weights(w, name)
    if is_torch_tensor(w):
        w = w.detach().cpu().numpy()
    return np.asarray(w, dtype=np.float64)


def simulate_owl(w, theta) -> OwlTrajectory:
    """Simulate the OWL particle system started at ``w`` (magnitudes toward a wall at 0).

    Parameters
    ----------
    w : array_like or Tensor, shape (d,)
        float32, float64 or integer, finite. Computed in float64.
    theta : array_like, shape (d,)
        OWL weights: non-increasing, finite, >= 0. ``theta[i]`` is the speed of
        the particle of descending magnitude rank ``i``.

    Returns
    -------
    OwlTrajectory
        ``traj.prox(t) == prox.owl.prox_owl(w, t * theta)`` for every ``t >= 0``.

    Cost: O(d log d) work, O(d) memory (one sort, at most d events).

    Examples
    --------
    >>> traj = simulate_owl(np.array([3.0, -1.0, 0.5]), [1.0, 0.5, 0.5])
    >>> traj.prox(1.0)
    array([ 2. , -0.5,  0. ])
    >>> traj.t_zero
    3.0
    """
    w = _as_float64(w, "w")
    if w.ndim != 1:
        raise ValueError(f"Invalid w: expected a 1-D vector, got shape {w.shape}")
    theta = check_theta(theta, w.size)
    return _run_owl(np.abs(w), theta, w)


class GrowlTrajectory:
    """GrOWL as particles: the row norms of ``W`` run the OWL system; rows follow.

    Attributes
    ----------
    W : ndarray float64 (rows, cols)
    row_norms : ndarray float64 (rows,), the norms at t = 0
    norms : OwlTrajectory of the row norms (events, t_zero, clusters, ...)

    ``prox(t) == prox.owl.prox_growl(W, t * theta)``: every row scaled by
    ``shrink(t) = |norm(t)| / norm(0)`` (0 for zero rows).
    """

    def __init__(self, W: np.ndarray, norms: np.ndarray, trajectory: OwlTrajectory):
        self.W = W
        self.row_norms = norms
        self.norms = trajectory
        self.t_zero = trajectory.t_zero
        self.events = trajectory.events

    def shrink(self, t) -> np.ndarray:
        """Each row's shrink factor at ``t`` in [0, 1], float64 (rows,)."""
        new = self.norms.magnitudes(check_strength(t, "t"))
        return np.divide(new, self.row_norms, out=np.zeros_like(new), where=self.row_norms > 0)

    def prox(self, t) -> np.ndarray:
        """``prox_{t GrOWL_theta}(W)``, float64 (rows, cols)."""
        return self.W * self.shrink(t)[:, None]

    def n_groups(self, t) -> int:
        """Number of distinct row norms at ``t`` (the zero rows counted once)."""
        return self.norms.n_clusters(t)

    def labels(self, t) -> np.ndarray:
        """Row-group id of every row (0 = zero rows, if any), int64 (rows,)."""
        return self.norms.labels(t)

    def zero_rows(self, t) -> np.ndarray:
        """Boolean mask of the rows that are 0 at ``t``."""
        return self.norms.zeros(t)

    def __repr__(self) -> str:
        rows, cols = self.W.shape
        return f"GrowlTrajectory(rows={rows}, cols={cols}, t_zero={self.t_zero:.6g})"


def simulate_growl(W, theta) -> GrowlTrajectory:
    """GrOWL's particle system: :func:`simulate_owl` on the row norms of a 2-D ``W``.

    ``theta`` has one weight per row (non-increasing, >= 0). Cost: the norms
    O(rows * cols) plus O(rows log rows).
    """
    W = _as_float64(W, "W")
    if W.ndim != 2:
        raise ValueError(f"Invalid W: expected a 2-D matrix, got shape {W.shape}")
    theta = check_theta(theta, W.shape[0])
    norms = np.linalg.norm(W, axis=1)
    return GrowlTrajectory(W, norms, _run_owl(norms, theta, norms))
