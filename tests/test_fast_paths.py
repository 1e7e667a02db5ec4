"""The shortcuts of the CPU fast path give exactly what the general path gives.

* short batches take one compiled call (``prox.solvers.pava.ONE_CALL_SIZE``);
* finiteness is one compiled pass (``x * 0`` summed), CPU tensors through their
  numpy view; the overflow guard's ``max |w|`` is one compiled pass.
"""
import numpy as np
import pytest

from prox._arrays import largest_magnitude
from prox.solvers import pava
from prox.validation import check_weights

RNG = np.random.default_rng(20)
EPS = np.finfo(float).eps
ROWS = {
    "normal": RNG.standard_normal((3, 200)),
    "ties": np.round(RNG.standard_normal((2, 300)), 1),
    "ulp runs": 1.0 + RNG.permutation(400).reshape(2, 200) * EPS,
    "wide exponents": np.exp(RNG.standard_normal((1, 500)) * 20) * RNG.choice([-1, 1], (1, 500)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ROWS))
@pytest.mark.parametrize("lam", [0.01, 0.7, 50.0])
def test_one_call_path_equals_general_path(monkeypatch, name, dtype, lam):
    rows = np.ascontiguousarray(ROWS[name], dtype=dtype)
    assert rows.size <= pava.ONE_CALL_SIZE
    short, _ = pava.prox_pava_rows(rows, lam)
    monkeypatch.setattr(pava, "ONE_CALL_SIZE", 0)
    general, _ = pava.prox_pava_rows(rows, lam)
    assert short.dtype == general.dtype == dtype
    np.testing.assert_array_equal(short, general)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_finiteness_check_finds_every_bad_entry(dtype, bad):
    for position in (0, 17, 999):
        w = np.ones(1000, dtype)
        w[position] = bad
        with pytest.raises(ValueError, match="NaN or infinite"):
            check_weights(w)


def test_finiteness_check_does_not_overflow():
    huge = np.full(1000, np.finfo(np.float64).max)
    assert check_weights(huge) is huge
    strided = np.ones((10, 10))[:, ::2].copy(order="F")
    strided[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_weights(strided)


def test_cpu_tensor_checked_through_its_numpy_view():
    torch = pytest.importorskip("torch")
    w = torch.ones(64, 32, dtype=torch.float32)
    assert check_weights(w) is w
    w[5, 7] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_weights(w)
    grad = torch.ones(8, requires_grad=True) * float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_weights(grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_largest_magnitude(dtype):
    rows = (RNG.standard_normal((4, 33)) * 1e3).astype(dtype)
    assert largest_magnitude(rows) == float(np.abs(rows).max())
    assert largest_magnitude(-np.abs(rows)) == float(np.abs(rows).max())
    assert largest_magnitude(rows[:, ::2]) == float(np.abs(rows[:, ::2]).max())
