"""The sorted transform: the one place the rank velocities are written down.

Sorting makes the penalty linear (docs/maths.md, 'The sorted transform'). With
``x = sort(w)`` ascending and 0-based ranks ``k = 0 .. d-1``,

    R(w) = 1/(d-1) * sum_k (2k - d + 1) x_k
    prox_{lam R}(w) = scatter( isotonic_fit( x + lam * c ) ),
    c_k = (d - 1 - 2k) / (d - 1)

``c_k`` is also the velocity of the particle of rank ``k`` in the physical
picture (docs/maths.md, 'The particle picture'): the leftmost particle moves
right with speed 1, the rightmost left with speed 1. Every solver, the
simulation and the penalty get ``c`` from :func:`velocity`, the single source
of truth for the formula.
"""
from __future__ import annotations

import numba
import numpy as np

from .validation import is_torch_tensor

__all__ = ["velocity", "velocity_jit", "run_velocity", "run_velocity_jit", "rank_velocities",
           "sorted_transform"]


def velocity(rank, d):
    """Velocity ``c_k = (d - 1 - 2k) / (d - 1)`` of the particle of 0-based rank ``k``.

    ``rank`` may be an int, a numpy array or a torch tensor (elementwise);
    ``d >= 2`` is the number of particles. The velocities sum to zero, which is
    why the prox keeps the mean.
    """
    return (d - 1 - 2 * rank) / (d - 1)


#: ``velocity`` compiled for use inside Numba kernels (same formula, same code).
velocity_jit = numba.njit(inline="always", cache=True)(velocity)


def _run_velocity(head, stop, d):
    # velocity((head + stop - 1) / 2, d) with the halving cancelled: exact integers on top.
    return (d - head - stop) / (d - 1)


#: :func:`run_velocity` for use inside Numba kernels (integer ranks; same formula).
run_velocity_jit = numba.njit(inline="always", cache=True)(_run_velocity)


def run_velocity(head, stop, d):
    """Mean velocity of the particles of ranks ``head .. stop - 1``: ``(d - head - stop)/(d - 1)``.

    ``c_k`` is affine in ``k``, so the mean over a run of ranks is the velocity
    of its middle rank ``(head + stop - 1) / 2``: the velocity of a cluster's
    centre of mass. Ints, ndarrays or tensors (integer tensors give float64).

    >>> run_velocity(0, 3, 3), run_velocity(1, 2, 3)
    (0.0, 0.0)
    """
    if is_torch_tensor(head) or is_torch_tensor(stop):
        import torch

        return torch.as_tensor(d - head - stop).to(torch.float64) / (d - 1)
    return _run_velocity(head, stop, d)


def rank_velocities(d: int, *, like=None):
    """All ``d`` rank velocities as a 1-D float64 array (or tensor if ``like`` is one).

    For ``d <= 1`` there is no force and the result is all zeros.
    """
    if is_torch_tensor(like):
        import torch

        ranks = torch.arange(d, device=like.device, dtype=torch.float64)
        return velocity(ranks, d) if d > 1 else torch.zeros_like(ranks)
    ranks = np.arange(d, dtype=np.float64)
    return velocity(ranks, d) if d > 1 else np.zeros(d)


def sorted_transform(w, lam: float):
    """Sort each row of ``w`` and shift it: ``z = sort(w) + lam * c``.

    Parameters
    ----------
    w : ndarray or Tensor, shape (..., d), floating point
    lam : float >= 0

    Returns
    -------
    z : same kind and dtype as ``w``, shape (..., d)
        The vector whose non-decreasing isotonic fit is the sorted prox.
    order : int64 indices, shape (..., d)
        ``sort(w) == take_along_axis(w, order)``; scatter a sorted result back
        with ``out[..., order] = fit``.
    """
    d = w.shape[-1]
    if is_torch_tensor(w):
        x, order = w.sort(dim=-1, stable=True)
        c = rank_velocities(d, like=w).to(w.dtype)
        return x + lam * c, order
    order = np.argsort(w, axis=-1, kind="stable")
    x = np.take_along_axis(w, order, axis=-1)
    return x + lam * rank_velocities(d).astype(w.dtype, copy=False), order
