"""Input checks shared by every public function, and the dtype policy.

Each check raises a ``TypeError`` (wrong kind of object or dtype) or a
``ValueError`` (right kind, bad value) whose message names the argument and
the offending value, in the style of ``torch.optim`` ("Invalid lam: -1.0").
Nothing here modifies its input.

Dtype policy (stated here once, used by every solver, the penalty and the
particle simulation): float32 stays float32 and float64 stays float64;
integer input is computed and returned in float64 (:func:`result_dtype`).
"""
from __future__ import annotations

import math
import numbers
import sys

import numba
import numpy as np

__all__ = [
    "is_torch_tensor", "result_dtype", "check_strength", "check_weights", "check_theta",
    "check_method", "check_times",
]


def is_torch_tensor(x) -> bool:
    """True if ``x`` is a ``torch.Tensor``, without importing torch.

    The one torch test of the package: if torch was never imported, ``x``
    cannot be a tensor.
    """
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def result_dtype(dtype):
    """The dtype a result has for input of ``dtype``: the package's dtype policy.

    float32 stays float32, float64 stays float64, anything else that
    :func:`check_weights` accepts (integers) becomes float64. Takes and returns
    a NumPy dtype, or a ``torch.dtype`` for a ``torch.dtype``.

    >>> result_dtype(np.dtype(np.float32)), result_dtype(np.dtype(np.int16))
    (dtype('float32'), dtype('float64'))
    """
    if isinstance(dtype, np.dtype) and dtype.char in "fd":
        return dtype  # the common case, without the checks below
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(dtype, torch.dtype):
        return dtype if dtype in (torch.float32, torch.float64) else torch.float64
    dtype = np.dtype(dtype)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def check_strength(value, name: str = "lam") -> float:
    """Return ``value`` as a Python float after checking it is finite and >= 0.

    Accepts Python/numpy real scalars and 0-d arrays or tensors.
    """
    if type(value) is float and 0.0 <= value < math.inf:
        return value  # the common case, without the generic checks below
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Invalid {name}: expected a real number, got bool {value!r}")
    if is_torch_tensor(value) or isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise TypeError(f"Invalid {name}: expected a scalar, got shape {tuple(value.shape)}")
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {name}: expected a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"Invalid {name}: {value} (must be finite)")
    if value < 0:
        raise ValueError(f"Invalid {name}: {value} (must be >= 0)")
    return value


def _check_numpy_dtype(dtype: np.dtype, name: str) -> None:
    if dtype.kind not in "fiu":
        raise TypeError(
            f"Invalid {name}: dtype {dtype} is not supported; "
            "expected a real floating point or integer array"
        )
    if dtype.kind == "f" and dtype.itemsize not in (4, 8):
        raise TypeError(f"Invalid {name}: dtype {dtype} is not supported; use float32 or float64")


def check_weights(w, name: str = "w"):
    """Validate a weight array and return it as an ndarray or a tensor.

    * ``torch.Tensor``: returned as is (checked, not copied).
    * anything else: ``np.asarray(w)`` (no copy when already an ndarray).

    Raises ``TypeError`` for bool, complex, object, string and float16 dtypes and
    ``ValueError`` for NaN or infinite entries or a 0-d (scalar) input.
    """
    if type(w) is not np.ndarray and is_torch_tensor(w):
        import torch

        if w.dtype == torch.bool or w.is_complex() or w.dtype in (torch.float16, torch.bfloat16):
            raise TypeError(
                f"Invalid {name}: dtype {w.dtype} is not supported; "
                "expected float32, float64 or an integer dtype"
            )
        if w.is_floating_point() and w.numel() and not _tensor_finite(w):
            raise ValueError(f"Invalid {name}: contains NaN or infinite entries")
        _check_ndim(w, name)
        return w
    try:
        array = np.asarray(w)
    except (TypeError, ValueError) as error:
        raise TypeError(f"Invalid {name}: cannot be read as a numeric array ({error})") from None
    _check_numpy_dtype(array.dtype, name)
    if array.dtype.kind == "f" and array.size and not _all_finite(array):
        raise ValueError(f"Invalid {name}: contains NaN or infinite entries")
    _check_ndim(array, name)
    return array


@numba.njit(cache=True, fastmath={"reassoc"})
def _finite_sum_is_zero(flat):
    # ``x * 0`` is 0 for finite x and NaN for inf or NaN, so the total stays 0
    # exactly when every entry is finite. Only reassociation is allowed (not
    # "no NaNs"), so the loop vectorizes and still sees NaNs.
    total = flat.dtype.type(0)
    for i in range(flat.shape[0]):
        total += flat[i] * 0
    return total == 0


def _all_finite(array: np.ndarray) -> bool:
    """Whether every entry of a float32/float64 ndarray is finite.

    One compiled pass (``np.isfinite(array).all()`` costs two array calls, a
    microsecond or more of fixed cost per prox on short rows).
    """
    if array.dtype.char in "fd" and array.flags.c_contiguous:
        return bool(_finite_sum_is_zero(array.ravel()))
    return bool(np.isfinite(array).all())


def _tensor_finite(w) -> bool:
    """Whether every entry of a floating-point tensor is finite.

    CPU tensors are checked through their NumPy view: a torch reduction would
    wait for torch's thread pool, which on busy cores costs milliseconds.
    """
    import torch

    if w.device.type == "cpu" and w.dtype in (torch.float32, torch.float64):
        return _all_finite(w.detach().numpy())
    return bool(torch.isfinite(w).all())


def _check_ndim(array, name: str) -> None:
    if array.ndim == 0:
        raise ValueError(f"Invalid {name}: expected at least one dimension, got a scalar")


def check_theta(theta, d: int, name: str = "theta") -> np.ndarray:
    """Return OWL weights ``theta`` as a new float64 (d,) ndarray after checking them.

    ``theta`` is read like a weight array (:func:`check_weights`: real dtype,
    finite entries), then must have shape ``(d,)``, entries ``>= 0`` and be
    non-increasing. Errors name ``name`` and the offending entry.
    """
    theta = check_weights(theta, name)
    if is_torch_tensor(theta):
        theta = theta.detach().cpu().numpy()
    array = np.array(theta, dtype=np.float64)
    if array.shape != (d,):
        raise ValueError(f"Invalid {name}: expected shape ({d},), got shape {array.shape}")
    negative, rise = _first_negative_and_rise(array)
    if negative >= 0:
        i = negative
        raise ValueError(f"Invalid {name}: entry {i} is {array[i]} (must be >= 0)")
    if rise >= 0:
        i = rise
        raise ValueError(f"Invalid {name}: must be non-increasing, but entry {i} = {array[i]} "
                         f"< entry {i + 1} = {array[i + 1]}")
    return array


@numba.njit(cache=True)
def _first_negative_and_rise(theta):
    # One pass instead of three array expressions (theta is as long as the rows):
    # the first i with theta[i] < 0, and the first i with theta[i] < theta[i + 1]
    # (-1 when there is none).
    negative = rise = -1
    for i in range(theta.shape[0]):
        if negative < 0 and theta[i] < 0:
            negative = i
        if rise < 0 and i + 1 < theta.shape[0] and theta[i] < theta[i + 1]:
            rise = i
        if negative >= 0 and rise >= 0:
            break
    return negative, rise


def check_method(method: str, known) -> str:
    """Return ``method`` if it is one of ``known``; else a ValueError listing them."""
    if not isinstance(method, str) or method not in known:
        names = ", ".join(repr(k) for k in known)
        raise ValueError(f"Unknown method {method!r}; expected one of {names}")
    return method


def check_times(t, name: str = "t"):
    """Return ``(times, scalar)``: ``t`` as a float64 1-D array of finite times >= 0.

    ``t`` is a real scalar (``scalar`` is True, ``times`` has one entry) or an
    array / tensor of any shape (flattened). Errors name ``name`` and the value.
    """
    if is_torch_tensor(t):
        t = t.detach().cpu().numpy()
    if np.ndim(t) == 0:
        return np.array([check_strength(t, name)]), True
    times = np.asarray(t)
    if times.dtype.kind not in "fiu":
        raise TypeError(f"Invalid {name}: dtype {times.dtype} is not a real number type")
    times = times.astype(np.float64).ravel()
    if not np.isfinite(times).all():
        raise ValueError(f"Invalid {name}: contains NaN or infinite entries")
    if (times < 0).any():
        raise ValueError(f"Invalid {name}: {times[times < 0][0]} (must be >= 0)")
    return times, False
