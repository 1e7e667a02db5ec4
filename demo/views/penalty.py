"""The Watch tab for the penalties other than WSR: sidebar controls and the view.

:func:`demo.views.sidebar.render_sidebar` calls :func:`controls` (after its "penalty"
selectbox) and :func:`demo.views.watch.render_watch` calls :func:`render` when it is not
"WSR". The maths and figures are in :mod:`demo.penalties`; this module only
lays them out; ``app.py`` turns any failure of the tab into one ``st.error``.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from .. import animation, penalties
from .common import PLOT_CONFIG, show_player

__all__ = ["PENALTIES", "controls", "render"]

#: The sidebar's choices ("WSR" is the app's own Watch tab).
PENALTIES = penalties.PENALTIES


def controls(penalty: str, d: int) -> dict:
    """The sidebar widgets of ``penalty``'s parameters; returns the keyword arguments
    of :func:`demo.penalties.build_path`."""
    params: dict = {}
    if penalty in ("WSR + L1", "OSCAR", "GrOWL"):
        params["alpha"] = st.number_input(
            "α (L1 part: every weight's own drift to 0)", min_value=0.0, value=0.2,
            step=0.05, format="%.4g", key="penalty_alpha")
    if penalty in ("OSCAR", "GrOWL"):
        params["beta"] = st.number_input(
            "β (pairwise part, scaled by 1/(d−1) like R)", min_value=0.0, value=1.0,
            step=0.1, format="%.4g", key="penalty_beta")
    if penalty == "OWL":
        params["shape"] = st.selectbox("θ (OWL weights, θ₁ = 1)", penalties.OWL_SHAPES,
                                       key="penalty_theta_shape")
        if params["shape"] == "Custom (paste)":
            params["custom"] = st.text_area(
                f"θ: up to {d} non-increasing numbers ≥ 0", key="penalty_theta_text",
                value=_default_theta(d),
                help=f"θ₁ ≥ θ₂ ≥ … ≥ 0. Fewer than {d} numbers: the last one repeats for "
                     "the remaining ranks (the default, 1 down to 0.1, is θ = 0.1 from "
                     "rank 10 on).")
    if penalty == "GrOWL":
        params["cols"] = st.number_input(
            "columns of the GrOWL matrix (rows: consecutive runs of w)", min_value=1,
            max_value=64, value=4, step=1, key="penalty_cols")
    return params


def _default_theta(d: int) -> str:
    """The pasted θ shown first: :data:`demo.penalties.CUSTOM_THETA`, cut to ``d`` numbers
    when ``d`` is smaller (valid for every ``d``; shorter ones are padded).

    >>> _default_theta(3)
    '1, 0.9, 0.8'
    """
    return ", ".join(penalties.CUSTOM_THETA.split(", ")[:d])


@st.cache_resource(max_entries=8, show_spinner="Simulating the particles...")
def _path(penalty: str, w_bytes: bytes, params_key: tuple) -> penalties.PenaltyPath:
    w = np.frombuffer(w_bytes, dtype=np.float64).copy()
    return penalties.build_path(penalty, w, **dict(params_key))


@st.cache_data(max_entries=16, show_spinner="Preparing the animation...")
def _player(penalty: str, w_bytes: bytes, params_key: tuple, lam: float) -> str:
    movie = animation.penalty_animation(_path(penalty, w_bytes, params_key), lam)
    return movie.html(element_id="wsp-penalty")


def render(penalty: str, w: np.ndarray, lam: float, params: dict) -> None:
    """The Watch tab's content for ``penalty`` at strength ``lam``."""
    w_bytes = np.ascontiguousarray(w, dtype=np.float64).tobytes()
    params_key = tuple(sorted(params.items()))
    path = _path(penalty, w_bytes, params_key)
    _explain(penalty, path)
    if lam <= 0:
        st.info("λ = 0: the prox is the identity. Raise λ in the sidebar to let the "
                "particles move.")
    at_lam = penalties.clusters_at(path, lam)
    m1, m2, m3 = st.columns(3)
    m1.metric(f"groups at λ ({penalty})", f"{at_lam.value.size:,}")
    m2.metric(f"zeros at λ ({path.particle}s on the wall)", f"{at_lam.n_zero:,}")
    m3.metric("all zero from t =", f"{path.t_zero:.4g}")
    show_player(_player(penalty, w_bytes, params_key, float(lam)))
    st.markdown(f"**Groups at λ = {lam:.4g}** (largest first; the wall is the zero group)")
    st.dataframe(penalties.groups_table(path, lam).head(200), height=300,
                 hide_index=True, key="penalty_groups")
    if penalty == "GrOWL":
        _growl_section(path, lam)
    elif path.theta is not None:
        st.plotly_chart(penalties.theta_figure(path.theta), key="fig_penalty_theta",
                        config=PLOT_CONFIG)


def _explain(penalty: str, path: penalties.PenaltyPath) -> None:
    text = {
        "WSR + L1": "R + α‖·‖₁: the weight-sharing motion, thresholded by α t. A group sits "
                    "on the wall at 0 while its pull away from 0 is weaker than α.",
        "OSCAR": "OSCAR = OWL with θ affine in the rank, like R's velocities. Sort |w|: the "
                 "i-th largest drifts to the wall at speed θᵢ = α + β(d−i)/(d−1); particles "
                 "that meet stick (equal magnitudes, signs kept); at 0 they stay.",
        "OWL": "OWL: the i-th largest magnitude drifts to the wall at 0 at speed θᵢ; "
               "particles that meet stick, and stay on the wall once there.",
        "GrOWL": f"GrOWL on a {path.d}-row matrix (consecutive runs of w): the particles are "
                 "the row norms, with OSCAR-shaped θ. Whole rows tie or vanish.",
    }[penalty]
    st.caption(text)


def _growl_section(path: penalties.PenaltyPath, lam: float) -> None:
    stats = penalties.growl_stats(path, lam)
    st.markdown(f"**GrOWL's compression at λ = {lam:.4g}**")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("sparsity", f"{stats['sparsity']:.1%}",
              help=f"{stats['zero_rows']} of {stats['rows']} rows are zero")
    c2.metric("zero rows", f"{stats['zero_rows']:,} / {stats['rows']:,}")
    c3.metric("distinct row groups", f"{stats['row_groups']:,}",
              help="non-zero rows tied in norm: one stored row per group")
    c4.metric("compression ratio", f"{stats['compression']:.3g}",
              help="entries / unique values once each row group is stored as its mean row")
    W = path.extra["W"]
    st.plotly_chart(penalties.matrix_figure(W, path.prox(lam)), key="fig_penalty_matrix",
                    config=PLOT_CONFIG)
