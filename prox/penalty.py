"""The weight-sharing penalty R and its composite with L1."""
from __future__ import annotations

import numpy as np

from .validation import check_strength, check_weights, is_torch_tensor, result_dtype

__all__ = ["ws_penalty", "soft_threshold"]


def ws_penalty(w):
    """``R(w) = 1/(d-1) sum_{i>j} |w_i - w_j|`` along the last axis.

    Computed in O(d log d) from the sorted gaps: with ``x = sort(w)``, the gap
    ``x[g+1] - x[g]`` (0-based ``g``) lies between ``(g+1) (d-1-g)`` pairs, so

        R(w) = 1/(d-1) * sum_g (g+1) (d-1-g) (x[g+1] - x[g]).

    Every term is >= 0, so R is never negative and exactly 0 for constant
    input (the equivalent ``-sum_k c_k x_k`` cancels large terms and can
    round to -4e-15 there).

    Parameters
    ----------
    w : array_like or Tensor, shape (..., d)

    Returns
    -------
    ndarray of shape ``w.shape[:-1]`` (float64, or float32 for float32 input;
    a NumPy scalar for 1-D input), or a Tensor of that shape (differentiable,
    so ``R`` can be added to a training loss). +0.0 where ``d <= 1``.

    Examples
    --------
    >>> float(ws_penalty(np.array([0.0, 1.0, 5.0])))   # (1 + 5 + 4) / 2
    5.0
    """
    w = check_weights(w)
    d = w.shape[-1]
    gaps_before = np.arange(1, max(d, 1), dtype=np.float64)  # g + 1 for g = 0 .. d-2
    weights = gaps_before * (d - gaps_before) / max(d - 1, 1)
    if is_torch_tensor(w):
        import torch

        x = w.to(result_dtype(w.dtype)).sort(dim=-1).values
        weights = torch.as_tensor(weights, dtype=x.dtype, device=x.device)
        return (x.diff(dim=-1) * weights).sum(dim=-1)
    x = np.sort(w.astype(result_dtype(w.dtype), copy=False), axis=-1)
    return (np.diff(x, axis=-1) * weights.astype(x.dtype, copy=False)).sum(axis=-1)


def soft_threshold(u, mu):
    """Elementwise ``sign(u) * max(|u| - mu, 0)``: the prox of ``mu ||.||_1``."""
    mu = check_strength(mu, "mu")
    if is_torch_tensor(u):
        import torch

        return torch.sign(u) * torch.clamp(u.abs() - mu, min=0)
    return np.sign(u) * np.maximum(np.abs(u) - mu, 0)
