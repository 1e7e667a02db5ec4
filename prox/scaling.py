"""Scaling by powers of two: the one place the overflow guard is written.

Dividing or multiplying a float by a power of two is exact (unless the result
leaves the normal range), so solvers can work on ``w / s`` and ``lam / s`` and
return ``s * prox``: by the scaling law ``prox_{lam R}(w) = s prox_{(lam/s) R}(w/s)``
the answer is the same, and no intermediate sum, shift ``x + lam c`` or
collision time overflows near the top of the float range.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["power_of_two_scale", "needs_scaling"]


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


def needs_scaling(magnitude: float, dtype) -> bool:
    """Whether sums and shifts of numbers up to ``magnitude`` risk leaving ``dtype``'s range.

    True when ``magnitude`` (e.g. ``max|w| + lam``, computed without overflow)
    is within 2**64 of the largest finite value, or below 2**-64 times the
    smallest normal one (where subnormals lose digits). Inside that window a
    solver's partial sums of up to 2**62 terms stay finite and normal.
    """
    info = np.finfo(dtype)
    if not math.isfinite(magnitude):
        return True
    return magnitude > math.ldexp(float(info.max), -64) or (
        0.0 < magnitude < math.ldexp(float(info.tiny), 64)
    )
