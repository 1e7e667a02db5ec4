"""The app's Train tab, driven headless with Streamlit's AppTest.

The whole app is checked once (the tab is there and draws the saved runs); the tab's
own behaviour is driven through ``demo.views.train.render_train`` on small results files
written to a temporary folder (tiny runs on the 8x8 digits: one channel, two epochs), so a
live run takes a second. Widgets are found by key; ``.run()`` follows every interaction.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest  # noqa: E402

from app_helpers import chart, charts, metric, no_errors, plotly_values  # noqa: E402
from demo.train_figures import (  # noqa: E402
    accuracy_figure,
    distinct_figure,
    filters_figure,
    final_groups,
    merging_strength,
    particles_over_training_figure,
)
from networks.results import DEFAULT_TABLE, save_results  # noqa: E402
from networks.training import RunConfig, RunResult, run  # noqa: E402

TIMEOUT = 90
TINY = RunConfig(data="digits8", variant="shuffled", model="fc_wsr", strength=5.0, epochs=2,
                 channels=(1, 1), snapshots=6)


def _tab(path):
    """The script AppTest runs: just the Train tab, reading ``path``."""
    from demo.views.train import render_train

    render_train(path)


@pytest.fixture(scope="module")
def tiny_runs():
    configs = [TINY, replace(TINY, strength=0.01), replace(TINY, model="fc", strength=0.0),
               replace(TINY, model="cnn", strength=0.0), replace(TINY, variant="plain")]
    return [run(c) for c in configs]


@pytest.fixture(scope="module")
def results_file(tiny_runs, tmp_path_factory):
    return save_results(tmp_path_factory.mktemp("train") / "runs.json", tiny_runs)


def _tab_app(path) -> AppTest:
    return AppTest.from_function(_tab, args=(str(path),), default_timeout=TIMEOUT).run()


# ------------------------------------------------------------------ the whole app
@pytest.mark.slow
def test_app_has_a_train_tab_drawing_the_saved_runs():
    at = AppTest.from_file(str(DEFAULT_TABLE.parents[2] / "app.py"),
                           default_timeout=TIMEOUT).run()
    no_errors(at)
    assert "Train" in [t.label for t in at.tabs]
    at.session_state["tab"] = "Train"  # tabs render lazily: open it
    at.run()
    no_errors(at)
    if not DEFAULT_TABLE.exists():
        return
    # it opens on the paper's question at a strength where the weights visibly merged
    assert at.selectbox(key="train_variant").value == "shuffled"
    assert at.selectbox(key="train_model").value == "fc_wsr"
    assert any("choice on validation" in c.value for c in at.caption)
    ids = "".join(charts(at))
    for key in ("fig_train_accuracy", "fig_train_filters", "fig_train_distinct",
                "fig_train_particles"):
        assert key in ids
    distinct = int(metric(at, "distinct values, layer 1").replace(",", ""))
    assert distinct < 0.75 * 196 * 2 * 196  # merged: the default is a merging strength


# ------------------------------------------------------------------ the tab alone
def test_the_tab_opens_where_the_weights_merged(results_file, tiny_runs):
    at = _tab_app(results_file)
    no_errors(at)
    assert at.selectbox(key="train_data").value == "digits8"
    assert at.selectbox(key="train_variant").options == ["plain", "shuffled"]
    assert at.selectbox(key="train_model").value == "fc_wsr"
    assert at.selectbox(key="train_strength").options == ["0.01", "5"]
    assert at.selectbox(key="train_strength").value == 5.0  # the merged one
    expected = tiny_runs[0].metrics
    assert expected["distinct_layer1"] < 0.75 * expected["weights_layer1"]
    assert metric(at, "test accuracy") == f"{expected['test_acc']:.3f}"
    assert metric(at, "distinct values, layer 1") == f"{expected['distinct_layer1']:,}"
    filters = chart(at, "fig_train_filters")
    assert "un-permuted" in filters["layout"]["title"]["text"]
    assert sum(t["type"] == "heatmap" for t in filters["data"]) == len(
        tiny_runs[0].history["filters"])

    at.selectbox(key="train_model").set_value("cnn").run()
    assert at.selectbox(key="train_strength").options == ["none"]
    assert metric(at, "distinct values, layer 1") == "10"  # 9 kernel values and the zero


def test_particle_view_follows_the_step_slider_and_the_set(results_file):
    at = _tab_app(results_file)
    title = chart(at, "fig_train_particles")["layout"]["title"]["text"]
    assert "one neuron" in title and "at the end" in title
    at.slider(key="train_step").set_value(0).run()
    start = chart(at, "fig_train_particles")["layout"]["title"]["text"]
    assert "at step 0" in start and start != title
    at.radio(key="train_particles_which").set_value("whole layer (subsampled)").run()
    no_errors(at)
    assert "whole layer" in chart(at, "fig_train_particles")["layout"]["title"]["text"]


def test_live_run_trains_and_shows_sharing_rising(results_file):
    at = _tab_app(results_file)
    at.number_input(key="train_live_epochs").set_value(2).run()
    at.button(key="train_live_run").click().run()
    no_errors(at)
    assert at.radio(key="train_source").value == "live run"
    assert any("2 epochs" in c.value for c in at.caption)
    distinct = chart(at, "fig_train_distinct")["data"][0]
    assert list(plotly_values(distinct["x"])) == [1, 2]
    layer1 = plotly_values(distinct["y"])
    assert layer1[-1] < 0.5 * 64 * 64  # strength 5: most weights merged
    at.radio(key="train_source").set_value("saved run").run()
    saved = chart(at, "fig_train_accuracy")["data"][0]["x"]
    assert list(plotly_values(saved)) == list(range(1, TINY.epochs + 1))


def test_missing_results_file_is_a_message_not_a_traceback(tmp_path):
    at = _tab_app(tmp_path / "none.json")
    no_errors(at)
    assert any("python -m networks table" in i.value for i in at.info)
    assert at.button(key="train_live_run")


def test_corrupt_results_file_is_an_error_message(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    at = _tab_app(path)
    assert not at.exception
    assert any("Cannot read the saved runs" in e.value for e in at.error)


# ------------------------------------------------------------------ figures
def test_figures_draw_every_part(tiny_runs):
    result = tiny_runs[0]
    assert len(accuracy_figure(result).data) == 3
    assert len(distinct_figure(result).data) == 2  # layers 1 and 2
    kinds = [t.type for t in filters_figure(result).data]
    assert kinds.count("heatmap") == kinds.count("scatter") == len(result.history["filters"])
    fig = particles_over_training_figure(result, "whole layer (subsampled)", 0)
    lines = [t for t in fig.data if t.mode == "lines"]
    drawn = sum(int((t.x != t.x).sum()) for t in lines)  # one NaN break per weight
    assert drawn == result.history["snap_layer"].shape[1]
    with pytest.raises(ValueError, match="which"):
        particles_over_training_figure(result, "two neurons")


def test_one_dimensional_filters_are_curves():
    filters = np.random.default_rng(0).standard_normal((6, 40)).astype(np.float32)
    result = RunResult(RunConfig(data="mnist1d", variant="shuffled", model="fc"), {},
                       {"filters": filters, "filter_units": np.arange(6)})
    fig = filters_figure(result)
    assert {t.type for t in fig.data} == {"scatter"}
    assert len(fig.data) == len(result.history["filters"]) and len(fig.data[0].y) == 40


def test_merging_strength_is_the_weakest_merged_one(tiny_runs):
    assert merging_strength(tiny_runs, "digits8", "shuffled") == 5.0
    assert merging_strength(tiny_runs, "digits8", "shuffled", fraction=0.0) == 5.0  # none
    assert merging_strength(tiny_runs, "mnist14", "shuffled") is None


def test_final_groups_colour_shared_values_alike():
    labels, colours = final_groups([0.5, -1.0, 0.5, 2.0, -1.0])
    assert list(labels) == [1, 0, 1, 2, 0]
    assert colours[0] == colours[2] and colours[1] == colours[4]
    assert len({colours[0], colours[1], colours[3]}) == 3
