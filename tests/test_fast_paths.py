"""The shortcuts of the CPU fast path give exactly what the general path gives.

* short batches take one compiled call (``prox.solvers.pava.ONE_CALL_SIZE``);
* finiteness is one compiled pass (``x * 0`` summed), CPU tensors through their
  numpy view; the overflow guard's ``max |w|`` is one compiled pass;
* ``prox_ws`` on short float ndarrays makes one compiled call with those checks
  (``prox.solvers.pava.prox_short_checked``): the same bits and the same errors
  as ``solve``, which always takes the general dispatcher.
"""
import pickle

import numpy as np
import pytest

from prox import prox_ws, solve
from prox._arrays import largest_magnitude
from prox.dispatch import _short_ndarray_prox
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


# --- the fast path of prox_ws (prox.dispatch._short_ndarray_prox) -------------------------
# prox_ws sends short float ndarrays through one compiled call; solve() always
# takes the general path, so the two are compared bit for bit.

def _inputs():
    rng = np.random.default_rng(21)
    base = rng.standard_normal((4, 60))
    read_only = base[:2].copy()
    read_only.flags.writeable = False
    return {
        "random 2-D": base,
        "random 1-D": base[0].copy(),
        "ties": np.round(base, 0),
        "all equal": np.full((2, 7), 0.3),
        "signed zeros": np.array([0.0, -0.0, 0.0, -0.0, 1.0]),
        "d = 1": base[:, :1].copy(),
        "d = 2": base[:, :2].copy(),
        "d = 3": base[0, :3].copy(),
        "strided": base[:, ::3],
        "fortran": np.asfortranarray(base),
        "read-only": read_only,
        "unpickled": pickle.loads(pickle.dumps(base)),  # a copy of the float64 dtype object
        "1e300": base * 1e300,
        "near the top": base / np.abs(base).max() * np.finfo(np.float64).max,
        "subnormal": base * 1e-310,
    }


INPUTS = _inputs()


def assert_same_bits(a, b):
    assert type(a) is type(b) is np.ndarray
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(INPUTS))
@pytest.mark.parametrize("lam", [0.0, 0.4, 3, np.float32(0.7), np.float64(25.0), "huge"])
def test_fast_path_equals_general_path(name, dtype, lam):
    if lam == "huge":  # float32 results stay below 3.4e38
        lam = 1e300 if dtype == np.float64 else 1e30
    w = INPUTS[name]
    if w.dtype != dtype:
        with np.errstate(over="ignore", under="ignore"):
            w = w.astype(dtype)  # float32 of the extreme rows: inf or 0, handled below
        if not np.isfinite(w).all():
            return
    before = w.copy()
    fast = prox_ws(w, lam)
    general = solve(w, lam).x  # always the general dispatcher
    assert_same_bits(fast, general)
    assert_same_bits(w, before)  # the input is not modified
    assert fast is not w and not np.shares_memory(fast, w)
    largest = max(float(np.abs(w).max()), float(lam))
    if largest < 1e200 and (largest == 0 or largest > 1e-250):
        # ordinary scales: the fast path must really have answered
        assert _short_ndarray_prox(w, lam) is not None
    else:
        # the overflow guard's cases are left to the general path
        assert w.shape[-1] <= 1 or lam == 0 or _short_ndarray_prox(w, lam) is None


def _error(function, *args):
    with pytest.raises((ValueError, TypeError, OverflowError)) as info:
        function(*args)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fast_path_bad_weights_raise_as_before(dtype, bad):
    for shape, index in (((7,), (3,)), ((3, 5), (2, 4)), ((1,), (0,))):
        w = np.ones(shape, dtype)
        w[index] = bad
        before = w.copy()
        assert _error(prox_ws, w, 0.5) == _error(solve, w, 0.5)
        assert _error(prox_ws, w, 0.5)[1] == "Invalid w: contains NaN or infinite entries"
        np.testing.assert_array_equal(w, before)


@pytest.mark.parametrize("lam", [-1.0, -1, np.nan, np.inf, np.float32(-0.5), True, 10**400,
                                 "0.5", None, np.array([0.5, 0.5])])
def test_fast_path_bad_lam_raises_as_before(lam):
    w = np.random.default_rng(3).standard_normal(10)
    assert _error(prox_ws, w, lam) == _error(solve, w, lam)
    assert "lam" in _error(prox_ws, w, lam)[1] or lam == 10**400
    nan_w = np.full(4, np.nan)  # the weights are checked first, whatever lam is
    assert _error(prox_ws, nan_w, lam) == _error(solve, nan_w, lam)


def test_fast_path_only_for_the_builtin_pava(monkeypatch):
    from prox._registry import REGISTRY, SolverSpec

    w = np.random.default_rng(4).standard_normal(10)
    assert _short_ndarray_prox(w, 0.5) is not None
    spec = SolverSpec("pava", "numpy", lambda rows, lam: (rows + 1.0, None), "a stand-in")
    monkeypatch.setitem(REGISTRY["ws"], "pava", spec)
    assert _short_ndarray_prox(w, 0.5) is None
    np.testing.assert_array_equal(prox_ws(w, 0.5), w + 1.0)
    np.testing.assert_array_equal(prox_ws(w, 0.5, method="pava"), w + 1.0)


def test_short_index_bits_is_index_bits_for():
    from prox.solvers._sort_keys import index_bits_for

    for d in range(1, 2 * pava.ONE_CALL_SIZE + 2):
        assert pava.short_index_bits(d) == index_bits_for(d), d
