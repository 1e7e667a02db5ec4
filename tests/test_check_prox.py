"""check_prox: how far a claimed prox is from the exact one, judged at the problem's scale."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from prox import ProxCheck, check_prox, prox_ws
from prox.check import _count_strict_inversions


@pytest.mark.parametrize("scale", [1e-9, 1e-200, 1.0, 1e200])
def test_tiny_and_huge_weights_are_judged_at_their_scale(scale):
    w = scale * np.random.default_rng(0).normal(size=300)
    exact = prox_ws(w, 0.1 * scale)
    assert check_prox(w, 0.1 * scale, exact).exact
    # An all-zero answer is far from the prox at this scale: never "exact".
    report = check_prox(w, 0.1 * scale, np.zeros(300))
    assert not report.exact
    # The gap scales like scale**2: representable for these two, inf / 0 beyond.
    if 1e-100 < scale < 1e100:
        assert np.isfinite(report.objective_gap) and report.objective_gap > 0
    else:
        assert not np.isnan(report.objective_gap)
    assert report.tol == pytest.approx(1e-7 * (np.abs(w).max() + 0.1 * scale))


def test_tolerance_includes_lam():
    w = np.array([0.0, 1.0])
    assert check_prox(w, 10.0, prox_ws(w, 10.0)).tol == pytest.approx(1e-7 * 11.0)


# ----------------------------------------------------------------- check_prox
@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0, 50.0])
def test_check_prox_of_exact_prox(lam):
    w = np.random.default_rng(1).normal(size=300)
    report = check_prox(w, lam, prox_ws(w, lam))
    assert isinstance(report, ProxCheck)
    assert report.exact
    assert abs(report.objective_gap) < 1e-9
    assert report.max_deviation == 0.0
    assert report.order_violations.count == 0 and report.order_violations.examples == ()
    assert report.differing_groups == ()
    np.testing.assert_array_equal(report.optimum, prox_ws(w, lam))


def test_check_prox_of_perturbed_prox():
    w = np.random.default_rng(2).normal(size=200)
    u = prox_ws(w, 1.0).copy()
    u[[5, 17]] += [0.05, -0.2]
    report = check_prox(w, 1.0, u)
    assert not report.exact
    assert report.objective_gap > 0
    assert report.max_deviation == pytest.approx(0.2)
    flagged = set(itertools.chain.from_iterable(g.indices for g in report.differing_groups))
    assert {5, 17} <= flagged
    for g in report.differing_groups:
        assert set(g.reasons) <= {"split", "merged", "shifted"} and g.reasons


def test_check_prox_counts_order_violations_like_brute_force():
    rng = np.random.default_rng(3)
    w = rng.integers(0, 6, size=60).astype(float)  # ties in w
    u = rng.integers(0, 6, size=60).astype(float)  # ties in u
    brute = sum(1 for i in range(60) for j in range(60) if w[i] < w[j] and u[i] > u[j])
    report = check_prox(w, 0.5, u)
    assert report.order_violations.count == brute
    assert 0 < len(report.order_violations.examples) <= 5
    for i, j in report.order_violations.examples:
        assert w[i] < w[j] and u[i] > u[j]


@pytest.mark.parametrize("d", [0, 1, 2, 3, 8, 33])
def test_strict_inversions(d):
    values = np.random.default_rng(d).integers(0, 4, size=d).astype(float)
    brute = sum(1 for a in range(d) for b in range(a + 1, d) if values[a] > values[b])
    assert _count_strict_inversions(values) == brute


def test_check_prox_merged_group():
    w = np.array([0.0, 1.0, 10.0, 11.0])
    u = np.full(4, 5.5)  # at lam = 2 the exact groups are {0, 1} and {2, 3}
    assert len(np.unique(prox_ws(w, 2.0))) == 2
    report = check_prox(w, 2.0, u)
    assert [g.reasons for g in report.differing_groups] == [("merged", "shifted")] * 2


@pytest.mark.parametrize(
    ("w", "lam", "candidate", "match"),
    [
        ([1.0, 2.0, 3.0], 1.0, [1.0, 2.0], r"2 entries but w has 3"),
        ([1.0, 2.0], -1.0, [1.0, 2.0], r"Invalid lam"),
        ([1.0, np.nan], 1.0, [1.0, 2.0], r"Invalid w"),
        ([1.0, 2.0], 1.0, [1.0, np.inf], r"Invalid candidate"),
        ([[1.0, 2.0]], 1.0, [[1.0, 2.0]], r"1-D"),
    ],
)
def test_check_prox_errors(w, lam, candidate, match):
    with pytest.raises(ValueError, match=match):
        check_prox(w, lam, candidate)
