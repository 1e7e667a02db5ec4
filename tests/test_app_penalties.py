"""The penalty selector of the Watch tab (demo/penalties.py, demo/views/penalty.py, app.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("streamlit")

from demo import penalties  # noqa: E402
from prox import prox_ws_l1  # noqa: E402
from prox.owl import prox_growl_reference, prox_owl_reference  # noqa: E402

RNG = np.random.default_rng(3)
OTHER = [p for p in penalties.PENALTIES if p != "WSR"]


def _no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _charts(at) -> dict:
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def _trace_names(spec: dict) -> list:
    return [trace.get("name") for trace in spec["data"]]


def _metric(at, start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(start))


# ------------------------------------------------------------------ the app
@pytest.mark.parametrize("penalty", OTHER)
def test_each_penalty_shows_the_wall_and_zeros(app_test, penalty):
    at = app_test.run()
    at.selectbox(key="penalty").set_value(penalty).run()
    _no_errors(at)
    charts = _charts(at)
    spacetime = next(spec for key, spec in charts.items() if "fig_penalty_spacetime" in key)
    particles = next(spec for key, spec in charts.items() if "fig_penalty_particles" in key)
    assert "wall" in _trace_names(spacetime) and "wall" in _trace_names(particles)
    assert not any("fig_particles" in key for key in charts)  # WSR's own view is replaced
    zeros = int(_metric(at, "zeros at λ").replace(",", ""))
    assert zeros >= 0
    if penalty == "GrOWL":
        for label in ("sparsity", "zero rows", "distinct row groups", "compression ratio"):
            assert _metric(at, label)
    # The other tabs are still there.
    assert {"Watch", "Compare", "Validate"} <= {t.label for t in at.tabs}


def test_large_lam_puts_everything_on_the_wall(app_test):
    at = app_test.run()
    at.selectbox(key="penalty").set_value("OSCAR").run()
    at.number_input(key="lam").set_value(50.0).run()
    _no_errors(at)
    d = int(at.number_input(key="d").value)
    assert int(_metric(at, "zeros at λ").replace(",", "")) == d
    groups = next(df.value for df in at.dataframe if "on the wall" in df.value.columns)
    assert len(groups) == 1 and bool(groups["on the wall"].iloc[0])


def test_owl_shapes_and_bad_custom_theta_become_messages(app_test):
    at = app_test.run()
    at.selectbox(key="penalty").set_value("OWL").run()
    for shape in penalties.OWL_SHAPES[:-1]:
        at.selectbox(key="penalty_theta_shape").set_value(shape).run()
        _no_errors(at)
    at.selectbox(key="penalty_theta_shape").set_value("Custom (paste)").run()
    _no_errors(at)  # the default pasted theta is valid
    at.text_area(key="penalty_theta_text").set_value("1, 2, 3").run()
    assert not at.exception
    assert any("Invalid theta" in e.value for e in at.error)
    at.selectbox(key="penalty").set_value("WSR").run()  # back to the original view
    _no_errors(at)
    assert any("fig_particles" in key for key in _charts(at))


def test_growl_with_too_many_columns_is_a_message(app_test):
    at = app_test.run()
    at.selectbox(key="penalty").set_value("GrOWL").run()
    at.number_input(key="penalty_cols").set_value(64).run()
    at.number_input(key="d").set_value(10).run()
    assert not at.exception
    assert any("Invalid cols" in e.value for e in at.error)


# ------------------------------------------------------------------ the module
def test_paths_match_the_proxes():
    w = RNG.standard_normal(40)
    w[:6] = [1.0, -1.0, 2.0, 2.0, 0.0, 0.5]  # ties, a mirrored pair, a zero
    wsr_l1 = penalties.build_path("WSR + L1", w, alpha=0.3)
    oscar = penalties.build_path("OSCAR", w, alpha=0.1, beta=0.5)
    owl = penalties.build_path("OWL", w, shape="SLOPE (Benjamini-Hochberg, q = 0.1)")
    growl = penalties.build_path("GrOWL", w, alpha=0.1, beta=0.5, cols=4)
    for t in (0.0, 0.2, 0.9):
        np.testing.assert_allclose(wsr_l1.prox(t), prox_ws_l1(w, t, 0.3 * t), atol=1e-12 * 4)
        for path in (oscar, owl):
            np.testing.assert_allclose(path.prox(t), prox_owl_reference(w, t * path.theta),
                                       atol=1e-12 * 4)
            np.testing.assert_array_equal(path.coordinate(t), np.abs(path.prox(t)))
        W = w.reshape(10, 4)
        np.testing.assert_allclose(growl.prox(t), prox_growl_reference(W, t * growl.theta),
                                   atol=1e-12 * 4)
    # t_zero: every weight is zero there and not a little before.
    for path in (wsr_l1, oscar, owl, growl):
        assert np.all(path.coordinate(path.t_zero) == 0)
        assert np.any(path.coordinate(path.t_zero * (1 - 1e-6)) != 0)


def test_theta_shapes():
    d = 9
    for shape in penalties.OWL_SHAPES[:-1]:
        theta = penalties.make_theta(shape, d)
        assert theta.shape == (d,) and theta[0] == 1.0
        assert np.all(np.diff(theta) <= 0) and np.all(theta >= 0)
    np.testing.assert_array_equal(penalties.make_theta("Custom (paste)", 3, "3, 2, 2"),
                                  [3.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="Invalid theta: must be non-increasing"):
        penalties.make_theta("Custom (paste)", 3, "1, 2, 3")
    with pytest.raises(ValueError, match=r"Invalid theta: expected shape \(3,\)"):
        penalties.make_theta("Custom (paste)", 3, "1, 0.5")
    with pytest.raises(ValueError, match="Invalid theta"):
        penalties.make_theta("Custom (paste)", 3, "")
    with pytest.raises(ValueError, match="Invalid theta shape"):
        penalties.make_theta("Cubic", 3)
    with pytest.raises(ValueError, match="Invalid penalty"):
        penalties.build_path("WSR", np.ones(3))


def test_figures_draw_the_wall_and_the_zeros():
    w = np.arange(1.0, 13.0)
    path = penalties.build_path("OWL", w, shape="Lasso (constant)")  # wall at t = |w|
    lam = 6.5
    fig = penalties.particles_figure(path, lam, lam)
    names = [trace.name for trace in fig.data]
    assert "wall" in names
    zeros = next(trace for trace in fig.data if trace.name.startswith("on the wall"))
    assert list(zeros.x) == [0.0] and list(zeros.customdata) == [6]  # |w| = 1..6 are zero
    assert "6 weights on the wall" in fig.layout.title.text
    space = penalties.spacetime_figure(path, lam, 1.0)
    wall = next(trace for trace in space.data if trace.name == "wall")
    assert list(wall.y) == [0.0, 0.0]
    assert "all zero at t = 12" in space.layout.title.text
    table = penalties.groups_table(path, lam)
    assert int(table.loc[table["on the wall"], "weights"].iloc[0]) == 6
    assert len(table) == 7


def test_spacetime_is_exact_at_the_sampled_times():
    w = RNG.standard_normal(30)
    path = penalties.build_path("OSCAR", w, alpha=0.05, beta=0.5)
    fig = penalties.spacetime_figure(path, 1.0, max_drawn=30)
    lines = fig.data[0]
    xs, ys = np.asarray(lines.x, dtype=float), np.asarray(lines.y, dtype=float)
    finite = np.isfinite(xs)
    expected = np.array([path.coordinate(t)[i] for i, t in zip(
        np.repeat(np.arange(30), np.count_nonzero(finite) // 30), xs[finite])])
    np.testing.assert_allclose(ys[finite], expected, atol=1e-12 * 4)


def test_growl_stats():
    # Rows with norms 5, 10, 5, 0: a zero row, two rows tied in norm from the start.
    W = np.array([[3.0, 4.0], [6.0, 8.0], [-4.0, 3.0], [0.0, 0.0]])
    path = penalties.build_path("GrOWL", W.ravel(), alpha=0.0, beta=0.0, cols=2)
    stats = penalties.growl_stats(path, 1.0)  # theta = 0: nothing moves
    assert stats["rows"] == 4 and stats["zero_rows"] == 1
    assert stats["sparsity"] == 2 / 8
    assert stats["row_groups"] == 2 and stats["stored_fraction"] == 0.5
    # Stored as group means: rows 0 and 2 share their mean row (-0.5, 3.5).
    assert stats["compression"] == 8 / 5  # values -0.5, 3.5, 6, 8, 0
    with pytest.raises(ValueError, match="not GrOWL"):
        penalties.growl_stats(penalties.build_path("OWL", W.ravel()), 1.0)
    with pytest.raises(ValueError, match="Invalid cols"):
        penalties.growl_matrix(np.ones(3), 4)
