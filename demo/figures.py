"""Plotly figures of a :class:`particles.Trajectory` (and of the solver comparison).

This module only draws: the geometry (clusters at a time, the space-time
segments, the step function of the number of groups) comes from the
trajectory's methods and :mod:`demo.timeline`. Every function draws at most
``max_drawn`` items (clusters, segments, steps): beyond that the DRAWING is
subsampled, never the computation it shows.

Colours: one colour map for groups everywhere. A cluster is named by its
leftmost particle (its rank in sorted order), hashed into a 24-colour palette.
A merged cluster keeps the colour of its left part, so the same group has the
same colour in the particles, the space-time diagram and the dendrogram, at
every time, and a collision shows as the right part taking the left's colour.

>>> int(colour_index(0)), int(colour_index(1)), len(PALETTE)
(0, 23, 24)
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots
from scipy.cluster.hierarchy import dendrogram

from .page import plural
from .timeline import cluster_count_steps, time_axis_end

__all__ = [
    "MAX_DRAWN",
    "PALETTE",
    "colour_index",
    "group_colour",
    "spacetime_window",
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

PALETTE = qualitative.Dark24
_HASH = 7919  # a prime: neighbouring ranks land on unrelated colours
_LAM_COLOUR = "#d62728"
_T_COLOUR = "#444444"
_ABOVE_CUT = "#999999"
_MARGIN = dict(l=20, r=20, t=50, b=40)


def colour_index(rank) -> np.ndarray:
    """Palette index of a cluster whose leftmost particle has sorted rank ``rank``."""
    return (np.asarray(rank, dtype=np.int64) * _HASH) % len(PALETTE)


def group_colour(rank) -> str:
    """The colour (hex) of the group whose leftmost particle has sorted rank ``rank``."""
    return PALETTE[int(colour_index(rank))]


def _layout(fig: go.Figure, title: str, height: int, *, xaxis: dict | None = None,
            yaxis: dict | None = None, title_size: int = 14, **more) -> go.Figure:
    """The layout every figure here shares: title at the left, fixed height and margins."""
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=title_size)),
        height=height,
        margin=_MARGIN,
        xaxis=xaxis or {},
        yaxis=yaxis or {},
        showlegend=more.pop("showlegend", False),
        **more,
    )
    return fig


def _pick(n: int, most: int) -> np.ndarray:
    """Indices of at most ``most`` items, evenly spread over ``range(n)``."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


def _palette_scale() -> list:
    # A stepped colorscale, so numeric marker colours 0..23 map to palette entries.
    n = len(PALETTE)
    scale = []
    for i, colour in enumerate(PALETTE):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


def particles_figure(traj, lam: float, t: float, *, max_drawn: int = MAX_DRAWN) -> go.Figure:
    """Particles on a line at time ``t``: each marker a cluster, its area growing with its mass.

    (The app's Play button moves ``t``; this figure draws one time.)
    """
    position, mass, leftmost = traj.cluster_state(t)
    w = np.asarray(traj.positions(0.0))
    lo, hi = (float(w.min()), float(w.max())) if w.size else (0.0, 1.0)
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    keep = _pick(position.size, max_drawn)
    max_px = 46.0
    fig = go.Figure(go.Scatter(
        x=position[keep], y=np.zeros(keep.size, dtype=np.int8), customdata=mass[keep],
        mode="markers",
        marker=dict(size=mass[keep], sizemode="area", sizeref=2.0 * max(w.size, 1) / max_px**2,
                    sizemin=5, color=colour_index(leftmost[keep]) + 0.5,
                    colorscale=_palette_scale(), cmin=0, cmax=len(PALETTE), opacity=0.75,
                    line=dict(width=0.5, color="white")),
        hovertemplate="position %{x:.4g}<br>%{customdata} particles<extra></extra>",
    ))
    note = f" (drawing {keep.size:,} of them)" if keep.size < position.size else ""
    _layout(fig, f"t = {t:.4g}: {plural(position.size, 'cluster')}{note}", 260, title_size=15,
            xaxis=dict(title="position", range=[lo - pad, hi + pad], zeroline=False),
            yaxis=dict(visible=False, range=[-1, 1], fixedrange=True), plot_bgcolor="#fafafa")
    fig.add_hline(y=0, line=dict(color="#bbbbbb", width=1), layer="below")
    return fig


def spacetime_window(traj, t_end: float, *, max_drawn: int = MAX_DRAWN) -> tuple[float, float]:
    """The time window the space-time diagram draws: ``(t_start, t_end)``.

    From 0, or, when more than ``max_drawn`` clusters exist at once, from the
    time at which ``max_drawn`` remain (so at most about ``2 * max_drawn``
    segments are drawn).
    """
    t_start = float(traj.lam_for_clusters(max_drawn)) if traj.d > max_drawn else 0.0
    return min(t_start, float(t_end)), float(t_end)


def _mark_times(fig: go.Figure, lam: float, t: float | None, t_end: float) -> None:
    """Vertical lines at ``lam`` (solid) and at the time ``t`` shown (dotted)."""
    if lam <= t_end:
        fig.add_vline(lam, line=dict(color=_LAM_COLOUR, width=2),
                      annotation_text=f"λ = {lam:.4g}", annotation_font_color=_LAM_COLOUR)
    else:
        fig.add_annotation(x=1, xref="paper", y=1, yref="paper", showarrow=False,
                           xanchor="right", yanchor="bottom", font=dict(color=_LAM_COLOUR),
                           text=f"λ = {lam:.4g} → (past the axis; nothing moves after the "
                                "last merge)")
    if t is not None and t != lam:
        fig.add_vline(t, line=dict(color=_T_COLOUR, width=1, dash="dot"),
                      annotation_text=f"t = {t:.4g}", annotation_position="bottom right")


def spacetime_figure(traj, lam: float, t: float | None = None, *, max_drawn: int = MAX_DRAWN,
                     segments: dict | None = None) -> go.Figure:
    """Position against time: each cluster a straight segment, merges as joins.

    ``segments``: ``traj.spacetime_segments(*spacetime_window(traj, t_end))``
    if already computed (``t_end = time_axis_end(traj.lam_max, lam)``).
    """
    t_end = time_axis_end(traj.lam_max, lam)
    t_start = spacetime_window(traj, t_end, max_drawn=max_drawn)[0]
    if segments is None:
        segments = traj.spacetime_segments(t_start, t_end)
    colour = colour_index(segments["leftmost"])
    fig = go.Figure()
    for c in np.unique(colour):
        sel = np.flatnonzero(colour == c)
        xs = np.full(3 * sel.size, np.nan)  # NaN breaks the line between segments
        ys = np.full(3 * sel.size, np.nan)
        xs[0::3], xs[1::3] = segments["t0"][sel], segments["t1"][sel]
        ys[0::3], ys[1::3] = segments["x0"][sel], segments["x1"][sel]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", connectgaps=False,
                                 line=dict(color=PALETTE[int(c)], width=1.2)))
    _mark_times(fig, lam, t, t_end)
    title = "Space-time: clusters move in straight lines and stick when they meet"
    if t_start > 0:
        title += f" (drawn from t = {t_start:.3g}, when {max_drawn:,} clusters remain)"
    return _layout(fig, title, 420, xaxis=dict(title="time t (= λ)", range=[0, t_end]),
                   yaxis=dict(title="position"))


def _node_leftmost(traj) -> np.ndarray:
    """Sorted rank of the leftmost particle of every linkage node ``0 .. 2d-2``."""
    segments = traj.spacetime_segments(0.0, traj.lam_max)
    leftmost = np.empty(max(2 * traj.d - 1, 0), dtype=np.int64)
    leftmost[segments["id"]] = segments["leftmost"]
    return leftmost


def dendrogram_figure(traj, lam: float, *, max_leaves: int = MAX_DENDROGRAM_LEAVES) -> go.Figure:
    """The merge tree (SciPy dendrogram of ``traj.linkage``) cut at ``lam``.

    Links below the cut take their group's colour (the same as in the other
    figures); links above it are grey.
    """
    Z = np.asarray(traj.linkage, dtype=np.float64)
    d = Z.shape[0] + 1
    t_end = time_axis_end(traj.lam_max, lam)
    fig = go.Figure()
    truncated = d > max_leaves
    if Z.shape[0]:
        # A link below the cut belongs to the group alive at lam that contains
        # it; the group is named by its leftmost rank, as in the other figures.
        group_starts = traj.cluster_state(lam)[2]
        group_of = group_starts[np.searchsorted(group_starts, _node_leftmost(traj),
                                                side="right") - 1]

        def link_colour(node: int) -> str:
            below = Z[node - d, 2] <= lam
            return group_colour(group_of[node]) if below else _ABOVE_CUT

        tree = dendrogram(Z, no_plot=True, truncate_mode="lastp" if truncated else None,
                          p=max_leaves, link_color_func=link_colour, no_labels=True)
        colours = np.array(tree["color_list"])
        icoord = np.asarray(tree["icoord"])
        dcoord = np.asarray(tree["dcoord"])
        if truncated:
            _lift_truncated_leaves(Z, tree["leaves"], icoord, dcoord)
        for colour in dict.fromkeys(colours):
            sel = np.flatnonzero(colours == colour)
            xs = np.column_stack((icoord[sel], np.full(sel.size, np.nan))).ravel()
            ys = np.column_stack((dcoord[sel], np.full(sel.size, np.nan))).ravel()
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                     line=dict(color=colour, width=1)))
    groups = plural(traj.n_clusters(lam), "group")
    if lam <= t_end:
        fig.add_hline(float(lam), line=dict(color=_LAM_COLOUR, width=2, dash="dash"),
                      annotation_text=f"cut at λ = {lam:.4g}: {groups}",
                      annotation_font_color=_LAM_COLOUR, annotation_position="top left")
    else:
        fig.add_annotation(x=0, xref="paper", y=1, yref="paper", showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(color=_LAM_COLOUR),
                           text=f"cut at λ = {lam:.4g} (above the tree): {groups}")
    title = "Merge tree (dendrogram of traj.linkage)"
    if truncated:
        title += f": last {max_leaves - 1} merges"
    return _layout(fig, title, 420, xaxis=dict(visible=False),
                   yaxis=dict(title="merge time λ", range=[0, t_end]))


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


def shared_values_figure(traj, lam: float, t: float | None = None, *,
                         max_drawn: int = MAX_DRAWN) -> go.Figure:
    """Number of distinct values (groups) of ``prox_{λR}(w)`` against ``λ``: the exact steps.

    The steps come from the trajectory's event times
    (:func:`demo.timeline.cluster_count_steps`), so the last merges are drawn
    exactly at any ``d``.
    """
    t_end = time_axis_end(traj.lam_max, lam)
    x, y = cluster_count_steps(traj.times, traj.d, t_end, max_drawn=max_drawn)
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", line=dict(shape="hv", width=2),
                               hovertemplate="λ = %{x:.4g}<br>%{y} groups<extra></extra>"))
    _mark_times(fig, lam, t, t_end)
    title = f"Shared values: {plural(traj.n_clusters(lam), 'distinct value')} at λ = {lam:.4g}"
    return _layout(fig, title, 320, xaxis=dict(title="λ", range=[0, t_end]),
                   yaxis=dict(title="number of distinct values", type="log"))


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
    return _layout(fig, "Your output against the exact prox, weights sorted by w", 380,
                   xaxis=dict(title="rank of w_i"), yaxis=dict(title="value"), showlegend=True,
                   legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))


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
    fig.update_layout(height=420, margin=dict(_MARGIN, t=40), showlegend=True)
    return fig
