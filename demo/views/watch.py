"""The Watch tab: the particles of the chosen penalty, animated in the browser.

The animation (:mod:`demo.animation`) is sent to the browser once, as a
self-contained player in ``st.iframe``: Play, Pause and the time
slider run there, without a rerun of this script. Other penalties of the
family: :mod:`demo.views.penalty`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from .. import animation, inputs
from . import penalty as penalty_view
from .common import show_player, simulation

__all__ = ["render_watch"]


@st.cache_data(max_entries=16, show_spinner="Preparing the animation...")
def _player(w_bytes: bytes, lam: float) -> str:
    """The player's HTML for ``(w, lam)``: built once, shared by every session."""
    movie = animation.wsr_animation(simulation(w_bytes), lam)
    return movie.html(element_id="wsp-wsr")


def _groups(traj, lam: float) -> None:
    u = traj.prox(lam)
    values, sizes = np.unique(u, return_counts=True)
    st.markdown(f"**Groups of prox$_{{λR}}(w)$ at λ = {lam:.4g}** (largest first)")
    groups = pd.DataFrame({"value": values, "weights": sizes})
    st.dataframe(groups.sort_values("weights", ascending=False).head(200), height=250,
                 hide_index=True, key="groups_table")
    st.download_button("Download prox(w) at λ (.csv)", inputs.format_vector(u, digits=17),
                       file_name="prox.csv", mime="text/csv", key="download_prox")


def render_watch(selection) -> None:
    """The Watch tab for the sidebar's :class:`~demo.views.sidebar.Selection`."""
    if selection.penalty != "WSR":
        penalty_view.render(selection.penalty, selection.w, selection.lam,
                            selection.penalty_params)
        return
    traj, lam = selection.traj, selection.lam
    if traj is None:
        st.info("Nothing to watch: the simulation failed (see the message above).")
        return
    if lam <= 0:
        st.info("λ = 0: the prox is the identity. "
                "Raise λ in the sidebar to let the particles move.")
    m1, m2, m3 = st.columns(3)
    m1.metric("groups at λ (R alone)", f"{traj.n_clusters(lam):,}")
    m2.metric("λ_max (one group)", f"{traj.lam_max:.4g}")
    m3.metric("weights d", f"{traj.d:,}")
    st.caption("▶ Play and the time slider run in your browser: every picture is the "
               "exact state at its time t, computed from the simulation's merge log.")
    show_player(_player(selection.w_bytes, lam))
    _groups(traj, lam)
