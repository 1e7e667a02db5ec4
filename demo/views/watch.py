"""The Watch tab: the particles of the chosen penalty at every time, with Play.

(The figures are :mod:`demo.figures` and :mod:`demo.penalties`; the clock
:mod:`demo.timeline`.)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from .. import figures, inputs, page, timeline
from . import penalty as penalty_view
from .common import PLOT_CONFIG, simulation

__all__ = ["PLAY_INTERVAL", "render_watch"]

#: Seconds between two steps of Play.
PLAY_INTERVAL = 0.5


@st.cache_data(max_entries=16, show_spinner=False)
def _spacetime_segments(w_bytes: bytes, t_end: float) -> dict:
    traj = simulation(w_bytes)
    return traj.spacetime_segments(*figures.spacetime_window(traj, t_end))


def _set_playing(play: bool) -> None:
    """Play from the time shown (from 0 if it stands at the end), or pause where it is.

    The button passes the state it asks for, not "toggle": a click that reaches
    the app twice (a timer tick racing it, or the run st.rerun starts) asks for
    the same state twice, and the second time changes nothing.
    """
    if st.session_state.get("playing", False) == play:
        return
    st.session_state["playing"] = play
    end = st.session_state.get("t_end_shown", 0.0)
    if play and st.session_state.get("t", 0.0) >= end:
        st.session_state["t"] = 0.0
    st.session_state["timer_changed"] = True  # a full run starts or stops the timer


def _watch_panel(w_bytes: bytes, lam: float) -> None:
    """The WSR view. A fragment: the slider and Play rerun only this part of the page."""
    with page.shown_failures("The Watch tab"):
        traj = simulation(w_bytes)
        if lam <= 0:
            st.info("λ = 0: the prox is the identity. "
                    "Raise λ in the sidebar to let the particles move.")
            t = 0.0
        else:
            end = timeline.slider_end(traj.lam_max, lam)
            st.session_state["t_end_shown"] = end
            playing = st.session_state.get("playing", False)
            c_play, c_slider = st.columns([1, 8], vertical_alignment="bottom")
            c_play.button("❚❚ Pause" if playing else "▶ Play", key="play",
                          help="step the time t forward from where it stands",
                          on_click=_set_playing, args=(not playing,))
            if st.session_state.pop("timer_changed", False):
                st.rerun()  # a full run starts or stops the fragment's timer
            # The time kept across reruns (the slider's state is dropped on runs
            # that do not draw it), clamped to this λ's range.
            t = timeline.kept_time(st.session_state.get("t", st.session_state.get("t_kept")),
                                   end)
            if playing:
                t, still = timeline.play_step(t, end)
                if not still:
                    st.session_state["playing"] = False
            st.session_state["t"] = st.session_state["t_kept"] = t
            st.slider("time t (the particles at λ = t)", min_value=0.0, max_value=end,
                      step=end / timeline.SLIDER_STEPS, format="%.4g", key="t")
            if playing and not st.session_state["playing"]:
                st.rerun()  # Play reached the end: a full run stops the timer
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("time t", f"{t:.4g}")
        m2.metric("clusters at t", f"{traj.n_clusters(t):,}")
        m3.metric("groups at λ", f"{traj.n_clusters(lam):,}")
        m4.metric("λ_max (one group)", f"{traj.lam_max:.4g}")
        st.plotly_chart(figures.particles_figure(traj, lam, t), key="fig_particles",
                        config=PLOT_CONFIG)
        left, right = st.columns(2)
        t_end = timeline.time_axis_end(traj.lam_max, lam)
        with left:
            st.plotly_chart(
                figures.spacetime_figure(traj, lam, t,
                                         segments=_spacetime_segments(w_bytes, t_end)),
                key="fig_spacetime", config=PLOT_CONFIG)
        with right:
            st.plotly_chart(figures.dendrogram_figure(traj, lam), key="fig_dendrogram",
                            config=PLOT_CONFIG)
        left, right = st.columns(2)
        with left:
            st.plotly_chart(figures.shared_values_figure(traj, lam, t), key="fig_shared",
                            config=PLOT_CONFIG)
        with right:
            u = traj.prox(lam)
            values, sizes = np.unique(u, return_counts=True)
            st.markdown(f"**Groups of prox$_{{λR}}(w)$ at λ = {lam:.4g}** (largest first)")
            groups = pd.DataFrame({"value": values, "weights": sizes})
            st.dataframe(groups.sort_values("weights", ascending=False).head(200), height=250,
                         hide_index=True, key="groups_table")
            st.download_button("Download prox(w) at λ (.csv)",
                               inputs.format_vector(u, digits=17), file_name="prox.csv",
                               mime="text/csv", key="download_prox")


def render_watch(selection) -> None:
    """The Watch tab for the sidebar's :class:`~demo.views.sidebar.Selection`."""
    with page.shown_failures("The Watch tab"):
        if selection.penalty != "WSR":
            penalty_view.render(selection.penalty, selection.w, selection.lam,
                                 selection.penalty_params)
        elif selection.traj is None:
            st.info("Nothing to watch: the simulation failed (see the message above).")
        else:
            run_every = PLAY_INTERVAL if st.session_state.get("playing") else None
            st.fragment(run_every=run_every)(_watch_panel)(selection.w_bytes, selection.lam)
