"""The OWL family as particles (particles.simulate_owl / simulate_growl).

Every state of the simulation is checked against the SciPy reference
``prox.owl.prox_owl_reference`` (argsort + isotonic regression, no shared code
with the event kernel) to 1e-12 relative to max|w| + t * max(theta), and against
CVXPY on small d.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle import cvxpy_prox_owl, input_cases, tolerance
from particles import OwlTrajectory, simulate_growl, simulate_owl
from prox.owl import oscar_weights, prox_growl_reference, prox_owl_reference

# Tiny d by hand; the rest from the input families at d = 40 (the test's own rng).
SMALL = {
    "empty": np.zeros(0),
    "one": np.array([-2.5]),
    "two": np.array([1.0, -3.0]),
    "three": np.array([0.5, 2.0, -1.0]),
}
NAMES = [*SMALL, *input_cases(4, np.random.default_rng(0))]


def _input(name, rng):
    return SMALL[name] if name in SMALL else input_cases(40, rng)[name]


def _thetas(d, rng):
    return {
        "oscar": oscar_weights(d, 0.25, 0.125),
        "oscar_pure": oscar_weights(d, 0.0, 0.5),
        "lasso": np.full(d, 0.5),
        "random": np.sort(rng.random(d))[::-1],
        "step": np.where(np.arange(d) < d // 3, 1.0, 0.25),
        "zero_tail": np.where(np.arange(d) < d // 2, 1.0, 0.0),
        "zero": np.zeros(d),
    }


THETAS = list(_thetas(3, np.random.default_rng(0)))
CASES = [(w_name, t_name) for w_name in NAMES for t_name in THETAS]


def _times(traj: OwlTrajectory, rng):
    """Times to check: every event time, t_zero, and generic times in between and after."""
    events = np.unique(traj.times)
    end = traj.t_zero if np.isfinite(traj.t_zero) else (events[-1] if events.size else 1.0)
    end = max(float(end), 1e-300)
    generic = np.concatenate((rng.random(4) * 1.5 * end, [0.0, 2.0 * end]))
    return np.concatenate((events, [traj.t_zero] if np.isfinite(traj.t_zero) else [], generic))


@pytest.mark.parametrize("w_name, theta_name", CASES)
def test_prox_matches_reference_at_every_event_and_between(w_name, theta_name, rng):
    w = _input(w_name, rng)
    theta = _thetas(w.size, rng)[theta_name]
    if w_name == "huge":
        theta = theta * 1e300
    if w_name == "tiny":
        theta = theta * 1e-300
    traj = simulate_owl(w, theta)
    for t in _times(traj, rng):
        expected = prox_owl_reference(w, t * theta)
        np.testing.assert_allclose(traj.prox(t), expected, rtol=0, atol=tolerance(w, t * theta),
                                   err_msg=f"t = {t!r}")
        moved = traj.prox(t)
        assert np.all(np.sign(moved)[moved != 0] == np.sign(w)[moved != 0])  # signs kept


@pytest.mark.parametrize("w_name, theta_name", CASES)
def test_event_log_is_consistent(w_name, theta_name, rng):
    w = _input(w_name, rng)
    theta = _thetas(w.size, rng)[theta_name]
    traj = simulate_owl(w, theta)
    ev = traj.events
    d = w.size
    assert ev.size <= d
    assert np.all(np.diff(ev["time"]) >= 0)
    assert set(ev["kind"]) <= {"merge", "wall"}
    merges, walls = ev["kind"] == "merge", ev["kind"] == "wall"
    assert np.all(ev["position"][walls] == 0)
    # Every event joins two clusters (linkage ids), except at most one: the first
    # arrival at an empty wall, which only stops there.
    arrivals = ev["left"] == -1
    assert arrivals.sum() <= 1 and np.all(walls[arrivals])
    assert np.all(ev["left"][~arrivals] >= 0) and np.all(ev["right"] >= 0)
    assert np.all(ev["mass"][merges] >= 2)
    # The run of ranks behind each event (the simulation's own log): a merge splits
    # [head, stop) at split, a wall event brings [head, stop) to the wall [stop, d).
    head, split, stop = traj._head, traj._split, traj._stop
    assert np.all((head[merges] < split[merges]) & (split[merges] < stop[merges]))
    assert np.all(split[walls] == stop[walls])
    # The wall grows from the bottom rank up, one contiguous run after another.
    assert np.all(np.diff(head[walls]) < 0)
    if walls.any():
        assert stop[walls][0] == d
        assert np.array_equal(stop[walls][1:], head[walls][:-1])
    # Each event happens where the reference puts its cluster at that time.
    for e, a, b in zip(ev, head, stop):
        t = float(e["time"])
        magnitudes = np.abs(prox_owl_reference(w, t * theta))[traj.rank_order]
        np.testing.assert_allclose(magnitudes[a:b], e["position"], rtol=0,
                                   atol=tolerance(w, t * theta) * 4)
    # Every weight is zero from t_zero on, and t_zero is the first such time.
    if np.isfinite(traj.t_zero):
        assert np.all(traj.prox(traj.t_zero) == 0)
        assert traj.n_zeros(traj.t_zero) == d
        if traj.t_zero > 0:
            before = traj.t_zero * (1 - 1e-6)
            assert np.abs(prox_owl_reference(w, before * theta)).max() > 0
    else:
        assert np.any(theta == 0) and np.any(w != 0)


def test_t_zero_closed_form(rng):
    # Everything is zero at t iff every top-k sum of |w| is <= t times the top-k sum of theta.
    for _ in range(50):
        d = int(rng.integers(1, 30))
        w = rng.standard_normal(d) * rng.choice([1e-3, 1.0, 1e3])
        theta = np.sort(rng.random(d))[::-1] + rng.choice([0.0, 0.1])
        traj = simulate_owl(w, theta)
        top = np.cumsum(np.sort(np.abs(w))[::-1]) / np.cumsum(theta)
        assert traj.t_zero == pytest.approx(top.max(), rel=1e-12)


@pytest.mark.parametrize("w_name, theta_name", CASES)
def test_clusters_labels_positions_agree(w_name, theta_name, rng):
    w = _input(w_name, rng)
    theta = _thetas(w.size, rng)[theta_name]
    traj = simulate_owl(w, theta)
    events = np.unique(np.concatenate(([0.0], traj.times)))
    mids = np.concatenate(((events[:-1] + events[1:]) / 2, [events[-1] * 2 + 1.0]))
    for t in mids:  # generic times: no event exactly now
        magnitudes = np.abs(traj.positions(t))
        labels = traj.labels(t)
        n = traj.n_clusters(t)
        assert np.unique(labels).size == n
        # Equal labels => equal magnitudes, and ids increase with the magnitude (up to
        # rounding: two clusters within an ulp of each other may come out in either order).
        order = np.argsort(labels, kind="stable")
        steps = np.diff(magnitudes[order])
        assert np.all(steps >= -tolerance(w, t * theta))
        assert np.all(steps[np.diff(labels[order]) == 0] == 0)
        assert np.array_equal(traj.zeros(t), magnitudes == 0)
        assert traj.n_zeros(t) == int((magnitudes == 0).sum())
        if w.size and traj.n_zeros(t):
            assert np.all(labels[magnitudes == 0] == 0)
        mag, mass, first = traj.cluster_state(t)
        assert first.size == n and mass.sum() == w.size
        # Cluster i holds the weights of descending ranks first[i] .. first[i] + mass[i] - 1.
        np.testing.assert_array_equal(np.repeat(mag, mass), magnitudes[traj.rank_order])
        np.testing.assert_array_equal(first, np.cumsum(mass) - mass)
    # positions of an array of times: one row per time.
    rows = traj.positions(mids)
    assert rows.shape == (mids.size, w.size)
    np.testing.assert_array_equal(rows[-1], traj.positions(mids[-1]))


def test_grid_with_affine_theta_merges_all_at_one_instant():
    # |w| = 1..d evenly spaced, OSCAR's theta affine in the rank: every gap closes at t = 2.
    d = 64
    w = np.arange(1.0, d + 1)
    theta = oscar_weights(d, 0.0, 0.5)
    traj = simulate_owl(w, theta)
    merges = traj.events[traj.events["kind"] == "merge"]
    assert merges.size == d - 1 and np.all(merges["time"] == 2.0)
    assert traj.n_clusters(np.nextafter(2.0, 0)) == d
    assert traj.n_clusters(2.0) == 1
    # One cluster at mean (d + 1) / 2 with mean speed (d - 1) / 4 then hits the wall.
    assert traj.t_zero == pytest.approx(((d + 1) / 2) / ((d - 1) / 4), rel=1e-15)
    np.testing.assert_allclose(traj.prox(3.0), prox_owl_reference(w, 3.0 * theta),
                               rtol=0, atol=tolerance(w, 3.0 * theta))


@pytest.mark.parametrize("lam1, lam2", [(0.3, 0.1), (0.0, 0.1), (1 / 3, 1 / 7), (0.7, 0.013)])
def test_large_grids_where_rounding_splits_simultaneous_events(lam1, lam2, rng):
    # Non-dyadic weights on evenly spaced grids: events that coincide in exact
    # arithmetic are computed a few ulps apart, in either direction.
    d = 1500
    for w in (np.arange(d) * 0.1, np.arange(d) - d / 2,
              np.concatenate([np.arange(d // 2) * 0.3, -np.arange(d // 2) * 0.3])):
        theta = oscar_weights(w.size, lam1, lam2)
        traj = simulate_owl(w, theta)
        assert np.all(np.diff(traj.times) >= 0) and traj.events.size <= w.size
        events = np.unique(traj.times)
        for t in np.concatenate((events[:: max(1, events.size // 6)],
                                 rng.random(3) * traj.t_zero, [traj.t_zero])):
            np.testing.assert_allclose(traj.prox(t), prox_owl_reference(w, t * theta), rtol=0,
                                       atol=tolerance(w, t * theta), err_msg=f"t = {t!r}")
        assert np.all(traj.prox(traj.t_zero) == 0)


def test_mirrored_grid_with_affine_theta():
    # w and -w: ties merge at t = 0 (groups of equal magnitude, opposite signs).
    d = 20
    w = np.concatenate([np.arange(1.0, d + 1), -np.arange(1.0, d + 1)])
    theta = oscar_weights(2 * d, 0.125, 0.25)
    traj = simulate_owl(w, theta)
    at_zero = traj.events[traj.events["time"] == 0.0]
    assert at_zero.size == d and np.all(at_zero["kind"] == "merge")
    assert traj.n_clusters(0.0) == d
    labels = traj.labels(0.0)
    assert np.array_equal(labels[:d], labels[d:])
    for t in (0.01, 0.2, 1.0, traj.t_zero):
        np.testing.assert_allclose(traj.prox(t), prox_owl_reference(w, t * theta),
                                   rtol=0, atol=tolerance(w, t * theta))


def test_simultaneous_wall_hits():
    # Two particles that reach 0 at the same instant (and meet there).
    traj = simulate_owl(np.array([2.0, 1.0]), np.array([2.0, 1.0]))
    assert traj.t_zero == 1.0
    assert np.all(traj.events["time"] == 1.0)
    assert traj.n_clusters(np.nextafter(1.0, 0)) == 2 and traj.n_clusters(1.0) == 1
    # Lasso on a grid: each particle meets the wall at its own magnitude / speed.
    w = np.arange(1.0, 11.0)
    lasso = simulate_owl(w, np.full(10, 0.5))
    assert np.all(lasso.events["kind"] == "wall")
    np.testing.assert_array_equal(lasso.wall_time, w / 0.5)
    # Tied magnitudes under Lasso stay together and hit the wall as one cluster.
    tied = simulate_owl(np.array([1.0, -1.0, 1.0]), np.full(3, 1.0))
    assert list(tied.events["kind"]) == ["merge", "merge", "wall"]
    assert tied.t_zero == 1.0 and tied.events["mass"][-1] == 3


def test_zeros_in_w_are_on_the_wall_from_the_start():
    w = np.array([0.0, 3.0, 0.0, -1.0])
    traj = simulate_owl(w, np.array([1.0, 0.5, 0.5, 0.25]))
    assert np.array_equal(traj.zeros(0.0), w == 0)
    assert traj.n_zeros(0.0) == 2 and traj.n_clusters(0.0) == 3
    assert np.all(traj.wall_time[w == 0] == 0.0)
    np.testing.assert_array_equal(traj.prox(0.0), w)


def test_zero_theta_never_moves(rng):
    w = rng.standard_normal(10)
    traj = simulate_owl(w, np.zeros(10))
    assert traj.events.size == 0 and traj.t_zero == np.inf
    np.testing.assert_array_equal(traj.prox(123.0), w)
    assert traj.lam_for_clusters(10) == 0.0 and traj.lam_for_clusters(1) == np.inf


def test_lam_for_clusters(rng):
    w = rng.standard_normal(30)
    theta = oscar_weights(30, 0.05, 0.01)
    traj = simulate_owl(w, theta)
    for k in (1, 5, 17, 29, 30):
        t = traj.lam_for_clusters(k)
        assert traj.n_clusters(t) <= k
        if t > 0:
            assert traj.n_clusters(np.nextafter(t, 0)) > k


@pytest.mark.parametrize("w", [np.array([1.0, -2.0, 3.0, 0.0, 2.0]),
                               np.array([1.0, 1.0, -1.0, 2.0]),
                               np.array([0.3, -1.7, 2.2, -0.4, 1.1, 0.9]),
                               np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])])
@pytest.mark.parametrize("kind", ["oscar", "random", "step"])
def test_matches_cvxpy_on_small_d(w, kind, rng):
    theta = _thetas(w.size, rng)[kind]
    traj = simulate_owl(w, theta)
    for t in (0.3, 1.0, 2.5):
        # An interior-point solver is accurate to about 1e-8, not to rounding.
        np.testing.assert_allclose(traj.prox(t), cvxpy_prox_owl(w, t * theta),
                                   rtol=0, atol=tolerance(w, t * theta, rel=1e-7))


# ------------------------------------------------------------------ GrOWL
@pytest.mark.parametrize("shape", [(1, 3), (6, 4), (20, 3)])
def test_growl_matches_reference(shape, rng):
    W = rng.standard_normal(shape)
    W[0] = 0.0  # a zero row
    if shape[0] > 3:
        W[2] = -W[1]  # tied row norms
    theta = oscar_weights(shape[0], 0.1, 0.05)
    traj = simulate_growl(W, theta)
    norms = np.linalg.norm(W, axis=1)
    for t in (0.0, 0.4, 1.3, traj.t_zero, 2 * traj.t_zero):
        expected = prox_growl_reference(W, t * theta)
        tol = tolerance(norms, t * theta)
        np.testing.assert_allclose(traj.prox(t), expected, rtol=0, atol=tol)
        shrink = traj.shrink(t)
        assert np.all((shrink >= 0) & (shrink <= 1))
        np.testing.assert_allclose(shrink * norms, np.linalg.norm(expected, axis=1),
                                   rtol=0, atol=tol)
        assert np.array_equal(traj.zero_rows(t), shrink == 0)
        assert traj.n_clusters(t) == np.unique(traj.norms.magnitudes(t)).size
    assert np.all(traj.prox(traj.t_zero) == 0)


def test_growl_grid_of_row_norms_ties_whole_rows():
    rows = np.arange(1.0, 9.0)
    W = np.column_stack([rows * 3, rows * -4])  # row norms 5, 10, ..., 40: evenly spaced
    theta = oscar_weights(8, 0.0, 0.5)
    traj = simulate_growl(W, theta)
    assert traj.n_clusters(np.nextafter(10.0, 0)) == 8 and traj.n_clusters(10.0) == 1
    for t in (5.0, 10.0, 12.0):
        np.testing.assert_allclose(traj.prox(t), prox_growl_reference(W, t * theta),
                                   rtol=0, atol=tolerance(np.linalg.norm(W, axis=1), t * theta))


# ------------------------------------------------------------------ properties
_levels = st.integers(-12, 12).map(lambda k: k / 4)  # quantized: ties, zeros, mirrors


@given(st.lists(_levels, max_size=14), st.lists(st.integers(0, 8), max_size=14),
       st.floats(0, 6))
def test_property_quantized_inputs(values, speeds, t):
    w = np.array(values, dtype=np.float64)
    speeds = (sorted(speeds, reverse=True) + [0] * w.size)[: w.size]
    theta = np.array(speeds, dtype=np.float64) / 4
    traj = simulate_owl(w, theta)
    for time in (t, *traj.times[:6]):
        np.testing.assert_allclose(traj.prox(time), prox_owl_reference(w, time * theta),
                                   rtol=0, atol=tolerance(w, time * theta))
    if t not in traj.times:  # at an event's instant the groups are ambiguous to rounding
        assert traj.n_clusters(t) == np.unique(np.abs(traj.prox(t))).size


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=20), st.floats(0, 1),
       st.floats(0, 1), st.floats(0, 50))
def test_property_oscar(values, lam1, lam2, t):
    w = np.array(values)
    theta = oscar_weights(w.size, lam1, lam2)
    traj = simulate_owl(w, theta)
    np.testing.assert_allclose(traj.prox(t), prox_owl_reference(w, t * theta),
                               rtol=0, atol=tolerance(w, t * theta))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("theta, error, match", [
    ([1.0, 2.0, 0.5], ValueError, "Invalid theta: must be non-increasing"),
    ([1.0, 0.5, -0.5], ValueError, r"Invalid theta: entry 2 is -0.5 \(must be >= 0\)"),
    ([1.0, 0.5], ValueError, r"Invalid theta: expected shape \(3,\)"),
    ([1.0, np.nan, 0.0], ValueError, "Invalid theta: contains NaN"),
    ([np.inf, 1.0, 0.0], ValueError, "Invalid theta: contains NaN"),
    (["a", "b", "c"], TypeError, "Invalid theta: dtype"),
    ([1 + 1j, 0, 0], TypeError, "Invalid theta: dtype"),
])
def test_bad_theta(theta, error, match):
    with pytest.raises(error, match=match):
        simulate_owl(np.array([1.0, 2.0, 3.0]), theta)
    with pytest.raises(error, match=match):
        simulate_growl(np.ones((3, 2)), theta)


def test_bad_w_and_times():
    with pytest.raises(ValueError, match="Invalid w: expected a 1-D"):
        simulate_owl(np.ones((2, 2)), [1.0, 1.0])
    with pytest.raises(ValueError, match="Invalid w"):
        simulate_owl(np.array([1.0, np.nan]), [1.0, 1.0])
    with pytest.raises(ValueError, match="Invalid W: expected a 2-D"):
        simulate_growl(np.ones(3), [1.0, 1.0, 1.0])
    traj = simulate_owl(np.array([1.0, 2.0]), [1.0, 1.0])
    with pytest.raises(ValueError, match="Invalid lam: -1.0"):
        traj.prox(-1.0)
    with pytest.raises(ValueError, match="Invalid t"):
        traj.positions(np.array([0.0, np.nan]))
    with pytest.raises(TypeError, match="Invalid k"):
        traj.lam_for_clusters(1.5)


def test_inputs_are_not_modified_and_torch_is_accepted(rng):
    torch = pytest.importorskip("torch")
    w = rng.standard_normal(12)
    theta = oscar_weights(12, 0.1, 0.1)
    w_copy, theta_copy = w.copy(), theta.copy()
    traj = simulate_owl(w, theta)
    traj.prox(1.0)
    assert np.array_equal(w, w_copy) and np.array_equal(theta, theta_copy)
    from_tensor = simulate_owl(torch.from_numpy(w).float(), torch.from_numpy(theta))
    got = from_tensor.prox(1.0)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32  # tensor in, tensor out
    np.testing.assert_allclose(got.numpy(), prox_owl_reference(w.astype(np.float32), theta),
                               rtol=0, atol=tolerance(w, theta, np.float32))


# ------------------------------------------- one vocabulary with particles.Trajectory
QUERIES = ("prox", "positions", "labels", "n_clusters", "lam_for_clusters", "lam_max",
           "events", "linkage", "times")


def test_every_trajectory_answers_the_same_queries(rng):
    from particles import simulate

    w = rng.standard_normal(6)
    trajectories = [simulate(w), simulate_owl(w, oscar_weights(6, 0.1, 0.1)),
                    simulate_growl(rng.standard_normal((6, 2)), oscar_weights(6, 0.1, 0.1))]
    for traj in trajectories:
        missing = [name for name in QUERIES if not hasattr(traj, name)]
        assert not missing, f"{type(traj).__name__} lacks {missing}"
        for old in ("t_for_clusters", "clusters", "n_groups"):
            assert not hasattr(traj, old), f"{type(traj).__name__}.{old} is the old word"


@pytest.mark.parametrize("w_name, theta_name", [(w, t) for w in NAMES for t in
                                                 ("oscar", "lasso", "random", "step")])
def test_linkage_is_the_merge_tree_with_the_wall_as_the_zero_cluster(w_name, theta_name, rng):
    from scipy.cluster.hierarchy import fcluster, is_valid_linkage

    w = _input(w_name, rng)
    theta = _thetas(w.size, rng)[theta_name]
    traj = simulate_owl(w, theta)
    Z = traj.linkage
    assert Z.shape == (max(w.size - 1, 0), 4)
    if w.size < 2:
        return
    assert is_valid_linkage(Z) and np.all(np.diff(Z[:, 2]) >= 0)
    assert traj.lam_max == traj.times[-1] and traj.lam_max >= Z[-1, 2]
    joins = traj.events[traj.events["left"] >= 0]
    np.testing.assert_array_equal(Z[:, :2], np.column_stack((joins["left"], joins["right"])))
    events = np.unique(Z[:, 2])
    for t in np.concatenate(((events[:-1] + events[1:]) / 2, [events[-1] + 1.0])):
        cut = fcluster(Z, t, "distance")
        assert np.unique(cut).size == traj.n_clusters(t)
        labels = traj.labels(t)  # the same partition, up to the names of the groups
        assert np.unique(np.column_stack((cut, labels)), axis=0).shape[0] == np.unique(cut).size


def test_no_linkage_when_some_weights_never_reach_zero():
    # A top speed > 0 catches everyone and takes them to the wall: only theta == 0
    # leaves separate trees (here the zero joins the wall at t = 0, the others never).
    traj = simulate_owl(np.array([3.0, 0.0, 2.0]), np.zeros(3))
    assert traj.t_zero == np.inf and traj.events.size == 1
    with pytest.raises(ValueError, match="never reach 0"):
        traj.linkage


def test_lam_max_is_when_everything_stops():
    w = np.array([3.0, -1.0, 0.5])
    traj = simulate_owl(w, [1.0, 0.5, 0.5])
    assert traj.lam_max == traj.t_zero == 3.0
    np.testing.assert_array_equal(traj.prox(traj.lam_max), traj.prox(10 * traj.lam_max))
    still = simulate_owl(w, [1.0, 0.0, 0.0])  # the lowest cluster never moves
    np.testing.assert_array_equal(still.prox(still.lam_max), still.prox(10 * still.lam_max + 1))


def test_float32_in_float32_out(rng):
    w = rng.standard_normal(9).astype(np.float32)
    theta = oscar_weights(9, 0.1, 0.05)
    traj = simulate_owl(w, theta)
    assert traj.prox(0.5).dtype == np.float32 and traj.positions([0.1, 0.2]).dtype == np.float32
    np.testing.assert_allclose(traj.prox(0.5), prox_owl_reference(w, 0.5 * theta), rtol=0,
                               atol=tolerance(w, 0.5 * theta, np.float32))
    W = rng.standard_normal((9, 2)).astype(np.float32)
    growl = simulate_growl(W, theta)
    assert growl.prox(0.5).dtype == np.float32 and growl.positions(0.5).dtype == np.float32


def test_growl_answers_for_its_rows(rng):
    W = rng.standard_normal((8, 3))
    theta = oscar_weights(8, 0.1, 0.05)
    traj = simulate_growl(W, theta)
    t = 0.7
    np.testing.assert_allclose(traj.positions(t), np.linalg.norm(traj.prox(t), axis=1),
                               rtol=0, atol=tolerance(traj.row_norms, t * theta))
    assert traj.positions(np.array([0.1, t])).shape == (2, 8)
    k = 3
    lam = traj.lam_for_clusters(k)
    assert traj.n_clusters(lam) <= k < traj.n_clusters(np.nextafter(lam, 0))
    assert np.unique(traj.labels(lam)).size == traj.n_clusters(lam)
    assert traj.lam_max == traj.norms.lam_max and traj.events is traj.norms.events
