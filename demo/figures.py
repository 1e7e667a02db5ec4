"""Plotly figures of a :class:`particles.Trajectory` (and of the solver comparison).

Every function draws at most ``max_drawn`` items (clusters, segments, steps):
beyond that the DRAWING is subsampled, never the computation it shows.

Colours: a cluster is coloured by its leftmost particle (its rank in sorted
order), hashed into a 24-colour palette. A merged cluster keeps the colour of
its left part, so the same cluster has the same colour in every figure and at
every time, and a collision shows as the right part taking the left's colour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots
from scipy.cluster.hierarchy import dendrogram

__all__ = [
    "MAX_DRAWN",
    "PALETTE",
    "ClusterState",
    "cluster_state",
    "spacetime_segments",
    "time_axis_end",
    "particles_frames",
    "particles_figure",
    "spacetime_figure",
    "dendrogram_figure",
    "shared_values_figure",
    "validation_figure",
    "scaling_figure",
]

#: Most items any figure draws.
MAX_DRAWN = 2000
#: Fewest leaves shown by the dendrogram before it truncates to the last merges.
MAX_DENDROGRAM_LEAVES = 200
#: Frames of the play animation.
N_FRAMES = 24
#: Most clusters drawn in each animation frame (frames are sent to the browser in bulk).
MAX_FRAME_DRAWN = 600

PALETTE = qualitative.Dark24
_HASH = 7919  # a prime: neighbouring ranks land on unrelated colours
_LAM_COLOUR = "#d62728"
_T_COLOUR = "#444444"


def colour_index(rank) -> np.ndarray:
    """Palette index of a cluster whose leftmost particle has sorted rank ``rank``."""
    return (np.asarray(rank, dtype=np.int64) * _HASH) % len(PALETTE)


def _palette_scale() -> list:
    # A stepped colorscale, so numeric marker colours 0..23 map to palette entries.
    n = len(PALETTE)
    scale = []
    for i, colour in enumerate(PALETTE):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


def _pick(n: int, most: int) -> np.ndarray:
    """Indices of at most ``most`` items, evenly spread over ``range(n)``."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


@dataclass(frozen=True)
class ClusterState:
    """The clusters at one time, left to right."""

    time: float
    position: np.ndarray  # (n,) float64
    mass: np.ndarray  # (n,) int64
    leftmost: np.ndarray  # (n,) sorted rank of the cluster's leftmost particle


def _sorted_order(traj) -> np.ndarray:
    return np.argsort(np.asarray(traj.positions(0.0)), kind="stable")


def cluster_state(traj, t: float, order: np.ndarray | None = None) -> ClusterState:
    """The clusters of ``traj`` at time ``t`` (``order``: stable argsort of w, if known)."""
    if order is None:
        order = _sorted_order(traj)
    labels = np.asarray(traj.labels(t))[order]
    pos = np.asarray(traj.positions(t))[order]
    n = int(labels[-1]) + 1 if labels.size else 0
    starts = np.searchsorted(labels, np.arange(n), side="left")
    mass = np.diff(np.append(starts, labels.size))
    return ClusterState(float(t), pos[starts], mass, starts)


def time_axis_end(traj, lam: float) -> float:
    """Right end of the time axes: past both ``lam`` and the last merge."""
    end = max(float(lam), float(traj.lam_max))
    return 1.05 * end if end > 0 else 1.0


def _trace_data(state: ClusterState, most: int) -> dict:
    """What changes between animation frames; float32 keeps the JSON short."""
    keep = _pick(state.position.size, most)
    return dict(
        x=state.position[keep].astype(np.float32),
        y=np.zeros(keep.size, dtype=np.int8),
        customdata=state.mass[keep],
        marker=dict(size=state.mass[keep],
                    color=(colour_index(state.leftmost[keep]) + 0.5).astype(np.float32)),
    )


def _particles_title(state: ClusterState, drawn: int) -> str:
    n = state.position.size
    note = f" (drawing {drawn} of them)" if drawn < n else ""
    return f"t = {state.time:.4g}: {n:,} clusters{note}"


def particles_frames(traj, lam: float, *, n_frames: int = N_FRAMES,
                     max_drawn: int = MAX_FRAME_DRAWN) -> list[dict]:
    """Animation frames (plain dicts) of the clusters at ``n_frames`` times from 0 to ``lam``.

    Independent of the time shown, so an app can compute them once per ``lam``.
    """
    if lam <= 0:
        return []
    order = _sorted_order(traj)
    frames = []
    for i, time in enumerate(np.linspace(0.0, float(lam), n_frames)):
        state = cluster_state(traj, float(time), order)
        data = _trace_data(state, max_drawn)
        frames.append(dict(name=str(i), data=[data],
                           layout=dict(title_text=_particles_title(state, data["x"].size))))
    return frames


def particles_figure(traj, lam: float, t: float, *, max_drawn: int = MAX_DRAWN,
                     frames: list[dict] | None = None) -> go.Figure:
    """Particles on a line at time ``t``, with a play/pause animation from 0 to ``lam``.

    Each marker is a cluster; its area grows with its mass (number of particles).
    ``frames``: the output of :func:`particles_frames` if already computed.
    """
    order = _sorted_order(traj)
    w_sorted = np.asarray(traj.positions(0.0))[order]
    d = w_sorted.size
    lo, hi = (float(w_sorted[0]), float(w_sorted[-1])) if d else (0.0, 1.0)
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    max_px = 46.0
    marker_base = dict(
        sizemode="area",
        sizeref=2.0 * max(d, 1) / max_px**2,
        sizemin=5,
        colorscale=_palette_scale(),
        cmin=0,
        cmax=len(PALETTE),
        opacity=0.75,
        line=dict(width=0.5, color="white"),
    )
    now = cluster_state(traj, t, order)
    shown = _trace_data(now, max_drawn)
    shown["marker"].update(marker_base)
    fig = go.Figure(
        data=[
            go.Scatter(
                mode="markers",
                hovertemplate="position %{x:.4g}<br>%{customdata} particles<extra></extra>",
                **shown,
            )
        ]
    )
    fig.frames = particles_frames(traj, lam) if frames is None else frames
    still = dict(duration=0)
    play = dict(frame=dict(duration=120, redraw=True), transition=still, fromcurrent=False)
    pause = dict(frame=dict(duration=0, redraw=False), mode="immediate", transition=still)
    fig.update_layout(
        title=dict(text=_particles_title(now, shown["x"].size), x=0.01, font=dict(size=15)),
        height=260,
        margin=dict(l=20, r=20, t=50, b=40),
        xaxis=dict(title="position", range=[lo - pad, hi + pad], zeroline=False),
        yaxis=dict(visible=False, range=[-1, 1], fixedrange=True),
        showlegend=False,
        plot_bgcolor="#fafafa",
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=1.0,
                xanchor="right",
                y=1.22,
                yanchor="top",
                pad=dict(r=0, t=0),
                buttons=[
                    dict(label="▶ Play 0 → λ", method="animate", args=[None, play]),
                    dict(label="❚❚ Pause", method="animate", args=[[None], pause]),
                ],
            )
        ],
    )
    fig.add_hline(y=0, line=dict(color="#bbbbbb", width=1), layer="below")
    return fig


def spacetime_segments(traj, t_end: float, *, max_drawn: int = MAX_DRAWN) -> dict:
    """Line segments of the space-time diagram: one per cluster that ever exists.

    A cluster lives from its birth (0 for a particle, its merge time otherwise)
    to the merge that absorbs it (``t_end`` for the last cluster); its path is
    straight in between (DESIGN.md §2), so its two end points draw it exactly.
    When more than ``max_drawn`` clusters exist at once, only the clusters
    alive after the time ``t0`` at which ``max_drawn`` remain are drawn, from ``t0``.

    Returns a dict of arrays ``t0, t1, x0, x1, colour`` (one entry per
    segment) and ``t_start`` (the earliest time drawn).
    """
    w = np.asarray(traj.positions(0.0), dtype=np.float64)
    d = w.size
    events = traj.events
    n_nodes = d + events.size
    birth_t = np.concatenate((np.zeros(d), events["time"]))
    birth_x = np.concatenate((w, events["position"]))
    death_t = np.full(n_nodes, float(t_end))
    death_x = np.full(n_nodes, birth_x[-1] if n_nodes else 0.0)
    for side in ("left", "right"):
        child = events[side]
        death_t[child] = events["time"]
        death_x[child] = events["position"]
    # Colour: leftmost sorted rank of each node (left child's for merged nodes).
    ranks = np.empty(d, dtype=np.int64)
    ranks[np.argsort(w, kind="stable")] = np.arange(d)
    # Follow left children down to a particle by pointer doubling (O(log depth) passes).
    pointer = np.concatenate((np.arange(d), events["left"])).astype(np.int64)
    while (pointer >= d).any():
        pointer = pointer[pointer]
    leftmost = ranks[pointer]
    t_start = 0.0
    if d > max_drawn:
        t_start = float(traj.lam_for_clusters(max_drawn))
    # The last cluster lives to t_end > t_start, so something is always drawn.
    idx = np.flatnonzero(death_t > t_start) if d > max_drawn else np.arange(n_nodes)
    t0 = np.maximum(birth_t[idx], t_start)
    # Position at t_start for segments cut there: straight-line interpolation.
    span = death_t[idx] - birth_t[idx]
    frac = np.where(span > 0, (t0 - birth_t[idx]) / np.where(span > 0, span, 1.0), 0.0)
    x0 = birth_x[idx] + frac * (death_x[idx] - birth_x[idx])
    return dict(
        t0=t0,
        t1=death_t[idx],
        x0=x0,
        x1=death_x[idx],
        colour=colour_index(leftmost[idx]),
        t_start=t_start,
    )


def _mark_times(fig: go.Figure, lam: float, t: float | None) -> None:
    """Vertical lines at ``lam`` (solid) and at the time ``t`` shown (dotted)."""
    fig.add_vline(lam, line=dict(color=_LAM_COLOUR, width=2), annotation_text=f"λ = {lam:.4g}",
                  annotation_font_color=_LAM_COLOUR)
    if t is not None and t != lam:
        fig.add_vline(t, line=dict(color=_T_COLOUR, width=1, dash="dot"),
                      annotation_text=f"t = {t:.4g}", annotation_position="bottom right")


def spacetime_figure(traj, lam: float, t: float | None = None, *, max_drawn: int = MAX_DRAWN,
                     segments: dict | None = None) -> go.Figure:
    """Position against time: each cluster a straight segment, merges as joins."""
    t_end = time_axis_end(traj, lam)
    if segments is None:
        segments = spacetime_segments(traj, t_end, max_drawn=max_drawn)
    fig = go.Figure()
    for c in np.unique(segments["colour"]):
        sel = np.flatnonzero(segments["colour"] == c)
        n = sel.size
        xs = np.full(3 * n, np.nan, dtype=np.float32)  # NaN breaks the line between segments
        ys = np.full(3 * n, np.nan, dtype=np.float32)
        xs[0::3], xs[1::3] = segments["t0"][sel], segments["t1"][sel]
        ys[0::3], ys[1::3] = segments["x0"][sel], segments["x1"][sel]
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=PALETTE[int(c)], width=1.2),
                       hoverinfo="skip", connectgaps=False)
        )
    _mark_times(fig, lam, t)
    title = "Space-time: clusters move in straight lines and stick when they meet"
    if segments["t_start"] > 0:
        title += f" (drawn from t = {segments['t_start']:.3g}, when {max_drawn} clusters remain)"
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=14)),
        height=420,
        margin=dict(l=20, r=20, t=50, b=40),
        xaxis=dict(title="time t (= λ)", range=[0, t_end]),
        yaxis=dict(title="position"),
        showlegend=False,
    )
    return fig


def dendrogram_figure(traj, lam: float, *, max_leaves: int = MAX_DENDROGRAM_LEAVES) -> go.Figure:
    """The merge tree (SciPy dendrogram of ``traj.linkage``) cut at ``lam``."""
    Z = np.asarray(traj.linkage, dtype=np.float64)
    d = Z.shape[0] + 1
    fig = go.Figure()
    truncated = d > max_leaves
    if Z.shape[0]:
        tree = dendrogram(
            Z,
            no_plot=True,
            truncate_mode="lastp" if truncated else None,
            p=max_leaves,
            color_threshold=max(float(lam), 1e-300),
            above_threshold_color="#999999",
            no_labels=True,
        )
        colours = np.array(tree["color_list"])
        icoord = np.asarray(tree["icoord"])
        dcoord = np.asarray(tree["dcoord"])
        if truncated:
            _lift_truncated_leaves(Z, tree["leaves"], icoord, dcoord)
        for colour in dict.fromkeys(colours):
            sel = np.flatnonzero(colours == colour)
            xs = np.column_stack((icoord[sel], np.full(sel.size, np.nan))).ravel()
            ys = np.column_stack((dcoord[sel], np.full(sel.size, np.nan))).ravel()
            line_colour = colour if colour.startswith("#") else _mpl_colour(colour)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                     line=dict(color=line_colour, width=1)))
    fig.add_hline(float(lam), line=dict(color=_LAM_COLOUR, width=2, dash="dash"),
                  annotation_text=f"cut at λ = {lam:.4g}: {traj.n_clusters(lam)} groups",
                  annotation_font_color=_LAM_COLOUR, annotation_position="top left")
    title = "Merge tree (dendrogram of traj.linkage)"
    if truncated:
        title += f": last {max_leaves - 1} merges"
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=14)),
        height=420,
        margin=dict(l=20, r=20, t=50, b=40),
        xaxis=dict(visible=False),
        yaxis=dict(title="merge time λ", rangemode="tozero"),
        showlegend=False,
    )
    return fig


def _lift_truncated_leaves(Z, leaves, icoord, dcoord) -> None:
    """Hang each truncated leaf (a whole cluster) from its own merge time, not from 0.

    SciPy draws the leaves of a ``lastp`` dendrogram at height 0 even when they
    stand for clusters formed later; in place, this moves the foot of every
    link that ends on such a leaf up to the time the cluster formed.
    """
    d = Z.shape[0] + 1
    leaf_height = np.array([Z[n - d, 2] if n >= d else 0.0 for n in leaves])
    for side in (0, 3):  # the left and right feet of each link
        foot = (icoord[:, side] - 5.0) / 10.0  # leaf i sits at x = 5 + 10 i
        on_leaf = (dcoord[:, side] == 0.0) & np.isclose(foot, np.round(foot))
        index = np.round(foot[on_leaf]).astype(np.int64)
        dcoord[on_leaf, side] = leaf_height[index]


def _mpl_colour(name: str) -> str:
    from matplotlib.colors import to_hex

    return to_hex(name)


def shared_values_figure(traj, lam: float, t: float | None = None, *,
                         max_drawn: int = MAX_DRAWN) -> go.Figure:
    """Number of distinct values (groups) of ``prox_{λR}(w)`` against ``λ``: a step plot."""
    Z = np.asarray(traj.linkage)
    d = Z.shape[0] + 1
    t_end = time_axis_end(traj, lam)
    times = np.concatenate(([0.0], Z[:, 2], [t_end]))
    counts = np.concatenate(([d], d - 1 - np.arange(Z.shape[0]), [1]))
    keep = _pick(times.size, max_drawn)
    keep = np.union1d(keep, [0, times.size - 1])
    fig = go.Figure(
        go.Scatter(x=times[keep], y=counts[keep], mode="lines", line=dict(shape="hv", width=2),
                   hovertemplate="λ = %{x:.4g}<br>%{y} groups<extra></extra>")
    )
    _mark_times(fig, lam, t)
    fig.update_layout(
        title=dict(text=f"Shared values: {traj.n_clusters(lam)} distinct values at λ = {lam:.4g}",
                   x=0.01, font=dict(size=14)),
        height=320,
        margin=dict(l=20, r=20, t=50, b=40),
        xaxis=dict(title="λ", range=[0, t_end]),
        yaxis=dict(title="number of distinct values", type="log"),
        showlegend=False,
    )
    return fig


def validation_figure(w, optimum, candidate, *, max_drawn: int = MAX_DRAWN) -> go.Figure:
    """Per weight, sorted by ``w``: the exact prox and the candidate."""
    w = np.asarray(w, dtype=np.float64)
    order = np.argsort(w, kind="stable")
    keep = order[_pick(order.size, max_drawn)]
    x = np.searchsorted(np.sort(w, kind="stable"), w[keep], side="left")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=np.asarray(optimum)[keep], name="exact prox",
                             mode="lines", line=dict(color="#1f77b4", width=2)))
    fig.add_trace(go.Scatter(x=x, y=np.asarray(candidate)[keep], name="yours", mode="markers",
                             marker=dict(color="#ff7f0e", size=5), customdata=keep,
                             hovertemplate="weight %{customdata}: %{y:.6g}<extra></extra>"))
    fig.update_layout(
        title=dict(text="Your output against the exact prox, weights sorted by w", x=0.01,
                   font=dict(size=14)),
        height=380,
        margin=dict(l=20, r=20, t=50, b=40),
        xaxis=dict(title="rank of w_i"),
        yaxis=dict(title="value"),
        legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"),
    )
    return fig


def scaling_figure(table) -> go.Figure:
    """Time and rounds against d per solver (colour) and input (dash), log-log.

    ``table``: rows with columns ``solver, input, d, time_ms, rounds``
    (a pandas DataFrame, as made by :func:`demo.compare.scaling`).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("time (ms)", "rounds (sequential steps)"))
    solvers = list(dict.fromkeys(table["solver"]))
    inputs = dict.fromkeys(table["input"])
    dashes = {name: dash for name, dash in zip(inputs, ("solid", "dash", "dot"))}
    for i, solver in enumerate(solvers):
        colour = qualitative.Plotly[i % len(qualitative.Plotly)]
        for kind, dash in dashes.items():
            rows = table[(table["solver"] == solver) & (table["input"] == kind)].sort_values("d")
            if rows.empty:
                continue
            name = f"{solver} ({kind})"
            common = dict(name=name, legendgroup=name, mode="lines+markers",
                          line=dict(color=colour, dash=dash))
            fig.add_trace(go.Scatter(x=rows["d"], y=rows["time_ms"], **common), row=1, col=1)
            rounds = rows.dropna(subset=["rounds"])
            if not rounds.empty:
                fig.add_trace(go.Scatter(x=rounds["d"], y=rounds["rounds"], showlegend=False,
                                         **common), row=1, col=2)
    fig.update_xaxes(type="log", title_text="d")
    fig.update_yaxes(type="log")
    fig.update_layout(height=420, margin=dict(l=20, r=20, t=40, b=40))
    return fig
