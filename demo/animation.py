"""The particles animated in the browser: exact frames sent once, played by a small canvas player.

Time is λ: the particles at time ``t`` sit at ``prox_{tR}(w)``. Between merges
every cluster moves in a straight line, so the whole motion is known once the
simulation has run. This module samples it at the frame times ``t_j`` and packs
every frame, with the static views, into ONE self-contained HTML snippet
(:meth:`Animation.html`): a canvas player (``demo/player.js``) draws it, and Play,
Pause and the time slider run in the browser with no request to a server. The
same snippet plays in the app (``st.iframe``), in Jupyter
(:meth:`Animation._repr_html_`) and as a standalone page (:mod:`demo.export`).

Why not Plotly's own frames: measured in Chromium on the project's 2-core
machine, a Plotly figure with these four linked panels played 6-12 frames per
second at d = 1000 (its animate step re-runs the defaults and styles of every
trace), the particle panel alone about 20; the canvas player draws a frame in
well under a frame's time (figures in the README).

**Exactness rule.** Frame ``j`` shows exactly the state at ``t_j``: the clusters
alive at ``t_j`` at their exact positions (``traj.cluster_state(t_j)``, the
distinct values of ``positions(t_j)``). Frames replace each other without
interpolation, so everything on screen is an exact state of the system at a
listed time. The frame times (:func:`frame_times`) are an even grid on
``[0, end]``, the times of the last merges before ``end`` (each of the last
merges, the ones a reader can follow, is shown at the instant it happens), and
``end`` itself (``end = λ``, or near the last merge if λ lies far past it).

**Linked views.** One time cursor moves in every panel at once: the particles
on a line, the space-time diagram (time to the right), the merge tree (time
up, cut at λ) and the number of shared values against λ. A group keeps one
colour everywhere: a cluster is named by the sorted rank of its leftmost
particle (a merged cluster keeps its left part's name), hashed into one
palette (:func:`demo.figures.colour_index`).

**What is drawn.** At most ``max_marks`` marks per frame: clusters as discs
whose area grows with their mass. A frame with more clusters than that draws
the density of the particles (a histogram over fixed bins) and says so. The
space-time diagram draws every cluster's straight path once at most
``max_marks`` clusters remain, and the density of the frames before that.

Cost: O(n_frames * d) to build; at most O(n_frames * max_marks) numbers sent.

>>> import numpy as np
>>> from particles import simulate
>>> log = event_log(simulate(np.array([3.0, 0.0, 1.0])))
>>> log["xs"], log["gap"]
(array([0., 1., 3.]), array([1.        , 1.66666667]))
"""
from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from scipy.cluster.hierarchy import dendrogram

from .figures import COLOUR_HASH, PALETTE, colour_index, evenly_spaced
from .page import plural
from .timeline import cluster_count_steps, slider_end, time_axis_end

__all__ = [
    "MAX_MARKS",
    "N_FRAMES",
    "FPS",
    "MAX_TREE_LEAVES",
    "FrameState",
    "Animation",
    "frame_times",
    "wsr_states",
    "event_log",
    "merge_tree",
    "wsr_animation",
    "penalty_animation",
    "player_html",
    "payload_of",
]

#: Most cluster marks one frame draws; above it, the frame shows a density.
MAX_MARKS = 2000
#: Frames on the even grid (the times of the last merges are added to them): the
#: space-time density of a large d is drawn from these.
N_FRAMES = 300
#: Frames of the family's animations (sampled: the player steps through them).
N_FAMILY_FRAMES = 160
#: Steps of the WSR player's time slider on [0, end] (any time is exact there).
SLIDER_STEPS = 1000
#: Seconds Play takes from t = 0 to the end.
PLAY_SECONDS = 8.0
#: Most merge times added as frames of their own.
N_EVENT_FRAMES = 60
#: Frames per second while playing (the player picks the frame by the clock).
FPS = 50
#: Most leaves of the merge tree (it is truncated at the groups of the cut below this).
MAX_TREE_LEAVES = 400
#: Bins of the density views.
DENSITY_BINS = 200
#: Most particle paths the family's space-time diagram draws.
MAX_PATHS = 300
#: Height in pixels of the player (controls and panels).
HEIGHT = 820


def frame_times(event_times, end: float, *, n: int = N_FRAMES,
                n_events: int = N_EVENT_FRAMES) -> np.ndarray:
    """The times of the frames: ``n`` evenly spaced on ``[0, end]``, the last
    ``n_events`` event times in ``(0, end)``, and ``end``; sorted, distinct.

    ``end <= 0`` gives the single frame ``[0.0]``.

    >>> frame_times([0.5, 1.0, 3.0], 2.0, n=3)
    array([0. , 0.5, 1. , 2. ])
    """
    end = float(end)
    if not end > 0:
        return np.zeros(1)
    grid = np.linspace(0.0, end, max(int(n), 2))
    events = np.asarray(event_times, dtype=np.float64)
    events = np.unique(events[(events > 0) & (events < end)])
    return np.unique(np.concatenate((grid, events[len(events) - min(n_events, len(events)):])))


@dataclass(frozen=True)
class FrameState:
    """The clusters at one time, left to right: what one frame draws.

    position : float64 (n,); mass : int64 (n,), particles per cluster;
    leftmost : int64 (n,), sorted rank of the cluster's leftmost particle (its name).
    """

    time: float
    position: np.ndarray
    mass: np.ndarray
    leftmost: np.ndarray

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        """Particles per bin (each cluster counts with its mass)."""
        return np.histogram(self.position, edges, weights=self.mass)[0]


def wsr_states(traj, times) -> list[FrameState]:
    """The exact state of a :class:`particles.Trajectory` at each time (``cluster_state``)."""
    return [FrameState(float(t), *traj.cluster_state(float(t)))
            for t in np.asarray(times, dtype=np.float64)]


def _state_of_values(t: float, values: np.ndarray, order: np.ndarray) -> FrameState:
    """The clusters of ``values`` (equal values are one cluster), named by the smallest
    rank, in ``order``, among their particles (so a merged cluster keeps its lower
    part's name).

    The family keeps the order of its particles (``values[order]`` is sorted at every
    time), which makes this O(d); otherwise it sorts, O(d log d).
    """
    ordered = values[order]
    if ordered.size and not np.all(ordered[1:] >= ordered[:-1]):
        rank = np.empty(order.size, np.int64)
        rank[order] = np.arange(order.size)
        position, inverse, mass = np.unique(values, return_inverse=True, return_counts=True)
        leftmost = np.full(position.size, order.size, np.int64)
        np.minimum.at(leftmost, inverse.ravel(), rank)
        return FrameState(float(t), position, mass, leftmost)
    starts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    starts = np.concatenate(([0], starts)) if ordered.size else starts
    mass = np.diff(np.append(starts, ordered.size))
    return FrameState(float(t), ordered[starts], mass, starts.astype(np.int64))


def _states_of_values(values_at, times) -> list[FrameState]:
    """:func:`_state_of_values` at each time; ranks in the order at the first time."""
    times = np.asarray(times, dtype=np.float64)
    order = np.argsort(np.asarray(values_at(float(times[0])), dtype=np.float64), kind="stable")
    return [_state_of_values(t, np.asarray(values_at(float(t)), dtype=np.float64), order)
            for t in times]


# ------------------------------------------------------------------ packing
def _array(values, kind: str) -> dict:
    dtype = {"f8": "<f8", "f4": "<f4", "u1": "u1", "i4": "<i4"}[kind]
    raw = np.ascontiguousarray(np.asarray(values).astype(dtype, copy=False)).tobytes()
    return dict(type=kind, b64=base64.b64encode(raw).decode("ascii"))


def _json_number(x: float):
    """JSON has no inf/NaN: None stands for them."""
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Animation:
    """Everything the player draws; :meth:`html` is the self-contained snippet.

    payload : the JSON-able dict sent to the browser once (numbers as base64
    little-endian arrays); ``payload["mode"]`` is ``"events"`` (any time, from the
    event log) or ``"frames"`` (sampled frames, ``payload["times"]``).
    headline : one line above the player.
    """

    payload: dict = field(repr=False)
    headline: str = ""

    def html(self, *, element_id: str | None = None) -> str:
        """The player as an HTML snippet (a ``div`` and a ``script``), no external files."""
        return player_html(self.payload, headline=self.headline, element_id=element_id)

    def _repr_html_(self) -> str:  # Jupyter shows the player itself
        return self.html()


def _pack_frames(states, *, d: int, lo: float, hi: float, max_marks: int, notes) -> dict:
    """The frames' arrays: marks (position, mass, colour) or a density per frame."""
    edges = _bin_edges(lo, hi)
    offsets, xs, masses, colours, density_index, density = [0], [], [], [], [], []
    for state in states:
        if state.position.size > max_marks:
            density_index.append(len(density))
            density.append(state.histogram(edges))
            offsets.append(offsets[-1])
        else:
            density_index.append(-1)
            xs.append(state.position)
            masses.append(state.mass)
            colours.append(colour_index(state.leftmost))
            offsets.append(offsets[-1] + state.position.size)

    def cat(parts, dtype):
        return np.concatenate(parts) if parts else np.empty(0, dtype)

    return dict(
        arrays=dict(
            mark_offsets=_array(offsets, "i4"),
            mark_x=_array(cat(xs, np.float64), "f8"),
            mark_mass=_array(cat(masses, np.float64), "f4"),
            mark_colour=_array(cat(colours, np.uint8), "u1"),
            density_index=_array(density_index, "i4"),
            density=_array(np.concatenate(density) if density else np.empty(0), "f4"),
        ),
        frame_notes=list(notes),
    )


def _frame_note(state: FrameState, *, d: int, max_marks: int, wall: bool) -> str:
    n = state.position.size
    note = plural(n, "cluster")
    if wall:
        on_wall = int(state.mass[state.position == 0].sum())
        note += f", {on_wall:,} of {d:,} on the wall at 0"
    if n > max_marks:
        return note + (f": more than {max_marks:,} to draw, so the bars show the density "
                       f"of the {d:,} particles")
    return note + " (disc area: particles in the cluster)"


def _position_range(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if not hi > lo:
        return lo - 1.0, hi + 1.0
    pad = 0.05 * (hi / 2 - lo / 2) * 2  # halves keep hi - lo finite near 1e308
    return max(lo - pad, -np.finfo(float).max), min(hi + pad, np.finfo(float).max)


def _bin_edges(lo: float, hi: float) -> np.ndarray:
    """The density views' bin edges on ``[lo, hi]`` (halves: finite even for +-1e308)."""
    return 2.0 * np.linspace(lo / 2, hi / 2, DENSITY_BINS + 1)


def _heat(states, t_start: float, edges: np.ndarray) -> tuple[dict, dict] | None:
    """Density (log counts scaled to [0, 1]) of the frames before ``t_start``."""
    early = [s for s in states if s.time < t_start]
    if not early:
        return None
    counts = np.array([s.histogram(edges) for s in early], dtype=np.float64)
    level = np.log1p(counts) / np.log1p(max(counts.max(), 1.0))
    times = [s.time for s in early] + [t_start]
    return (dict(bins=edges.size - 1),
            dict(heat_t=_array(times, "f8"), heat_z=_array(level, "f4")))


def _wsr_spacetime(traj, states, t_end: float, edges, max_marks: int) -> tuple[dict, dict]:
    t_start = float(traj.lam_for_clusters(max_marks)) if traj.d > max_marks else 0.0
    t_start = min(t_start, t_end)
    segments = traj.spacetime_segments(t_start, t_end)
    arrays = dict(seg_t0=_array(segments["t0"], "f8"), seg_t1=_array(segments["t1"], "f8"),
                  seg_x0=_array(segments["x0"], "f8"), seg_x1=_array(segments["x1"], "f8"),
                  seg_colour=_array(colour_index(segments["leftmost"]), "u1"))
    info = dict(polylines=False, heat=None)
    title = "Space-time: clusters move in straight lines and stick when they meet"
    heat = _heat(states, t_start, edges) if t_start > 0 else None
    if heat is not None:
        info["heat"], more = heat
        arrays.update(more)
        title = (f"Space-time: density (grey) while more than {max_marks:,} clusters exist, "
                 f"then every cluster's path (from t = {t_start:.3g})")
    return dict(info, title=title), arrays


def _node_leftmost(traj) -> np.ndarray:
    """Sorted rank of the leftmost particle of every linkage node ``0 .. 2d-2``."""
    segments = traj.spacetime_segments(0.0, traj.lam_max)
    leftmost = np.empty(max(2 * traj.d - 1, 0), dtype=np.int64)
    leftmost[segments["id"]] = segments["leftmost"]
    return leftmost


def merge_tree(traj, lam: float, *, max_leaves: int = MAX_TREE_LEAVES) -> dict:
    """The merge tree cut at λ, ready to draw: truncated at the groups of the cut.

    The leaves are the groups alive at λ (SciPy's ``truncate_mode="lastp"`` with
    ``p = n_clusters(lam)``), or the last ``max_leaves`` clusters if there are more
    groups than that (or every particle when d is at most ``max_leaves``). A
    truncated leaf hangs from the time its cluster formed. Each link is the
    cluster its merge makes, coloured like that cluster in the particle view.

    Returns a dict: ``x, y`` float64 (links, 4) (SciPy's icoord, dcoord),
    ``colour`` int (links,) palette indices, ``leaves`` (node ids, left to right),
    ``leaf_x, leaf_y, leaf_size`` and ``leaf_colour`` (truncated leaves only),
    ``width`` (x extent), ``truncated`` and ``title``.
    """
    Z = np.asarray(traj.linkage, dtype=np.float64)
    d = Z.shape[0] + 1
    empty = np.empty((0, 4))
    if d < 2:
        return dict(x=empty, y=empty, colour=np.empty(0, np.int64), leaves=np.zeros(1, int),
                    leaf_x=np.empty(0), leaf_y=np.empty(0), leaf_size=np.empty(0),
                    leaf_colour=np.empty(0, np.int64), width=10.0, truncated=False,
                    title="Merge tree: nothing to merge")
    groups = traj.n_clusters(lam)
    p = max(min(groups, max_leaves), 1)
    truncated = p < d
    leftmost = _node_leftmost(traj)
    if p == 1:  # one group at λ: the tree above the cut is a single leaf
        leaves = np.array([2 * d - 2])
        x, y, colour = empty, empty, np.empty(0, np.int64)
    else:
        tree = dendrogram(Z, no_plot=True, truncate_mode="lastp" if truncated else None, p=p,
                          no_labels=True, link_color_func=lambda node: str(node))
        x, y = np.asarray(tree["icoord"]), np.asarray(tree["dcoord"])
        colour = colour_index(leftmost[np.array(tree["color_list"], dtype=np.int64)])
        leaves = np.asarray(tree["leaves"], dtype=np.int64)
    leaf_time = np.where(leaves >= d, Z[np.maximum(leaves - d, 0), 2], 0.0)
    leaf_size = np.where(leaves >= d, Z[np.maximum(leaves - d, 0), 3], 1.0)
    if truncated and x.size:
        for side in (0, 3):  # the feet of each link; leaf i sits at x = 5 + 10 i
            foot = (x[:, side] - 5.0) / 10.0
            on_leaf = (y[:, side] == 0.0) & np.isclose(foot, np.round(foot))
            y[on_leaf, side] = leaf_time[np.round(foot[on_leaf]).astype(np.int64)]
    if not truncated:
        title = f"Merge tree: all {d - 1:,} merges, cut at λ"
    elif p == groups:
        title = f"Merge tree above the cut: the leaves are the {plural(p, 'group')} at λ"
    else:
        title = (f"Merge tree: the last {p - 1:,} merges ({plural(groups, 'group')} at λ, "
                 f"too many leaves to draw)")
    keep = truncated
    return dict(x=x, y=y, colour=colour, leaves=leaves,
                leaf_x=5.0 + 10.0 * np.arange(leaves.size) if keep else np.empty(0),
                leaf_y=leaf_time if keep else np.empty(0),
                leaf_size=leaf_size if keep else np.empty(0),
                leaf_colour=colour_index(leftmost[leaves]) if keep else np.empty(0, np.int64),
                width=10.0 * leaves.size, truncated=truncated, title=title)


def _tree_payload(tree: dict) -> tuple[dict, dict]:
    size = tree["leaf_size"]
    radius = 3.0 + 9.0 * np.sqrt(size / size.max()) if size.size else size
    arrays = dict(tree_x=_array(tree["x"].ravel(), "f8"), tree_y=_array(tree["y"].ravel(), "f8"),
                  tree_colour=_array(tree["colour"], "u1"),
                  leaf_x=_array(tree["leaf_x"], "f8"), leaf_y=_array(tree["leaf_y"], "f8"),
                  leaf_r=_array(radius, "f4"), leaf_colour=_array(tree["leaf_colour"], "u1"))
    return dict(width=tree["width"], leaves=bool(tree["truncated"]), title=tree["title"]), arrays


def _common(*, d, lam, t_end, position_range, max_marks, wall, axis_title, spacetime, tree,
            count_x, count_y, shared_title, arrays) -> dict:
    """The payload's entries every mode has."""
    return dict(
        d=int(d), lam=float(lam), t_end=float(t_end), max_marks=int(max_marks),
        position_range=[float(v) for v in position_range], axis_title=axis_title,
        palette=list(PALETTE), colour_hash=COLOUR_HASH, wall=bool(wall), spacetime=spacetime,
        tree=tree, shared_title=shared_title, density_bins=DENSITY_BINS,
        arrays=dict(arrays, count_x=_array(count_x, "f8"), count_y=_array(count_y, "f8")),
    )


def event_log(traj) -> dict:
    """What the player needs to place the particles at ANY time: the event log.

    ``xs`` float64 (d,): the start positions, sorted; ``gap`` float64 (d - 1,):
    ``gap[g]`` is the time at which sorted neighbours ``g`` and ``g + 1`` join one
    cluster (read off ``traj.linkage``: a merge closes the gap left of its right
    part's leftmost particle). At time ``t`` the clusters are the runs of sorted
    particles whose inner gaps are ``<= t``; run ``[a, b]`` sits at
    ``mean(xs[a..b]) + min(t, lam_max) * (d - 1 - a - b) / (d - 1)``, exactly
    :meth:`particles.Trajectory.cluster_state`. O(d).
    """
    d = traj.d
    xs = np.sort(np.asarray(traj.positions(0.0), dtype=np.float64), kind="stable")
    gap = np.zeros(max(d - 1, 0))
    if d > 1:
        Z = np.asarray(traj.linkage)
        leftmost = _node_leftmost(traj)
        split = np.maximum(leftmost[Z[:, 0].astype(np.int64)], leftmost[Z[:, 1].astype(np.int64)])
        gap[split - 1] = Z[:, 2]
    largest = float(np.abs(xs).max()) if d else 0.0
    # A power of two >= max|x| (at most 2**1023, the largest one): dividing by it is exact.
    exponent = min(math.ceil(math.log2(largest)), 1023) if largest > 0 else 0
    return dict(xs=xs, gap=gap, scale=2.0**exponent)


def wsr_animation(traj, lam: float, *, max_marks: int = MAX_MARKS,
                  max_leaves: int = MAX_TREE_LEAVES, steps: int = SLIDER_STEPS,
                  play_seconds: float = PLAY_SECONDS) -> Animation:
    """The animated, linked views of a :class:`particles.Trajectory` from t = 0 to λ.

    The browser gets the event log (:func:`event_log`) and draws the exact state at
    whatever time the clock or the slider asks for: while playing, every screen
    frame shows ``positions(t)`` at the current time; the slider has ``steps``
    steps on ``[0, end]`` (its last step is ``end`` exactly).

    Parameters
    ----------
    traj : Trajectory, from ``particles.simulate(w)``
    lam : float >= 0, where the views are cut; the animation ends there (or near the
        last merge when λ is far past it, see :mod:`demo.timeline`).
    max_marks, max_leaves, steps, play_seconds : see :data:`MAX_MARKS`,
        :data:`MAX_TREE_LEAVES`, :data:`SLIDER_STEPS`, :data:`PLAY_SECONDS`.
    """
    lam = _check_lam(lam)
    d = traj.d
    t_end = time_axis_end(traj.lam_max, lam)
    end = slider_end(traj.lam_max, lam)
    sampled = wsr_states(traj, frame_times(traj.times, t_end, n=N_FRAMES))
    position_range = _position_range(sampled[0].position)
    edges = _bin_edges(*position_range)
    spacetime, arrays = _wsr_spacetime(traj, sampled, t_end, edges, max_marks)
    tree, more = _tree_payload(merge_tree(traj, lam, max_leaves=max_leaves))
    count_x, count_y = cluster_count_steps(traj.times, d, t_end)
    log = event_log(traj)
    groups = traj.n_clusters(lam)
    payload = _common(
        d=d, lam=lam, t_end=t_end, position_range=position_range, max_marks=max_marks,
        wall=False, axis_title="position", spacetime=spacetime, tree=tree, count_x=count_x,
        count_y=count_y,
        shared_title=f"Shared values: {plural(groups, 'distinct value')} at λ = {lam:.4g} "
                     "(weight sharing R alone)",
        arrays=dict(arrays, **more, xs=_array(log["xs"], "f8"), gap=_array(log["gap"], "f8")))
    payload.update(mode="events", end=float(end), lam_max=float(traj.lam_max),
                   scale=float(log["scale"]), steps=int(steps) if end > 0 else 0,
                   play_seconds=float(play_seconds))
    headline = (f"Weight sharing R, d = {d:,}: the particles from t = 0 to λ = {lam:.4g} "
                "(red: λ; dotted: the time shown)")
    return Animation(payload, headline)


def _check_lam(lam) -> float:
    lam = float(lam)
    if not (lam >= 0 and math.isfinite(lam)):  # also NaN
        raise ValueError(f"Invalid lam: {lam} (must be finite and >= 0)")
    return lam


def penalty_animation(path, lam: float, *, n_frames: int = N_FAMILY_FRAMES,
                      max_marks: int = MAX_MARKS, max_paths: int = MAX_PATHS) -> Animation:
    """The animated views of a penalty of the family (:class:`demo.penalties.PenaltyPath`).

    The particles are ``path.coordinate(t)`` (magnitudes, values or row norms), with
    the wall at 0. The browser gets sampled frames on ``[0, λ]`` (:func:`frame_times`),
    each the exact state at its time. The space-time diagram draws at most
    ``max_paths`` particles, and the count of shared values is counted, at sample
    times over the whole time axis (the frame times, an even grid, the last
    events); that count is exact between samples too when every event is a sample
    (at most ``N_EVENT_FRAMES`` events), and the title says which.
    """
    lam = _check_lam(lam)
    from .penalties import time_axis_end as penalty_axis_end

    t_end = penalty_axis_end(path, lam)
    times = frame_times(path.event_times, min(lam, t_end), n=n_frames)
    states = _states_of_values(path.coordinate, times)
    start = np.asarray(path.coordinate(0.0), dtype=np.float64)
    position_range = _position_range(np.append(start, 0.0))
    drawn = np.argsort(start, kind="stable")[evenly_spaced(start.size, max_paths)]
    samples = np.union1d(times, frame_times(path.event_times, t_end, n=n_frames))
    paths, counts_sampled = [], []
    order = np.argsort(start, kind="stable")
    for t in samples:
        values = np.asarray(path.coordinate(float(t)), dtype=np.float64)
        paths.append(values[drawn])
        counts_sampled.append(_state_of_values(t, values, order).position.size)
    paths = np.array(paths).T
    last = states[-1]  # each path is coloured like its group at λ
    at_end = np.asarray(path.coordinate(last.time), dtype=np.float64)[drawn]
    name = last.leftmost[np.searchsorted(last.position, at_end)]
    spacetime = dict(polylines=True, heat=None,
                     title=(f"Space-time: {drawn.size:,} of the {start.size:,} particles "
                            "(colour: their group at λ); the wall at 0"))
    counts = [s.position.size for s in states]
    events = np.asarray(path.event_times)
    exact = np.isin(events[(events > 0) & (events < t_end)], samples).all()
    payload = _common(
        d=path.d, lam=lam, t_end=t_end, position_range=position_range, max_marks=max_marks,
        wall=True, axis_title=path.axis_title, spacetime=spacetime, tree=None,
        count_x=samples, count_y=counts_sampled,
        shared_title=f"Shared values of {path.penalty}: {plural(counts[-1], 'group')} at "
                     f"λ = {times[-1]:.4g}, zeros included "
                     f"({'exact steps' if exact else 'counted at sampled times'})",
        arrays=dict(poly_t=_array(samples, "f8"), poly_y=_array(paths, "f8"),
                    seg_colour=_array(colour_index(name), "u1")))
    frames = _pack_frames(states, d=path.d, lo=position_range[0], hi=position_range[1],
                          max_marks=max_marks,
                          notes=[_frame_note(s, d=path.d, max_marks=max_marks, wall=True)
                                 for s in states])
    payload["arrays"].update(frames.pop("arrays"))
    payload.update(frames, mode="frames", times=[float(t) for t in times], counts=counts,
                   fps=FPS)
    headline = (f"{path.penalty}, {path.d:,} {path.particle}s: drifting to the wall at 0, "
                f"merging and sticking, from t = 0 to λ = {lam:.4g}")
    return Animation(payload, headline)


# ------------------------------------------------------------------ HTML
_STYLE = """
#ID {font-family: "Source Sans Pro", system-ui, sans-serif; color: #262730; font-size: 14px}
#ID .wsp-controls {display: flex; align-items: center; gap: 12px; margin: 2px 0 6px}
#ID .wsp-play {min-width: 92px; padding: 5px 10px; border: 1px solid #bbb; border-radius: 6px;
  background: #fff; cursor: pointer; font-size: 14px}
#ID .wsp-slider {flex: 1}
#ID .wsp-time {min-width: 150px; font-variant-numeric: tabular-nums}
#ID .wsp-headline {font-size: 13px; color: #555; margin-bottom: 4px}
#ID .wsp-title {font-size: 13px; margin: 6px 0 2px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis}
#ID .wsp-canvas {position: relative}
#ID .wsp-canvas canvas {position: absolute; left: 0; top: 0; width: 100%; height: 100%}
#ID .wsp-row {display: flex; gap: 16px}
#ID .wsp-row > div {flex: 1; min-width: 0}
"""


def _panel(name: str, title: str, height: int) -> str:
    import html

    return (f'<div class="wsp-{name}"><div class="wsp-title" title="{html.escape(title)}">'
            f'{html.escape(title)}</div><div class="wsp-canvas" style="height:{height}px">'
            '<canvas class="bg"></canvas><canvas class="fg"></canvas></div></div>')


def player_html(payload: dict, *, headline: str = "", element_id: str | None = None) -> str:
    """The player of ``payload`` as an HTML snippet: markup, style and script, nothing external."""
    import html

    element_id = element_id or f"wsp-{uuid.uuid4().hex[:10]}"
    script = resources.files("demo").joinpath("player.js").read_text(encoding="utf-8")
    # "<\\/" is "/" to JSON; it keeps a "</script>" in a title from ending the tag.
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    script = script.replace('"__ROOT_ID__"', json.dumps(element_id))
    spacetime = _panel("spacetime", payload["spacetime"]["title"], 330)
    row = spacetime
    if payload["tree"] is not None:
        tree = _panel("tree", payload["tree"]["title"], 330)
        row = f'<div class="wsp-row">{spacetime}{tree}</div>'
    return (
        f'<div id="{element_id}" class="wsp-root"><style>{_STYLE.replace("#ID", "#" + element_id)}'
        '</style><div class="wsp-controls"><button class="wsp-play" type="button">▶ Play</button>'
        '<input class="wsp-slider" type="range" min="0" max="0" step="1" value="0" '
        'aria-label="time t"><span class="wsp-time"></span></div>'
        f'<div class="wsp-headline">{html.escape(headline)}</div>'
        f'{_panel("particles", "", 150)}{row}{_panel("shared", payload["shared_title"], 200)}'
        f'<script type="application/json" class="wsp-data">{data}</script>'
        f"</div><script>{script}</script>"
    )


def payload_of(html: str) -> dict:
    """The payload a player's HTML carries (the inverse of :func:`player_html`'s packing)."""
    start = html.index('class="wsp-data">') + len('class="wsp-data">')
    return json.loads(html[start:html.index("</script>", start)])
