"""Streamlit demo: the prox of weight-sharing regularization as a particle system.

Run with ``streamlit run app.py``. This file only lays out the page and calls
the packages: inputs, figures and the solver comparison live in ``demo/``,
the maths in ``prox/`` and ``particles/``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from demo import compare, figures, inputs
from particles import simulate
from prox import SOLVERS, check_prox

st.set_page_config(page_title="Weight sharing as particles", layout="wide")

#: Largest d offered for the presets (uploads go up to inputs.MAX_ENTRIES).
MAX_PRESET_D = 100_000
#: Above this d, the solver table waits for a button (some solvers take O(d) rounds).
AUTO_COMPARE_MAX_D = 20_000
PLOT_CONFIG = {"displaylogo": False}
UPLOAD = dict(type=["npy", "csv", "txt", "pt"], max_upload_size=inputs.MAX_BYTES // 2**20)


# ------------------------------------------------------------------ caches
@st.cache_data(max_entries=8, show_spinner="Simulating the particles...")
def simulation(w_bytes: bytes):
    """The trajectory of ``w`` (float64 bytes); reruns with the same input reuse it."""
    return simulate(np.frombuffer(w_bytes, dtype=np.float64).copy())


@st.cache_data(max_entries=16, show_spinner=False)
def spacetime_segments(w_bytes: bytes, t_end: float):
    return figures.spacetime_segments(simulation(w_bytes), t_end)


@st.cache_data(max_entries=16, show_spinner=False)
def particles_frames(w_bytes: bytes, lam: float) -> list:
    return figures.particles_frames(simulation(w_bytes), lam)


@st.cache_data(max_entries=16, show_spinner="Running every solver...")
def solver_rows(w_bytes: bytes, lam: float) -> pd.DataFrame:
    w = np.frombuffer(w_bytes, dtype=np.float64).copy()  # writable, as torch wants
    return compare.solver_table(w, lam, simulation(w_bytes).prox(lam))


@st.cache_data(max_entries=4, show_spinner=False)
def preset(name: str, d: int, seed: int, lam: float) -> np.ndarray:
    return inputs.make_preset(name, d, seed=seed, lam=lam)


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


# ------------------------------------------------------------------ header
st.title("Weight-sharing regularization as a particle system")
st.markdown(
    "The prox of $R(w)=\\frac{1}{d-1}\\sum_{i>j}|w_i-w_j|$ moves each weight like a particle "
    "that every other weight pulls with the same force; particles that meet stick together. "
    "**Time is λ**: one simulation gives the prox, and the groups of shared values, for every λ."
)

# ------------------------------------------------------------------ input (sidebar)
with st.sidebar:
    st.header("Input")
    source = st.radio("Weights w", ["Preset", "Paste", "Upload"], key="source", horizontal=True)
    lam = st.number_input("λ (regularization strength)", min_value=0.0, value=1.0, step=0.1,
                          format="%.4g", key="lam")
    w = None
    if source == "Preset":
        name = st.selectbox("Preset", list(inputs.PRESETS), key="preset")
        d = st.number_input("d (number of weights)", min_value=2, max_value=MAX_PRESET_D,
                            value=200, step=100, key="d")
        seed = st.number_input("seed", min_value=0, value=0, step=1, key="seed")
        try:
            w = preset(name, int(d), int(seed), float(lam))
        except (ValueError, ImportError) as error:
            st.error(f"Preset: {error}")
    elif source == "Paste":
        text = st.text_area("Numbers separated by commas, spaces or new lines",
                            value="0.1, 2.3, 2.5, -1.0, 4.0, 3.9, 0.0, 1.2", key="paste",
                            height=150)
        w = read_input(text, None, what="Pasted weights", required=True)
    else:
        upload = st.file_uploader(
            f"A .npy, .csv, .txt or .pt (one tensor) file; at most "
            f"{inputs.MAX_ENTRIES:,} numbers / {inputs.MAX_BYTES // 2**20} MB",
            key="upload", **UPLOAD)
        w = read_input(None, upload, what="Uploaded weights")
        if upload is None:
            st.info("Choose a file to upload.")

if w is None:
    st.warning("No valid input yet: fix or choose the weights in the sidebar.")
    st.stop()

w_bytes = np.ascontiguousarray(w, dtype=np.float64).tobytes()
traj = simulation(w_bytes)
lam = float(lam)
with st.sidebar:
    st.caption(f"d = {w.size:,} · λ_max = {traj.lam_max:.4g} (all merged) · "
               f"{traj.n_clusters(lam):,} groups at λ")

watch, compare_tab, validate = st.tabs(["Watch", "Compare", "Validate"])

# ------------------------------------------------------------------ watch
with watch:
    if lam > 0:
        if st.session_state.get("t") is None or st.session_state["t"] > lam:
            st.session_state["t"] = lam / 2
        t = st.slider("time t (the particles at λ = t)", min_value=0.0, max_value=lam,
                      step=lam / 100, format="%.4g", key="t")
    else:
        st.info("λ = 0: the prox is the identity. "
                "Raise λ in the sidebar to let the particles move.")
        t = 0.0
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("time t", f"{t:.4g}")
    m2.metric("clusters at t", f"{traj.n_clusters(t):,}")
    m3.metric("groups at λ", f"{traj.n_clusters(lam):,}")
    m4.metric("λ_max (one group)", f"{traj.lam_max:.4g}")
    st.plotly_chart(
        figures.particles_figure(traj, lam, t, frames=particles_frames(w_bytes, lam)),
        key="fig_particles", config=PLOT_CONFIG)
    left, right = st.columns(2)
    t_end = figures.time_axis_end(traj, lam)
    with left:
        st.plotly_chart(
            figures.spacetime_figure(traj, lam, t, segments=spacetime_segments(w_bytes, t_end)),
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
        st.download_button("Download prox(w) at λ (.csv)", inputs.format_vector(u, digits=17),
                           file_name="prox.csv", mime="text/csv", key="download_prox")

# ------------------------------------------------------------------ compare
with compare_tab:
    st.subheader("Every solver on this input")
    st.caption("Max deviation is from the simulation's prox at λ. Times are one run each on a "
               "shared CPU: compare them with each other, not with other machines.")
    if w.size <= AUTO_COMPARE_MAX_D or st.button(
            f"Run every solver on this input (d = {w.size:,}: may take a while)",
            key="run_solvers"):
        st.dataframe(
            solver_rows(w_bytes, lam), hide_index=True, key="solver_table",
            column_config={"max_deviation": st.column_config.NumberColumn(format="%.2e"),
                           "time_ms": st.column_config.NumberColumn("time (ms)", format="%.3f")})
    st.subheader("Scaling with d")
    st.caption(f"Random normal input and each solver's worst case (λ = 1) for {len(SOLVERS)} "
               "solvers; rounds are the sequential whole-tensor steps of the parallel solvers.")
    grid_max = st.select_slider("largest d", options=[256, 1024, 4096, 16384], value=4096,
                                key="grid_max")
    if st.button("Run the scaling sweep", key="run_scaling"):
        grid = [d for d in compare.DEFAULT_GRID + (16384,) if d <= grid_max]
        bar = st.progress(0.0, text="starting...")
        st.session_state["scaling"] = compare.scaling(
            grid, on_progress=lambda done, message: bar.progress(done, text=message))
        bar.empty()
    if st.session_state.get("scaling") is not None:
        table = st.session_state["scaling"]
        st.plotly_chart(figures.scaling_figure(table), key="fig_scaling", config=PLOT_CONFIG)
        failed = table[table["error"] != ""]
        if not failed.empty:
            st.warning("Some runs failed: " + "; ".join(
                f"{r.solver} (d = {r.d}, {r.input}): {r.error}" for r in failed.itertuples()))
    else:
        st.info("Press the button to time every solver on a small grid of d (a few seconds).")

# ------------------------------------------------------------------ validate
with validate:
    st.subheader("Check your own prox output")
    st.caption("Give an input w, λ and the vector your code returned for the prox of λR at w. "
               "The page compares it with the exact prox, using the same objective "
               "½‖u − w‖² + λR(u).")

    def load_example(weights: np.ndarray, strength: float) -> None:
        st.session_state["val_w_source"] = "Current input"
        st.session_state["val_lam"] = strength
        st.session_state["val_u_text"] = inputs.format_vector(
            inputs.example_candidate(weights, strength))

    st.session_state.setdefault("val_lam", 1.0)
    st.button("Fill in an example (the current input, a slightly wrong answer)",
              on_click=load_example, args=(w, lam), key="val_example")
    col_w, col_u = st.columns(2)
    with col_w:
        w_source = st.radio("Input w", ["Current input", "Paste", "Upload"], key="val_w_source",
                            horizontal=True)
        if w_source == "Current input":
            val_w = w
            st.caption(f"The weights from the sidebar (d = {w.size:,}).")
        elif w_source == "Paste":
            val_w = read_input(st.text_area("w", key="val_w_text", height=120), None,
                               what="Input w")
        else:
            val_w = read_input(None, st.file_uploader("w file", key="val_w_file", **UPLOAD),
                               what="Input w")
        val_lam = st.number_input("λ", min_value=0.0, step=0.1, format="%.4g", key="val_lam")
    with col_u:
        u_text = st.text_area("Your output (paste)", key="val_u_text", height=120)
        u_file = st.file_uploader("...or upload it", key="val_u_file", **UPLOAD)
        val_u = read_input(u_text, u_file, what="Your output")

    if val_w is not None and val_u is not None:
        try:
            report = check_prox(val_w, float(val_lam), val_u)
        except ValueError as error:
            st.error(f"Cannot compare: {error}")
            report = None
        if report is not None:
            if report.exact:
                st.success(f"This is the exact prox (every entry within {report.tol:.1e}).")
            else:
                st.warning("This is not the exact prox.")
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
                st.dataframe(pd.DataFrame([
                    {"group": g.group, "weights": g.indices.size, "exact value": g.exact_value,
                     "your min": g.candidate_min, "your max": g.candidate_max,
                     "problem": ", ".join(g.reasons),
                     "indices": ", ".join(map(str, g.indices[:10]))
                     + (" ..." if g.indices.size > 10 else "")}
                    for g in report.differing_groups[:500]]), hide_index=True,
                    key="val_groups")
            st.plotly_chart(figures.validation_figure(val_w, report.optimum, val_u),
                            key="fig_validate", config=PLOT_CONFIG)
    elif val_w is not None:
        st.info("Paste or upload your output vector to check it.")
