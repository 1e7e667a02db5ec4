"""The Streamlit app, driven headless with streamlit.testing.v1.AppTest.

Widgets are found by key; ``.run()`` follows every interaction.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from demo.inputs import MAX_BYTES  # noqa: E402
from filebytes import npy_bytes, pt_bytes

APP = Path(__file__).resolve().parents[1] / "app.py"
# AppTest resolves relative paths against the calling file, so pass the project
# root's app.py by absolute path.


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _charts(at: AppTest) -> dict:
    return {c.proto.id: c.proto.spec for c in at.get("plotly_chart")}



@pytest.fixture(scope="module")
def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60).run()


# ------------------------------------------------------------------ every view
def test_default_page_renders_every_tab(app):
    _no_errors(app)
    assert app.title[0].value.startswith("Weight-sharing")
    assert [t.label for t in app.tabs] == ["Watch", "Compare", "Validate"]
    assert len(app.get("plotly_chart")) >= 4  # particles, space-time, dendrogram, shared values
    assert len(app.dataframe) >= 2  # groups at lam, solver table


def test_solver_table_lists_every_solver(app):
    from prox import SOLVERS

    table = next(df.value for df in app.dataframe if "solver" in df.value.columns)
    assert list(table["solver"]) == list(SOLVERS)
    assert (table["max_deviation"] < 1e-8).all()


def test_large_input_waits_for_solver_button():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.number_input(key="d").set_value(25_000).run()
    _no_errors(at)
    assert at.button(key="run_solvers")
    assert not any("solver" in df.value.columns for df in at.dataframe)


@pytest.mark.parametrize("preset", ["Random normal", "Uniform on [-1, 1]",
                                    "Well-separated clusters", "Cascade (worst case)"])
def test_every_preset_renders(preset):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.selectbox(key="preset").set_value(preset).run()
    at.number_input(key="d").set_value(100).run()
    _no_errors(at)
    assert _metric(at, "λ_max (one group)")


def test_scaling_sweep_draws_chart():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.select_slider(key="grid_max").set_value(256).run()
    at.button(key="run_scaling").click().run()
    _no_errors(at)
    assert "fig_scaling" in "".join(_charts(at))


def test_lam_zero_is_the_identity():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.number_input(key="lam").set_value(0.0).run()
    _no_errors(at)
    assert any("identity" in i.value for i in at.info)
    assert _metric(at, "groups at λ") == "200"


# ------------------------------------------------------------------ interaction
def test_changing_lam_changes_what_is_shown():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    groups_before, charts_before = _metric(at, "groups at λ"), _charts(at)
    at.number_input(key="lam").set_value(2.5).run()
    _no_errors(at)
    assert _metric(at, "groups at λ") != groups_before
    charts_after = _charts(at)
    assert set(charts_after.values()).isdisjoint(set(charts_before.values()))


def test_time_slider_moves_the_particles():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    before = _metric(at, "clusters at t")
    at.slider(key="t").set_value(0.95).run()
    _no_errors(at)
    assert _metric(at, "time t") == "0.95"
    assert int(_metric(at, "clusters at t").replace(",", "")) < int(before.replace(",", ""))


def test_paste_input():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.radio(key="source").set_value("Paste").run()
    at.text_area(key="paste").input("3, 1, 2, 10, 11").run()
    _no_errors(at)
    assert "d = 5" in at.sidebar.caption[-1].value


@pytest.mark.parametrize(
    ("text", "match"),
    [("1, 2, zzz", "entry 3"), ("1, nan, 2", "NaN or infinite"), ("", "empty"),
     ("4.0", "at least 2")],
)
def test_bad_paste_shows_error(text, match):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.radio(key="source").set_value("Paste").run()
    at.text_area(key="paste").input(text).run()
    assert not at.exception
    assert any(match in e.value for e in at.error), [e.value for e in at.error]


# ------------------------------------------------------------------ uploads
def test_uploadnpy_bytes():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.radio(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").upload("w.npy", npy_bytes(np.arange(30.0) ** 1.5)).run()
    _no_errors(at)
    assert "d = 30" in at.sidebar.caption[-1].value



@pytest.mark.parametrize(
    ("filename", "make", "match"),
    [
        ("big.csv", lambda: b"1," * (MAX_BYTES // 2 + 1), "limit is 20 MB"),
        ("bad.npy", lambda: b"definitely not numpy", "could not be read"),
        ("bad.csv", lambda: b"1,2,three", "entry 3"),
        ("nan.csv", lambda: b"1,2,nan", "NaN or infinite"),
        ("empty.txt", lambda: b"", "empty"),
        ("dict.pt", lambda: pt_bytes({"w": [1.0, 2.0]}), "not a tensor"),
    ],
)
def test_bad_upload_shows_error(filename, make, match):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.radio(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").upload(filename, make()).run()
    assert not at.exception
    assert any(match in e.value for e in at.error), [e.value for e in at.error]


# ------------------------------------------------------------------ validate
def test_validate_example_reports_gap():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.button(key="val_example").click().run()
    _no_errors(at)
    assert float(_metric(at, "objective gap")) > 0
    assert any("not the exact prox" in w.value for w in at.warning)
    assert "fig_validate" in "".join(_charts(at))


def test_validate_exact_answer():
    from prox import prox_ws

    w = np.array([3.0, 1.0, 2.0, 10.0, 11.0])
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.radio(key="val_w_source").set_value("Paste").run()
    at.text_area(key="val_w_text").input(", ".join(map(str, w))).run()
    at.number_input(key="val_lam").set_value(1.5).run()
    at.text_area(key="val_u_text").input(", ".join(repr(float(v)) for v in prox_ws(w, 1.5))).run()
    _no_errors(at)
    assert any("exact prox" in s.value for s in at.success)
    assert _metric(at, "order violations") == "0"


def test_validate_wrong_length_shows_message():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.text_area(key="val_u_text").input("1, 2, 3").run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("3 entries but w has 200" in m and "same length" in m for m in messages), messages


def test_validate_bad_output_upload_shows_error():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.file_uploader(key="val_u_file").upload("u.csv", b"1, x").run()
    assert not at.exception
    assert any("Your output" in e.value for e in at.error)
