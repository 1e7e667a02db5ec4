"""OWL / GrOWL / OSCAR and the training helpers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from oracle import oracle_prox, oracle_prox_rows
from prox.owl import compression_stats, growl_penalty, oscar_weights, owl_penalty, prox_growl, prox_owl
from prox.training import WeightSharing, prox_ws_

RNG = np.random.default_rng(7)


def cvxpy_prox_owl(w, lam):
    import cvxpy as cp

    d = w.size
    u = cp.Variable(d)
    # OWL as a sum of top-k sums: sum_i (lam_i - lam_{i+1}) * sum_largest(|u|, i).
    steps = lam - np.append(lam[1:], 0.0)
    owl = sum(steps[i] * cp.sum_largest(cp.abs(u), i + 1) for i in range(d))
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(u - w) + owl)).solve(solver=cp.CLARABEL)
    return u.value


@pytest.mark.parametrize("d", [1, 2, 5, 12])
@pytest.mark.parametrize("lam1, lam2", [(0.1, 0.05), (0.0, 0.3), (1.0, 0.0), (0.4, 0.2)])
def test_prox_owl_matches_cvxpy(d, lam1, lam2):
    w = RNG.standard_normal(d) * 2
    lam = oscar_weights(d, lam1, lam2)
    np.testing.assert_allclose(prox_owl(w, lam), cvxpy_prox_owl(w, lam), atol=1e-5)


def test_owl_with_equal_weights_is_soft_threshold():
    w = RNG.standard_normal(30)
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
    [([1.0, 2.0], "non-increasing"), ([1.0, -1.0], ">= 0"), ([1.0], "shape"), ([np.nan, 0.0], "finite")],
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


def test_prox_ws_in_place_rows_and_tensor():
    W = torch.randn(4, 9, dtype=torch.float64)
    original = W.clone()
    assert prox_ws_(W, 0.5) is W
    np.testing.assert_allclose(W.numpy(), oracle_prox_rows(original.numpy(), 0.5), atol=1e-12)
    V = original.clone()
    prox_ws_(V, 0.5, scope="tensor")
    np.testing.assert_allclose(V.numpy().ravel(), oracle_prox(original.numpy().ravel(), 0.5), atol=1e-12)
    with pytest.raises(ValueError, match="Unknown scope"):
        prox_ws_(V, 0.5, scope="columns")


def test_weight_sharing_after_optimizer_step():
    torch.manual_seed(0)
    layer = torch.nn.Linear(6, 3).double()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    sharing = WeightSharing([layer.weight], strength=2.0)
    x, y = torch.randn(16, 6, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64)
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(layer(x), y).backward()
    optimizer.step()
    after_step = layer.weight.detach().clone()
    sharing.step(optimizer)
    np.testing.assert_allclose(layer.weight.detach().numpy(), oracle_prox_rows(after_step.numpy(), 0.2), atol=1e-12)
    assert layer.weight.requires_grad  # still a trainable parameter
    with pytest.raises(ValueError, match="Invalid strength"):
        WeightSharing([layer.weight], strength=-1.0)


def test_count_shared_values():
    from prox.sharing import count_shared_values

    assert count_shared_values(np.array([1.0, 2.0, 1.0, 3.0])) == 3
    np.testing.assert_array_equal(count_shared_values(np.array([[1.0, 1.0], [0.0, 2.0]])), [1, 2])
    assert count_shared_values(np.zeros(0)) == 0
    w = RNG.standard_normal((3, 50))
    u = oracle_prox_rows(w, 0.5)
    np.testing.assert_array_equal(count_shared_values(u), [len(np.unique(r)) for r in u])


def test_refit_groups_keeps_groups_and_restores_group_means():
    from prox.sharing import refit_groups

    w = RNG.standard_normal((4, 60))
    u = oracle_prox_rows(w, 0.8)
    refit = refit_groups(w, u)
    for row_w, row_u, row_r in zip(w, u, refit):
        for value in np.unique(row_u):
            group = row_u == value
            np.testing.assert_allclose(row_r[group], row_w[group].mean())
    np.testing.assert_allclose(refit.mean(axis=1), w.mean(axis=1))
    with pytest.raises(ValueError, match="does not match"):
        refit_groups(w, u[:, :-1])
