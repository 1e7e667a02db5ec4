"""OWL (ordered weighted L1) and GrOWL (its group version): the family around R.

OWL with non-increasing weights ``theta_1 >= theta_2 >= ... >= theta_d >= 0``::

    OWL(w) = sum_i theta_i |w|_[i]        (|w|_[1] >= |w|_[2] >= ... sorted magnitudes)

covers Lasso (all equal), OSCAR (:func:`oscar_weights`) and SLOPE. Its prox:
sort ``|w|`` descending, subtract ``theta``, take the non-increasing isotonic
fit, clip at 0, restore signs and order (``docs/maths.md``, the OWL family).
Particle view (:func:`particles.simulate_owl`): magnitudes drift toward a wall
at 0 with rank-dependent speeds ``theta_i``, merge on collision and stick to
the wall.

GrOWL on a matrix applies OWL to its row norms and rescales each row, so whole
rows are zeroed or tied in norm (Zhang et al., ICLR 2018, appendix A).

Solvers, like the weight-sharing ones (:mod:`prox._registry`):
:data:`OWL_SOLVERS` maps a name to ``callable(w, theta)``; ``prox_owl(w,
theta, method="auto")`` picks ``"pava"`` (Numba, CPU) for arrays and CPU
tensors and ``"parallel_pava"`` (torch, whole-tensor rounds) for tensors on an
accelerator. :func:`prox_owl_reference` (argsort + SciPy's isotonic
regression, float64, 1-D) is the independent reference the tests use.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import isotonic_regression

from .._arrays import to_rows
from .._registry import SolverSpec
from ..validation import check_method, check_strength, check_weights, is_torch_tensor

__all__ = [
    "check_theta",
    "oscar_weights",
    "owl_penalty",
    "prox_owl",
    "solve_owl",
    "prox_owl_reference",
    "OWL_SOLVER_SPECS",
    "OWL_SOLVERS",
    "OwlResult",
    "growl_penalty",
    "prox_growl",
    "prox_growl_reference",
    "compression_stats",
]


# ------------------------------------------------------------------ validation
def check_theta(theta, d: int, name: str = "theta") -> np.ndarray:
    """Return ``theta`` as a float64 (d,) array after checking it is an OWL weight vector.

    TypeError for a non-real dtype; ValueError (naming ``name`` and the value)
    for a wrong shape, NaN/inf, a negative entry or an increase.
    """
    if is_torch_tensor(theta):
        theta = theta.detach().cpu().numpy()
    try:
        array = np.asarray(theta)
    except (TypeError, ValueError) as error:
        raise TypeError(f"Invalid {name}: cannot be read as a numeric array ({error})") from None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"Invalid {name}: dtype {array.dtype} is not a real number type")
    array = array.astype(np.float64)
    if array.shape != (d,):
        raise ValueError(f"Invalid {name}: expected shape ({d},), got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"Invalid {name}: entry {int(np.argmax(bad))} is {array[bad][0]} "
                         "(must be finite)")
    if (array < 0).any():
        i = int(np.argmax(array < 0))
        raise ValueError(f"Invalid {name}: entry {i} is {array[i]} (must be >= 0)")
    rises = np.diff(array) > 0
    if rises.any():
        i = int(np.argmax(rises))
        raise ValueError(f"Invalid {name}: must be non-increasing, but entry {i} = {array[i]} "
                         f"< entry {i + 1} = {array[i + 1]}")
    return array


def oscar_weights(d: int, lam1: float, lam2: float) -> np.ndarray:
    """OSCAR's OWL weights ``theta_i = lam1 + lam2 (d - i)``, i = 1..d (non-increasing).

    OSCAR's penalty ``lam1 ||w||_1 + lam2 sum_{i<j} max(|w_i|, |w_j|)`` is
    ``OWL_theta``: the i-th largest magnitude is the larger one of ``d - i`` pairs.
    """
    lam1, lam2 = check_strength(lam1, "lam1"), check_strength(lam2, "lam2")
    return lam1 + lam2 * (d - np.arange(1, d + 1))


def owl_penalty(w, theta) -> float:
    """``sum_i theta_i |w|_[i]`` of a 1-D vector."""
    w = np.asarray(check_weights(w), dtype=np.float64).ravel()
    theta = check_theta(theta, w.size)
    return float(np.sort(np.abs(w))[::-1] @ theta)


# ------------------------------------------------------------------ reference
def prox_owl_reference(w, theta) -> np.ndarray:
    """``argmin_u 1/2 ||u - w||^2 + OWL_theta(u)`` of a 1-D vector (float64 result).

    argsort + ``scipy.optimize.isotonic_regression``: the tests' reference for
    every fast OWL solver and for :func:`particles.simulate_owl`. Cost O(d log d).
    """
    w = np.asarray(check_weights(w), dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"Invalid w: expected a 1-D vector, got shape {w.shape}")
    theta = check_theta(theta, w.size)
    if w.size == 0:
        return w.copy()
    magnitude = np.abs(w)
    order = np.argsort(-magnitude, kind="stable")
    fit = isotonic_regression(magnitude[order] - theta, increasing=False).x
    out = np.empty_like(w)
    out[order] = np.maximum(fit, 0.0)
    return np.sign(w) * out


# ------------------------------------------------------------------ fast path
#: The OWL solvers: rows kernels ``kernel(rows, theta) -> (out, rounds)`` with the
#: contract of :mod:`prox._registry` (``theta``: validated float64 (d,)).
OWL_SOLVER_SPECS: dict[str, SolverSpec] = {
    spec.name: spec
    for spec in (
        SolverSpec(
            "pava",
            "numpy",
            "prox.owl.pava:prox_owl_pava_rows",
            "sort |w| + one stack pass of pool adjacent violators (Numba, CPU); "
            "work O(d log d), sequential",
        ),
        SolverSpec(
            "parallel_pava",
            "torch",
            "prox.owl.parallel_pava:prox_owl_parallel_pava_rows",
            "sort |w| + parallel PAVA, every violating run pooled per round (torch); "
            "rounds O(d) worst case",
        ),
    )
}


@dataclass(frozen=True)
class OwlResult:
    """Result of :func:`solve_owl`: the prox ``x``, the ``method`` used, its ``rounds``."""

    x: Any
    method: str
    rounds: int | None


def _auto_owl_method(w) -> str:
    if is_torch_tensor(w) and w.device.type != "cpu":
        return "parallel_pava"
    return "pava"


def solve_owl(w, theta, *, method: str = "auto") -> OwlResult:
    """``prox_{OWL_theta}`` along the last axis, with the solver's details.

    Parameters
    ----------
    w : array_like or Tensor, shape (..., d)
        float32, float64 or integer, finite; each slice along the last axis is
        one problem.
    theta : array_like, shape (d,)
        Non-increasing, finite, >= 0 (shared by every slice).
    method : ``"auto"`` or a key of :data:`OWL_SOLVERS`

    Returns
    -------
    OwlResult
        ``x`` has the input's kind, shape and device; float32 stays float32,
        float64 stays float64, integers give float64. The input is not modified.
    """
    w = check_weights(w)
    theta = check_theta(theta, w.shape[-1])
    method = check_method(method, ("auto", *OWL_SOLVER_SPECS))
    if method == "auto":
        method = _auto_owl_method(w)
    spec = OWL_SOLVER_SPECS[method]
    rows, restore = to_rows(w, spec.kind)
    if rows.shape[0] == 0 or rows.shape[-1] == 0:
        out, rounds = (rows.clone() if spec.kind == "torch" else rows.copy()), 0
    else:
        out, rounds = spec.kernel(rows, theta)
    return OwlResult(x=restore(out), method=method, rounds=rounds)


def prox_owl(w, theta, method: str = "auto"):
    """``argmin_u 1/2 ||u - w||^2 + OWL_theta(u)`` along the last axis.

    See :func:`solve_owl` for the conventions. Cost O(d log d) per slice.

    Examples
    --------
    >>> prox_owl(np.array([3.0, -1.0, 0.5]), [1.0, 0.5, 0.5])
    array([ 2. , -0.5,  0. ])
    """
    return solve_owl(w, theta, method=method).x


class _OwlSolver:
    """One OWL algorithm as ``solver(w, theta) -> prox``; ``.solve`` gives the rounds."""

    def __init__(self, spec: SolverSpec):
        self.spec, self.name, self.kind, self.summary = spec, spec.name, spec.kind, spec.summary
        self.__doc__ = f"prox_owl(w, theta) with method={spec.name!r}: {spec.summary}"

    def __call__(self, w, theta):
        return solve_owl(w, theta, method=self.name).x

    def solve(self, w, theta) -> OwlResult:
        return solve_owl(w, theta, method=self.name)

    def __repr__(self) -> str:
        return f"<OWL solver {self.name!r}: {self.summary}>"


#: name -> callable(w, theta) for every OWL prox algorithm.
OWL_SOLVERS: dict[str, _OwlSolver] = {name: _OwlSolver(s) for name, s in OWL_SOLVER_SPECS.items()}


# ------------------------------------------------------------------ GrOWL
def growl_penalty(W, theta) -> float:
    """GrOWL: OWL of the row norms of a 2-D matrix."""
    W = np.asarray(check_weights(W, "W"), dtype=np.float64)
    return owl_penalty(np.linalg.norm(W, axis=1), theta)


def _check_matrix(W) -> np.ndarray:
    W = np.asarray(check_weights(W, "W"), dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"Invalid W: expected a 2-D matrix, got shape {W.shape}")
    return W


def _rescale_rows(W, norms, new_norms) -> np.ndarray:
    scale = np.divide(new_norms, norms, out=np.zeros_like(norms), where=norms > 0)
    return W * scale[:, None]


def prox_growl(W, theta) -> np.ndarray:
    """Prox of GrOWL on the rows of a 2-D matrix: OWL prox of the row norms, rows rescaled.

    float64 result; the row norms go through the fast :func:`prox_owl`.
    """
    W = _check_matrix(W)
    norms = np.linalg.norm(W, axis=1)
    return _rescale_rows(W, norms, prox_owl(norms, theta))


def prox_growl_reference(W, theta) -> np.ndarray:
    """:func:`prox_growl` through :func:`prox_owl_reference` (the tests' reference)."""
    W = _check_matrix(W)
    norms = np.linalg.norm(W, axis=1)
    return _rescale_rows(W, norms, prox_owl_reference(norms, theta))


def compression_stats(W, *, decimals: int | None = None) -> dict:
    """The GrOWL paper's metrics of a weight tensor.

    sparsity = zeros / total, parameter sharing = nonzeros / unique nonzero
    values, compression = total / unique values. ``decimals`` rounds before
    counting unique values (float noise can split a shared value).
    """
    values = np.asarray(W, dtype=np.float64).ravel()
    if decimals is not None:
        values = np.round(values, decimals)
    total = values.size
    nonzero = values[values != 0]
    unique_nonzero = np.unique(nonzero).size
    return {
        "total": total,
        "sparsity": (total - nonzero.size) / total if total else 0.0,
        "parameter_sharing": nonzero.size / unique_nonzero if unique_nonzero else 0.0,
        "compression": total / np.unique(values).size if total else 0.0,
    }
