"""OWL / GrOWL / OSCAR."""
from __future__ import annotations

import numpy as np
import pytest

from oracle import cvxpy_prox_owl, tolerance
from prox.owl import (
    compression_stats,
    growl_penalty,
    oscar_weights,
    owl_penalty,
    prox_growl,
    prox_owl,
)


@pytest.mark.parametrize("d", [1, 2, 5, 12])
@pytest.mark.parametrize("lam1, lam2", [(0.1, 0.05), (0.0, 0.3), (1.0, 0.0), (0.4, 0.2)])
def test_prox_owl_matches_cvxpy(d, lam1, lam2, rng):
    w = rng.standard_normal(d) * 2
    lam = oscar_weights(d, lam1, lam2)
    # An interior-point solver is accurate to 1e-8 .. 1e-6 (worst next to a kink of
    # the penalty, an entry just at its threshold), not to rounding.
    np.testing.assert_allclose(prox_owl(w, lam), cvxpy_prox_owl(w, lam), rtol=0,
                               atol=tolerance(w, lam, rel=1e-6))


def test_owl_with_equal_weights_is_soft_threshold(rng):
    w = rng.standard_normal(30)
    expected = np.sign(w) * np.maximum(np.abs(w) - 0.3, 0)
    np.testing.assert_allclose(prox_owl(w, np.full(30, 0.3)), expected, atol=1e-12)


def test_owl_and_growl_penalties():
    w = np.array([3.0, -1.0, 2.0])
    assert owl_penalty(w, [3.0, 2.0, 1.0]) == 3 * 3 + 2 * 2 + 1 * 1
    W = np.array([[3.0, 4.0], [0.0, 1.0]])
    assert growl_penalty(W, [2.0, 1.0]) == 2 * 5 + 1 * 1


def test_prox_growl_rescales_rows_and_ties_norms():
    W = np.array([[3.0, 4.0], [0.0, 4.9], [0.05, 0.0]])
    out = prox_growl(W, np.array([0.6, 0.5, 0.4]))
    norms = np.linalg.norm(out, axis=1)
    expected_norms = prox_owl(np.linalg.norm(W, axis=1), np.array([0.6, 0.5, 0.4]))
    np.testing.assert_allclose(norms, expected_norms, atol=1e-12)
    assert norms[2] == 0  # small row removed
    # direction of every surviving row is kept
    np.testing.assert_allclose(out[0] / norms[0], W[0] / 5.0)


@pytest.mark.parametrize(
    "lam, match",
    [
        ([1.0, 2.0], "non-increasing"),
        ([1.0, -1.0], ">= 0"),
        ([1.0], "shape"),
        ([np.nan, 0.0], "finite"),
    ],
)
def test_bad_owl_weights(lam, match):
    with pytest.raises(ValueError, match=match):
        prox_owl(np.array([1.0, 2.0]), lam)


def test_compression_stats():
    W = np.array([[0.0, 1.0, 1.0], [2.0, 0.0, 1.0]])
    stats = compression_stats(W)
    assert stats["sparsity"] == 2 / 6
    assert stats["parameter_sharing"] == 4 / 2
    assert stats["compression"] == 6 / 3


def test_compression_stats_reads_a_parameter_that_requires_grad():
    torch = pytest.importorskip("torch")
    W = [[0.0, 1.0, 1.0], [2.0, 0.0, 1.0]]
    param = torch.nn.Parameter(torch.tensor(W))
    assert compression_stats(param) == compression_stats(np.array(W))
    assert param.requires_grad and param.grad is None  # untouched


def test_prox_growl_checks_the_weights_once(monkeypatch):
    import prox.owl as owl

    calls = []

    def counting(*args, **kwargs):
        calls.append(args[1:])
        return check(*args, **kwargs)

    check = owl.check_weights
    monkeypatch.setattr(owl, "check_weights", counting)
    prox_growl(np.ones((3, 2)), np.array([0.6, 0.5, 0.4]))
    assert calls.count(("W",)) == 1
