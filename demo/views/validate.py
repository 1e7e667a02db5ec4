"""The Validate tab: check a prox computed elsewhere against the exact one.

The comparison is :func:`prox.check_prox`; its table :mod:`demo.validate`.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from prox import check_prox

from .. import figures, inputs
from ..validate import differing_groups_table
from .common import PLOT_CONFIG, UPLOAD, read_input

__all__ = ["render_validate"]


def _load_example(weights: np.ndarray, strength: float) -> None:
    st.session_state["val_w_source"] = "Current input"
    st.session_state["val_u_source"] = "Paste"
    st.session_state["val_u_text"] = inputs.format_vector(
        inputs.example_candidate(weights, strength))


def _input_w(w: np.ndarray):
    w_source = st.radio("Input w", ["Current input", "Paste", "Upload"], key="val_w_source",
                        horizontal=True)
    if w_source == "Current input":
        st.caption(f"The weights from the sidebar (d = {w.size:,}).")
        return w
    if w_source == "Paste":
        text = st.text_area("w", key="val_w_text", height=120)
        val_w = read_input(text, None, what="Input w")
        if not (text and text.strip()):
            st.info("Paste the input w: numbers separated by commas, spaces or new lines.")
        return val_w
    w_file = st.file_uploader("w file", key="val_w_file", **UPLOAD)
    val_w = read_input(None, w_file, what="Input w")
    if w_file is None:
        st.info("Choose the file holding w.")
    return val_w


def _candidate():
    u_source = st.radio("Your output", ["Paste", "Upload"], key="val_u_source",
                        horizontal=True,
                        help="Only the chosen one is read; the other keeps its content.")
    # Both stay on the page (the unused one greyed out), so switching keeps them.
    u_text = st.text_area("Your output (pasted)", key="val_u_text", height=120,
                          disabled=u_source != "Paste")
    u_file = st.file_uploader(f"Your output (a file, at most {inputs.MAX_BYTES // 2**20} MB)",
                              key="val_u_file", disabled=u_source != "Upload", **UPLOAD)
    if u_source == "Paste":
        return read_input(u_text, None, what="Your output")
    return read_input(None, u_file, what="Your output")


def _verdict(val_w: np.ndarray, lam: float, val_u: np.ndarray) -> None:
    try:
        report = check_prox(val_w, lam, val_u)
    except ValueError as error:
        st.error(f"Cannot compare: {error}")
        return
    if report.exact:
        st.success(f"This is the exact prox at λ = {lam:.4g}: every entry is within the "
                   f"tolerance {report.tol:.1e} of it (largest deviation "
                   f"{report.max_deviation:.3e}).")
    else:
        st.warning(f"This is not the exact prox at λ = {lam:.4g}: the largest deviation "
                   f"{report.max_deviation:.3e} is over the tolerance {report.tol:.1e}.")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("objective gap", f"{report.objective_gap:.3e}",
              help="½‖u−w‖² + λR(u), yours minus the optimum's")
    c2.metric("max deviation", f"{report.max_deviation:.3e}")
    c3.metric("order violations", f"{report.order_violations.count:,}",
              help="pairs with w_i < w_j but u_i > u_j (the exact prox has none)")
    c4.metric("groups that differ", f"{len(report.differing_groups):,}")
    if report.order_violations.count:
        st.markdown("Examples of reversed pairs (i, j): " + ", ".join(
            f"({i}, {j})" for i, j in report.order_violations.examples))
    if report.differing_groups:
        differences = {c: st.column_config.NumberColumn(format="%.3e")
                       for c in ("your min − exact", "your max − exact")}
        st.dataframe(differing_groups_table(report), hide_index=True, key="val_groups",
                     column_config=differences)
    st.plotly_chart(figures.validation_figure(val_w, report.optimum, val_u, tol=report.tol),
                    key="fig_validate", config=PLOT_CONFIG)


def render_validate(selection) -> None:
    """The Validate tab; the sidebar's weights and λ are the defaults."""
    w, lam = selection.w, selection.lam
    st.subheader("Check your own prox output")
    st.caption(f"Give an input w and the vector your code returned for the prox of λR at "
               f"w, with λ = {lam:.4g} from the sidebar. The page compares it with the "
               "exact prox, using the same objective ½‖u − w‖² + λR(u).")
    st.button("Fill in an example (the current input, a slightly wrong answer)",
              on_click=_load_example, args=(w, lam), key="val_example")
    col_w, col_u = st.columns(2)
    with col_w:
        val_w = _input_w(w)
    with col_u:
        val_u = _candidate()
    if val_w is not None and val_u is not None:
        _verdict(val_w, lam, val_u)
    elif val_w is not None:
        st.info("Paste or upload your output vector to check it.")
