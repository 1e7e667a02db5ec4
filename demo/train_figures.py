"""The Train tab's figures: weight sharing inside a network, drawn from saved runs.

Figures are plain functions of a :class:`networks.training.RunResult` (tests call them
directly); :func:`demo.views.train.render_train` lays them out with Streamlit. The particle view
speaks the Watch tab's visual language (:mod:`demo.figures`): one line per weight over
training steps, coloured by the group it ends in (the palette index of the group's
leftmost member in sorted order), so weights that come to share a value visibly merge.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import PALETTE, colour_index

__all__ = [
    "accuracy_figure",
    "filters_figure",
    "distinct_figure",
    "final_groups",
    "particles_over_training_figure",
    "runs_with_history",
    "strength_options",
    "merging_strength",
    "PARTICLE_SETS",
]

PARTICLE_SETS = {"one neuron": "snap_neuron", "whole layer (subsampled)": "snap_layer"}
_LAYOUT = dict(margin=dict(l=20, r=20, t=50, b=40))


def _title(text: str) -> dict:
    return dict(text=text, x=0.01, font=dict(size=14))


def accuracy_figure(result) -> go.Figure:
    """Train / validation / test accuracy against epochs."""
    h = result.history
    fig = go.Figure()
    for key, name, dash in (("train_acc", "train", "dot"), ("val_acc", "validation", "dash"),
                            ("test_acc", "test", "solid")):
        fig.add_trace(go.Scatter(x=h["epoch"], y=h[key], name=name, mode="lines",
                                 line=dict(dash=dash, width=2)))
    fig.update_layout(title=_title("Accuracy during training"), height=320,
                      xaxis=dict(title="epoch"), yaxis=dict(title="accuracy", range=[0, 1.02]),
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right",
                                  yanchor="bottom"), **_LAYOUT)
    return fig


def filters_figure(result, *, columns: int = 8) -> go.Figure:
    """The saved first-layer filters in natural pixel order (un-permuted under shuffling).

    2-D data: each filter is one heatmap of its weights on the image grid (a cross marks
    its largest weight in magnitude, minus the layer's median, the value strong sharing
    pulls the layer toward); 1-D data: each filter is a curve over the signal's samples.
    """
    from networks.data import SHAPES

    shape = SHAPES[result.config.data]
    filters = np.asarray(result.history["filters"], dtype=np.float64)
    filters = filters - np.median(filters)
    units = result.history["filter_units"]
    n = len(filters)
    rows = max(1, -(-n // columns))
    fig = make_subplots(rows=rows, cols=columns, horizontal_spacing=0.01,
                        vertical_spacing=0.03)
    vmax = float(np.abs(filters).max()) or 1.0
    for i, (w, unit) in enumerate(zip(filters, units)):
        cell = dict(row=i // columns + 1, col=i % columns + 1)
        if len(shape) == 1:
            fig.add_trace(go.Scatter(y=w, mode="lines", line=dict(width=1.2),
                                     hovertemplate=f"unit {int(unit)}<br>%{{y:.3g}}"
                                                   "<extra></extra>"), **cell)
            continue
        image = w.reshape(shape)[::-1]  # row 0 of the image at the top
        fig.add_trace(go.Heatmap(z=image, zmin=-vmax, zmax=vmax, colorscale="RdBu_r",
                                 showscale=i == 0,
                                 hovertemplate=f"unit {int(unit)}<br>%{{z:.3g}}<extra></extra>"),
                      **cell)
        # The filter's strongest weight: translated copies have their peaks moved alike.
        y, x = np.unravel_index(np.argmax(np.abs(image)), image.shape)
        fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers", hoverinfo="skip",
                                 marker=dict(symbol="x-thin", size=7, color="#222222",
                                             line=dict(width=1.5, color="#222222"))), **cell)
    fig.update_xaxes(visible=False)
    if len(shape) == 2:
        fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    else:
        fig.update_yaxes(visible=False, range=[-vmax, vmax])
    note = " (un-permuted)" if result.config.variant == "shuffled" else ""
    what = "x".join(str(s) for s in shape)
    fig.update_layout(title=_title(f"First-layer filters{note}: {n} hidden units, each as "
                                   f"its {what} weights minus the layer's median"),
                      showlegend=False,
                      height=90 * rows + 70, **_LAYOUT)
    return fig


def distinct_figure(result) -> go.Figure:
    """Distinct values in each hidden layer against epochs (log scale)."""
    h = result.history
    distinct = np.atleast_2d(np.asarray(h["distinct"]))
    fig = go.Figure()
    for layer in range(distinct.shape[1]):
        fig.add_trace(go.Scatter(x=h["epoch"], y=distinct[:, layer], mode="lines+markers",
                                 name=f"layer {layer + 1}", line=dict(shape="hv", width=2)))
    fig.update_layout(title=_title(f"Distinct values: {int(distinct[-1, 0]):,} in layer 1 "
                                   "at the end"), height=320,
                      xaxis=dict(title="epoch"),
                      yaxis=dict(title="distinct values in the layer", type="log"),
                      showlegend=distinct.shape[1] > 1, **_LAYOUT)
    return fig


def final_groups(values) -> tuple[np.ndarray, np.ndarray]:
    """Groups of equal final values: ``(labels, colour)`` per weight.

    ``labels[i]`` numbers weight i's group in increasing value; ``colour[i]`` is the
    palette index of its group's leftmost member in sorted order (as the Watch tab).
    """
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    _, labels = np.unique(values, return_inverse=True)
    first_rank = np.searchsorted(values[order], np.unique(values), side="left")
    return labels, colour_index(first_rank)[labels]


def particles_over_training_figure(result, which: str = "one neuron",
                                   step_index: int | None = None) -> go.Figure:
    """Weights as particles over training steps (the Watch tab's space-time picture).

    One line per tracked first-layer weight (x: optimizer step, y: its value), coloured
    by the group of equal values it ends in; markers at ``step_index`` show the clusters
    then, their area the number of weights sharing the value.
    """
    if which not in PARTICLE_SETS:
        raise ValueError(f"Invalid which: {which!r}; expected one of {list(PARTICLE_SETS)}")
    h = result.history
    steps = np.asarray(h["snap_step"], dtype=np.float64)
    snaps = np.asarray(h[PARTICLE_SETS[which]], dtype=np.float64)  # (S, n)
    labels, colours = final_groups(snaps[-1])
    fig = go.Figure()
    n_steps = len(steps)
    for c in np.unique(colours):
        sel = np.flatnonzero(colours == c)
        xs = np.tile(np.append(steps, np.nan), sel.size)
        ys = np.column_stack((snaps[:, sel].T, np.full(sel.size, np.nan))).ravel()
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                 line=dict(color=PALETTE[int(c)], width=1.1)))
    k = n_steps - 1 if step_index is None else int(np.clip(step_index, 0, n_steps - 1))
    values, mass = np.unique(snaps[k], return_counts=True)
    first = np.searchsorted(np.sort(snaps[k]), values, side="left")
    fig.add_trace(go.Scatter(
        x=np.full(values.size, steps[k]), y=values, mode="markers", customdata=mass,
        marker=dict(size=6 + 3 * np.sqrt(mass), color=[PALETTE[i] for i in colour_index(first)],
                    line=dict(width=0.5, color="white"), opacity=0.85),
        hovertemplate="value %{y:.4g}<br>%{customdata} weights<extra></extra>"))
    fig.add_vline(steps[k], line=dict(color="#444444", width=1, dash="dot"))
    neuron = f" (unit {result.metrics.get('neuron', '?')})" if which == "one neuron" else ""
    fig.update_layout(
        title=_title(f"Weights of {which}{neuron} as particles: {values.size} distinct of "
                     f"{snaps.shape[1]} at step {int(steps[k])}, "
                     f"{np.unique(snaps[-1]).size} at the end"),
        height=420, xaxis=dict(title="training step"), yaxis=dict(title="weight value"),
        showlegend=False, **_LAYOUT)
    return fig


def runs_with_history(runs) -> list:
    """The runs that kept their history (what the tab can draw)."""
    return [r for r in runs if r.history]


def strength_options(runs, data: str, variant: str, model: str) -> list[float]:
    """Strengths available for ``data``, ``variant`` and ``model`` among ``runs``, sorted."""
    return sorted({r.config.strength for r in runs if (r.config.data, r.config.variant,
                                                       r.config.model) == (data, variant, model)})


def merging_strength(runs, data: str, variant: str, model: str = "fc_wsr",
                     fraction: float = 0.75):
    """The weakest saved strength at which layer 1 keeps fewer than ``fraction`` of its
    values distinct (weights visibly merged); the strongest saved one if none does."""
    saved = sorted((r for r in runs if (r.config.data, r.config.variant, r.config.model)
                    == (data, variant, model)), key=lambda r: r.config.strength)
    for r in saved:
        if r.metrics["distinct_layer1"] < fraction * r.metrics["weights_layer1"]:
            return r.config.strength
    return saved[-1].config.strength if saved else None
