"""The app's Train tab: weight sharing inside a network, drawn from saved runs.

Figures are plain functions of a :class:`networks.training.RunResult` (tests call them
directly); :func:`render_train_tab` lays them out with Streamlit. The particle view
speaks the Watch tab's visual language (:mod:`demo.figures`): one line per weight over
training steps, coloured by the group it ends in (the palette index of the group's
leftmost member in sorted order), so weights that come to share a value visibly merge.
"""
from __future__ import annotations

from dataclasses import replace

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
    "render_train_tab",
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
    """The saved first-layer filters as 8x8 images, in natural pixel order (un-permuted).

    Each image is one heatmap trace; a cross marks its largest weight in magnitude.
    """
    filters = np.asarray(result.history["filters"], dtype=np.float64)
    units = result.history["filter_units"]
    n = len(filters)
    rows = max(1, -(-n // columns))
    fig = make_subplots(rows=rows, cols=columns, horizontal_spacing=0.01,
                        vertical_spacing=0.03)
    vmax = float(np.abs(filters).max()) or 1.0
    for i, (w, unit) in enumerate(zip(filters, units)):
        cell = dict(row=i // columns + 1, col=i % columns + 1)
        image = w.reshape(8, 8)[::-1]  # row 0 of the image at the top
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
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    note = " (un-permuted)" if result.config.variant.endswith("shuffled") else ""
    fig.update_layout(title=_title(f"First-layer filters{note}: {n} hidden units, "
                                   "each as its 8x8 weights (x: its largest)"),
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


def strength_options(runs, variant: str, model: str) -> list[float]:
    """Strengths available for ``variant`` and ``model`` among ``runs``, sorted."""
    return sorted({r.config.strength for r in runs
                   if r.config.variant == variant and r.config.model == model})


# ------------------------------------------------------------------ Streamlit
def _index(options: list, preferred) -> int:
    """Position of ``preferred`` in ``options`` (0 if it is not there)."""
    return options.index(preferred) if preferred in options else 0


def _pick(runs, variant, model, strength):
    matches = [r for r in runs if r.config.variant == variant and r.config.model == model
               and r.config.strength == strength]
    return min(matches, key=lambda r: r.config.seed) if matches else None


def _show_run(st, result, config_plot: dict) -> None:
    m = result.metrics
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("test accuracy", f"{m['test_acc']:.3f}")
    c2.metric("distinct values, layer 1", f"{int(m['distinct_layer1']):,}")
    c3.metric("conv-likeness", f"{m['conv_score']:.2f}",
              help="1 = the layer is an unrolled convolution; about 0 = no more translated "
                   "copies than its own weights shuffled within each filter would give "
                   "(networks/measures.py)")
    c4.metric("locality", f"{m['locality']:.2f}",
              help="share of a filter's squared weights in its best 3x3 window, averaged")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(accuracy_figure(result), key="fig_train_accuracy", config=config_plot)
    with right:
        st.plotly_chart(distinct_figure(result), key="fig_train_distinct", config=config_plot)
    st.plotly_chart(filters_figure(result), key="fig_train_filters", config=config_plot)
    which = st.radio("Particles", list(PARTICLE_SETS), horizontal=True,
                     key="train_particles_which")
    n_snaps = len(result.history["snap_step"])
    step_index = st.slider("snapshot (training step)", 0, n_snaps - 1, n_snaps - 1,
                           key="train_step")
    st.plotly_chart(particles_over_training_figure(result, which, step_index),
                    key="fig_train_particles", config=config_plot)


def _live_section(st, config) -> None:
    from networks.training import run

    epochs = st.number_input("epochs for a live run", min_value=1, max_value=60, value=3,
                             step=1, key="train_live_epochs")
    if st.button(f"Train it live ({config.model} on {config.variant}, {int(epochs)} epochs)",
                 key="train_live_run"):
        bar = st.progress(0.0, text="starting...")
        try:
            live = replace(config, epochs=int(epochs), seed=0)
            st.session_state["train_live"] = run(
                live, on_progress=lambda done, message: bar.progress(done, text=message))
            st.session_state["train_source"] = "live run"  # show what was just trained
        except (ValueError, TypeError, RuntimeError) as error:
            st.error(f"The live run failed: {error}")
        finally:
            bar.empty()


def render_train_tab(results_path=None, *, plot_config: dict | None = None) -> None:
    """The Train tab: pick variant, model and strength from saved runs; train live."""
    import streamlit as st

    from networks.data import VARIANTS
    from networks.models import MODELS
    from networks.results import DEFAULT_TABLE, load_results
    from networks.training import RunConfig

    plot_config = plot_config or {"displaylogo": False}
    path = DEFAULT_TABLE if results_path is None else results_path

    @st.cache_data(max_entries=2, show_spinner="Loading the saved runs...")
    def saved(path_text: str, mtime: float):
        runs, meta = load_results(path_text)
        return runs_with_history(runs), meta

    st.subheader("Weight sharing inside a network")
    st.caption("A fully connected network (fc), the same trained with weight-sharing "
               "regularization by proximal gradient over the whole first layer (fc_wsr) or "
               "per hidden unit (fc_wsr_rows), and a small CNN, on 8x8 digits (plain, "
               "torus-shifted, pixels shuffled) and on a teacher task whose labels are a "
               "convolution. Saved runs: `python -m networks table`.")
    runs, meta = [], {}
    try:
        from pathlib import Path

        runs, meta = saved(str(path), Path(path).stat().st_mtime)
    except FileNotFoundError:
        st.info(f"No saved runs at {path}: create them with `python -m networks table`, "
                "or train a short run live below.")
    except (ValueError, KeyError, TypeError) as error:
        st.error(f"Cannot read the saved runs ({path}): {error}")

    variants = [v for v in VARIANTS if any(r.config.variant == v for r in runs)] or list(VARIANTS)
    col_v, col_m, col_s = st.columns(3)
    # Open on the paper's question: the FC network with sharing, on shuffled pixels.
    variant = col_v.selectbox("data", variants, key="train_variant",
                              index=_index(variants, "shuffled"))
    models = [m for m in MODELS if any(r.config.variant == variant and r.config.model == m
                                       for r in runs)] or list(MODELS)
    model = col_m.selectbox("model", models, key="train_model", index=_index(models, "fc_wsr"))
    strengths = strength_options(runs, variant, model) or [0.0 if model in ("fc", "cnn")
                                                           else 0.03]
    picked = {(r["variant"], r["model"]): r for r in meta.get("rows", [])}.get((variant, model))
    strength = col_s.selectbox("strength", strengths, key="train_strength",
                               format_func=lambda s: f"{s:g}" if s else "none",
                               index=_index(strengths, (picked or {}).get("strength")))
    chosen = _pick(runs, variant, model, strength)
    if picked is not None:
        note = "" if picked["strength"] is None else f", strength {picked['strength']:g}"
        st.caption(f"The table's choice on validation for {model} on {variant}: "
                   f"lr {picked['lr']:g}{note}; test accuracy {picked['test_acc']:.3f} "
                   f"± {picked['test_acc_std']:.3f} over {picked['seeds']} seeds.")

    live_config = chosen.config if chosen is not None else RunConfig(
        variant=variant, model=model, strength=strength)
    with st.expander("Train a short run live", expanded=chosen is None):
        _live_section(st, live_config)
    live = st.session_state.get("train_live")
    sources = (["saved run"] if chosen is not None else []) + (["live run"] if live else [])
    if not sources:
        st.warning("Nothing to show yet: no saved run for this choice.")
        return
    source = st.radio("Show", sources, horizontal=True, key="train_source",
                      index=len(sources) - 1)
    result = live if source == "live run" else chosen
    st.caption(f"Showing: {result.config.label} (lr {result.config.lr:g}, "
               f"{result.config.epochs} epochs, {result.metrics['seconds']:.1f} s to train).")
    try:
        _show_run(st, result, plot_config)
    except (KeyError, ValueError, IndexError) as error:
        st.error(f"Cannot draw this run: {error}")
    if meta.get("rows"):
        with st.expander("The whole table (mean ± sd over seeds, test split)"):
            import pandas as pd

            st.dataframe(pd.DataFrame(meta["rows"]), hide_index=True, key="train_table")
