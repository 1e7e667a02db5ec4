"""Tests of the particle simulation (``particles``) against an independent oracle."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.cluster.hierarchy import fcluster, is_valid_linkage

from oracle import assert_close, oracle_prox, oracle_prox_rows, tolerance  # independent
from particles import EVENT_DTYPE, Trajectory, TrajectoryBatch, simulate
from prox import prox_ws


def groups(values):
    """Partition of indices into groups of equal values (as a set of frozensets)."""
    found = {}
    for i, value in enumerate(values):
        found.setdefault(value, set()).add(i)
    return {frozenset(g) for g in found.values()}


def lams_for(traj, n=7):
    """Strengths covering a trajectory: 0, every event time, between, beyond."""
    times = traj.times
    inner = (times[:-1] + times[1:]) / 2 if times.size > 1 else np.empty(0)
    return np.concatenate(([0.0], times, inner, [traj.lam_max * 1.5 + 1.0]))


def assert_prox_matches(w, traj, lams):
    for lam in lams:
        assert_close(traj.prox(lam), oracle_prox(w, lam), w, lam)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
weights = st.one_of(
    arrays(np.float64, st.integers(0, 40), elements=finite),
    arrays(np.float64, st.integers(0, 40), elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0])),
)


# ------------------------------------------------------------ correctness
@pytest.mark.parametrize("backend", ["numba", "torch"])
@settings(max_examples=60, deadline=None)
@given(w=weights)
def test_prox_equals_oracle_at_every_event_time(backend, w):
    traj = simulate(w, backend=backend)
    assert_prox_matches(w, traj, lams_for(traj))


@pytest.mark.parametrize("seed", range(4))
def test_random_input_many_lams(seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(200) * 10 ** rng.uniform(-3, 3)
    traj = simulate(w)
    assert_prox_matches(w, traj, np.concatenate((lams_for(traj)[::7], rng.uniform(0, 3, 20))))


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1.0])
def test_huge_and_tiny_scales(scale):
    rng = np.random.default_rng(1)
    base = rng.standard_normal(50)
    traj = simulate(base * scale)
    unit = simulate(base)
    # Time scales with the input: prox_{lam R}(a w) = a prox_{(lam/a) R}(w).
    np.testing.assert_allclose(traj.times / scale, unit.times, rtol=1e-12, atol=1e-15)
    for lam in unit.times[::5]:
        assert_close(traj.prox(lam * scale) / scale, oracle_prox(base, lam), base, lam)
    assert np.isfinite(traj.linkage).all()


def test_linkage_is_valid_and_cuts_like_the_prox():
    rng = np.random.default_rng(2)
    w = rng.standard_normal(80)
    traj = simulate(w)
    Z = traj.linkage
    assert Z.shape == (79, 4)
    assert is_valid_linkage(Z)
    assert (np.diff(Z[:, 2]) >= 0).all()
    assert Z[-1, 3] == 80
    times = traj.times
    for lam in np.concatenate(((times[:-1] + times[1:])[::6] / 2, [times[-1] + 1])):
        labels = fcluster(Z, lam, criterion="distance")
        assert groups(labels) == groups(oracle_prox(w, lam).round(12))
        assert traj.n_clusters(lam) == len(set(labels))
        assert groups(traj.labels(lam)) == groups(labels)


def test_labels_ordered_by_position():
    w = np.array([3.0, -1.0, 3.0, 0.5, 10.0])
    traj = simulate(w)
    labels = traj.labels(0.0)
    np.testing.assert_array_equal(labels, [2, 0, 2, 1, 3])  # equal weights share a label
    positions = traj.positions(0.4)
    order = np.argsort(positions, kind="stable")
    assert (np.diff(traj.labels(0.4)[order]) >= 0).all()


def test_events_record():
    w = np.array([0.0, 1.0, 5.0])
    traj = simulate(w)
    events = traj.events
    assert events.dtype == EVENT_DTYPE
    assert events.shape == (2,)
    np.testing.assert_array_equal(events["left"], traj.linkage[:, 0])
    np.testing.assert_array_equal(events["right"], traj.linkage[:, 1])
    np.testing.assert_array_equal(events["mass"], [2, 3])
    for event in events:  # the centre of mass where the merge happens
        pos = traj.positions(event["time"])
        members = pos[[0, 1]] if event["mass"] == 2 else pos
        assert np.isclose(members.mean(), event["position"])
    np.testing.assert_allclose(traj.prox(0.5), [0.5, 1.0, 4.5])
    assert traj.lam_max == pytest.approx(events["time"][-1])


def test_positions_continuous_ordered_and_mean_kept():
    rng = np.random.default_rng(3)
    w = rng.standard_normal(60)
    traj = simulate(w)
    t = np.linspace(0, traj.lam_max * 1.2, 400)
    paths = traj.positions(t)
    assert paths.shape == (400, 60)
    np.testing.assert_allclose(paths.mean(axis=1), w.mean(), atol=1e-12)
    order = np.argsort(w, kind="stable")
    assert (np.diff(paths[:, order], axis=1) >= -1e-12).all()  # never cross
    # Lipschitz in t with constant 1 (every speed is at most 1): continuous.
    assert (np.abs(np.diff(paths, axis=0)) <= np.diff(t)[:, None] + 1e-12).all()
    # Around an event time, both sides agree.
    for time in traj.times[::10]:
        np.testing.assert_allclose(traj.positions(time), traj.positions(time + 1e-12), atol=1e-11)
    np.testing.assert_allclose(traj.positions(traj.lam_max + 1), np.full(60, w.mean()), atol=1e-12)


def test_event_times_never_decrease_and_are_reproducible():
    rng = np.random.default_rng(4)
    w = np.round(rng.standard_normal(300), 1)  # many ties
    first, second = simulate(w), simulate(w)
    assert (np.diff(first.times) >= 0).all()
    np.testing.assert_array_equal(first.events, second.events)
    np.testing.assert_array_equal(first.linkage, second.linkage)


def test_ties_merge_at_time_zero_left_to_right():
    w = np.array([2.0, 1.0, 2.0, 2.0, 1.0])
    traj = simulate(w)
    assert traj.n_clusters(0.0) == 2
    assert (traj.times[:3] == 0).all() and traj.times[3] > 0
    # left to right in sorted order: the 1.0s (indices 1, 4), then the 2.0s.
    np.testing.assert_array_equal(traj.linkage[:3, :2], [[1, 4], [0, 2], [6, 3]])
    np.testing.assert_array_equal(traj.prox(0.0), w)
    assert traj.lam_for_clusters(2) == 0.0
    assert traj.lam_for_clusters(1) == traj.lam_max


@pytest.mark.parametrize("d", [0, 1, 2, 3])
def test_small_d(d):
    w = np.arange(d, dtype=np.float64)[::-1] * 1.5
    for backend in ("numba", "torch"):
        traj = simulate(w, backend=backend)
        assert traj.linkage.shape == (max(d - 1, 0), 4)
        assert traj.events.shape == (max(d - 1, 0),)
        assert traj.positions(0.7).shape == (d,)
        assert traj.positions(np.array([0.0, 0.5])).shape == (2, d)
        assert_prox_matches(w, traj, [0.0, 0.3, 1.0, 5.0])
        assert traj.n_clusters(100.0) == min(d, 1)
    assert simulate(np.array([4.0])).lam_max == 0.0
    assert simulate(np.empty(0)).lam_max == 0.0


def test_lam_for_clusters():
    rng = np.random.default_rng(5)
    w = rng.standard_normal(40)
    traj = simulate(w)
    for k in range(1, 41):
        lam = traj.lam_for_clusters(k)
        assert traj.n_clusters(lam) <= k
        if lam > 0:
            assert traj.n_clusters(np.nextafter(lam, 0)) > k
    assert traj.lam_for_clusters(40) == 0.0 and traj.lam_for_clusters(100) == 0.0


# ------------------------------------------------------------- dtypes, kinds
@pytest.mark.parametrize("backend", ["numba", "torch", "torch_events"])
def test_float32_in_float32_out_and_integers_in_float64(backend):
    # The dtype policy of prox: float32 stays float32 (positions too), integers give float64.
    rng = np.random.default_rng(6)
    w32 = rng.standard_normal(30).astype(np.float32)
    traj = simulate(w32, backend=backend)
    assert traj.prox(0.3).dtype == np.float32 and isinstance(traj.prox(0.3), np.ndarray)
    assert traj.positions(np.array([0.1, 0.3])).dtype == np.float32
    np.testing.assert_allclose(traj.prox(0.3), prox_ws(w32, 0.3), rtol=0,
                               atol=tolerance(w32, 0.3, np.float32))
    wi = rng.integers(-5, 5, 25)
    traj = simulate(wi, backend=backend)
    assert traj.prox(0.3).dtype == np.float64
    assert_prox_matches(wi, traj, lams_for(traj)[::3])


def test_torch_input_returns_tensors_of_input_dtype():
    w = torch.randn(30, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    for backend in (None, "numba"):
        traj = simulate(w, backend=backend)
        assert traj.backend == (backend or "torch")
        out = traj.prox(0.2)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
        assert out.device == w.device
        assert traj.positions(torch.tensor([0.1, 0.2])).shape == (2, 30)
    assert simulate(torch.arange(5)).prox(1.0).dtype == torch.float64
    assert simulate(np.arange(5.0)).backend == "numba"
    assert simulate(np.arange(5.0), backend="torch").backend == "torch"


# ------------------------------------------------------------- backends agree
def _partitions(traj):
    """The clusters after every distinct merge time, from the linkage alone."""
    members = {i: frozenset([i]) for i in range(traj.d)}
    alive = set(members.values())
    out = {}
    for j, (left, right, time, _) in enumerate(traj.linkage):
        merged = members[int(left)] | members[int(right)]
        alive -= {members[int(left)], members[int(right)]}
        alive.add(merged)
        members[traj.d + j] = merged
        out[time] = frozenset(alive)  # the last merge at this time wins
    return out


def _groups(labels):
    return frozenset(frozenset(np.flatnonzero(labels == k).tolist()) for k in np.unique(labels))


@pytest.mark.parametrize("backend", ["torch", "torch_events"])
@pytest.mark.parametrize("seed", range(5))
def test_numba_and_torch_give_the_same_merge_tree(seed, backend):
    # Same merges at the same times, up to the order of simultaneous merges
    # (a tie of k equal weights may be joined as a different binary tree).
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(int(rng.integers(2, 150)))
    if seed % 2:
        w = np.round(w, 1)
    numba_traj, torch_traj = simulate(w), simulate(w, backend=backend)
    scale = np.abs(w).max()
    np.testing.assert_allclose(torch_traj.times, numba_traj.times, rtol=1e-12,
                               atol=tolerance(w, 0.0))
    if backend == "torch_events":  # the same arithmetic as Numba: bitwise equal times
        assert _partitions(numba_traj) == _partitions(torch_traj)
    # Between any two distinct merge times both trees hold the same groups.
    times = np.unique(numba_traj.times)
    distinct = times[np.append(np.diff(times) > 1e-9 * (scale + times[1:]), True)]
    for t in np.concatenate(([0.0], (distinct[1:] + distinct[:-1]) / 2, [distinct[-1] + 1])):
        assert _groups(numba_traj.labels(t)) == _groups(torch_traj.labels(t))


def test_torch_batch_rows_and_rounds():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((4, 64))
    w[1] = np.sort(w[1])
    w[2, :10] = 0.25  # ties
    trajs = simulate(torch.from_numpy(w))
    assert isinstance(trajs, TrajectoryBatch) and len(trajs) == 4
    assert trajs.rounds == max(traj.rounds for traj in trajs)
    batch_prox = trajs.prox(0.3)
    assert isinstance(batch_prox, torch.Tensor) and batch_prox.shape == (4, 64)
    np.testing.assert_allclose(batch_prox.numpy(), oracle_prox_rows(w, 0.3),
                               atol=tolerance(w, 0.3))
    assert trajs.positions(np.array([0.0, 0.3])).shape == (4, 2, 64)
    np.testing.assert_array_equal(trajs.n_clusters(0.3), [t.n_clusters(0.3) for t in trajs])
    for row, traj in zip(w, trajs):
        single = simulate(row)
        np.testing.assert_allclose(np.sort(traj.times), np.sort(single.times), rtol=1e-12)
        assert isinstance(traj.rounds, int) and 1 <= traj.rounds <= np.log2(64) ** 3
        assert_prox_matches(row, traj, lams_for(single)[::9])


def test_torch_backends_on_cascade():
    from prox.worst_cases import cascade

    w = cascade(64)
    events = simulate(torch.from_numpy(w), backend="torch_events")
    np.testing.assert_allclose(events.times, simulate(w).times, rtol=1e-12)
    assert events.rounds >= 40  # one absorption per round: inherently sequential
    # The time split does not follow the events: far fewer rounds than the tree's height 63.
    split = simulate(torch.from_numpy(w))
    np.testing.assert_allclose(split.times, simulate(w).times, rtol=1e-12)
    assert split.rounds < events.rounds and split.rounds <= np.log2(64) ** 3


# ------------------------------------------------------------- solver registry
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_method_events_equals_pava(dtype):
    rng = np.random.default_rng(8)
    w = (rng.standard_normal((3, 5, 50)) * 3).astype(dtype)
    w[0, 0, :20] = 1.0
    for lam in [0.0, 0.01, 0.7, 3.0, 100.0]:
        events = prox_ws(w, lam, method="events")
        assert events.dtype == dtype and events.shape == w.shape
        tolerance = (1e-12 if dtype == np.float64 else 1e-5) * (9 + lam)
        np.testing.assert_allclose(events, prox_ws(w, lam, method="pava"), rtol=0, atol=tolerance)
    before = w.copy()
    prox_ws(w, 1.0, method="events")
    np.testing.assert_array_equal(w, before)


def test_trajectory_prox_equals_prox_ws():
    w = np.random.default_rng(9).standard_normal(100)
    traj = simulate(w)
    for lam in [0.0, 0.05, 0.5, 2.0]:
        np.testing.assert_allclose(traj.prox(lam), prox_ws(w, lam), rtol=0, atol=1e-12)
    assert isinstance(traj, Trajectory)


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "w, error, match",
    [
        (np.array([1.0, np.nan]), ValueError, "NaN or infinite"),
        (np.array([1.0, np.inf]), ValueError, "NaN or infinite"),
        (np.array([True, False]), TypeError, "dtype bool"),
        (np.array([1 + 2j]), TypeError, "dtype complex"),
        (np.array(["a", None], dtype=object), TypeError, "dtype object"),
        (torch.tensor([1.0, float("nan")]), ValueError, "NaN or infinite"),
        (torch.tensor([True]), TypeError, "torch.bool"),
        (np.zeros((2, 3)), ValueError, "shape"),
    ],
)
def test_bad_weights(w, error, match):
    with pytest.raises(error, match=match):
        simulate(w)


def test_bad_backend_and_times():
    with pytest.raises(ValueError, match="Unknown backend 'cuda'"):
        simulate(np.ones(3), backend="cuda")
    with pytest.raises(ValueError, match="Unknown backend 1"):
        simulate(np.ones(3), backend=1)
    traj = simulate(np.array([0.0, 1.0, 3.0]))
    for bad, error, match in [
        (-1.0, ValueError, "Invalid t: -1.0"),
        (np.inf, ValueError, "must be finite"),
        (np.nan, ValueError, "must be finite"),
        (np.array([0.1, -0.2]), ValueError, "must be >= 0"),
        (np.array([0.1, np.nan]), ValueError, "NaN or infinite"),
        (True, TypeError, "bool"),
        ("1", TypeError, "real number"),
    ]:
        with pytest.raises(error, match=match):
            traj.positions(bad)
    with pytest.raises(ValueError, match="Invalid lam: -0.5"):
        traj.prox(-0.5)
    with pytest.raises(ValueError, match="Invalid t"):
        traj.labels(float("inf"))
    with pytest.raises(ValueError, match="Invalid k: 0"):
        traj.lam_for_clusters(0)
    with pytest.raises(TypeError, match="Invalid k"):
        traj.lam_for_clusters(1.5)


def test_torch_rounds_do_not_trust_neighbours_alone():
    # Regression: merging every pair earlier than both neighbouring pairs (the
    # rule docs/maths.md, 'Algorithms', warns about) gets this input wrong near lam 1.4-2.
    w = np.random.default_rng(0).standard_normal(20)
    traj = simulate(torch.from_numpy(w), backend="torch_events")
    assert_prox_matches(w, traj, np.linspace(0.0, 2.2, 45))
