"""Prox of weight sharing plus L1: ``lam R + mu ||.||_1``."""
from __future__ import annotations

from .dispatch import prox_ws
from .penalty import soft_threshold
from .validation import check_strength

__all__ = ["prox_ws_l1"]


def prox_ws_l1(w, lam, mu, *, method: str = "auto"):
    """``prox_{lam R + mu ||.||_1}(w)`` along the last axis.

    Both terms are symmetric in the same way, so the prox factors
    (docs/maths.md, 'The family'): ``soft_threshold_mu(prox_{lam R}(w))``. Groups that share a
    value stay shared; groups within ``mu`` of zero become exactly zero.

    Same conventions as :func:`prox.prox_ws` (kind, shape, dtype, device; the
    input is not modified); ``mu`` must be finite and >= 0.
    """
    mu = check_strength(mu, "mu")
    lam = check_strength(lam, "lam")
    return soft_threshold(prox_ws(w, lam, method=method), mu)
