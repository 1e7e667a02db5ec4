"""Scaling by powers of two and pooled means: the one place the overflow guard is written.

Dividing or multiplying a float by a power of two is exact (unless the result
leaves the normal range), so solvers can work on ``w / s`` and ``lam / s`` and
return ``s * prox``: by the scaling law ``prox_{lam R}(w) = s prox_{(lam/s) R}(w/s)``
the answer is the same, and no intermediate sum, shift ``x + lam c`` or
collision time overflows near the top of the float range.

The other half of the guard is how two groups are pooled: every solver and
simulation merges block means with :func:`pooled_mean` (a weighted mean
written as an update, so no sum of the two groups is ever formed).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .validation import is_torch_tensor

__all__ = ["power_of_two_scale", "power_of_two_scales", "needs_scaling", "safe_window",
           "outside_window", "outside_window_jit", "pooled_mean", "pooled_mean_jit"]


def power_of_two_scale(value: float) -> float:
    """The power of two ``s`` with ``value / s`` in ``[1, 2)`` (1.0 for 0).

    ``value`` is a finite float >= 0. ``s`` is always representable (at most
    2**1023, at least 2**-1074), so ``x / s`` is at most 2 for every ``|x| <= value``.

    >>> power_of_two_scale(3.0), power_of_two_scale(1e308) == 2.0**1023
    (2.0, True)
    """
    if value == 0.0:
        return 1.0
    return math.ldexp(1.0, math.frexp(value)[1] - 1)


def power_of_two_scales(values):
    """:func:`power_of_two_scale` of every entry of a float64 ndarray or tensor (same kind).

    ``values`` finite and >= 0 (e.g. each row's largest magnitude); 1.0 where 0.

    >>> power_of_two_scales(np.array([0.0, 3.0, 0.5])).tolist()
    [1.0, 2.0, 0.5]
    """
    if is_torch_tensor(values):
        import torch

        exponent = torch.frexp(values)[1] - 1
        return torch.where(values > 0, torch.ldexp(torch.ones_like(values), exponent), 1.0)
    values = np.asarray(values, dtype=np.float64)
    return np.where(values > 0, np.ldexp(1.0, np.frexp(values)[1] - 1), 1.0)


def pooled_mean(mean_a, mass_a, mean_b, mass_b):
    """Mean of two pooled groups: ``(m_a A + m_b B) / (m_a + m_b)``.

    Written as the update ``A + (B - A) * m_b / (m_a + m_b)``: no sum of the
    groups is formed (nothing overflows near 1e308) and equal means stay
    exactly equal. Scalars, ndarrays or tensors (masses > 0; integer masses are
    divided as floats). Inside Numba kernels use :data:`pooled_mean_jit`.

    >>> pooled_mean(1.0, 3, 5.0, 1)
    2.0
    """
    return mean_a + (mean_b - mean_a) * (mass_b / (mass_a + mass_b))


#: :func:`pooled_mean` compiled for use inside Numba kernels (same formula, same code).
pooled_mean_jit = numba.njit(inline="always", cache=True)(pooled_mean)


def needs_scaling(magnitude: float, dtype) -> bool:
    """Whether sums and shifts of numbers up to ``magnitude`` risk leaving ``dtype``'s range.

    True when ``magnitude`` (e.g. ``max|w| + lam``, computed without overflow)
    is within 2**64 of the largest finite value, or below 2**-64 times the
    smallest normal one (where subnormals lose digits), or not finite. Inside
    that window a solver's partial sums of up to 2**62 terms stay finite and normal.
    """
    upper, lower = _SCALING_LIMITS.get(dtype) or safe_window(dtype)
    return outside_window(magnitude, upper, lower)


def safe_window(dtype) -> tuple[float, float]:
    """``(upper, lower)``: the magnitudes :func:`needs_scaling` accepts for ``dtype`` lie in
    ``[lower, upper]`` (or are 0)."""
    limits = _SCALING_LIMITS.get(dtype)
    if limits is None:  # np.finfo costs more than the rest of the test: once per dtype
        info = np.finfo(dtype)
        limits = _SCALING_LIMITS[dtype] = (math.ldexp(float(info.max), -64),
                                           math.ldexp(float(info.tiny), 64))
    return limits


def outside_window(magnitude, upper, lower):
    """The test of :func:`needs_scaling` against a window from :func:`safe_window`.

    ``not magnitude <= upper`` is also true for inf and NaN. Inside Numba kernels
    use :data:`outside_window_jit`.
    """
    return not magnitude <= upper or 0.0 < magnitude < lower


#: :func:`outside_window` compiled for use inside Numba kernels (same code).
outside_window_jit = numba.njit(inline="always", cache=True)(outside_window)

_SCALING_LIMITS: dict = {}  # dtype -> (upper, lower) bounds of needs_scaling's safe window
