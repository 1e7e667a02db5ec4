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

Solvers go through the weight-sharing machinery (:mod:`prox._registry`,
:func:`prox.solve` with ``penalty="owl"``): :data:`OWL_SOLVERS` maps a name
to ``callable(w, theta)``; ``prox_owl(w, theta, method="auto")`` picks
``"pava"`` (Numba, CPU; :mod:`prox.owl.pava`) for arrays and CPU tensors and
``"parallel_pava"`` (torch, whole-tensor rounds; :mod:`prox.owl.parallel_pava`)
for tensors on an accelerator. :func:`prox_owl_reference` (argsort + SciPy's
isotonic regression, float64, 1-D) is the independent reference the tests use.
"""
from __future__ import annotations

import numpy as np

from .._arrays import OutputKind
from ..dispatch import OWL_SOLVERS, solve
from ..sharing import read_weights
from ..validation import (
    check_strength,
    check_theta,
    check_weights,
    is_torch_tensor,
    result_dtype,
)

__all__ = [
    "check_theta",
    "oscar_weights",
    "owl_penalty",
    "prox_owl",
    "prox_owl_reference",
    "OWL_SOLVERS",
    "growl_penalty",
    "prox_growl",
    "prox_growl_reference",
    "compression_stats",
]


def oscar_weights(d: int, lam1: float, lam2: float) -> np.ndarray:
    """OSCAR's OWL weights ``theta_i = lam1 + lam2 (d - i)``, i = 1..d (non-increasing).

    OSCAR's penalty ``lam1 ||w||_1 + lam2 sum_{i<j} max(|w_i|, |w_j|)`` is
    ``OWL_theta``: the i-th largest magnitude is the larger one of ``d - i`` pairs.
    """
    lam1, lam2 = check_strength(lam1, "lam1"), check_strength(lam2, "lam2")
    return lam1 + lam2 * (d - np.arange(1, d + 1))


def owl_penalty(w, theta):
    """``OWL_theta(w) = sum_i theta_i |w|_[i]`` along the last axis (like :func:`prox.ws_penalty`).

    Parameters
    ----------
    w : array_like or Tensor, shape (..., d)
    theta : array_like, shape (d,)
        Non-increasing, finite, >= 0: the weight of the i-th largest magnitude.

    Returns
    -------
    ndarray of shape ``w.shape[:-1]`` (float64, or float32 for float32 input;
    a NumPy scalar for 1-D input), or a Tensor of that shape (differentiable).
    Cost O(d log d) per slice (one sort of the magnitudes).

    Examples
    --------
    >>> float(owl_penalty(np.array([1.0, -3.0, 2.0]), [3.0, 2.0, 1.0]))   # 3*3 + 2*2 + 1*1
    14.0
    """
    w = check_weights(w)
    theta = check_theta(theta, w.shape[-1])
    if is_torch_tensor(w):
        import torch

        magnitudes = w.to(result_dtype(w.dtype)).abs().sort(dim=-1, descending=True).values
        return magnitudes @ torch.as_tensor(theta, dtype=magnitudes.dtype, device=w.device)
    magnitudes = np.abs(w.astype(result_dtype(w.dtype), copy=False))
    descending = -np.sort(-magnitudes, axis=-1)
    return descending @ theta.astype(descending.dtype)


# ------------------------------------------------------------------ reference
def prox_owl_reference(w, theta) -> np.ndarray:
    """``argmin_u 1/2 ||u - w||^2 + OWL_theta(u)`` of a 1-D vector (float64 result).

    argsort + ``scipy.optimize.isotonic_regression``: the tests' reference for
    every fast OWL solver and for :func:`particles.simulate_owl`. Cost O(d log d).
    """
    from scipy.optimize import isotonic_regression  # only the tests' reference needs SciPy

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
def prox_owl(w, theta, *, method: str = "auto"):
    """``argmin_u 1/2 ||u - w||^2 + OWL_theta(u)`` along the last axis.

    ``prox.solve(w, theta, penalty="owl", method=method).x``: the same dispatch,
    result type, overflow guard and dtype policy as :func:`prox.prox_ws`
    (float32 stays float32; torch in, torch out, on its device). ``method`` is
    ``"auto"`` or a key of :data:`OWL_SOLVERS`. Cost O(d log d) per slice.

    Examples
    --------
    >>> prox_owl(np.array([3.0, -1.0, 0.5]), [1.0, 0.5, 0.5])
    array([ 2. , -0.5,  0. ])
    """
    return solve(w, theta, penalty="owl", method=method).x


# ------------------------------------------------------------------ GrOWL
def growl_penalty(W, theta) -> float:
    """GrOWL: OWL of the row norms of a 2-D matrix ``W`` (rows, cols); ``theta`` (rows,).

    Examples
    --------
    >>> growl_penalty(np.array([[3.0, 4.0], [1.0, 0.0]]), [2.0, 1.0])   # 2*5 + 1*1
    11.0
    """
    W = _check_matrix(W)
    return float(owl_penalty(np.linalg.norm(W, axis=1), theta))


def _check_matrix(W, *, checked: bool = False) -> np.ndarray:
    """``W`` as a float64 2-D ndarray; a ValueError naming the shape otherwise.

    ``checked``: ``W`` already went through :func:`check_weights` (not again).
    """
    if not checked:
        W = check_weights(W, "W")
    if W.ndim != 2:
        raise ValueError(f"Invalid W: expected a 2-D matrix (rows, cols), got shape "
                         f"{tuple(W.shape)}")
    if is_torch_tensor(W):
        W = W.detach().cpu().numpy()
    return np.asarray(W, dtype=np.float64)


def _rescale_rows(W, norms, new_norms) -> np.ndarray:
    scale = np.divide(new_norms, norms, out=np.zeros_like(norms), where=norms > 0)
    return W * scale[:, None]


def prox_growl(W, theta):
    """Prox of GrOWL on the rows of a 2-D matrix: OWL prox of the row norms, rows rescaled.

    ``W`` (rows, cols), ndarray or tensor; ``theta`` (rows,). Computed in
    float64 (the row norms go through the fast :func:`prox_owl`); returned in
    the input's kind and result dtype (float32 stays float32).
    """
    W = check_weights(W, "W")
    like = OutputKind.of(W)
    W = _check_matrix(W, checked=True)
    norms = np.linalg.norm(W, axis=1)
    return like(_rescale_rows(W, norms, prox_owl(norms, theta)))


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
    values = np.asarray(read_weights(W, "W"), dtype=np.float64).ravel()
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
