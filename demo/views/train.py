"""The Train tab: pick a saved run (data, variant, model, strength) or train one live.

It opens on the paper's question (the FC network with whole-layer weight sharing on
shuffled pixels) at the weakest saved strength whose first layer kept fewer than 3 in 4 of
its values distinct, so the weights visibly merge; the table's own pick on validation is
named beside it. A live run redraws the distinct-values curve after every epoch. The
figures are :mod:`demo.train_figures`; this module only lays them out.
"""
from __future__ import annotations

from dataclasses import replace

from ..train_figures import (
    PARTICLE_SETS,
    accuracy_figure,
    distinct_figure,
    filters_figure,
    merging_strength,
    particles_over_training_figure,
    runs_with_history,
    strength_options,
)

__all__ = ["render_train"]


# ------------------------------------------------------------------ Streamlit
def _index(options: list, preferred) -> int:
    """Position of ``preferred`` in ``options`` (0 if it is not there)."""
    return options.index(preferred) if preferred in options else 0


def _pick(runs, data, variant, model, strength):
    matches = [r for r in runs if (r.config.data, r.config.variant, r.config.model)
               == (data, variant, model) and r.config.strength == strength]
    return min(matches, key=lambda r: r.config.seed) if matches else None


def _show_run(st, result, config_plot: dict) -> None:
    m = result.metrics
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("test accuracy", f"{m['test_acc']:.3f}")
    c2.metric("distinct values, layer 1", f"{int(m['distinct_layer1']):,}",
              help=f"of {int(m['weights_layer1']):,} weights (exact count)")
    if "locality" in m:
        c3.metric("locality", f"{m['locality']:.2f}",
                  help="share of a filter's energy in its best 3x3 torus window (5 samples "
                       f"in 1-D), averaged; random-order control {m['locality_null']:.2f} "
                       "(networks/measures.py)")
        c4.metric("shifted copies", f"{m['shift_score']:.2f}",
                  help="1 = every filter is a torus translate of another of its channel "
                       "(an unrolled convolution); about 0 = no more than the filters' "
                       "weights in random order give (networks/measures.py)")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(accuracy_figure(result), key="fig_train_accuracy", config=config_plot)
    with right:
        st.plotly_chart(distinct_figure(result), key="fig_train_distinct", config=config_plot)
    if "filters" in result.history:
        st.plotly_chart(filters_figure(result), key="fig_train_filters", config=config_plot)
        which = st.radio("Particles", list(PARTICLE_SETS), horizontal=True,
                         key="train_particles_which")
        n_snaps = len(result.history["snap_step"])
        step_index = st.slider("snapshot (training step)", 0, n_snaps - 1, n_snaps - 1,
                               key="train_step")
        st.plotly_chart(particles_over_training_figure(result, which, step_index),
                        key="fig_train_particles", config=config_plot)


def _live_section(st, config) -> None:
    import numpy as np

    from networks.training import RunResult, run

    epochs = st.number_input("epochs for a live run", min_value=1, max_value=60,
                             value=int(config.epochs), step=1, key="train_live_epochs")
    if st.button(f"Train it live ({config.model} on {config.data} {config.variant}, "
                 f"{int(epochs)} epochs)", key="train_live_run"):
        bar = st.progress(0.0, text="starting...")
        curve = st.empty()
        live = replace(config, epochs=int(epochs), seed=0)

        def on_progress(done, message, history):
            bar.progress(done, text=message)
            partial = RunResult(live, {}, {k: np.asarray(v) for k, v in history.items()})
            epoch = len(history["epoch"])
            curve.plotly_chart(distinct_figure(partial), key=f"fig_train_live_{epoch}")

        try:
            st.session_state["train_live"] = run(live, on_progress=on_progress)
            st.session_state["train_source"] = "live run"  # show what was just trained
        except (ValueError, TypeError, RuntimeError) as error:
            st.error(f"The live run failed: {error}")
        finally:
            bar.empty()
            curve.empty()


def _rows_caption(rows, data, variant, model) -> str | None:
    picked = {(r["data"], r["variant"], r["model"]): r for r in rows}.get(
        (data, variant, model))
    if picked is None:
        return None
    note = f", strength {picked['strength']:g}" if picked["strength"] else ""
    interior = {True: "interior", False: "at the edge of the searched grid", None: ""}
    where = interior[picked.get("strength_interior")] or interior[picked.get("lr_interior")]
    return (f"The table's choice on validation for {model} on {data} {variant}: "
            f"lr {picked['lr']:g}{note} ({where}); test accuracy "
            f"{picked['test_accuracy_mean']:.3f} ± {picked['test_accuracy_sd']:.3f} over "
            f"{picked['seeds']} seeds, {picked['distinct_layer1_mean']:,.0f} distinct values "
            f"in layer 1.")


def render_train(results_path=None, *, plot_config: dict | None = None) -> None:
    """The Train tab: pick data, variant, model and strength from saved runs; train live."""
    from pathlib import Path

    import streamlit as st

    from networks.data import DATASETS, VARIANTS
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
    st.caption("The seed paper's fully connected network (fc), the same trained with "
               "weight-sharing regularization by proximal gradient (fc_wsr: whole layers; "
               "fc_wsr_rows: per unit), its controls at the same strengths (fc_l1, fc_wd, "
               "fc_median: the same pull toward the median without merging; fc_nobn: no "
               "BatchNorm), and the CNN it contains, on 14x14 MNIST digits on a torus and "
               "on MNIST-1D, with pixels shuffled or not. Saved runs: "
               "`python -m networks table`.")
    runs, meta = [], {}
    try:
        runs, meta = saved(str(path), Path(path).stat().st_mtime)
    except FileNotFoundError:
        st.info(f"No saved runs at {path}: create them with `python -m networks table`, "
                "or train a short run live below.")
    except (ValueError, KeyError, TypeError) as error:
        st.error(f"Cannot read the saved runs ({path}): {error}")

    datas = [d for d in DATASETS if any(r.config.data == d for r in runs)] or ["mnist1d"]
    col_d, col_v, col_m, col_s = st.columns(4)
    data = col_d.selectbox("data", datas, key="train_data", index=_index(datas, "mnist14"))
    variants = [v for v in VARIANTS[data] if any(
        (r.config.data, r.config.variant) == (data, v) for r in runs)] or list(VARIANTS[data])
    # Open on the paper's question: the FC network with sharing, on shuffled pixels.
    variant = col_v.selectbox("variant", variants, key="train_variant",
                              index=_index(variants, "shuffled"))
    models = [m for m in MODELS if any((r.config.data, r.config.variant, r.config.model)
                                       == (data, variant, m) for r in runs)] or [
        m for m in MODELS if not m.endswith("_ref")]
    model = col_m.selectbox("model", models, key="train_model", index=_index(models, "fc_wsr"))
    strengths = strength_options(runs, data, variant, model) or [
        0.0 if RunConfig(model=model).penalty == "none" else 0.01]
    strength = col_s.selectbox("strength", strengths, key="train_strength",
                               format_func=lambda s: f"{s:g}" if s else "none",
                               index=_index(strengths, merging_strength(runs, data, variant,
                                                                        model)))
    chosen = _pick(runs, data, variant, model, strength)
    caption = _rows_caption(meta.get("rows", []), data, variant, model)
    if caption:
        st.caption(caption)

    live_config = chosen.config if chosen is not None else (
        RunConfig.reference(model, variant=variant) if model.endswith("_ref") else
        RunConfig(data=data, variant=variant, model=model, strength=strength))
    with st.expander("Train a run live", expanded=chosen is None):
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

            table = pd.DataFrame(meta["rows"]).drop(columns=["config", "seed_list"],
                                                    errors="ignore")
            st.dataframe(table, hide_index=True, key="train_table")
