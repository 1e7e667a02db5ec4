"""The core prox: solver "pava", the public API, the penalty and prox + L1."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracle import cvxpy_prox, oracle_prox, oracle_prox_rows, pairwise_penalty, tolerance
from prox import SOLVERS, prox_ws, prox_ws_l1, solve, ws_penalty


def assert_matches_oracle(w, lam, out, dtype=np.float64):
    expected = oracle_prox_rows(np.asarray(w, dtype=np.float64), lam)
    scale_w = np.asarray(w, dtype=np.float64)
    np.testing.assert_allclose(out, expected, rtol=0, atol=tolerance(scale_w, lam, dtype))


# --- agreement with the oracles -------------------------------------------------


@pytest.mark.parametrize("d", [2, 3, 4, 7, 64, 1000, 4097])
@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.05, 0.5, 5.0, 1e3])
def test_pava_matches_oracle_random(d, lam, rng):
    w = rng.standard_normal(d)
    assert_matches_oracle(w, lam, prox_ws(w, lam, method="pava"))


@pytest.mark.parametrize("lam", [0.0, 0.01, 0.5, 5.0])
def test_float32_computed_in_float64_and_returned_as_float32(lam, rng):
    w = rng.standard_normal((5, 300)).astype(np.float32)
    out = prox_ws(w, lam, method="pava")
    assert out.dtype == np.float32
    expected = oracle_prox_rows(w.astype(np.float64), lam)
    # float64 internally: the only error left is the final rounding to float32.
    np.testing.assert_array_equal(out, expected.astype(np.float32))


@pytest.mark.parametrize("d", [1, 2, 3, 5, 12, 30])
@pytest.mark.parametrize("lam", [0.05, 0.7, 4.0])
def test_pava_matches_cvxpy(d, lam, rng):
    w = rng.standard_normal(d) * 2
    np.testing.assert_allclose(prox_ws(w, lam), cvxpy_prox(w, lam), atol=1e-6)


@pytest.mark.parametrize("d", [2, 5, 20])
@pytest.mark.parametrize("lam, mu", [(0.3, 0.1), (1.0, 0.5), (0.0, 0.4), (2.0, 0.0)])
def test_prox_ws_l1_matches_cvxpy(d, lam, mu, rng):
    w = rng.standard_normal(d)
    np.testing.assert_allclose(prox_ws_l1(w, lam, mu), cvxpy_prox(w, lam, mu), atol=1e-5)


def test_prox_ws_l1_is_soft_threshold_of_prox(rng):
    w = rng.standard_normal((4, 50))
    u = oracle_prox_rows(w, 0.4)
    expected = np.sign(u) * np.maximum(np.abs(u) - 0.1, 0)
    np.testing.assert_allclose(prox_ws_l1(w, 0.4, 0.1), expected, atol=1e-12)
    t = prox_ws_l1(torch.from_numpy(w), 0.4, 0.1)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), expected, atol=1e-12)


# --- adversarial inputs -------------------------------------------------------------


def _adversarial(rng):
    short = {
        "d1": np.array([3.5]),
        "d2": np.array([1.0, -1.0]),
        "d3": np.array([0.0, 10.0, -4.0]),
        "all_equal": np.full(50, 2.5),
        "two_values": np.array([1.0, 0.0] * 40),
        "many_ties": np.round(rng.standard_normal(500), 1),
        "signed_zeros": np.array([0.0, -0.0, 0.0, -0.0, 1.0]),
        "huge": rng.standard_normal(100) * 1e300,
        "tiny": rng.standard_normal(100) * 1e-300,
        "subnormal": np.array([5e-324, -5e-324, 0.0, 1e-310]),
        "mixed_scales": np.array([1e300, -1e300, 1e-300, 0.0, 1.0]),
        "sorted": np.arange(200.0),
        "reversed": np.arange(200.0)[::-1].copy(),
        # Values that differ only in the lowest mantissa bits: the packed float64 key
        # truncates them, so these exercise the run repair (short and long runs).
        "ulp_runs_short": 1.0 + np.arange(10)[::-1] * np.finfo(float).eps,
        "ulp_runs_long": 1.0 + rng.permutation(3000) * np.finfo(float).eps,
        "ulp_runs_mixed": np.concatenate(
            [
                1.0 + rng.permutation(40) * 2e-16,
                -3.0 + rng.permutation(7) * 4e-16,
                rng.standard_normal(50),
            ]
        ),
    }
    # Rows this long go through the radix sort rather than numpy's sort.
    long = {
        "long_normal": rng.standard_normal(6000),
        "long_ties": np.round(rng.standard_normal(6000), 2),
        "long_ulp_runs": 1.0 + rng.permutation(6000) * np.finfo(float).eps,
        "long_constant": np.full(5000, -7.25),
        "long_wide_exponents": np.exp(rng.standard_normal(6000) * 20) * rng.choice([-1, 1], 6000),
    }
    return short | long, long


ADVERSARIAL, ADVERSARIAL_LONG = _adversarial(np.random.default_rng(20261121))


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
@pytest.mark.parametrize("relative_lam", [0.0, 1e-3, 0.3, 10.0])
def test_adversarial_inputs(name, relative_lam):
    w = ADVERSARIAL[name]
    lam = relative_lam * float(np.max(np.abs(w)))
    assert_matches_oracle(w, lam, prox_ws(w, lam))


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_LONG))
@pytest.mark.parametrize("lam", [0.0, 0.01, 1.0])
def test_adversarial_long_float32(name, lam):
    w = ADVERSARIAL_LONG[name].astype(np.float32)
    out = prox_ws(w, lam)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, oracle_prox(w.astype(np.float64), lam).astype(np.float32))


def test_huge_scale_does_not_overflow():
    w = np.array([1.5e308, -1.5e308, 1e308, -1e308])
    out = prox_ws(w, 1e308)
    assert np.isfinite(out).all()
    assert_matches_oracle(w / 1e300, 1e8, out / 1e300)


@pytest.mark.parametrize("method", ["pava", "events", "parallel_pava", "lower_sets",
                                    "divide_conquer"])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_float32_with_a_strength_beyond_float32s_range(method, kind):
    """The overflow guard's power of two can exceed float32: it once gave 0 * inf = NaN."""
    w = np.array([[1.0, 2.0, 3.0], [-4.0, 0.5, 2.0]], dtype=np.float32)
    data = torch.from_numpy(w) if kind == "torch" else w
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = prox_ws(data, 1e300, method=method)
    out = out.numpy() if kind == "torch" else out
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.broadcast_to(w.mean(1, keepdims=True), w.shape),
                               rtol=1e-6)


def test_batched_rows_with_different_patterns(rng):
    rows = np.stack(
        [
            rng.standard_normal(64),
            np.full(64, -1.0),
            np.linspace(-50, 50, 64),
            np.round(rng.standard_normal(64)),
            rng.standard_normal(64) * 1e-200,
        ]
    )
    for lam in (0.0, 0.1, 1.0, 30.0):
        out = prox_ws(rows, lam)
        for row, result in zip(rows, out):
            np.testing.assert_allclose(
                result, oracle_prox(row, lam), atol=tolerance(row, lam), rtol=0
            )


def test_nd_input_solves_each_slice_along_last_axis(rng):
    w = rng.standard_normal((2, 3, 17))
    out = prox_ws(w, 0.5)
    assert out.shape == w.shape
    for index in np.ndindex(2, 3):
        np.testing.assert_allclose(out[index], oracle_prox(w[index], 0.5), atol=1e-12)


@pytest.mark.parametrize("shape", [(0,), (4, 0), (0, 5), (3, 1), (1,)])
def test_empty_and_length_one_slices_returned_unchanged(shape, rng):
    w = rng.standard_normal(shape)
    out = prox_ws(w, 3.0)
    assert out.shape == w.shape and out.dtype == w.dtype
    np.testing.assert_array_equal(out, w)
    assert out is not w


# --- types, dtypes, devices, no mutation ------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16])
def test_integer_input_computed_in_float64(dtype):
    w = np.array([3, 1, 2, 9, 9, 0], dtype=dtype)
    out = prox_ws(w, 0.7)
    assert out.dtype == np.float64
    assert_matches_oracle(w.astype(np.float64), 0.7, out)


def test_list_input_gives_ndarray():
    out = prox_ws([3.0, 1.0, 2.0], 0.2)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, oracle_prox([3.0, 1.0, 2.0], 0.2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64])
def test_torch_in_torch_out(dtype, rng):
    w = torch.tensor(rng.standard_normal((3, 40)) * 5).to(dtype)
    out = prox_ws(w, 0.8)
    assert isinstance(out, torch.Tensor)
    assert out.shape == w.shape and out.device == w.device
    assert out.dtype == (dtype if dtype.is_floating_point else torch.float64)
    tol = tolerance(w.double().numpy(), 0.8, np.float64 if dtype != torch.float32 else np.float32)
    want = oracle_prox_rows(w.double().numpy(), 0.8)
    np.testing.assert_allclose(out.double().numpy(), want, atol=tol, rtol=0)


def test_torch_input_requiring_grad_is_accepted_and_untouched():
    w = torch.randn(10, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(0))
    before = w.detach().clone()
    out = prox_ws(w, 0.5)
    # Documented in prox.solve: the prox of a tensor that requires grad is
    # differentiable (prox.autograd; gradients tested in tests/test_api.py).
    assert out.requires_grad
    assert torch.equal(w.detach(), before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_is_never_modified(dtype, rng):
    w = rng.standard_normal((3, 257)).astype(dtype)
    before = w.copy()
    prox_ws(w, 0.9)
    prox_ws_l1(w, 0.9, 0.1)
    ws_penalty(w)
    np.testing.assert_array_equal(w, before)


def test_read_only_and_non_contiguous_inputs(rng):
    base = rng.standard_normal((6, 40))
    view = base[::2, ::3]
    view.flags.writeable = False
    out = prox_ws(view, 0.4)
    np.testing.assert_allclose(out, oracle_prox_rows(np.array(view), 0.4), atol=1e-12)
    fortran = np.asfortranarray(base)
    np.testing.assert_allclose(prox_ws(fortran, 0.4), oracle_prox_rows(base, 0.4), atol=1e-12)


# --- properties (hypothesis) -----------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
vectors = hnp.arrays(np.float64, st.integers(1, 40), elements=finite)
strengths = st.floats(0, 1e4, allow_nan=False, allow_infinity=False)


def tol(w, lam):
    # Looser than the oracle checks: these properties compare two computed proxes.
    return tolerance(w, lam, rel=1e-9)


@given(vectors, strengths)
def test_property_order_is_kept_and_ties_end_equal(w, lam):
    u = prox_ws(w, lam)
    order = np.argsort(w, kind="stable")
    assert np.all(np.diff(u[order]) >= 0)
    for value in np.unique(w):
        group = u[w == value]
        assert np.all(group == group[0])


@given(vectors, strengths)
def test_property_mean_is_kept(w, lam):
    assert abs(prox_ws(w, lam).mean() - w.mean()) <= tol(w, lam)


@given(vectors)
def test_property_identity_at_zero(w):
    np.testing.assert_array_equal(prox_ws(w, 0.0), w)


@given(vectors)
def test_property_large_lam_gives_the_mean(w):
    # Every particle moves at speed <= 1, so after the spread has been covered all
    # have merged: lam >= max - min suffices.
    lam = float(w.max() - w.min()) + 1.0
    np.testing.assert_allclose(prox_ws(w, lam), np.full_like(w, w.mean()), atol=tol(w, lam))


@given(vectors, strengths, st.randoms(use_true_random=False))
def test_property_permutation_equivariance(w, lam, random):
    perm = np.array(random.sample(range(w.size), w.size))
    np.testing.assert_allclose(prox_ws(w[perm], lam), prox_ws(w, lam)[perm], atol=tol(w, lam))


@given(vectors, strengths, finite)
def test_property_translation(w, lam, shift):
    np.testing.assert_allclose(
        prox_ws(w + shift, lam), prox_ws(w, lam) + shift, atol=tol(w, lam) + 1e-9 * abs(shift)
    )


@given(vectors, strengths, st.floats(1e-3, 1e3))
def test_property_scaling(w, lam, a):
    # prox_{lam R}(a w) = a prox_{(lam/a) R}(w), a > 0 (docs/maths.md, 'The sorted transform')
    np.testing.assert_allclose(prox_ws(a * w, lam), a * prox_ws(w, lam / a), atol=tol(a * w, lam))


@given(vectors, strengths)
def test_property_matches_oracle(w, lam):
    np.testing.assert_allclose(prox_ws(w, lam), oracle_prox(w, lam), atol=tolerance(w, lam), rtol=0)


# --- the penalty ---------------------------------------------------------------


@pytest.mark.parametrize("d", [0, 1, 2, 3, 10, 101])
def test_penalty_matches_pairwise_definition(d, rng):
    w = rng.standard_normal(d)
    assert np.isclose(ws_penalty(w), pairwise_penalty(w), rtol=1e-12, atol=1e-12)


def test_penalty_batched_numpy_and_torch(rng):
    w = rng.standard_normal((4, 3, 25))
    expected = np.array([[pairwise_penalty(row) for row in block] for block in w])
    np.testing.assert_allclose(ws_penalty(w), expected, rtol=1e-12)
    t = torch.from_numpy(w).requires_grad_(True)
    value = ws_penalty(t)
    assert isinstance(value, torch.Tensor) and value.shape == (4, 3)
    np.testing.assert_allclose(value.detach().numpy(), expected, rtol=1e-12)
    value.sum().backward()  # differentiable, so it can sit in a training loss
    assert t.grad is not None and torch.isfinite(t.grad).all()


def test_penalty_decreases_along_the_prox_path(rng):
    w = rng.standard_normal(200)
    values = [ws_penalty(prox_ws(w, lam)) for lam in (0.0, 0.1, 0.5, 2.0, 10.0)]
    assert all(a >= b - 1e-12 for a, b in zip(values, values[1:]))
    assert values[-1] < 1e-9


def test_prox_is_the_minimiser(rng):
    w = rng.standard_normal(30)
    lam = 0.6
    u = prox_ws(w, lam)

    def objective(v):
        return 0.5 * np.sum((v - w) ** 2) + lam * ws_penalty(v)

    best = objective(u)
    for _ in range(200):
        assert objective(u + 1e-3 * rng.standard_normal(30)) >= best - 1e-12


# --- the registry and results ---------------------------------------------------------


def test_registry_solvers_are_callables_with_one_signature(rng):
    assert "pava" in SOLVERS
    w = rng.standard_normal((2, 33))
    for name, solver in SOLVERS.items():
        assert solver.name == name and solver.summary
        np.testing.assert_allclose(solver(w, 0.5), oracle_prox_rows(w, 0.5), atol=1e-10)


def _copy_rows(rows, lam):
    return rows.copy(), None


def test_register_solver_adds_a_method_everywhere():
    from prox import register_solver
    from prox._registry import SOLVER_SPECS

    try:
        solver = register_solver("copy_for_test", "numpy", _copy_rows, "returns w")
        assert SOLVERS["copy_for_test"] is solver and solver.kind == "numpy"
        # Registering the same solver again (a module imported twice) changes nothing.
        assert register_solver("copy_for_test", "numpy", _copy_rows, "returns w") is solver
        w = np.array([[2.0, 1.0], [0.0, 5.0]])
        np.testing.assert_array_equal(prox_ws(w, 3.0, method="copy_for_test"), w)
        with pytest.raises(ValueError, match="'copy_for_test' is already registered"):
            register_solver("copy_for_test", "numpy", "prox.solvers.pava:prox_pava_rows", "other")
        replaced = register_solver(
            "copy_for_test", "numpy", "prox.solvers.pava:prox_pava_rows", "pava again", replace=True
        )
        assert SOLVERS["copy_for_test"] is replaced
        pooled = prox_ws(w, 3.0, method="copy_for_test")
        np.testing.assert_allclose(pooled, oracle_prox_rows(w, 3.0), atol=tolerance(w, 3.0), rtol=0)
    finally:
        SOLVERS.pop("copy_for_test", None)
        SOLVER_SPECS.pop("copy_for_test", None)
    with pytest.raises(ValueError, match="Unknown method 'copy_for_test'"):
        prox_ws(w, 3.0, method="copy_for_test")


@pytest.mark.parametrize(
    "args, error, match",
    [
        (("auto", "numpy", _copy_rows, "s"), ValueError, "Invalid name: 'auto'"),
        (("two words", "numpy", _copy_rows, "s"), ValueError, "Invalid name: 'two words'"),
        (("x", "cuda", _copy_rows, "s"), ValueError, "Invalid kind: 'cuda'"),
        (("x", "numpy", "prox.solvers.pava", "s"), ValueError,
         "Invalid kernel: 'prox.solvers.pava'"),
        (("x", "numpy", 3, "s"), TypeError, "Invalid kernel: 3"),
        (("x", "numpy", _copy_rows, ""), ValueError, "Invalid summary"),
    ],
)
def test_register_solver_rejects_bad_specs(args, error, match):
    from prox import register_solver

    with pytest.raises(error, match=match):
        register_solver(*args)
    assert "x" not in SOLVERS


def test_solve_reports_method_and_rounds():
    result = solve(np.arange(5.0), 1.0)
    assert result.method == "pava" and result.rounds is None
    np.testing.assert_allclose(result.x, oracle_prox(np.arange(5.0), 1.0))


# --- bad input ------------------------------------------------------------------------

BAD_INPUTS = [
    (dict(w=[1.0, np.nan]), ValueError, "NaN or infinite"),
    (dict(w=np.array([[1.0, np.inf]])), ValueError, "NaN or infinite"),
    (dict(w=np.array([-np.inf, 0.0], dtype=np.float32)), ValueError, "NaN or infinite"),
    (dict(w=torch.tensor([0.0, float("nan")])), ValueError, "NaN or infinite"),
    (dict(lam=-1.0), ValueError, "Invalid lam: -1.0"),
    (dict(lam=float("nan")), ValueError, "Invalid lam: nan"),
    (dict(lam=float("inf")), ValueError, "Invalid lam: inf"),
    (dict(lam="0.5"), TypeError, "Invalid lam"),
    (dict(lam=True), TypeError, "Invalid lam"),
    (dict(lam=np.array([0.1, 0.2])), TypeError, "Invalid lam"),
    (dict(w=np.array([1 + 2j, 3j])), TypeError, "complex"),
    (dict(w=np.array([True, False])), TypeError, "bool"),
    (dict(w=np.array(["a", "b"])), TypeError, "not supported"),
    (dict(w=np.array([1.0, None], dtype=object)), TypeError, "object"),
    (dict(w=np.array([1.0, 2.0], dtype=np.float16)), TypeError, "float16"),
    (dict(w=torch.tensor([True, False])), TypeError, "torch.bool"),
    (dict(w=torch.tensor([1 + 1j])), TypeError, "complex"),
    (dict(w=[[1.0, 2.0], [3.0]]), TypeError, "numeric array"),
    (dict(w=np.float64(2.0)), ValueError, "at least one dimension"),
    (dict(method="quicksort"), ValueError, "Unknown method 'quicksort'"),
    (dict(method=None), ValueError, "Unknown method None"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_INPUTS)
def test_bad_input_raises_naming_the_problem(kwargs, error, match):
    arguments = dict(w=np.array([0.0, 1.0]), lam=0.5, method="auto") | kwargs
    with pytest.raises(error, match=match):
        prox_ws(arguments["w"], arguments["lam"], method=arguments["method"])


@pytest.mark.parametrize(
    "mu, error", [(-0.1, ValueError), (float("nan"), ValueError), ("x", TypeError)]
)
def test_bad_mu(mu, error):
    with pytest.raises(error, match="Invalid mu"):
        prox_ws_l1(np.zeros(3), 0.1, mu)


def test_bad_penalty_input():
    with pytest.raises(ValueError, match="NaN or infinite"):
        ws_penalty(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="scalar"):
        ws_penalty(np.float64(1.0))
