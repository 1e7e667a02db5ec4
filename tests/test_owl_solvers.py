"""The fast OWL prox: Numba ``pava`` and torch ``parallel_pava`` against the SciPy reference."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from oracle import input_cases, tolerance
from prox import register_solver, solve
from prox.owl import (
    OWL_SOLVERS,
    growl_penalty,
    oscar_weights,
    owl_penalty,
    prox_growl,
    prox_growl_reference,
    prox_owl,
    prox_owl_reference,
)

METHODS = list(OWL_SOLVERS)


def _reference_rows(w, theta):
    w = np.asarray(w, dtype=np.float64)
    return np.apply_along_axis(prox_owl_reference, -1, w, theta) if w.size else w.copy()


def _theta(kind, d, scale, rng):
    if kind == "oscar":
        return oscar_weights(d, 0.25, 0.5 / max(d - 1, 1)) * scale
    if kind == "lasso":
        return np.full(d, 0.75 * scale)
    return np.sort(rng.random(d))[::-1] * scale


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("d", [1, 2, 3, 17, 300])
@pytest.mark.parametrize("theta_kind", ["oscar", "lasso", "random"])
def test_solvers_match_reference_on_degenerate_inputs(method, d, theta_kind, rng):
    for name, w in input_cases(d, rng).items():
        scale = 1e300 if name == "huge" else 1e-300 if name == "tiny" else 1.0
        theta = _theta(theta_kind, d, scale, rng)
        got = OWL_SOLVERS[method](w, theta)
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        np.testing.assert_allclose(got, prox_owl_reference(w, theta), rtol=0,
                                   atol=tolerance(w, theta), err_msg=f"{method} on {name}")


@pytest.mark.parametrize("method", METHODS)
def test_batches_along_the_last_axis(method, rng):
    w = rng.standard_normal((3, 4, 25))
    w[0, 0] = np.arange(25.0)  # a grid row and a mirrored row in the batch
    w[1, 2] = np.concatenate([np.arange(12.0), [0.0], -np.arange(12.0)])
    theta = oscar_weights(25, 0.1, 0.05)
    result = solve(w, theta, penalty="owl", method=method)
    assert result.x.shape == w.shape and result.method == method
    np.testing.assert_allclose(result.x, _reference_rows(w, theta), rtol=0,
                               atol=tolerance(w, theta))
    assert result.rounds is None if method == "pava" else result.rounds >= 1


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("d", [200, 5000])  # numpy's sort of the keys / the radix sort
def test_float32_stays_float32(method, d, rng):
    w = rng.standard_normal((5, d)).astype(np.float32)
    w[1] = np.round(w[1], 1)  # ties and mirrored pairs
    w[2, : d // 2] = -w[2, d // 2:]
    theta = np.sort(rng.random(d))[::-1] * 0.01
    got = prox_owl(w, theta, method=method)
    assert got.dtype == np.float32
    expected = _reference_rows(w.astype(np.float64), theta)
    assert np.all(np.sign(got)[got != 0] == np.sign(w)[got != 0])
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance(w, theta, np.float32))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_in_torch_out(method, dtype):
    w = torch.randn(4, 30, dtype=dtype, generator=torch.Generator().manual_seed(0))
    theta = torch.linspace(1.0, 0.0, 30, dtype=torch.float64)
    got = prox_owl(w, theta, method=method)
    assert isinstance(got, torch.Tensor) and got.dtype == dtype and got.shape == w.shape
    expected = _reference_rows(w.double().numpy(), theta.numpy())
    atol = tolerance(w.double().numpy(), theta.numpy(), np.float32 if dtype == torch.float32
                     else np.float64)
    np.testing.assert_allclose(got.double().numpy(), expected, rtol=0, atol=atol)


@pytest.mark.parametrize("method", METHODS)
def test_float64_magnitudes_that_differ_only_in_the_lowest_bits(method, rng):
    # The packed keys drop the lowest bits of float64 values: such runs go through the
    # re-sort by |w| (values and signs must still come out right).
    d = 6000
    w = 1.0 + np.arange(d) * np.finfo(np.float64).eps
    w = rng.permutation(w) * rng.choice([-1.0, 1.0], d)
    theta = np.linspace(1e-12, 0.0, d)
    np.testing.assert_allclose(prox_owl(w, theta, method=method), prox_owl_reference(w, theta),
                               rtol=0, atol=tolerance(w, theta))


def test_integers_give_float64_and_auto_picks_pava():
    w = np.array([[3, -1, 0, 2]])
    result = solve(w, [1.0, 0.5, 0.5, 0.0], penalty="owl")
    assert result.method == "pava" and result.x.dtype == np.float64
    np.testing.assert_allclose(result.x, _reference_rows(w, [1.0, 0.5, 0.5, 0.0]), atol=1e-15)
    assert solve(torch.ones(2, 3), np.zeros(3), penalty="owl").method == "pava"  # CPU tensors


def test_parallel_pava_rounds_on_a_cascade():
    # One heavy block absorbing a neighbour per round: the rounds grow with d.
    d = 64
    w = np.concatenate([[1000.0], np.arange(d - 1, 0, -1.0)])
    theta = np.full(d, 0.0)
    theta[0] = 1500.0
    result = solve(w, theta, penalty="owl", method="parallel_pava")
    np.testing.assert_allclose(result.x, prox_owl_reference(w, theta), rtol=0,
                               atol=tolerance(w, theta))
    assert result.rounds >= 1


def test_existing_callers_prox_owl_w_lam_positional(rng):
    w = rng.standard_normal(30)
    lam = np.full(30, 0.3)
    np.testing.assert_allclose(prox_owl(w, lam), np.sign(w) * np.maximum(np.abs(w) - 0.3, 0),
                               atol=1e-15)


def test_prox_growl_fast_equals_reference(rng):
    W = rng.standard_normal((40, 5))
    W[3] = 0.0
    W[7] = -W[8]
    theta = oscar_weights(40, 0.2, 0.02)
    np.testing.assert_allclose(prox_growl(W, theta), prox_growl_reference(W, theta),
                               rtol=0, atol=tolerance(np.linalg.norm(W, axis=1), theta))


def test_inputs_not_modified(rng):
    w = rng.standard_normal((3, 10))
    theta = oscar_weights(10, 0.1, 0.1)
    w_copy, theta_copy = w.copy(), theta.copy()
    for method in METHODS:
        prox_owl(w, theta, method=method)
    assert np.array_equal(w, w_copy) and np.array_equal(theta, theta_copy)


_levels = st.integers(-8, 8).map(lambda k: k / 2)


@given(st.lists(_levels, min_size=1, max_size=16), st.lists(st.integers(0, 6), max_size=16),
       st.sampled_from(METHODS))
def test_property_quantized(values, speeds, method):
    w = np.array(values, dtype=np.float64)
    theta = np.array((sorted(speeds, reverse=True) + [0] * w.size)[: w.size], float) / 2
    np.testing.assert_allclose(prox_owl(w, theta, method=method), prox_owl_reference(w, theta),
                               rtol=0, atol=tolerance(w, theta))


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30), st.floats(0, 10),
       st.floats(0, 1), st.sampled_from(METHODS))
def test_property_oscar(values, lam1, lam2, method):
    w = np.array(values)
    theta = oscar_weights(w.size, lam1, lam2)
    np.testing.assert_allclose(prox_owl(w, theta, method=method), prox_owl_reference(w, theta),
                               rtol=0, atol=tolerance(w, theta))


# ------------------------------------------------------------------ bad input
BAD_THETA = [
    ([1.0, 2.0, 0.5], ValueError, r"Invalid theta: must be non-increasing, but entry 0"),
    ([1.0, 0.5, -0.5], ValueError, r"Invalid theta: entry 2 is -0.5 \(must be >= 0\)"),
    ([1.0, 0.5], ValueError, r"Invalid theta: expected shape \(3,\), got shape \(2,\)"),
    ([[1.0, 0.5, 0.0]], ValueError, r"Invalid theta: expected shape \(3,\)"),
    (1.0, ValueError, r"Invalid theta: expected at least one dimension, got a scalar"),
    ([1.0, np.nan, 0.0], ValueError, r"Invalid theta: contains NaN or infinite entries"),
    ([np.inf, 1.0, 0.0], ValueError, r"Invalid theta: contains NaN or infinite entries"),
    (["a", "b", "c"], TypeError, "Invalid theta: dtype <U1 is not supported"),
    ([1 + 1j, 0, 0], TypeError, "Invalid theta: dtype complex128"),
    ([object(), 1.0, 0.0], TypeError, "Invalid theta: dtype object"),
]


@pytest.mark.parametrize("method", ["auto", *METHODS])
@pytest.mark.parametrize("theta, error, match", BAD_THETA)
def test_bad_theta(theta, error, match, method):
    with pytest.raises(error, match=match):
        prox_owl(np.array([1.0, 2.0, 3.0]), theta, method=method)
    with pytest.raises(error, match=match):
        prox_owl_reference(np.array([1.0, 2.0, 3.0]), theta)


@pytest.mark.parametrize("w, error, match", [
    (np.array([1.0, np.nan]), ValueError, "Invalid w: contains NaN"),
    (np.array([1.0, np.inf]), ValueError, "Invalid w: contains NaN"),
    (np.array(["a", "b"]), TypeError, "Invalid w"),
    (np.array([1.0, 2.0], dtype=np.float16), TypeError, "Invalid w"),
    (3.0, ValueError, "Invalid w"),
])
def test_bad_w(w, error, match):
    with pytest.raises(error, match=match):
        prox_owl(w, [1.0, 0.5])


def test_unknown_method():
    with pytest.raises(ValueError, match="Unknown method 'fast'"):
        prox_owl(np.ones(3), np.ones(3), method="fast")


# ------------------------------------------- the same machinery as weight sharing
def test_method_is_keyword_only():
    with pytest.raises(TypeError):
        prox_owl(np.ones(3), np.ones(3), "pava")


def test_unknown_penalty_is_named():
    with pytest.raises(ValueError, match="Unknown penalty 'slope'"):
        solve(np.ones(3), np.ones(3), penalty="slope")


@pytest.mark.parametrize("method", METHODS)
def test_overflow_guard_near_the_top_of_the_float_range(method):
    # Equal magnitudes of 1.5e308 pool into one block; a block sum would overflow
    # to inf without the power-of-two scaling every penalty's dispatch applies.
    w = np.array([[1.5e308, -1.5e308, 1.5e308, 1e308]])
    theta = np.array([1e308, 1e308, 0.0, 0.0])
    got = prox_owl(w, theta, method=method)
    assert np.isfinite(got).all()
    # The reference itself overflows there: compare with it at half scale (OWL's prox
    # scales exactly: prox(w; theta) = 2 prox(w / 2; theta / 2)).
    np.testing.assert_allclose(got[0], 2 * prox_owl_reference(w[0] / 2, theta / 2), rtol=1e-12)


def test_a_registered_owl_solver_joins_the_owl_table_only():
    def clip_rows(rows, theta):  # Lasso's prox, right only for a constant theta
        return np.sign(rows) * np.maximum(np.abs(rows) - theta, 0.0), None

    solver = register_solver("clip_for_test", "numpy", clip_rows, "soft threshold (a test)",
                             penalty="owl")
    try:
        assert OWL_SOLVERS["clip_for_test"] is solver and solver.penalty == "owl"
        w = np.array([3.0, -1.0, 0.2])
        np.testing.assert_allclose(prox_owl(w, np.full(3, 0.5), method="clip_for_test"),
                                   [2.5, -0.5, 0.0])
        with pytest.raises(ValueError, match="Unknown method 'clip_for_test'"):
            solve(w, 0.5, method="clip_for_test")  # not a weight-sharing solver
    finally:
        from prox._registry import REGISTRY

        OWL_SOLVERS.pop("clip_for_test", None)
        REGISTRY["owl"].pop("clip_for_test", None)


# ------------------------------------------------------------------ the penalties
def test_owl_penalty_works_along_the_last_axis():
    w = np.array([[1.0, -2.0], [3.0, 4.0]])
    got = owl_penalty(w, [2.0, 1.0])
    # One value per row (2*2 + 1*1, 2*4 + 1*3), not one number for the flattened matrix.
    np.testing.assert_array_equal(got, [5.0, 11.0])
    assert owl_penalty(w.astype(np.float32), [2.0, 1.0]).dtype == np.float32
    tensor = torch.tensor(w, requires_grad=True)
    value = owl_penalty(tensor, [2.0, 1.0])
    assert isinstance(value, torch.Tensor) and value.tolist() == [5.0, 11.0]
    value.sum().backward()  # differentiable: d/dw = theta at each rank, with w's sign
    np.testing.assert_array_equal(tensor.grad.numpy(), [[1.0, -2.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match=r"Invalid theta: expected shape \(2,\)"):
        owl_penalty(w, [3.0, 2.0, 1.0, 0.0])


def test_growl_penalty_on_a_vector_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Invalid W: expected a 2-D matrix .* shape \(3,\)"):
        growl_penalty(np.ones(3), [1.0, 1.0, 1.0])


def test_prox_growl_keeps_float32_and_tensors(rng):
    W = rng.standard_normal((6, 3))
    theta = oscar_weights(6, 0.1, 0.05)
    expected = prox_growl_reference(W, theta)
    got32 = prox_growl(W.astype(np.float32), theta)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected, rtol=0, atol=1e-6)
    got_tensor = prox_growl(torch.from_numpy(W), theta)
    assert isinstance(got_tensor, torch.Tensor) and got_tensor.dtype == torch.float64
    np.testing.assert_allclose(got_tensor.numpy(), expected, rtol=0, atol=1e-12)
