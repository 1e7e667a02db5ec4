"""Streamlit demo: the prox of weight-sharing regularization as a particle system.

Run with ``streamlit run app.py``. This file only wires the page together:
each part is a render function of :mod:`demo.views`, the logic lives in
``demo/``, the maths in ``prox/`` and ``particles/``.
"""
import streamlit as st

from demo import page
from demo.views import (
    render_compare,
    render_compression,
    render_sidebar,
    render_train,
    render_validate,
    render_watch,
)
from demo.views.common import PLOT_CONFIG

st.set_page_config(page_title="Weight sharing as particles", layout="wide")
st.title("Weight-sharing regularization as a particle system")
st.markdown(
    "The prox of $R(w)=\\frac{1}{d-1}\\sum_{i>j}|w_i-w_j|$ moves each weight like a particle "
    "that every other weight pulls with the same force; particles that meet stick together. "
    "**Time is λ**: one simulation gives the prox, and the groups of shared values, for every λ."
)

selection = render_sidebar()
if selection is None:
    st.stop()


def render_train_tab() -> None:
    """Train: weight sharing inside a network, then compression to k values per row."""
    render_train(plot_config=PLOT_CONFIG)
    render_compression()


# Tabs run lazily: only the open one is computed (the Compare tab times every solver).
TABS = {
    "Watch": lambda: render_watch(selection),
    "Compare": lambda: render_compare(selection),
    "Validate": lambda: render_validate(selection),
    "Train": render_train_tab,
}
for tab, (name, render) in zip(st.tabs(list(TABS), key="tab", on_change="rerun"), TABS.items()):
    if tab.open:
        with tab, page.shown_failures(f"The {name} tab"):
            render()
