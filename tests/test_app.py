"""The Streamlit app, driven headless with streamlit.testing.v1.AppTest.

Widgets are found by key; ``.run()`` follows every interaction. ``app_test``
(tests/conftest.py) is a fresh, not yet run AppTest of app.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from filebytes import npy_bytes, pt_bytes

pytest.importorskip("streamlit")

from demo import inputs, timeline  # noqa: E402
from demo.inputs import MAX_BYTES  # noqa: E402
from particles import simulate  # noqa: E402
from prox import prox_ws  # noqa: E402


def _no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _charts(at) -> dict:
    return {c.proto.id: c.proto.spec for c in at.get("plotly_chart")}


def _chart_keys(at) -> str:
    return "".join(_charts(at))


def _verdicts(at) -> list[str]:
    return [s.value for s in at.success] + [w.value for w in at.warning
                                            if "exact prox" in w.value]


def _paste(at, text: str):
    at.radio(key="source").set_value("Paste").run()
    return at.text_area(key="paste").input(text).run()


@pytest.fixture(scope="module")
def app():
    """One default page, shared by the read-only tests."""
    from streamlit.testing.v1 import AppTest

    app_path = Path(__file__).resolve().parents[1] / "app.py"
    return AppTest.from_file(str(app_path), default_timeout=60).run()


# ------------------------------------------------------------------ every view
def test_default_page_renders_every_tab(app):
    _no_errors(app)
    assert app.title[0].value.startswith("Weight-sharing")
    assert [t.label for t in app.tabs][:3] == ["Watch", "Compare", "Validate"]
    assert len(app.get("plotly_chart")) >= 4  # particles, space-time, dendrogram, shared values
    assert len(app.dataframe) >= 2  # groups at lam, solver table


def test_solver_table_lists_every_solver(app):
    from prox import SOLVERS

    table = next(df.value for df in app.dataframe if "solver" in df.value.columns)
    assert list(table["solver"]) == list(SOLVERS)
    assert (table["max_deviation"] < 1e-8).all()
    assert (table["note"] == "").all()


def test_large_input_waits_for_solver_button(app_test):
    at = app_test.run()
    at.number_input(key="d").set_value(25_000).run()
    _no_errors(at)
    assert at.button(key="run_solvers")
    assert not any("solver" in df.value.columns for df in at.dataframe)


@pytest.mark.parametrize("preset", ["Random normal", "Uniform on [-1, 1]",
                                    "Well-separated clusters", "Cascade (worst case)"])
def test_every_preset_renders(app_test, preset):
    at = app_test.run()
    at.selectbox(key="preset").set_value(preset).run()
    at.number_input(key="d").set_value(100).run()
    _no_errors(at)
    assert _metric(at, "λ_max (one group)")


def test_scaling_sweep_draws_chart_and_says_how_long_it_took(app_test):
    at = app_test.run()
    at.select_slider(key="grid_max").set_value(256).run()
    assert not any("few seconds" in c.value for c in at.caption)
    at.button(key="run_scaling").click().run()
    _no_errors(at)
    assert "fig_scaling" in _chart_keys(at)
    assert any("The last sweep (d up to 256) took" in c.value for c in at.caption)


def test_lam_zero_is_the_identity(app_test):
    at = app_test.run()
    at.number_input(key="lam").set_value(0.0).run()
    _no_errors(at)
    assert any("identity" in i.value for i in at.info)
    assert _metric(at, "groups at λ") == "200"


# ------------------------------------------------------------------ failures are messages
def test_failure_in_a_tab_becomes_a_message_and_the_rest_works(app_test, monkeypatch):
    from demo import figures

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(figures, "shared_values_figure", broken)
    at = app_test.run()
    assert not at.exception, [e.value for e in at.exception]
    messages = [e.value for e in at.error]
    assert len(messages) == 1 and "The Watch tab could not be shown" in messages[0]
    assert "RuntimeError: injected failure" in messages[0]
    assert "Traceback" not in messages[0]
    # the Watch tab up to the failure, and the other tabs, still work
    assert "fig_particles" in _chart_keys(at) and "fig_dendrogram" in _chart_keys(at)
    assert any("solver" in df.value.columns for df in at.dataframe)
    at.button(key="val_example").click().run()
    assert any("not the exact prox" in w.value for w in at.warning)


def test_failure_of_the_simulation_keeps_compare_and_validate(app_test, monkeypatch):
    import particles

    def broken(w, *args, **kwargs):
        raise OverflowError("injected overflow")

    monkeypatch.setattr(particles, "simulate", broken)
    at = _paste(app_test.run(), "0.25, 7.5, -3.125, 9.0")  # not in the simulation cache
    assert not at.exception, [e.value for e in at.exception]
    assert any("The particle simulation could not be shown: OverflowError" in e.value
               for e in at.error)
    assert any("Nothing to watch" in i.value for i in at.info)
    table = next(df.value for df in at.dataframe if "solver" in df.value.columns)
    assert (table["max_deviation"] < 1e-12).all()


@pytest.mark.parametrize("text", ["-5, 4, 0, 4, -3, -2, 2", "1e308, -1e308, 0"])
def test_inputs_that_used_to_crash_never_show_a_traceback(app_test, text):
    at = _paste(app_test.run(), text)
    assert not at.exception, [e.value for e in at.exception]
    assert [t.label for t in at.tabs][:3] == ["Watch", "Compare", "Validate"]
    for message in (e.value for e in at.error):
        assert "could not be shown" in message and "Traceback" not in message


# ------------------------------------------------------------------ watch: time and λ
def test_changing_lam_changes_what_is_shown(app_test):
    at = app_test.run()
    groups_before, charts_before = _metric(at, "groups at λ"), _charts(at)
    at.number_input(key="lam").set_value(2.5).run()
    _no_errors(at)
    assert _metric(at, "groups at λ") != groups_before
    charts_after = _charts(at)
    changed = {key.rsplit("-", 1)[-1] for key in charts_after
               if charts_after[key] != charts_before.get(key)}
    # every λ-dependent figure is redrawn; the particles at the kept time t are not
    assert changed == {"fig_spacetime", "fig_dendrogram", "fig_shared"}, changed


def test_time_slider_moves_the_particles(app_test):
    at = app_test.run()
    before = _metric(at, "clusters at t")
    at.slider(key="t").set_value(0.95).run()
    _no_errors(at)
    assert _metric(at, "time t") == "0.95"
    assert int(_metric(at, "clusters at t").replace(",", "")) < int(before.replace(",", ""))


def _slider_agrees_with_metric(at) -> float:
    t = at.slider(key="t").value
    assert _metric(at, "time t") == f"{t:.4g}"
    assert at.slider(key="t").min <= t <= at.slider(key="t").max
    return t


def test_time_slider_agrees_with_figures_after_switching_input_mode(app_test):
    at = app_test.run()
    at.slider(key="t").set_value(0.3).run()
    at.radio(key="source").set_value("Upload").run()  # no input: the slider is not drawn
    at.radio(key="source").set_value("Paste").run()
    _no_errors(at)
    _slider_agrees_with_metric(at)
    at.radio(key="source").set_value("Preset").run()
    assert _slider_agrees_with_metric(at) == pytest.approx(0.3)


def test_raising_lam_keeps_t_and_lowering_it_clamps_t(app_test):
    at = app_test.run()
    at.slider(key="t").set_value(0.3).run()
    at.number_input(key="lam").set_value(2.0).run()  # raise: t is kept
    assert _slider_agrees_with_metric(at) == pytest.approx(0.3)
    at.slider(key="t").set_value(1.5).run()
    at.number_input(key="lam").set_value(0.8).run()  # lower below t: t moves to the new end
    assert _slider_agrees_with_metric(at) == pytest.approx(0.8)
    at.number_input(key="lam").set_value(1.6).run()  # raise again: kept
    assert _slider_agrees_with_metric(at) == pytest.approx(0.8)


def test_huge_lam_caps_the_time_axis_near_lam_max(app_test):
    at = app_test.run()
    at.number_input(key="lam").set_value(1e6).run()
    _no_errors(at)
    lam_max = simulate(inputs.make_preset("Random normal", 200, seed=0)).lam_max
    slider = at.slider(key="t")
    assert lam_max < slider.max <= timeline.time_axis_end(lam_max, 1e6) <= 2.1 * lam_max
    assert slider.step <= lam_max / 50  # [0, lam_max] in fine steps
    slider.set_value(0.5 * lam_max).run()
    assert _metric(at, "clusters at t") != "1"


def test_play_continues_from_t_and_moves_slider_and_metrics(app_test):
    at = app_test.run()
    at.slider(key="t").set_value(0.3).run()
    end = at.slider(key="t").max
    step = end / timeline.PLAY_STEPS
    at.button(key="play").click().run()  # Play: one step from 0.3, not from 0
    assert at.button(key="play").label.endswith("Pause")
    assert _slider_agrees_with_metric(at) == pytest.approx(0.3 + step)
    at.run()  # the next tick
    assert _slider_agrees_with_metric(at) == pytest.approx(0.3 + 2 * step)
    at.button(key="play").click().run()  # Pause: stays
    assert at.button(key="play").label.endswith("Play")
    at.run()
    paused = _slider_agrees_with_metric(at)
    assert paused == pytest.approx(0.3 + 2 * step)
    at.button(key="play").click().run()  # Play after Pause: continues from there
    assert _slider_agrees_with_metric(at) == pytest.approx(paused + step)


def test_one_group_is_singular(app_test):
    at = app_test.run()
    at.number_input(key="lam").set_value(100.0).run()
    _no_errors(at)
    caption = at.sidebar.caption[-1].value
    assert "1 group at λ" in caption and "1 groups" not in caption
    assert "1 groups" not in "".join(_charts(at).values())


# ------------------------------------------------------------------ sidebar input
def test_paste_input(app_test):
    at = _paste(app_test.run(), "3, 1, 2, 10, 11")
    _no_errors(at)
    assert "d = 5" in at.sidebar.caption[-1].value


@pytest.mark.parametrize(
    ("text", "match"),
    [("1, 2, zzz", "entry 3"), ("1, nan, 2", "NaN or infinite"), ("", "empty"),
     ("4.0", "at least 2"), ("1,5;2,5", "Ambiguous decimal comma")],
)
def test_bad_paste_shows_error(app_test, text, match):
    at = _paste(app_test.run(), text)
    assert not at.exception
    assert any(match in e.value for e in at.error), [e.value for e in at.error]


def test_d_above_the_preset_limit_says_so(app_test):
    at = app_test.run()
    at.number_input(key="d").set_value(200_000).run()
    assert not at.exception
    assert any("d = 200,000" in w.value and "100,000" in w.value for w in at.sidebar.warning)
    assert "d = 100,000" in at.sidebar.caption[-1].value


# ------------------------------------------------------------------ uploads
def test_upload_npy(app_test):
    at = app_test.run()
    at.radio(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").upload("w.npy", npy_bytes(np.arange(30.0) ** 1.5)).run()
    _no_errors(at)
    assert "d = 30" in at.sidebar.caption[-1].value


TABLE = np.arange(200.0).reshape(20, 10)


@pytest.mark.parametrize(
    ("filename", "make", "match"),
    [
        ("big.csv", lambda: b"1," * (MAX_BYTES // 2 + 1), "limit is 20 MB"),
        ("bad.npy", lambda: b"definitely not numpy", "could not be read"),
        ("bad.csv", lambda: b"1,2,three", "entry 3"),
        ("nan.csv", lambda: b"1,2,nan", "NaN or infinite"),
        ("empty.txt", lambda: b"", "empty"),
        ("dict.pt", lambda: pt_bytes({"w": [1.0, 2.0]}), "not a tensor"),
        ("table.csv", lambda: "\n".join(",".join(map(str, r)) for r in TABLE).encode(),
         "got a 20 x 10 table"),
        ("table.npy", lambda: npy_bytes(TABLE), "got a 20 x 10 table"),
    ],
)
def test_bad_upload_shows_error(app_test, filename, make, match):
    at = app_test.run()
    at.radio(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").upload(filename, make()).run()
    assert not at.exception
    assert any(match in e.value for e in at.error), [e.value for e in at.error]


def test_uploaders_let_oversized_files_reach_the_parser(app_test):
    # The browser refuses files above max_upload_size_mb without telling the
    # script; above the parser's limit, so the page's own message shows.
    at = app_test.run()
    at.radio(key="val_w_source").set_value("Upload").run()
    sizes = [u.proto.max_upload_size_mb for u in at.get("file_uploader")]  # w and your output
    at.radio(key="source").set_value("Upload").run()
    sizes += [u.proto.max_upload_size_mb for u in at.get("file_uploader")]  # the sidebar's
    assert len(sizes) == 3 and all(size * 2**20 >= 30 * 2**20 > MAX_BYTES for size in sizes)


# ------------------------------------------------------------------ compare
def test_solver_results_survive_the_next_interaction(app_test):
    at = app_test.run()
    at.number_input(key="d").set_value(25_000).run()
    at.button(key="run_solvers").click().run()
    _no_errors(at)
    table = next(df.value for df in at.dataframe if "solver" in df.value.columns)
    skipped = table.set_index("solver").loc["lower_sets", "note"]
    assert skipped.startswith("skipped: one round per final block")
    at.slider(key="t").set_value(0.4).run()  # another interaction
    assert any("solver" in df.value.columns for df in at.dataframe)
    at.number_input(key="lam").set_value(1.5).run()  # another input: old results go
    assert not any("solver" in df.value.columns for df in at.dataframe)


# ------------------------------------------------------------------ validate
def test_validate_example_reports_gap(app_test):
    at = app_test.run()
    at.button(key="val_example").click().run()
    _no_errors(at)
    assert float(_metric(at, "objective gap")) > 0
    assert any("not the exact prox" in w.value for w in at.warning)
    assert "fig_validate" in _chart_keys(at)


def test_validate_uses_the_sidebar_lam(app_test):
    # Download the prox at lam = 0.5 from Watch, upload it in Validate: exact.
    at = app_test.run()
    at.number_input(key="lam").set_value(0.5).run()
    w = inputs.make_preset("Random normal", 200, seed=0)
    downloaded = inputs.format_vector(simulate(w).prox(0.5), digits=17).encode()
    at.radio(key="val_u_source").set_value("Upload").run()
    at.file_uploader(key="val_u_file").upload("prox.csv", downloaded).run()
    _no_errors(at)
    assert any("exact prox at λ = 0.5" in s.value for s in at.success)


def test_validate_exact_answer(app_test):
    w = np.array([3.0, 1.0, 2.0, 10.0, 11.0])
    at = app_test.run()
    at.number_input(key="lam").set_value(1.5).run()
    at.radio(key="val_w_source").set_value("Paste").run()
    at.text_area(key="val_w_text").input(", ".join(map(str, w))).run()
    at.text_area(key="val_u_text").input(", ".join(repr(float(v)) for v in prox_ws(w, 1.5))).run()
    _no_errors(at)
    assert any("exact prox" in s.value for s in at.success)
    assert _metric(at, "order violations") == "0"


def test_validate_blank_pasted_w_says_what_to_do(app_test):
    at = app_test.run()
    at.radio(key="val_w_source").set_value("Paste").run()
    assert not at.exception
    assert any("Paste the input w" in i.value for i in at.info)


def test_validate_reads_only_the_chosen_output_source(app_test):
    w = inputs.make_preset("Random normal", 200, seed=0)
    exact = inputs.format_vector(prox_ws(w, 1.0), digits=17)
    at = app_test.run()
    at.text_area(key="val_u_text").input(exact).run()
    assert any("exact prox" in s.value for s in at.success)
    at.radio(key="val_u_source").set_value("Upload").run()
    assert not _verdicts(at)  # no file yet: the pasted text is not used
    at.file_uploader(key="val_u_file").upload("u.csv", (exact + ", 1").encode()).run()
    assert any("201 entries but w has 200" in e.value for e in at.error)
    at.radio(key="val_u_source").set_value("Paste").run()  # the pasted text is still there
    assert any("exact prox" in s.value for s in at.success)


def test_validate_oversized_upload_replaces_the_verdict(app_test):
    w = inputs.make_preset("Random normal", 200, seed=0)
    at = app_test.run()
    at.radio(key="val_u_source").set_value("Upload").run()
    at.file_uploader(key="val_u_file").upload(
        "u.csv", inputs.format_vector(prox_ws(w, 1.0), digits=17).encode()).run()
    assert _verdicts(at)
    at.file_uploader(key="val_u_file").upload("big.csv", b"1," * (15 * 2**20)).run()  # 30 MB
    assert not at.exception
    assert not _verdicts(at)
    assert any("30.0 MB; the limit is 20 MB" in e.value for e in at.error)


def test_validate_wrong_length_shows_message(app_test):
    at = app_test.run()
    at.text_area(key="val_u_text").input("1, 2, 3").run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("3 entries but w has 200" in m and "same length" in m for m in messages), messages


def test_validate_bad_output_upload_shows_error(app_test):
    at = app_test.run()
    at.radio(key="val_u_source").set_value("Upload").run()
    at.file_uploader(key="val_u_file").upload("u.csv", b"1, x").run()
    assert not at.exception
    assert any("Your output" in e.value for e in at.error)
