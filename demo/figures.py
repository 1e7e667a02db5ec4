"""The demo's colours, and the Plotly figures of the Validate and Compare tabs.

Colours: one colour map for groups everywhere (the animation of
:mod:`demo.animation`, the Train tab). A cluster is named by its leftmost
particle (its rank in sorted order), hashed into a 24-colour palette. A merged
cluster keeps the colour of its left part, so the same group has the same
colour in every view, at every time, and a collision shows as the right part
taking the left's colour.

Figures draw at most ``max_drawn`` points per trace: beyond that the DRAWING is
subsampled, never the computation it shows. Log axes are labelled at powers of
ten only (:func:`log_axis`).

>>> int(colour_index(0)), int(colour_index(1)), len(PALETTE)
(0, 23, 24)
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

__all__ = [
    "MAX_DRAWN",
    "PALETTE",
    "COLOUR_HASH",
    "colour_index",
    "group_colour",
    "log_axis",
    "evenly_spaced",
    "validation_figure",
    "scaling_figure",
]

#: Most points any trace draws.
MAX_DRAWN = 2000

PALETTE = qualitative.Dark24
#: Multiplier of the colour hash: a prime, so neighbouring ranks land on unrelated colours.
COLOUR_HASH = 7919
_MARGIN = dict(l=20, r=20, t=50, b=40)


def colour_index(rank) -> np.ndarray:
    """Palette index of a cluster whose leftmost particle has sorted rank ``rank``."""
    return (np.asarray(rank, dtype=np.int64) * COLOUR_HASH) % len(PALETTE)


def group_colour(rank) -> str:
    """The colour (hex) of the group whose leftmost particle has sorted rank ``rank``."""
    return PALETTE[int(colour_index(rank))]


def log_axis() -> dict:
    """Axis settings of a log axis labelled at the powers of ten only (1, 10, 100, ...).

    >>> log_axis()["dtick"]
    1
    """
    return dict(type="log", dtick=1, exponentformat="power", minor=dict(showgrid=False))


def evenly_spaced(n: int, most: int) -> np.ndarray:
    """Indices of at most ``most`` items, evenly spread over ``range(n)`` (all if ``n <= most``)."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


def validation_figure(w, optimum, candidate, *, tol: float | None = None,
                      max_drawn: int = MAX_DRAWN) -> go.Figure:
    """Per weight, sorted by ``w``: the exact prox and the candidate (top), and the
    residual candidate − exact (bottom), where an error too small to see on top shows.

    ``tol``: the tolerance of the verdict, drawn as a band around 0 in the residual view.
    """
    w = np.asarray(w, dtype=np.float64)
    optimum = np.asarray(optimum, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    order = np.argsort(w, kind="stable")
    residual = candidate - optimum
    # Subsample the drawing, but always keep the largest residual.
    keep = order[evenly_spaced(order.size, max_drawn)]
    if residual.size:
        keep = np.union1d(keep, [int(np.argmax(np.abs(residual)))])
    keep = keep[np.argsort(w[keep], kind="stable")]
    x = np.searchsorted(np.sort(w, kind="stable"), w[keep], side="left")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38],
                        vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=x, y=optimum[keep], name="exact prox", mode="lines",
                             line=dict(color="#1f77b4", width=2)), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=candidate[keep], name="yours", mode="markers",
                             marker=dict(color="#ff7f0e", size=5), customdata=keep,
                             hovertemplate="weight %{customdata}: %{y:.17g}<extra></extra>"),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=residual[keep], name="yours − exact", mode="markers",
                             marker=dict(color="#d62728", size=4), customdata=keep,
                             hovertemplate="weight %{customdata}: %{y:.3e}<extra></extra>"),
                  row=2, col=1)
    if tol is not None:
        for level in (-tol, tol):
            fig.add_hline(level, line=dict(color="#7f7f7f", width=1, dash="dot"), row=2, col=1)
    fig.update_layout(
        title=dict(text="Your output against the exact prox, weights sorted by w", x=0.01,
                   font=dict(size=14)),
        height=480, margin=_MARGIN, showlegend=True,
        legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    fig.update_xaxes(title_text="rank of w_i", row=2, col=1)
    fig.update_yaxes(title_text="value", row=1, col=1)
    fig.update_yaxes(title_text="yours − exact", exponentformat="e", row=2, col=1)
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
    fig.update_xaxes(title_text="d", **log_axis())
    fig.update_yaxes(**log_axis())
    fig.update_layout(height=420, margin=dict(_MARGIN, t=40), showlegend=True)
    return fig
