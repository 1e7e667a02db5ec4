"""The sidebar: the weights (preset, pasted or uploaded), λ, and the penalty watched.

:func:`render_sidebar` declares the widgets and returns a :class:`Selection`;
the presets and parsing are :mod:`demo.inputs`, the penalty controls
:mod:`demo.views.penalty`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from .. import inputs, page
from . import penalty as penalty_view
from .common import UPLOAD, as_bytes, read_input, simulation

__all__ = ["MAX_PRESET_D", "Selection", "render_sidebar"]

#: Largest d offered for the presets (uploads go up to inputs.MAX_ENTRIES).
MAX_PRESET_D = 100_000


@dataclass(frozen=True)
class Selection:
    """What the sidebar chose: the weights, λ, the simulation (None if it failed), the penalty."""

    w: np.ndarray
    lam: float
    traj: object
    penalty: str
    penalty_params: dict = field(default_factory=dict)

    @property
    def w_bytes(self) -> bytes:
        return as_bytes(self.w)


@st.cache_data(max_entries=4, show_spinner=False)
def _preset(name: str, d: int, seed: int, lam: float) -> np.ndarray:
    return inputs.make_preset(name, d, seed=seed, lam=lam)


def _weights(source: str, lam: float):
    """The input widgets of ``source``; the weights, or None (with a message) if none yet."""
    if source == "Preset":
        name = st.selectbox("Preset", list(inputs.PRESETS), key="preset")
        # No max_value: the widget would refuse a larger d silently (in a tooltip).
        d = st.number_input("d (number of weights)", min_value=2, value=200, step=100, key="d",
                            help=f"at most {MAX_PRESET_D:,} for the presets")
        if d > MAX_PRESET_D:
            st.warning(f"d = {int(d):,} is more than the presets offer: the largest is "
                       f"d = {MAX_PRESET_D:,} (upload a file for up to {inputs.MAX_ENTRIES:,} "
                       f"weights). Showing d = {MAX_PRESET_D:,}.")
            d = MAX_PRESET_D
        seed = st.number_input("seed", min_value=0, value=0, step=1, key="seed")
        try:
            return _preset(name, int(d), int(seed), float(lam))
        except (ValueError, ImportError) as error:
            st.error(f"Preset: {error}")
            return None
    if source == "Paste":
        text = st.text_area("Numbers separated by commas, spaces or new lines "
                            "(decimals with a point: 1.5)",
                            value="0.1, 2.3, 2.5, -1.0, 4.0, 3.9, 0.0, 1.2", key="paste",
                            height=150)
        return read_input(text, None, what="Pasted weights", required=True)
    upload = st.file_uploader(
        f"A .npy, .csv, .txt or .pt (one tensor) file; at most "
        f"{inputs.MAX_ENTRIES:,} numbers / {inputs.MAX_BYTES // 2**20} MB",
        key="upload", **UPLOAD)
    w = read_input(None, upload, what="Uploaded weights")
    if upload is None:
        st.info("Choose a file to upload.")
    return w


def render_sidebar() -> Selection | None:
    """The sidebar's widgets; None (and a warning on the page) while no valid input is chosen."""
    with st.sidebar:
        st.header("Input")
        source = st.radio("Weights w", ["Preset", "Paste", "Upload"], key="source",
                          horizontal=True)
        # No min_value: the widget would refuse a negative λ with only a small icon.
        lam = float(st.number_input("λ (regularization strength, ≥ 0)", value=1.0, step=0.1,
                                    format="%.4g", key="lam"))
        if not lam >= 0:
            st.error(f"λ = {lam:g} is negative: the strength λ must be 0 or more. "
                     "Showing λ = 0 (no regularization) until it is.")
            lam = 0.0
        w = _weights(source, lam)
    if w is None:
        st.warning("No valid input yet: fix or choose the weights in the sidebar.")
        return None
    traj = None
    with st.sidebar, page.shown_failures("The particle simulation"):
        traj = simulation(as_bytes(w))
        st.caption(f"d = {w.size:,} · λ_max = {traj.lam_max:.4g} (all merged) · "
                   f"{page.plural(traj.n_clusters(lam), 'group')} at λ for R alone "
                   "(the Watch tab counts the penalty chosen below)")
    with st.sidebar:
        st.header("Penalty")
        penalty = st.selectbox("Penalty shown in the Watch tab", penalty_view.PENALTIES,
                               key="penalty")
        params = penalty_view.controls(penalty, w.size)
    return Selection(w, lam, traj, penalty, params)
