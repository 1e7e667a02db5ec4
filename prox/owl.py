"""OWL (ordered weighted L1) and GrOWL (its group version): the family around R.

OWL with non-increasing weights ``lam_1 >= lam_2 >= ... >= lam_d >= 0``::

    OWL(w) = sum_i lam_i |w|_[i]        (|w|_[1] >= |w|_[2] >= ... sorted magnitudes)

covers Lasso (all equal), OSCAR (:func:`oscar_weights`) and SLOPE. Its prox
(DESIGN.md §4): sort ``|w|`` descending, subtract ``lam``, take the
non-increasing isotonic fit, clip at 0, restore signs and order. Particle view:
magnitudes drift toward a wall at 0 with rank-dependent speeds ``lam_i``,
merge on collision and stick to the wall.

GrOWL on a matrix applies OWL to its row norms and rescales each row, so whole
rows are zeroed or tied in norm (Zhang et al., ICLR 2018, appendix A). The
isotonic fit is SciPy's (``scipy.optimize.isotonic_regression``); these are
small CPU reference functions for NumPy arrays.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import isotonic_regression

from ._validation import check_strength, check_weights

__all__ = ["oscar_weights", "owl_penalty", "prox_owl", "growl_penalty", "prox_growl", "compression_stats"]


def _check_owl_weights(lam, d: int) -> np.ndarray:
    lam = np.asarray(lam, dtype=np.float64)
    if lam.shape != (d,):
        raise ValueError(f"Invalid lam: expected shape ({d},), got {lam.shape}")
    if not np.isfinite(lam).all() or (lam < 0).any():
        raise ValueError("Invalid lam: weights must be finite and >= 0")
    if (np.diff(lam) > 0).any():
        raise ValueError("Invalid lam: weights must be non-increasing")
    return lam


def oscar_weights(d: int, lam1: float, lam2: float) -> np.ndarray:
    """OSCAR's OWL weights ``lam_i = lam1 + lam2 (d - i)``, i = 1..d (non-increasing)."""
    lam1, lam2 = check_strength(lam1, "lam1"), check_strength(lam2, "lam2")
    return lam1 + lam2 * (d - np.arange(1, d + 1))


def owl_penalty(w, lam) -> float:
    """``sum_i lam_i |w|_[i]`` of a 1-D vector."""
    w = np.asarray(check_weights(w), dtype=np.float64).ravel()
    lam = _check_owl_weights(lam, w.size)
    return float(np.sort(np.abs(w))[::-1] @ lam)


def prox_owl(w, lam) -> np.ndarray:
    """``argmin_u 1/2 ||u - w||^2 + OWL_lam(u)`` of a 1-D vector (float64 result).

    Cost O(d log d): one sort and one isotonic fit.
    """
    w = np.asarray(check_weights(w), dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"Invalid w: expected a 1-D vector, got shape {w.shape}")
    lam = _check_owl_weights(lam, w.size)
    if w.size == 0:
        return w.copy()
    magnitude = np.abs(w)
    order = np.argsort(-magnitude, kind="stable")
    fit = isotonic_regression(magnitude[order] - lam, increasing=False).x
    out = np.empty_like(w)
    out[order] = np.maximum(fit, 0.0)
    return np.sign(w) * out


def growl_penalty(W, lam) -> float:
    """GrOWL: OWL of the row norms of a 2-D matrix."""
    W = np.asarray(check_weights(W, "W"), dtype=np.float64)
    return owl_penalty(np.linalg.norm(W, axis=1), lam)


def prox_growl(W, lam) -> np.ndarray:
    """Prox of GrOWL on the rows of a 2-D matrix: OWL prox of the row norms, rows rescaled."""
    W = np.asarray(check_weights(W, "W"), dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"Invalid W: expected a 2-D matrix, got shape {W.shape}")
    norms = np.linalg.norm(W, axis=1)
    new_norms = prox_owl(norms, lam)
    scale = np.divide(new_norms, norms, out=np.zeros_like(norms), where=norms > 0)
    return W * scale[:, None]


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
