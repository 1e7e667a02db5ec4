"""The Streamlit app, driven headless with streamlit.testing.v1.AppTest.

Widgets are found by key; ``.run()`` follows every interaction. ``app_test``
(tests/conftest.py) is a fresh, not yet run AppTest of app.py; the helpers shared
with the other app tests are in tests/app_helpers.py. Tabs run lazily: a test of
the Compare or Validate tab opens it first (``open_tab``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app_helpers import charts, metric, no_errors, open_tab, paste, players
from filebytes import npy_bytes, pt_bytes

pytest.importorskip("streamlit")

from demo import inputs  # noqa: E402
from demo.inputs import MAX_BYTES  # noqa: E402
from particles import simulate  # noqa: E402
from prox import prox_ws  # noqa: E402


def _verdicts(at) -> list[str]:
    return [s.value for s in at.success] + [w.value for w in at.warning
                                            if "exact prox" in w.value]


@pytest.fixture(scope="module")
def app():
    """One default page, shared by the read-only tests."""
    from streamlit.testing.v1 import AppTest

    app_path = Path(__file__).resolve().parents[1] / "app.py"
    return AppTest.from_file(str(app_path), default_timeout=60).run()


# ------------------------------------------------------------------ every view
def test_default_page_renders_the_watch_tab_only(app):
    no_errors(app)
    assert app.title[0].value.startswith("Weight-sharing")
    assert [t.label for t in app.tabs] == ["Watch", "Compare", "Validate", "Train"]
    (player,) = players(app)
    assert player["mode"] == "events" and player["d"] == 200
    assert any("value" in df.value.columns for df in app.dataframe)  # the groups at λ
    # Lazy tabs: a new session does not time the solvers unless Compare is opened.
    assert not any("solver" in df.value.columns for df in app.dataframe)


@pytest.mark.slow  # times every solver, five runs each
def test_train_tab_ends_with_the_compression_view(app_test):
    at = open_tab(app_test.run(), "Train")
    no_errors(at)
    assert any("Compression" in h.value for h in at.subheader)
    assert at.select_slider(key="comp_k").value == 4
    assert at.button(key="comp_run") is not None


def test_solver_table_lists_every_solver_when_compare_is_open(app_test):
    from prox import SOLVERS

    at = open_tab(app_test, "Compare")
    no_errors(at)
    table = next(df.value for df in at.dataframe if "solver" in df.value.columns)
    assert list(table["solver"]) == list(SOLVERS)
    assert (table["max_deviation"] < 1e-8).all()
    assert (table["note"] == "").all()
    # What misled: rounds "None", kind "numpy" for the Numba solvers, one run per time.
    assert "None" not in set(table["rounds"].astype(str))
    kinds = dict(zip(table["solver"], table["runs on"]))
    assert kinds["pava"] == "Numba (CPU)" and kinds["events"] == "Numba (CPU)"
    assert (table["runs"] >= 1).all() and (table["spread_ms"] >= 0).all()


def test_large_input_waits_for_solver_button(app_test):
    app_test.session_state["tab"] = "Compare"
    at = app_test.run()
    at.number_input(key="d").set_value(25_000).run()
    no_errors(at)
    assert at.button(key="run_solvers")
    assert not any("solver" in df.value.columns for df in at.dataframe)


@pytest.mark.parametrize("preset", ["Random normal", "Uniform on [-1, 1]",
                                    "Well-separated clusters", "Cascade (worst case)"])
def test_every_preset_renders(app_test, preset):
    at = app_test.run()
    at.selectbox(key="preset").set_value(preset).run()
    at.number_input(key="d").set_value(100).run()
    no_errors(at)
    assert metric(at, "λ_max (one group)")


@pytest.mark.slow  # the sweep runs every solver at two sizes on two inputs
def test_scaling_sweep_draws_chart_and_says_how_long_it_took(app_test):
    at = open_tab(app_test, "Compare")
    at.select_slider(key="grid_max").set_value(256).run()
    at.button(key="run_scaling").click().run()
    no_errors(at)
    (chart,) = [c for key, c in charts(at).items() if key.endswith("fig_scaling")]
    # log axes labelled at the decades only
    assert chart["layout"]["xaxis"]["type"] == "log" and chart["layout"]["xaxis"]["dtick"] == 1
    assert any("The last sweep (d up to 256) took" in c.value for c in at.caption)


def test_lam_zero_is_the_identity(app_test):
    at = app_test.run()
    at.number_input(key="lam").set_value(0.0).run()
    no_errors(at)
    assert any("identity" in i.value for i in at.info)
    assert metric(at, "groups at λ") == "200"


def test_negative_lam_is_refused_in_words(app_test):
    at = app_test.run()
    at.number_input(key="lam").set_value(-1.0).run()
    assert not at.exception
    (message,) = [e.value for e in at.sidebar.error]
    assert "λ = -1 is negative" in message and "0 or more" in message
    assert metric(at, "groups at λ") == "200"  # shown at λ = 0


def test_counts_say_which_penalty_they_belong_to(app_test):
    at = app_test.run()
    at.selectbox(key="penalty").set_value("WSR + L1").run()
    no_errors(at)
    assert "for R alone" in at.sidebar.caption[-1].value
    assert metric(at, "groups at λ (WSR + L1)")


# ------------------------------------------------------------------ failures are messages
def test_failure_in_a_tab_becomes_a_message_and_the_rest_works(app_test, monkeypatch):
    from demo import animation

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(animation, "wsr_animation", broken)
    at = paste(app_test.run(), "0.5, 2.25, -1.75, 8.0")  # not in the player cache
    assert not at.exception, [e.value for e in at.exception]
    messages = [e.value for e in at.error]
    assert len(messages) == 1 and "The Watch tab could not be shown" in messages[0]
    assert "RuntimeError: injected failure" in messages[0]
    assert "Traceback" not in messages[0]
    # the Watch tab up to the failure, and the other tabs, still work
    assert metric(at, "groups at λ")
    at = open_tab(at, "Validate")
    at.button(key="val_example").click().run()
    assert any("not the exact prox" in w.value for w in at.warning)


def test_failure_of_the_simulation_keeps_compare_and_validate(app_test, monkeypatch):
    import particles

    def broken(w, *args, **kwargs):
        raise OverflowError("injected overflow")

    monkeypatch.setattr(particles, "simulate", broken)
    at = paste(app_test.run(), "0.25, 7.5, -3.125, 9.0")  # not in the simulation cache
    assert not at.exception, [e.value for e in at.exception]
    assert any("The particle simulation could not be shown: OverflowError" in e.value
               for e in at.error)
    assert any("Nothing to watch" in i.value for i in at.info)
    at = open_tab(at, "Compare")
    table = next(df.value for df in at.dataframe if "solver" in df.value.columns)
    assert (table["max_deviation"] < 1e-12).all()


@pytest.mark.parametrize("text", ["-5, 4, 0, 4, -3, -2, 2", "1e308, -1e308, 0"])
def test_inputs_that_used_to_crash_never_show_a_traceback(app_test, text):
    at = paste(app_test.run(), text)
    assert not at.exception, [e.value for e in at.exception]
    assert [t.label for t in at.tabs][:3] == ["Watch", "Compare", "Validate"]
    for message in (e.value for e in at.error):
        assert "could not be shown" in message and "Traceback" not in message


# ------------------------------------------------------------------ watch
def test_changing_lam_rebuilds_the_player(app_test):
    at = app_test.run()
    groups_before, (before,) = metric(at, "groups at λ"), players(at)
    at.number_input(key="lam").set_value(2.5).run()
    no_errors(at)
    (after,) = players(at)
    assert metric(at, "groups at λ") != groups_before
    assert (before["lam"], after["lam"]) == (1.0, 2.5)
    assert after["end"] == 2.5 and "at λ = 2.5" in after["shared_title"]


def test_huge_lam_ends_the_animation_near_lam_max(app_test):
    at = app_test.run()
    at.number_input(key="lam").set_value(1e6).run()
    no_errors(at)
    lam_max = simulate(inputs.make_preset("Random normal", 200, seed=0)).lam_max
    (player,) = players(at)
    assert lam_max < player["end"] == player["t_end"] <= 2.1 * lam_max
    assert player["end"] / player["steps"] <= lam_max / 50  # [0, lam_max] in fine steps


def test_every_penalty_of_the_family_animates(app_test):
    at = app_test.run()
    for penalty in ("WSR + L1", "OSCAR", "OWL", "GrOWL"):
        at.selectbox(key="penalty").set_value(penalty).run()
        no_errors(at)
        (player,) = players(at)
        assert player["mode"] == "frames" and player["wall"] and len(player["times"]) > 10
        assert player["times"][-1] == 1.0  # it plays up to λ


def test_one_group_is_singular(app_test):
    at = app_test.run()
    at.number_input(key="lam").set_value(100.0).run()
    no_errors(at)
    caption = at.sidebar.caption[-1].value
    assert "1 group at λ" in caption and "1 groups" not in caption
    (player,) = players(at)
    assert "1 distinct value at" in player["shared_title"]


# ------------------------------------------------------------------ sidebar input
def test_paste_input(app_test):
    at = paste(app_test.run(), "3, 1, 2, 10, 11")
    no_errors(at)
    assert "d = 5" in at.sidebar.caption[-1].value


@pytest.mark.parametrize(
    ("text", "match"),
    [("1, 2, zzz", "entry 3"), ("1, nan, 2", "NaN or infinite"), ("", "empty"),
     ("4.0", "at least 2"), ("1,5;2,5", "Ambiguous decimal comma")],
)
def test_bad_paste_shows_error(app_test, text, match):
    at = paste(app_test.run(), text)
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
    no_errors(at)
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


def test_every_uploader_states_the_parsers_limit_in_its_drop_zone(app_test):
    # The drop zone says "Limit <max_upload_size_mb>MB per file"; the labels say MAX_BYTES.
    at = open_tab(app_test, "Validate")
    at.radio(key="val_w_source").set_value("Upload").run()
    sizes = [u.proto.max_upload_size_mb for u in at.get("file_uploader")]  # w and your output
    at.radio(key="source").set_value("Upload").run()
    sizes += [u.proto.max_upload_size_mb for u in at.get("file_uploader")]  # the sidebar's
    assert sizes == [MAX_BYTES // 2**20] * 3
    (sidebar,) = at.get("file_uploader")
    assert f"{MAX_BYTES // 2**20} MB" in sidebar.proto.label


# ------------------------------------------------------------------ compare
@pytest.mark.slow  # every solver at d = 25,000
def test_solver_results_survive_the_next_interaction(app_test):
    at = open_tab(app_test, "Compare")
    at.number_input(key="d").set_value(25_000).run()
    at.button(key="run_solvers").click().run()
    no_errors(at)
    table = next(df.value for df in at.dataframe if "solver" in df.value.columns)
    skipped = table.set_index("solver").loc["lower_sets", "note"]
    assert skipped.startswith("skipped: one round per final block")
    # The note, cut off in its column, is also printed in full below the table.
    assert any(c.value == f"**lower_sets**: {skipped}" for c in at.caption)
    at.select_slider(key="grid_max").set_value(256).run()  # another interaction
    assert any("solver" in df.value.columns for df in at.dataframe)
    at.number_input(key="lam").set_value(1.5).run()  # another input: old results go
    assert not any("solver" in df.value.columns for df in at.dataframe)


# ------------------------------------------------------------------ validate
def test_validate_example_reports_gap(app_test):
    at = open_tab(app_test, "Validate")
    at.button(key="val_example").click().run()
    no_errors(at)
    assert float(metric(at, "objective gap")) > 0
    assert any("not the exact prox" in w.value for w in at.warning)
    assert any(key.endswith("fig_validate") for key in charts(at))


def test_validate_rounded_answer_says_the_tolerance_and_how_far_off(app_test):
    # The exact prox rounded to 4 decimals used to read "not the exact prox" with no
    # tolerance, and exact / min / max printed as the same number.
    w = inputs.make_preset("Random normal", 200, seed=0)
    rounded = np.round(prox_ws(w, 1.0), 4)
    at = open_tab(app_test, "Validate")
    at.text_area(key="val_u_text").input(inputs.format_vector(rounded, digits=17)).run()
    assert not at.exception
    (verdict,) = [v.value for v in at.warning if "exact prox" in v.value]
    assert "over the tolerance" in verdict and "e-" in verdict
    table = next(df.value for df in at.dataframe if "exact value" in df.value.columns)
    off = np.maximum(np.abs(table["your min − exact"]), np.abs(table["your max − exact"]))
    assert (off > 0).all() and (off <= 5e-5 + 1e-12).all()
    assert all(len(v.replace("-", "").replace(".", "")) > 6 for v in table["exact value"])
    (chart,) = [c for key, c in charts(at).items() if key.endswith("fig_validate")]
    residual = next(trace for trace in chart["data"] if trace["name"] == "yours − exact")
    assert residual["yaxis"] == "y2"  # its own axis: a small error is visible


def test_validate_uses_the_sidebar_lam(app_test):
    # Download the prox at lam = 0.5 from Watch, upload it in Validate: exact.
    at = open_tab(app_test, "Validate")
    at.number_input(key="lam").set_value(0.5).run()
    w = inputs.make_preset("Random normal", 200, seed=0)
    downloaded = inputs.format_vector(simulate(w).prox(0.5), digits=17).encode()
    at.radio(key="val_u_source").set_value("Upload").run()
    at.file_uploader(key="val_u_file").upload("prox.csv", downloaded).run()
    no_errors(at)
    assert any("exact prox at λ = 0.5" in s.value for s in at.success)


def test_validate_exact_answer(app_test):
    w = np.array([3.0, 1.0, 2.0, 10.0, 11.0])
    at = open_tab(app_test, "Validate")
    at.number_input(key="lam").set_value(1.5).run()
    at.radio(key="val_w_source").set_value("Paste").run()
    at.text_area(key="val_w_text").input(", ".join(map(str, w))).run()
    at.text_area(key="val_u_text").input(", ".join(repr(float(v)) for v in prox_ws(w, 1.5))).run()
    no_errors(at)
    assert any("exact prox" in s.value for s in at.success)
    assert metric(at, "order violations") == "0"


def test_validate_blank_pasted_w_says_what_to_do(app_test):
    at = open_tab(app_test, "Validate")
    at.radio(key="val_w_source").set_value("Paste").run()
    assert not at.exception
    assert any("Paste the input w" in i.value for i in at.info)


def test_validate_reads_only_the_chosen_output_source(app_test):
    w = inputs.make_preset("Random normal", 200, seed=0)
    exact = inputs.format_vector(prox_ws(w, 1.0), digits=17)
    at = open_tab(app_test, "Validate")
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
    at = open_tab(app_test, "Validate")
    at.radio(key="val_u_source").set_value("Upload").run()
    at.file_uploader(key="val_u_file").upload(
        "u.csv", inputs.format_vector(prox_ws(w, 1.0), digits=17).encode()).run()
    assert _verdicts(at)
    at.file_uploader(key="val_u_file").upload("big.csv", b"1," * (15 * 2**20)).run()  # 30 MB
    assert not at.exception
    assert not _verdicts(at)
    assert any("30.0 MB; the limit is 20 MB" in e.value for e in at.error)


def test_validate_wrong_length_shows_message(app_test):
    at = open_tab(app_test, "Validate")
    at.text_area(key="val_u_text").input("1, 2, 3").run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("3 entries but w has 200" in m and "same length" in m for m in messages), messages


def test_validate_bad_output_upload_shows_error(app_test):
    at = open_tab(app_test, "Validate")
    at.radio(key="val_u_source").set_value("Upload").run()
    at.file_uploader(key="val_u_file").upload("u.csv", b"1, x").run()
    assert not at.exception
    assert any("Your output" in e.value for e in at.error)
