"""Streamlit demo: the prox of weight-sharing regularization as a particle system.

Run with ``streamlit run app.py``. This file only lays out the page and calls
the packages: inputs, figures and the solver comparison live in ``demo/``,
the maths in ``prox/`` and ``particles/``.
"""
from __future__ import annotations

import hashlib
import time

import numpy as np
import pandas as pd
import streamlit as st

from demo import compare, figures, inputs, page, penalty_watch, timeline
from demo.train_view import render_train_tab
from demo.validate import differing_groups_table
from particles import simulate
from prox import check_prox

st.set_page_config(page_title="Weight sharing as particles", layout="wide")

#: Largest d offered for the presets (uploads go up to inputs.MAX_ENTRIES).
MAX_PRESET_D = 100_000
#: Above this d, the solver table waits for a button (some solvers take O(d) rounds).
AUTO_COMPARE_MAX_D = 20_000
#: Seconds between two steps of Play.
PLAY_INTERVAL = 0.5
PLOT_CONFIG = {"displaylogo": False}
# The browser accepts files up to 10x the parser's limit, so a too-large file reaches
# parse_vector, whose message names the limit and replaces the previous verdict.
UPLOAD = dict(type=["npy", "csv", "txt", "pt"], max_upload_size=10 * inputs.MAX_BYTES // 2**20)


# ------------------------------------------------------------------ caches
@st.cache_data(max_entries=8, show_spinner="Simulating the particles...")
def simulation(w_bytes: bytes):
    """The trajectory of ``w`` (float64 bytes); reruns with the same input reuse it."""
    return simulate(np.frombuffer(w_bytes, dtype=np.float64).copy())


@st.cache_data(max_entries=16, show_spinner=False)
def spacetime_segments(w_bytes: bytes, t_end: float) -> dict:
    traj = simulation(w_bytes)
    return traj.spacetime_segments(*figures.spacetime_window(traj, t_end))


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
            w = preset(name, int(d), int(seed), float(lam))
        except (ValueError, ImportError) as error:
            st.error(f"Preset: {error}")
    elif source == "Paste":
        text = st.text_area("Numbers separated by commas, spaces or new lines "
                            "(decimals with a point: 1.5)",
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
lam = float(lam)
traj = None
with st.sidebar, page.shown_failures("The particle simulation"):
    traj = simulation(w_bytes)
    st.caption(f"d = {w.size:,} · λ_max = {traj.lam_max:.4g} (all merged) · "
               f"{page.plural(traj.n_clusters(lam), 'group')} at λ")

with st.sidebar:
    st.header("Penalty")
    penalty = st.selectbox("Penalty shown in the Watch tab", penalty_watch.PENALTIES,
                           key="penalty")
    penalty_params = penalty_watch.controls(penalty, w.size)

watch, compare_tab, validate, train_tab = st.tabs(["Watch", "Compare", "Validate", "Train"])

# ------------------------------------------------------------------ watch
def set_playing(play: bool) -> None:
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


def watch_panel(w_bytes: bytes, lam: float) -> None:
    """The Watch tab. A fragment: the slider and Play rerun only this part of the page."""
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
                          on_click=set_playing, args=(not playing,))
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
            c_slider.slider("time t (the particles at λ = t)", min_value=0.0, max_value=end,
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
            st.download_button("Download prox(w) at λ (.csv)",
                               inputs.format_vector(u, digits=17), file_name="prox.csv",
                               mime="text/csv", key="download_prox")


with watch, page.shown_failures("The Watch tab"):
    if penalty != "WSR":
        penalty_watch.render(penalty, w, lam, penalty_params)
    elif traj is None:
        st.info("Nothing to watch: the simulation failed (see the message above).")
    else:
        run_every = PLAY_INTERVAL if st.session_state.get("playing") else None
        st.fragment(run_every=run_every)(watch_panel)(w_bytes, lam)

# ------------------------------------------------------------------ compare
with compare_tab, page.shown_failures("The Compare tab"):
    st.subheader("Every solver on this input")
    st.caption(f"Max deviation is from the exact prox at λ. Times are one run each on a shared "
               "CPU: compare them with each other, not with other machines. A run predicted "
               f"to take over {compare.RUN_BUDGET:g} s is skipped, one that runs over it is "
               "stopped; the note says why.")
    input_key = (hashlib.blake2b(w_bytes, digest_size=16).hexdigest(), lam)
    stored = st.session_state.get("solver_results")
    if stored is not None and stored["key"] != input_key:
        stored = None  # results of another input or λ
    if stored is None and (w.size <= AUTO_COMPARE_MAX_D or st.button(
            f"Run every solver on this input (d = {w.size:,}: may take a while)",
            key="run_solvers")):
        bar = st.progress(0.0, text="Running every solver...")
        table = compare.solver_table(
            np.frombuffer(w_bytes, dtype=np.float64).copy(),  # writable, as torch wants
            lam, traj.prox(lam) if traj is not None else None,
            on_progress=lambda done, message: bar.progress(done, text=f"Running {message}"))
        bar.empty()
        stored = st.session_state["solver_results"] = dict(key=input_key, table=table)
    if stored is not None:
        st.dataframe(
            stored["table"], hide_index=True, key="solver_table",
            column_config={"max_deviation": st.column_config.NumberColumn(format="%.2e"),
                           "time_ms": st.column_config.NumberColumn("time (ms)", format="%.3f")})
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

# ------------------------------------------------------------------ validate
with validate, page.shown_failures("The Validate tab"):
    st.subheader("Check your own prox output")
    st.caption(f"Give an input w and the vector your code returned for the prox of λR at w, "
               f"with λ = {lam:.4g} from the sidebar. The page compares it with the exact prox, "
               "using the same objective ½‖u − w‖² + λR(u).")

    def load_example(weights: np.ndarray, strength: float) -> None:
        st.session_state["val_w_source"] = "Current input"
        st.session_state["val_u_source"] = "Paste"
        st.session_state["val_u_text"] = inputs.format_vector(
            inputs.example_candidate(weights, strength))

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
            text = st.text_area("w", key="val_w_text", height=120)
            val_w = read_input(text, None, what="Input w")
            if not (text and text.strip()):
                st.info("Paste the input w: numbers separated by commas, spaces or new lines.")
        else:
            w_file = st.file_uploader("w file", key="val_w_file", **UPLOAD)
            val_w = read_input(None, w_file, what="Input w")
            if w_file is None:
                st.info("Choose the file holding w.")
    with col_u:
        u_source = st.radio("Your output", ["Paste", "Upload"], key="val_u_source",
                            horizontal=True,
                            help="Only the chosen one is read; the other keeps its content.")
        # Both stay on the page (the unused one greyed out), so switching keeps them.
        u_text = st.text_area("Your output (pasted)", key="val_u_text", height=120,
                              disabled=u_source != "Paste")
        u_file = st.file_uploader(f"Your output (a file, at most {inputs.MAX_BYTES // 2**20} MB)",
                                  key="val_u_file", disabled=u_source != "Upload", **UPLOAD)
        if u_source == "Paste":
            val_u = read_input(u_text, None, what="Your output")
        else:
            val_u = read_input(None, u_file, what="Your output")

    if val_w is not None and val_u is not None:
        try:
            report = check_prox(val_w, lam, val_u)
        except ValueError as error:
            st.error(f"Cannot compare: {error}")
            report = None
        if report is not None:
            if report.exact:
                st.success(f"This is the exact prox at λ = {lam:.4g} "
                           f"(every entry within {report.tol:.1e}).")
            else:
                st.warning(f"This is not the exact prox at λ = {lam:.4g}.")
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
                st.dataframe(differing_groups_table(report), hide_index=True,
                             key="val_groups")
            st.plotly_chart(figures.validation_figure(val_w, report.optimum, val_u),
                            key="fig_validate", config=PLOT_CONFIG)
    elif val_w is not None:
        st.info("Paste or upload your output vector to check it.")

# ------------------------------------------------------------------ train
with train_tab, page.shown_failures("The Train tab"):
    render_train_tab(plot_config=PLOT_CONFIG)
