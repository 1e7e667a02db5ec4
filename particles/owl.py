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
GrOWL and returns a :class:`GrowlTrajectory`. Both answer with the words of
:class:`particles.Trajectory`: ``prox(lam)``, ``positions(t)``, ``labels(t)``,
``n_clusters(t)``, ``lam_for_clusters(k)``, ``lam_max``, ``events`` and
``linkage`` (the merge tree, where the wall is a merge with the zero cluster).
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from prox._arrays import OutputKind
from prox.scaling import power_of_two_scale
from prox.sort_keys import sort_with_order
from prox.validation import check_strength, check_theta, check_times, check_weights

from .backends import owl_events
from .trajectory import check_cluster_count, merge_children

__all__ = ["simulate_owl", "simulate_growl", "OwlTrajectory", "GrowlTrajectory",
           "OWL_EVENT_DTYPE"]

#: Fields of :attr:`OwlTrajectory.events`: those of :data:`particles.EVENT_DTYPE`
#: plus ``kind``, ``"merge"`` (two clusters meet) or ``"wall"`` (a cluster reaches
#: 0). ``left``/``right`` are the linkage ids of the two clusters joined (``left``
#: the lower magnitudes: for a wall event the zero cluster, or -1 when nobody
#: was at 0 yet and the cluster just stops there); ``position`` the magnitude
#: where it happens (0 for the wall); ``mass`` the weights in the cluster it
#: leaves behind.
OWL_EVENT_DTYPE = np.dtype([("time", "f8"), ("kind", "U5"), ("left", "i8"), ("right", "i8"),
                            ("position", "f8"), ("mass", "i8")])

_KIND_NAMES = np.array(["merge", "wall"])


class OwlTrajectory:
    """The whole history of the OWL particle system started at ``w`` with weights ``theta``.

    Time is the strength: ``prox(lam) == prox.owl.prox_owl(w, lam * theta)``.
    Built by :func:`simulate_owl`. Positions come back in the input's kind and
    result dtype (float32 stays float32, tensors stay tensors on their device);
    times, events and the linkage are float64 ndarrays.

    Attributes
    ----------
    d : int
        Number of weights.
    theta : ndarray float64 (d,)
        The OWL weights (speed of the particle of each descending magnitude rank).
    rank_order : ndarray int64 (d,)
        ``w[rank_order]`` has non-increasing magnitudes (ties in index order).
    times : ndarray float64
        Event times (merges and wall events), non-decreasing.
    events : structured ndarray, dtype :data:`OWL_EVENT_DTYPE`
        Merges and wall events in time order (at most d).
    lam_max : float
        Time of the last event (0.0 if none): from then on nothing moves.
    linkage : ndarray float64 (d-1, 4)
        SciPy linkage of the merge tree (merges, and arrivals at a wall that
        is already occupied). Exists when every weight reaches 0 (``t_zero``
        finite); a ValueError otherwise (the history is then a forest).
    t_zero : float
        Time at which every weight is 0 (``inf`` if that never happens:
        ``theta == 0`` and ``w != 0``).
    wall_time : ndarray float64 (d,)
        Time at which each weight (original order) reaches 0 (``inf``: never).

    Queries cost O(d) per time (``n_clusters`` O(log d): a binary search in the sorted
    closing times; ``lam_for_clusters`` O(1): an index into them).
    """

    def __init__(self, w, theta, order, xs, log, like):
        time, kind, head, split, stop, position = log
        self.d = d = int(w.size)
        self.theta = theta
        self.rank_order = order
        self.times = time
        self._kind, self._head, self._split, self._stop = kind, head, split, stop
        self._position = position
        self._like = like
        self._sign = np.where(w < 0, -1.0, 1.0)
        self._scale_x = power_of_two_scale(float(xs[0])) if d else 1.0
        self._scale_theta = power_of_two_scale(float(theta[0])) if d else 1.0
        self._xs_scaled = xs / self._scale_x
        self._theta_scaled = theta / self._scale_theta
        # Gap g (between ranks g and g+1) closes when they join one cluster: a
        # merge at split g+1, or the cluster above it joining a non-empty wall.
        self._joins = split < d
        self._gap_time = np.full(max(d - 1, 0), np.inf)
        self._gap_time[split[self._joins] - 1] = time[self._joins]
        self._closing_times = np.sort(self._gap_time)
        wall = kind == owl_events.WALL
        self._wall_event_times = time[wall]
        self._wall_heads = head[wall]
        wall_time_sorted = np.full(d, np.inf)
        if wall.any():
            # Wall heads decrease: rank r joined with the first wall event whose head is <= r.
            ranks = np.arange(int(self._wall_heads[-1]), d)
            first = np.searchsorted(-self._wall_heads, -ranks, side="left")
            wall_time_sorted[ranks] = self._wall_event_times[first]
        self.wall_time = np.empty(d)
        self.wall_time[order] = wall_time_sorted
        everyone_at_zero = wall.any() and self._wall_heads[-1] == 0
        self.t_zero = 0.0 if d == 0 else (float(self._wall_event_times[-1]) if everyone_at_zero
                                          else np.inf)

    @property
    def lam_max(self) -> float:
        return float(self.times[-1]) if self.times.size else 0.0

    # ------------------------------------------------------------ structure
    def _wall_start(self, t: float) -> int:
        """First descending rank that sits on the wall at time ``t`` (d: nobody)."""
        count = int(np.searchsorted(self._wall_event_times, t, side="right"))
        return int(self._wall_heads[count - 1]) if count else self.d

    def _clusters(self, t: float):
        """``(start, stop, magnitude)`` of the clusters at ``t``, largest magnitude first."""
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

    def cluster_state(self, t):
        """The clusters at time ``t``, largest magnitude first: ``(magnitude, mass, first)``.

        ``magnitude`` float64 (n,), ``mass`` int64 (n,), ``first`` int64 (n,):
        the descending magnitude rank of each cluster's largest member (its
        weights are ``w[rank_order[first[i]:first[i] + mass[i]]]``). The zero
        cluster, if anyone is on the wall, is the last one. ``n == n_clusters(t)``.
        """
        start, stop, magnitude = self._clusters(check_strength(t, "t"))
        return magnitude, stop - start, start

    def _magnitudes(self, t):
        times, scalar = check_times(t)
        out = np.empty((times.size, self.d))
        for row, time in enumerate(times):
            start, stop, magnitude = self._clusters(float(time))
            out[row, self.rank_order] = np.repeat(magnitude, stop - start)
        return out[0] if scalar else out

    # ------------------------------------------------------------ queries
    def magnitudes(self, t):
        """``|prox(t)|`` in the original order: shape (d,), or (len(t), d) for an array."""
        return self._like(self._magnitudes(t))

    def positions(self, t):
        """Signed weights at time ``t`` (original order): shape (d,), or (len(t), d)."""
        return self._like(self._magnitudes(t) * self._sign)

    def prox(self, lam):
        """``prox_{lam OWL_theta}(w)`` (== ``prox.owl.prox_owl(w, lam * theta)``), shape (d,)."""
        return self.positions(check_strength(lam, "lam"))

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
        start, stop, _ = self._clusters(check_strength(t, "t"))
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

    def lam_for_clusters(self, k) -> float:
        """Smallest ``lam`` at which at most ``k`` clusters remain (0.0 if already; inf if never).

        ``k`` is an int >= 1 (or >= 0 when d == 0); O(1).
        """
        if check_cluster_count(k, self.d) >= self.d:
            return 0.0
        return float(self._closing_times[self.d - k - 1])

    # ------------------------------------------------------------ the tree
    @cached_property
    def _children(self):
        """Linkage ids ``(upper, lower)`` of the parts every joining event unites.

        The joins (merges, and arrivals at an occupied wall) merge adjacent runs
        of descending ranks; a wall join unites ``[head, split)`` with the wall
        ``[split, d)``.
        """
        joins = self._joins
        return merge_children(self.rank_order, self._head[joins], self._split[joins])

    @cached_property
    def events(self) -> np.ndarray:
        d, n = self.d, self.times.size
        record = np.empty(n, OWL_EVENT_DTYPE)
        record["time"] = self.times
        record["kind"] = _KIND_NAMES[self._kind]
        record["position"] = self._position
        wall = self._kind == owl_events.WALL
        record["mass"] = np.where(wall, d - self._head, self._stop - self._head)
        upper, lower = self._children
        record["right"][self._joins], record["left"][self._joins] = upper, lower
        arrival = ~self._joins  # the first wall event: nobody at 0 yet, no merge
        if arrival.any():
            head = int(self._head[arrival][0])
            made = np.flatnonzero(self._head[self._joins] == head)
            record["left"][arrival] = -1
            record["right"][arrival] = d + made[-1] if made.size else self.rank_order[head]
        return record

    @cached_property
    def linkage(self) -> np.ndarray:
        if self.d > 1 and self._joins.sum() < self.d - 1:
            raise ValueError(
                "No linkage: some weights never reach 0 (theta == 0: nothing moves), "
                "so the history is a forest, not one merge tree"
            )
        if self.d <= 1:
            return np.empty((0, 4))
        joins = self._joins
        upper, lower = self._children
        size = np.where(self._kind[joins] == owl_events.WALL, self.d, self._stop[joins])
        return np.column_stack((lower, upper, self.times[joins],
                                size - self._head[joins])).astype(np.float64)

    def __repr__(self) -> str:
        return (f"OwlTrajectory(d={self.d}, events={self.times.size}, "
                f"t_zero={self.t_zero:.6g})")


def _run_owl(magnitudes: np.ndarray, theta: np.ndarray, sign_source: np.ndarray, like):
    """Sort, simulate and wrap (``magnitudes`` float64 (d,) >= 0)."""
    d = magnitudes.size
    # Descending magnitudes, ties in index order: the stable ascending sort of -|w|.
    order, negated = sort_with_order(np.ascontiguousarray(-magnitudes).reshape(1, d))
    order, xs = order[0], np.ascontiguousarray(-negated[0])
    time, position = np.empty(d), np.empty(d)
    kind, head, split, stop = (np.empty(d, np.int64) for _ in range(4))
    n = owl_events.simulate_owl_sorted(xs, theta, time, kind, head, split, stop,
                                       position) if d else 0
    log = tuple(array[:n] for array in (time, kind, head, split, stop, position))
    return OwlTrajectory(sign_source, theta, order, xs, log, like)


def _as_float64(w, name: str, ndim: int, shape_name: str):
    """Validated ``w`` as a float64 ndarray of ``ndim`` dimensions, and its output kind."""
    w = check_weights(w, name)
    if w.ndim != ndim:
        raise ValueError(f"Invalid {name}: expected {shape_name}, got shape {tuple(w.shape)}")
    like = OutputKind.of(w)
    if like.is_torch:
        w = w.detach().cpu().numpy()
    return np.asarray(w, dtype=np.float64), like


def simulate_owl(w, theta) -> OwlTrajectory:
    """Simulate the OWL particle system started at ``w`` (magnitudes toward a wall at 0).

    Parameters
    ----------
    w : array_like or Tensor, shape (d,)
        float32, float64 or integer, finite. Computed in float64; positions
        come back in the input's kind and dtype (float32 stays float32).
    theta : array_like, shape (d,)
        OWL weights: non-increasing, finite, >= 0. ``theta[i]`` is the speed of
        the particle of descending magnitude rank ``i``.

    Returns
    -------
    OwlTrajectory
        ``traj.prox(lam) == prox.owl.prox_owl(w, lam * theta)`` for every ``lam >= 0``.

    Cost: O(d log d) work, O(d) memory (one sort, at most d events).

    Examples
    --------
    >>> traj = simulate_owl(np.array([3.0, -1.0, 0.5]), [1.0, 0.5, 0.5])
    >>> traj.prox(1.0)
    array([ 2. , -0.5,  0. ])
    >>> traj.t_zero, traj.n_clusters(1.0), traj.lam_for_clusters(1)
    (3.0, 3, 3.0)
    """
    w, like = _as_float64(w, "w", 1, "a 1-D vector")
    theta = check_theta(theta, w.size)
    return _run_owl(np.abs(w), theta, w, like)


class GrowlTrajectory:
    """GrOWL as particles: the row norms of ``W`` run the OWL system; rows follow.

    The particles are the rows: ``positions(t)`` are the row norms at ``t``,
    and every query of :class:`OwlTrajectory` (``labels``, ``n_clusters``,
    ``lam_for_clusters``, ``lam_max``, ``events``, ``linkage``, ``t_zero``)
    answers for them. ``prox(lam) == prox.owl.prox_growl(W, lam * theta)``:
    every row scaled by ``shrink(lam) = norm(lam) / norm(0)`` (0 for zero rows).

    Attributes
    ----------
    W : ndarray float64 (rows, cols)
    row_norms : ndarray float64 (rows,), the norms at t = 0
    norms : OwlTrajectory of the row norms
    """

    def __init__(self, W: np.ndarray, norms: np.ndarray, trajectory: OwlTrajectory, like):
        self.W = W
        self.row_norms = norms
        self.norms = trajectory
        self._like = like
        self.t_zero = trajectory.t_zero

    @property
    def lam_max(self) -> float:
        return self.norms.lam_max

    @property
    def times(self) -> np.ndarray:
        return self.norms.times

    @property
    def events(self) -> np.ndarray:
        return self.norms.events

    @property
    def linkage(self) -> np.ndarray:
        return self.norms.linkage

    def shrink(self, t) -> np.ndarray:
        """Each row's shrink factor at ``t`` in [0, 1], float64 (rows,)."""
        new = self.norms._magnitudes(check_strength(t, "t"))
        return np.divide(new, self.row_norms, out=np.zeros_like(new), where=self.row_norms > 0)

    def positions(self, t):
        """Row norms at time ``t``: shape (rows,), or (len(t), rows) for an array of times."""
        return self._like(self.norms._magnitudes(t))

    def prox(self, lam):
        """``prox_{lam GrOWL_theta}(W)``, shape (rows, cols), in ``W``'s kind and dtype."""
        return self._like(self.W * self.shrink(lam)[:, None])

    def n_clusters(self, t) -> int:
        """Number of distinct row norms at ``t`` (the zero rows counted once)."""
        return self.norms.n_clusters(t)

    def labels(self, t) -> np.ndarray:
        """Row-group id of every row (0 = zero rows, if any), int64 (rows,)."""
        return self.norms.labels(t)

    def lam_for_clusters(self, k) -> float:
        """Smallest ``lam`` at which at most ``k`` distinct row norms remain."""
        return self.norms.lam_for_clusters(k)

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
    W, like = _as_float64(W, "W", 2, "a 2-D matrix (rows, cols)")
    theta = check_theta(theta, W.shape[0])
    norms = np.linalg.norm(W, axis=1)
    return GrowlTrajectory(W, norms, _run_owl(norms, theta, norms, like), like)
