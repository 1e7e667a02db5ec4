"""The penalty selector of the Watch tab (demo/penalties.py, demo/views/penalty.py, app.py)."""
from __future__ import annotations

import numpy as np
import pytest

from app_helpers import array_of, metric, no_errors, players

pytest.importorskip("streamlit")

from demo import animation, penalties  # noqa: E402
from prox import prox_ws_l1  # noqa: E402
from prox.owl import prox_growl_reference, prox_owl_reference  # noqa: E402

OTHER = [p for p in penalties.PENALTIES if p != "WSR"]


# ------------------------------------------------------------------ the app
@pytest.mark.parametrize("penalty", OTHER)
def test_each_penalty_animates_with_the_wall_and_zeros(app_test, penalty):
    at = app_test.run()
    at.selectbox(key="penalty").set_value(penalty).run()
    no_errors(at)
    (player,) = players(at)  # WSR's own player is replaced by the penalty's
    assert player["wall"] and player["mode"] == "frames" and player["times"][-1] == 1.0
    assert penalty in player["shared_title"]
    zeros = int(metric(at, "zeros at λ").replace(",", ""))
    assert zeros >= 0
    assert metric(at, f"groups at λ ({penalty})")
    if penalty == "GrOWL":
        for label in ("sparsity", "zero rows", "distinct row groups", "compression ratio"):
            assert metric(at, label)
    # The other tabs are still there.
    assert {"Watch", "Compare", "Validate"} <= {t.label for t in at.tabs}


def test_large_lam_puts_everything_on_the_wall(app_test):
    at = app_test.run()
    at.selectbox(key="penalty").set_value("OSCAR").run()
    at.number_input(key="lam").set_value(50.0).run()
    no_errors(at)
    d = int(at.number_input(key="d").value)
    assert int(metric(at, "zeros at λ").replace(",", "")) == d
    groups = next(df.value for df in at.dataframe if "on the wall" in df.value.columns)
    assert len(groups) == 1 and bool(groups["on the wall"].iloc[0])


def test_owl_shapes_and_bad_custom_theta_become_messages(app_test):
    at = app_test.run()
    at.selectbox(key="penalty").set_value("OWL").run()
    for shape in penalties.OWL_SHAPES[:-1]:
        at.selectbox(key="penalty_theta_shape").set_value(shape).run()
        no_errors(at)
    at.selectbox(key="penalty_theta_shape").set_value("Custom (paste)").run()
    no_errors(at)  # the default pasted theta is valid
    at.text_area(key="penalty_theta_text").set_value("1, 2, 3").run()
    assert not at.exception
    assert any("Invalid theta" in e.value for e in at.error)
    at.selectbox(key="penalty").set_value("WSR").run()  # back to the original view
    no_errors(at)
    (player,) = players(at)
    assert player["mode"] == "events" and not player["wall"]


@pytest.mark.parametrize("d", [2, 10, 3000])
def test_default_custom_theta_is_valid_for_every_d(d):
    from demo.views.penalty import _default_theta

    theta = penalties.make_theta("Custom (paste)", d, _default_theta(d))
    expected = np.r_[np.linspace(1.0, 0.1, 10)[:d], np.full(max(d - 10, 0), 0.1)]
    np.testing.assert_allclose(theta, expected, rtol=1e-12)


def test_growl_with_too_many_columns_is_a_message(app_test):
    at = app_test.run()
    at.selectbox(key="penalty").set_value("GrOWL").run()
    at.number_input(key="penalty_cols").set_value(64).run()
    at.number_input(key="d").set_value(10).run()
    assert not at.exception
    assert any("Invalid cols" in e.value for e in at.error)


# ------------------------------------------------------------------ the module
def test_paths_match_the_proxes():
    w = np.random.default_rng(3).standard_normal(40)
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
    np.testing.assert_array_equal(penalties.make_theta("Custom (paste)", 3, "1, 0.5"),
                                  [1.0, 0.5, 0.5])  # the tail repeats the last value
    with pytest.raises(ValueError, match=r"Invalid theta: expected shape \(3,\)"):
        penalties.make_theta("Custom (paste)", 3, "1, 0.5, 0.2, 0.1")
    with pytest.raises(ValueError, match="Invalid theta"):
        penalties.make_theta("Custom (paste)", 3, "")
    with pytest.raises(ValueError, match="Invalid theta shape"):
        penalties.make_theta("Cubic", 3)
    with pytest.raises(ValueError, match="Invalid penalty"):
        penalties.build_path("WSR", np.ones(3))


def test_the_animation_draws_the_wall_and_the_zeros():
    w = np.arange(1.0, 13.0)
    path = penalties.build_path("OWL", w, shape="Lasso (constant)")  # wall at t = |w|
    lam = 6.5
    payload = animation.penalty_animation(path, lam).payload
    assert payload["wall"] and payload["position_range"][0] < 0  # the wall is on the axis
    assert payload["frame_notes"][-1].startswith("7 clusters, 6 of 12 on the wall at 0")
    # the last frame is λ: the wall cluster (|w| = 1..6) and six moving weights
    offsets = array_of(payload, "mark_offsets")
    x = array_of(payload, "mark_x")[offsets[-2]:offsets[-1]]
    mass = array_of(payload, "mark_mass")[offsets[-2]:offsets[-1]]
    assert x[0] == 0.0 and mass[0] == 6 and np.all(mass[1:] == 1)
    table = penalties.groups_table(path, lam)
    assert int(table.loc[table["on the wall"], "weights"].iloc[0]) == 6
    assert len(table) == 7


def test_spacetime_paths_are_exact_at_their_sample_times():
    w = np.random.default_rng(4).standard_normal(30)
    path = penalties.build_path("OSCAR", w, alpha=0.05, beta=0.5)
    payload = animation.penalty_animation(path, 1.0, n_frames=25, max_paths=30).payload
    times = array_of(payload, "poly_t")
    paths = array_of(payload, "poly_y").reshape(30, times.size)
    order = np.argsort(path.coordinate(0.0), kind="stable")
    for j, t in enumerate(times):
        np.testing.assert_array_equal(paths[:, j], path.coordinate(t)[order])


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
