"""The weight-sharing penalty R and its composite with L1."""
from __future__ import annotations

import numpy as np

from ._validation import check_strength, check_weights, is_torch_tensor
from .transform import rank_velocities

__all__ = ["ws_penalty", "soft_threshold"]


def ws_penalty(w):
    """``R(w) = 1/(d-1) sum_{i>j} |w_i - w_j|`` along the last axis.

    Computed in O(d log d) from the sorted form ``R = -sum_k c_k x_k``
    (``x = sort(w)``, ``c`` the rank velocities of :mod:`prox.transform`).

    Parameters
    ----------
    w : array_like or Tensor, shape (..., d)

    Returns
    -------
    ndarray of shape ``w.shape[:-1]`` (float64, or float32 for float32 input;
    a NumPy scalar for 1-D input), or a Tensor of that shape (differentiable,
    so ``R`` can be added to a training loss). 0 where ``d <= 1``.
    """
    w = check_weights(w)
    d = w.shape[-1]
    if is_torch_tensor(w):
        import torch

        x = w if w.is_floating_point() else w.to(torch.float64)
        c = rank_velocities(d, like=x).to(x.dtype)
        return -(x.sort(dim=-1).values * c).sum(dim=-1)
    x = w if w.dtype in (np.float32, np.float64) else w.astype(np.float64)
    c = rank_velocities(d).astype(x.dtype, copy=False)
    return -(np.sort(x, axis=-1) * c).sum(axis=-1)


def soft_threshold(u, mu):
    """Elementwise ``sign(u) * max(|u| - mu, 0)``: the prox of ``mu ||.||_1``."""
    mu = check_strength(mu, "mu")
    if is_torch_tensor(u):
        import torch

        return torch.sign(u) * torch.clamp(u.abs() - mu, min=0)
    return np.sign(u) * np.maximum(np.abs(u) - mu, 0)
