"""The Train tab: pick a saved run (variant, model, strength) or train one live, and draw it.

The figures are :mod:`demo.train_figures`; this module only lays them out.
"""
from __future__ import annotations

from dataclasses import replace

from ..train_figures import (
    PARTICLE_SETS,
    accuracy_figure,
    distinct_figure,
    filters_figure,
    particles_over_training_figure,
    runs_with_history,
    strength_options,
)

__all__ = ["render_train"]


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


def render_train(results_path=None, *, plot_config: dict | None = None) -> None:
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
