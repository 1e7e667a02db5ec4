"""The Compare tab: every solver on the sidebar's input, and a scaling sweep in d.

The runs and timing are :mod:`demo.compare`; this module only lays them out.
"""
from __future__ import annotations

import hashlib
import time

import numpy as np
import streamlit as st

from .. import compare, figures
from .common import PLOT_CONFIG

__all__ = ["AUTO_COMPARE_MAX_D", "render_compare"]

#: Above this d, the solver table waits for a button (some solvers take O(d) rounds).
AUTO_COMPARE_MAX_D = 20_000


def _solver_table(selection) -> None:
    w_bytes, lam, traj = selection.w_bytes, selection.lam, selection.traj
    input_key = (hashlib.blake2b(w_bytes, digest_size=16).hexdigest(), lam)
    stored = st.session_state.get("solver_results")
    if stored is not None and stored["key"] != input_key:
        stored = None  # results of another input or λ
    if stored is None and (selection.w.size <= AUTO_COMPARE_MAX_D or st.button(
            f"Run every solver on this input (d = {selection.w.size:,}: may take a while)",
            key="run_solvers")):
        bar = st.progress(0.0, text="Running every solver...")
        table = compare.solver_table(
            np.frombuffer(w_bytes, dtype=np.float64).copy(),  # writable, as torch wants
            lam, traj.prox(lam) if traj is not None else None,
            on_progress=lambda done, message: bar.progress(done, text=f"Running {message}"))
        bar.empty()
        stored = st.session_state["solver_results"] = dict(key=input_key, table=table)
    if stored is not None:
        table = stored["table"]
        st.dataframe(
            table, hide_index=True, key="solver_table",
            column_config={
                "max_deviation": st.column_config.NumberColumn(format="%.2e"),
                "time_ms": st.column_config.NumberColumn(
                    "time (ms, median)", format="%.3f",
                    help="median of the timed runs (the run under the budget's guard "
                         "is not timed)"),
                "spread_ms": st.column_config.NumberColumn(
                    "spread (ms)", format="%.3f", help="slowest run minus fastest"),
                "runs": st.column_config.NumberColumn("timed runs"),
                "note": st.column_config.TextColumn(width="large"),
            })
        for row in table[table["note"] != ""].itertuples():
            st.caption(f"**{row.solver}**: {row.note}")


def _scaling() -> None:
    st.subheader("Scaling with d")
    grid_max = st.select_slider("largest d", options=[256, 1024, 4096, 16384], value=4096,
                                key="grid_max")
    grid = [d for d in compare.DEFAULT_GRID + (16384,) if d <= grid_max]
    st.caption(f"Random normal input and each solver's worst case (λ = 1) at d = "
               f"{', '.join(f'{d:,}' for d in grid)}; rounds are the sequential whole-tensor "
               f"steps of the parallel solvers. Each run stops after {compare.SWEEP_BUDGET:g} s "
               "(and the solver's larger sizes of that input are then skipped).")
    if st.button("Run the scaling sweep", key="run_scaling"):
        bar = st.progress(0.0, text="starting...")
        started = time.perf_counter()
        table = compare.scaling(
            grid, on_progress=lambda done, message: bar.progress(done, text=message))
        st.session_state["scaling"] = dict(table=table, seconds=time.perf_counter() - started)
        bar.empty()
    if st.session_state.get("scaling") is not None:
        table = st.session_state["scaling"]["table"]
        st.caption(f"The last sweep (d up to {int(table['d'].max()):,}) took "
                   f"{st.session_state['scaling']['seconds']:.1f} s.")
        st.plotly_chart(figures.scaling_figure(table), key="fig_scaling", config=PLOT_CONFIG)
        noted = table[table["note"] != ""]
        if not noted.empty:
            st.info("Not timed: " + "; ".join(
                f"{r.solver} (d = {r.d:,}, {r.input}): {r.note}" for r in noted.itertuples()))
        failed = table[table["error"] != ""]
        if not failed.empty:
            st.warning("Some runs failed: " + "; ".join(
                f"{r.solver} (d = {r.d}, {r.input}): {r.error}" for r in failed.itertuples()))
    else:
        st.info("Press the button to time every solver on these sizes.")


def render_compare(selection) -> None:
    """The Compare tab for the sidebar's :class:`~demo.views.sidebar.Selection`."""
    st.subheader("Every solver on this input")
    st.caption("Max deviation is from the exact prox at λ. Times are the median of up to "
               f"{compare.REPEATS} runs on a shared CPU, with their spread: compare them "
               "with each other, not with other machines. A run predicted to take over "
               f"{compare.RUN_BUDGET:g} s is skipped, one that runs over it is stopped; "
               "the note says why.")
    _solver_table(selection)
    _scaling()
