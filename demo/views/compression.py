"""The Train tab's Compression view: pick k, watch the multiplier and the count converge.

A live run (:func:`demo.compression.live_run`, a few seconds on the 8x8 digits) trains
with ``WeightSharing(max_values=k)`` and redraws the controller's history after every
epoch; below it, the saved comparison with k-means, quantization and sparsity
(``python -m networks.compression``). The logic and figures are :mod:`demo.compression`.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..compression import (
    KS,
    RESULTS_FILE,
    controller_figure,
    live_run,
    load_table,
    table_figures,
)
from .common import PLOT_CONFIG

__all__ = ["render_compression"]

CONTROLLERS = {"pi": "νPI (Kp = 4, ν = 0.5)", "ascent": "gradient ascent (Kp = 0, ν = 0)"}


def _live(k: int, controller: str) -> None:
    progress = st.progress(0.0, text="training...")
    chart = st.empty()
    epochs = 8

    def on_epoch(epoch, history):
        progress.progress((epoch + 1) / epochs, text=f"epoch {epoch + 1} of {epochs}")
        chart.plotly_chart(controller_figure(history), config=PLOT_CONFIG)

    result = live_run(k, controller, on_epoch=on_epoch, epochs=epochs)
    chart.empty()
    progress.empty()
    st.session_state["comp_live"] = result


def _show_live(result: dict) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric("largest count in a row", result["max_count"], help=f"target k = {result['k']}")
    c2.metric("test accuracy, finalized", f"{result['accuracy_finalized']:.3f}")
    c3.metric("after fine-tuning the k values", f"{result['accuracy_finetuned']:.3f}")
    st.plotly_chart(controller_figure(result["history"], title=(
        f"k = {result['k']}, {CONTROLLERS[result['controller']]}")),
        key="fig_comp_controller", config=PLOT_CONFIG)


def render_compression(results_path=RESULTS_FILE) -> None:
    """Lay out the Compression view (a live run, then the saved table and plot)."""
    st.subheader("Compression: ask for k values per row")
    st.caption("The strength of each row is a Lagrange multiplier moved by a νPI controller "
               "(cooper.optim.nuPI) until the row keeps k values; finalize() makes it exact.")
    left, right = st.columns(2)
    k = left.select_slider("k (values per row)", options=list(KS), value=4, key="comp_k")
    controller = right.radio("multiplier update", list(CONTROLLERS),
                             format_func=CONTROLLERS.get, key="comp_controller",
                             horizontal=True)
    if st.button("Train live (8x8 digits, a few seconds)", key="comp_run"):
        _live(k, controller)
    if "comp_live" in st.session_state:
        _show_live(st.session_state["comp_live"])

    st.markdown("#### Saved comparison at equal k and bits (real digits, 3 seeds)")
    table = load_table(results_path)
    if table is None:
        st.info("No saved comparison yet: run `python -m networks.compression`.")
        return
    markdown = Path(results_path).with_suffix(".md")
    if markdown.exists():
        st.markdown(markdown.read_text())
    by_k, by_bits = table_figures(table)
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(by_k, key="fig_comp_by_k", config=PLOT_CONFIG)
    with c2:
        st.plotly_chart(by_bits, key="fig_comp_by_bits", config=PLOT_CONFIG)
    png = Path(results_path).with_suffix(".png")
    if png.exists():
        with st.expander("The saved plot, with the multiplier of νPI and of gradient ascent"):
            st.image(str(png))
