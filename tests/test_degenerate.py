"""Degenerate geometry: grids, quantized levels, mirrored sets, ties, extreme scales.

On these inputs many particles collide at the same instant (on an evenly spaced
grid every gap closes at once), which is where an event simulation that trusts
floating-point time order goes wrong. Every solver and both simulation
backends are checked against the oracle, and every query of a Trajectory
(positions, labels, linkage, n_clusters, lam_for_clusters) against the others.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import fcluster, is_valid_linkage

import particles
from oracle import oracle_prox, tolerance
from prox import SOLVERS, prox_ws

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------- inputs
@st.composite
def degenerate_weights(draw, max_d: int = 40):
    """Vectors where collisions coincide: grids, quantized levels, few spacings, mirrors."""
    d = draw(st.integers(1, max_d))
    kind = draw(st.sampled_from(["grid", "int8", "spacings", "mirrored", "ties"]))
    if kind == "grid":  # evenly spaced, in a random order, at a random offset and step
        step = draw(st.sampled_from([1.0, 0.1, 0.25, 3.0, 1e-3]))
        w = draw(st.integers(-5, 5)) + step * np.arange(d)
        w = w[draw(st.permutations(range(d)))] if d > 1 else w
    elif kind == "int8":  # quantized levels, as an int8 layer's weights times its scale
        levels = draw(st.lists(st.integers(-128, 127), min_size=d, max_size=d))
        w = np.array(levels, dtype=np.float64) * draw(st.sampled_from([1.0, 2.0**-7, 0.05]))
    elif kind == "spacings":  # sorted positions with a few distinct spacings
        spacing = draw(st.lists(st.sampled_from([0.5, 1.0, 1.5, 4.0]), min_size=d, max_size=d))
        w = np.cumsum(spacing) - 7.0
    elif kind == "mirrored":  # a set and its negative (and maybe 0): symmetric collisions
        half = draw(st.lists(st.integers(0, 6), min_size=max(d // 2, 1), max_size=max(d // 2, 1)))
        w = np.array(half + [-h for h in half] + [0] * draw(st.integers(0, 1)), np.float64)
    else:  # a few values repeated: ties at t = 0 and equal clusters later
        values = draw(st.lists(st.sampled_from([-2.0, -1.0, 0.0, 1.0, 3.0]), min_size=d,
                               max_size=d))
        w = np.array(values)
    return np.asarray(w, dtype=np.float64)


def event_and_mid_times(traj) -> np.ndarray:
    """Times where something happens (every merge) and between them, and past lam_max."""
    times = np.unique(traj.times)
    mids = (times[1:] + times[:-1]) / 2 if times.size > 1 else np.empty(0)
    return np.concatenate(([0.0], times, mids, [traj.lam_max * 1.5 + 1.0]))


def assert_close_to_oracle(got, w, lam):
    np.testing.assert_allclose(np.asarray(got, np.float64), oracle_prox(w, lam), rtol=0,
                               atol=tolerance(w, lam))


def assert_queries_agree(traj, w):
    """positions, prox, labels, n_clusters, linkage and lam_for_clusters tell one story."""
    d = w.size
    times = event_and_mid_times(traj)
    positions = np.asarray(traj.positions(times))
    for t, row in zip(times, positions):
        assert_close_to_oracle(row, w, t)
        np.testing.assert_array_equal(row, np.asarray(traj.prox(t)))
        labels = traj.labels(t)
        n = traj.n_clusters(t)
        assert labels.max(initial=-1) + 1 == n
        # Labels run in increasing order of position, one position per label.
        order = np.argsort(labels, kind="stable")
        assert np.all(np.diff(row[order]) >= -tolerance(w, t))
        for label in range(n):
            members = row[labels == label]
            assert np.ptp(members) <= 2 * tolerance(w, t)
        if d > 1:
            # SciPy's cut of the merge tree at t gives the same partition.
            cut = fcluster(traj.linkage, t, criterion="distance")
            pairs = {(a, b) for a, b in zip(labels, cut)}
            assert len(pairs) == n == len(set(cut.tolist()))
    if d > 1:
        assert is_valid_linkage(traj.linkage)
        assert np.all(np.diff(traj.linkage[:, 2]) >= 0)
        assert traj.linkage[-1, 3] == d
    for k in range(1, d + 1):
        lam_k = traj.lam_for_clusters(k)
        assert traj.n_clusters(lam_k) <= k
        if lam_k > 0:
            assert traj.n_clusters(np.nextafter(lam_k, 0)) > k


# ----------------------------------------------------------------- the regressions
def test_grid_of_seven_merges_completely_and_exactly():
    # Every gap of arange(7) closes at t = 3: six simultaneous collisions.
    w = np.arange(7.0)
    traj = particles.simulate(w)
    assert traj.lam_max == pytest.approx(3.0, rel=1e-15)
    assert traj.n_clusters(3.0) == 1 and traj.n_clusters(2.999) == 7
    np.testing.assert_allclose(SOLVERS["events"](w, 10.0), np.full(7, 3.0), rtol=0, atol=1e-14)


@pytest.mark.parametrize("family", ["arange", "linspace", "tenths"])
def test_grids_up_to_d_199(family):
    # The sweep a new user ran: 394 of these 594 inputs used to fail.
    for d in range(2, 200):
        w = {"arange": np.arange(d, dtype=np.float64), "linspace": np.linspace(-1, 1, d),
             "tenths": 0.1 * np.arange(d)}[family]
        traj = particles.simulate(w)
        lam_max = (d - 1) / 2 * (w[1] - w[0])  # every gap closes at once
        assert traj.lam_max == pytest.approx(lam_max, rel=1e-12)
        for lam in (0.5 * lam_max, lam_max, 10.0):
            assert_close_to_oracle(traj.prox(lam), w, lam)
            assert_close_to_oracle(SOLVERS["events"](w, lam), w, lam)


def test_pasted_vector_from_the_app():
    w = np.array([-5, 4, 0, 4, -3, -2, 2], dtype=np.float64)
    assert_queries_agree(particles.simulate(w), w)


# ----------------------------------------------------------------- properties
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(w=degenerate_weights())
def test_numba_trajectory_on_degenerate_inputs(w):
    assert_queries_agree(particles.simulate(w), w)


@pytest.mark.parametrize("backend", ["torch", "torch_events"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(w=degenerate_weights(max_d=24))
def test_torch_trajectory_on_degenerate_inputs(backend, w):
    traj = particles.simulate(torch.from_numpy(w), backend=backend)
    assert traj.backend == backend
    assert_queries_agree(traj, w)
    reference = particles.simulate(w)
    np.testing.assert_allclose(traj.times, reference.times, rtol=1e-12,
                               atol=tolerance(w, 0.0))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(w=degenerate_weights(), data=st.data())
def test_every_solver_on_degenerate_inputs(w, data):
    traj = particles.simulate(w)
    # Exactly at merge times (where simultaneous collisions happen) and at random times.
    candidates = np.concatenate((traj.times, [0.0, 0.7, 2.0 * traj.lam_max + 1.0]))
    lam = float(data.draw(st.sampled_from(candidates.tolist())))
    for name, solver in SOLVERS.items():
        assert_close_to_oracle(solver(w, lam), w, lam)


@pytest.mark.parametrize("backend", ["torch", "torch_events"])
def test_batched_torch_rows_of_grids_and_levels(backend):
    rows = np.stack([np.arange(12.0), np.linspace(-1, 1, 12), np.repeat([0.0, 1, 2], 4),
                     np.r_[np.arange(6.0), -np.arange(6.0)]])
    trajectories = particles.simulate(torch.from_numpy(rows), backend=backend)
    for row, traj in zip(rows, trajectories):
        assert_queries_agree(traj, row)


# ----------------------------------------------------------------- extreme scales
SCALES = [1e-300, 1e-150, 1.0, 1e150, 1e300, 1e308]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("method", sorted(SOLVERS))
def test_every_solver_is_finite_and_exact_at_extreme_scales(scale, method):
    unit = np.array([1.0, -1.0, 0.0, 0.5, -0.25, 0.75, 0.75])
    w = unit * scale
    for lam_unit in (0.0, 0.3, 1.0, 1.75):  # 1.75e308 is still finite
        lam = lam_unit * scale
        got = np.asarray(SOLVERS[method](w, lam))
        assert np.isfinite(got).all()
        # The scaling law gives the exact answer from the unit-scale problem.
        expected = oracle_prox(unit, lam_unit) * scale
        np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance(w, lam))


def test_prox_of_opposite_maxima_at_huge_lam():
    np.testing.assert_array_equal(prox_ws(np.array([1e308, -1e308]), 1e308), [0.0, 0.0])
    lam = float(np.finfo(np.float64).max)
    w = np.array([1.7e308, -1.7e308, 1.7e308])
    scale = 2.0**1023
    expected = oracle_prox(w / scale, lam / scale) * scale  # by hand: [0.80, 0.098, 0.80]e308
    np.testing.assert_allclose(prox_ws(w, lam), expected, rtol=1e-12)
    np.testing.assert_allclose(expected, [0.8015e308, 0.0977e308, 0.8015e308], rtol=1e-3)


def test_float32_near_its_maximum():
    w = torch.tensor([3e38, -3e38, 1e38])
    for method in SOLVERS:
        got = prox_ws(w, 3e38, method=method)
        assert got.dtype == torch.float32 and torch.isfinite(got).all()
        # By hand: z = sort(w) + lam c = [0, 1e38, 0], pooled to [0, 0.5e38, 0.5e38].
        np.testing.assert_allclose(got.double().numpy(), [0.5e38, 0.0, 0.5e38], rtol=0,
                                   atol=tolerance(w.numpy(), 3e38, np.float32))


@pytest.mark.parametrize("w", [[9e307, 0.0], [1e308, -1e308, 0.0], [1e-300, -1e-300, 2e-300]])
@pytest.mark.parametrize("backend", ["numba", "torch", "torch_events"])
def test_simulation_at_extreme_scales(w, backend):
    w = np.array(w)
    traj = particles.simulate(w if backend == "numba" else torch.from_numpy(w), backend=backend)
    assert np.isfinite(traj.times).all()
    for t in np.concatenate(([0.0], traj.times, [min(traj.lam_max * 2, 1.7e308)])):
        got = np.asarray(traj.prox(t))
        assert np.isfinite(got).all()
        scale = np.ldexp(1.0, np.frexp(np.abs(w).max())[1] - 1)  # a power of two <= max|w|
        np.testing.assert_allclose(got, oracle_prox(w / scale, t / scale) * scale,
                                   rtol=0, atol=tolerance(w, t))


def test_simulation_whose_merge_times_overflow_is_a_clear_error():
    # 1000 weights at +-1e308: the last merge would come after t = 1.8e308.
    w = np.repeat([-1e308, 1e308], 500)
    with pytest.raises(ValueError, match="float64 range"):
        particles.simulate(w)
    with pytest.raises(ValueError, match="float64 range"):
        particles.simulate(torch.from_numpy(w))


# ----------------------------------------------------------------- no asserts on input
def test_package_code_has_no_assert_statements():
    # ``assert`` vanishes under ``python -O``; input-dependent checks must raise.
    offenders = []
    for package in ("prox", "particles", "demo", "networks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
                          if isinstance(node, ast.Assert)]
    assert not offenders, f"assert statements in package code: {offenders}"
