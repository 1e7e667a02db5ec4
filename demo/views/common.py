"""What the views share: plot config, upload options, the cached simulation, input, the player.

Results are cached with ``st.cache_data`` (keyed by the input's float64 bytes),
so every view of one input reuses the same trajectory.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

import particles

from .. import animation, inputs

__all__ = ["PLOT_CONFIG", "UPLOAD", "simulation", "as_bytes", "read_input", "show_player"]

PLOT_CONFIG = {"displaylogo": False}
# The drop zone states the parser's own limit ("Limit 20MB per file"), so the label and
# the drop zone say the same; the browser refuses a larger file with its own message.
UPLOAD = dict(type=["npy", "csv", "txt", "pt"], max_upload_size=inputs.MAX_BYTES // 2**20)


def as_bytes(w) -> bytes:
    """The cache key of a weight vector: its float64 bytes."""
    return np.ascontiguousarray(w, dtype=np.float64).tobytes()


@st.cache_data(max_entries=8, show_spinner="Simulating the particles...")
def simulation(w_bytes: bytes):
    """The trajectory of ``w`` (float64 bytes); reruns with the same input reuse it."""
    # particles.simulate looked up at call time (tests replace it).
    return particles.simulate(np.frombuffer(w_bytes, dtype=np.float64).copy())


def read_input(text: str | None, upload, *, what: str, required: bool = False):
    """The vector from an upload (preferred) or pasted text; st.error and None if bad.

    Without an upload, blank text gives None quietly unless ``required``.
    """
    try:
        if upload is not None:
            return inputs.parse_vector(upload.getvalue(), upload.name, min_entries=2)
        if required or (text and text.strip()):
            return inputs.parse_vector(text or "", min_entries=2)
    except ValueError as error:
        st.error(f"{what}: {error}")
    return None


def show_player(html: str) -> None:
    """Put a player (the HTML of :meth:`demo.animation.Animation.html`) on the page.

    ``st.iframe`` runs its script; the HTML is the project's own (numbers and
    escaped titles), never a user's markup.
    """
    st.iframe(html, height=animation.HEIGHT)
