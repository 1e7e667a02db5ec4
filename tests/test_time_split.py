"""The time split (``particles.backends.time_split``): gap times, tree, prox, rounds.

Oracles, independent of the package: gap times by brute force from the
formula ``t_g = (d-1) min_{i <= g < j} (mean x[g+1..j] - mean x[i..g]) / (j-i+1)``
(exact rational arithmetic for small d), the prox by plain stack PAVA
(``tests/oracle.py``), and the Numba event simulation on generic input.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from oracle import oracle_prox, tolerance
from particles import simulate
from particles.backends.time_split import events_from_gap_times, gap_times_rows
from prox.worst_cases import cascade, input_families


def brute_gap_times(x) -> list[Fraction]:
    """Exact gap times of sorted ``x`` (O(d^3) rational arithmetic; small d only)."""
    x = [Fraction(float(v)) for v in x]
    d = len(x)
    prefix = [Fraction(0)]
    for v in x:
        prefix.append(prefix[-1] + v)
    times = []
    for g in range(d - 1):
        best = None
        for i in range(g + 1):
            left = (prefix[g + 1] - prefix[i]) / (g + 1 - i)
            for j in range(g + 1, d):
                right = (prefix[j + 1] - prefix[g + 1]) / (j - g)
                value = (d - 1) * (right - left) / (j - i + 1)
                best = value if best is None or value < best else best
        times.append(best)
    return times


def gap_times(x) -> np.ndarray:
    xs = torch.as_tensor(np.sort(np.asarray(x, np.float64)))[None]
    return gap_times_rows(xs)[0][0].numpy()


def assert_close_times(got, exact, x):
    # A time error dt moves a cluster by at most dt (speeds <= 1): compare on the
    # scale positions are compared on.
    exact = np.array([float(t) for t in exact])
    np.testing.assert_allclose(got, exact, rtol=0, atol=tolerance(x, exact))


def prox_from_gap_times(x_sorted, times, t):
    """Sorted positions at time t: clusters between gaps still open, at mean + t * velocity."""
    d = len(x_sorted)
    starts = np.concatenate(([0], np.flatnonzero(times > t) + 1))
    stops = np.append(starts[1:], d)
    out = np.empty(d)
    for a, b in zip(starts, stops):
        out[a:b] = np.mean(x_sorted[a:b]) + t * (d - a - b) / (d - 1)
    return out


# ------------------------------------------------------------------ gap times
@pytest.mark.parametrize("d", [2, 3, 4, 7, 12])
@pytest.mark.parametrize("name", list(input_families(4, np.random.default_rng(0))))
def test_gap_times_match_exact_oracle_on_every_family(name, d):
    x = np.sort(input_families(d, np.random.default_rng(d))[name])
    assert_close_times(gap_times(x), brute_gap_times(x), x)


@given(st.lists(st.integers(-3, 3), min_size=2, max_size=11),
       st.sampled_from([1.0, 0.1, 2.0**-30, 1e200]))
def test_gap_times_hypothesis_small_integers_scaled(values, unit):
    # Small integers: many ties, grids and mirrored pieces; scaled far up and down.
    x = np.sort(np.array(values, np.float64) * unit)
    assert_close_times(gap_times(x), brute_gap_times(x), x)


@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=9))
def test_gap_times_hypothesis_floats(values):
    x = np.sort(np.array(values, np.float64))
    assert_close_times(gap_times(x), brute_gap_times(x), x)


@pytest.mark.parametrize("d", [2, 3, 64, 1000, 4096])
def test_grid_closes_at_one_instant_exactly(d):
    times = gap_times(np.arange(d, dtype=np.float64))
    assert (times == (d - 1) / 2).all()
    times = gap_times(5.0 - 0.25 * np.arange(d))  # any exactly representable affine grid
    assert (times == 0.25 * (d - 1) / 2).all()


def test_ties_close_at_zero_exactly():
    x = np.array([0.1, 0.1, 0.1, 0.7, 0.7, 3.0, 3.0, 3.0, 3.0])
    times = gap_times(x)
    assert (times[[0, 1, 3, 5, 6, 7]] == 0.0).all()
    assert (times[[2, 4]] > 0).all()
    assert (gap_times(np.full(77, 2.5)) == 0.0).all()


@pytest.mark.parametrize("d", [0, 1])
def test_no_gaps(d):
    times, stats = gap_times_rows(torch.zeros((3, d), dtype=torch.float64))
    assert times.shape == (3, max(d - 1, 0)) and stats["rounds"] == 0


def test_rows_are_independent():
    rng = np.random.default_rng(3)
    rows = np.sort(np.stack([rng.standard_normal(40), cascade(40), np.arange(40.0),
                             np.full(40, -1.0), np.round(rng.standard_normal(40))]), axis=1)
    batch = gap_times_rows(torch.from_numpy(rows))[0].numpy()
    for r in range(rows.shape[0]):
        np.testing.assert_array_equal(batch[r], gap_times(rows[r]))


# -------------------------------------------------------------- prox and tree
@pytest.mark.parametrize("name", list(input_families(4, np.random.default_rng(0))))
def test_prox_from_gap_times_matches_oracle(name):
    w = input_families(300, np.random.default_rng(11))[name]
    x = np.sort(w)
    times = gap_times(x)
    order = np.argsort(w, kind="stable")
    t_max = times.max()
    for t in np.concatenate((np.linspace(0, 1.2 * t_max, 23), np.unique(times)[::17])):
        got = np.empty_like(w)
        got[order] = prox_from_gap_times(x, times, t)
        np.testing.assert_allclose(got, oracle_prox(w, t), rtol=0, atol=tolerance(w, t))


@pytest.mark.parametrize("seed,d", [(0, 2), (1, 3), (2, 50), (3, 500), (4, 3000)])
def test_tree_identical_to_simulate_on_random_input(seed, d):
    w = np.random.default_rng(seed).standard_normal(d)
    ours, reference = simulate(w, backend="torch"), simulate(w, backend="numba")
    np.testing.assert_array_equal(ours.linkage[:, [0, 1, 3]], reference.linkage[:, [0, 1, 3]])
    # Relative to the time plus the input's scale: both computations difference
    # means, so a time near 0 carries an absolute error of order eps * max|w|.
    np.testing.assert_allclose(ours.times, reference.times, rtol=1e-12,
                               atol=tolerance(w, 0.0))
    np.testing.assert_allclose(ours.events["position"], reference.events["position"],
                               rtol=0, atol=tolerance(w, 0.0))
    for lam in (0.0, 0.3, ours.lam_max / 2, ours.lam_max):
        np.testing.assert_allclose(ours.prox(lam), oracle_prox(w, lam), rtol=0,
                                   atol=tolerance(w, lam))


def test_events_are_a_valid_merge_order():
    # Equal times (a grid merges all at once) still give a tree built bottom up.
    x = np.arange(9, dtype=np.float64)
    time, head, split, stop, _ = events_from_gap_times(x, gap_times(x))
    assert (np.diff(time) >= 0).all()
    assert sorted(split - 1) == list(range(8))
    assert head[-1] == 0 and stop[-1] == 9
    traj = simulate(x, backend="torch")
    from scipy.cluster.hierarchy import is_valid_linkage
    assert is_valid_linkage(traj.linkage)


def test_torch_batch_float32_and_errors():
    rows = torch.randn(4, 30, generator=torch.Generator().manual_seed(0)).to(torch.float32)
    trajs = simulate(rows, backend="torch")
    assert len(trajs) == 4
    for r, traj in enumerate(trajs):
        prox = traj.prox(0.4)
        assert prox.dtype == torch.float32
        np.testing.assert_allclose(prox.numpy(), oracle_prox(rows[r].double().numpy(), 0.4),
                                   atol=tolerance(rows[r].numpy(), 0.4, np.float32))
    with pytest.raises(ValueError, match="Invalid w"):
        simulate(np.zeros((2, 3, 4)), backend="torch")
    with pytest.raises(ValueError, match="NaN"):
        simulate(np.array([0.0, np.nan]), backend="torch")
    with pytest.raises(ValueError, match="probes"):
        gap_times_rows(torch.zeros((1, 4), dtype=torch.float64), probes=1)
    with pytest.raises(ValueError, match="Invalid xs"):
        gap_times_rows(torch.zeros((1, 4), dtype=torch.float32))


# ---------------------------------------------------------------- the rounds
@pytest.mark.parametrize("log_d", [10, pytest.param(12, marks=pytest.mark.slow)])
def test_rounds_within_log_cubed_on_every_family(log_d):
    # All families as the rows of ONE batch: a batch's rounds are at least each
    # row's own (every level waits for its longest search), so the bound on
    # the batch bounds every family.
    d = 1 << log_d
    rows = np.sort(np.stack(list(input_families(d, np.random.default_rng(log_d)).values())), axis=1)
    _, stats = gap_times_rows(torch.from_numpy(rows))
    assert stats["rounds"] <= log_d ** 3, stats
    proven = math.floor(math.log2(d - 1)) + math.ceil(63 / math.log2(8)) + 1
    assert stats["levels"] <= proven, stats
