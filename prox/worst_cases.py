"""Adversarial inputs for the torch solvers, shared by tests, benchmarks, app and notebooks.

Each generator returns a 1-D float64 ndarray ``w`` of length ``d`` (sorted
ascending; permute it freely, the prox commutes with permutations) built in the
space of the sorted transform ``z_k = x_k + lam * c_k``
(:func:`prox.transform.velocity`): choose ``z``, then ``x = z - lam * c``. Any
``z`` with ``z[k+1] - z[k] >= -u``, ``u = 2 lam / (d-1)`` (the velocity gap of
neighbouring ranks), gives a sorted ``x``.

    cascade(d, lam)     parallel PAVA needs d - ceil(sqrt d) + 1 rounds
    separated(d, lam)   the fit has d blocks (minimum lower sets: d steps)
    staircase(d, lam)   a drop at every midpoint of every level (divide and conquer)

``WORST_CASES[name](d, lam=1.0)`` gives the worst case of each torch solver.
"""
from __future__ import annotations

import math

import numpy as np

from .transform import rank_velocities

__all__ = ["cascade", "separated", "staircase", "WORST_CASES", "input_families"]


def _from_transform(z: np.ndarray, lam: float) -> np.ndarray:
    """The sorted input whose sorted transform at ``lam`` is ``z``."""
    return z - lam * rank_velocities(z.size)


def cascade(d: int, lam: float = 1.0) -> np.ndarray:
    """Input on which parallel PAVA absorbs one neighbour per round at ``lam``.

    The first ``m = max(2, ceil(sqrt d))`` weights are tied: their transform
    falls by ``u`` per entry, so round 1 pools them into a heavy cluster whose
    mean exceeds its last entry by ``e_0 = (m-1) u / 2``. The remaining
    ``K = d - m`` entries increase by tiny gaps ``g_k``. With ``M_k = m + k``
    the cluster's size before it absorbs entry ``k``, ``E_k = M_k * excess_k``
    obeys ``E_{k+1} = E_k - M_k g_k``; taking ``g_k = E_0 / (2 K M_k)`` keeps
    ``E_k >= E_0 / 2 > 0``, so the cluster always absorbs the next entry, and
    since the entries after it increase, never more than one per round.
    Rounds: ``1 + K = d - m + 1`` (``~ d - sqrt d``); all of ``w`` ends in
    one block at ``lam``. The smallest gap is about ``lam / (2 d^2)``, far
    above float64 resolution for ``d <= 2^24``.

    Returns float64, shape (d,), sorted ascending. Requires ``lam > 0`` for
    ``d >= 2`` (at ``lam = 0`` the prox is the identity and nothing cascades).
    """
    if d <= 1:
        return np.zeros(d)
    if not lam > 0:
        raise ValueError(f"Invalid lam: {lam} (cascade needs lam > 0)")
    m = min(d, max(2, math.ceil(math.sqrt(d))))
    k_steps = d - m
    c = rank_velocities(d)
    z = np.empty(d)
    z[:m] = lam * c[:m]  # the tied weights x = 0
    if k_steps:
        excess_0 = (m - 1) * lam / (d - 1)  # mean of the tie cluster minus its last z
        mass = m + np.arange(k_steps)
        gaps = (m * excess_0) / (2.0 * k_steps * mass)
        z[m:] = z[m - 1] + np.cumsum(gaps)
    x = _from_transform(z, lam)
    x[:m] = 0.0  # exact ties, whatever the rounding of z
    return x


def separated(d: int, lam: float = 1.0) -> np.ndarray:
    """Input whose prox at ``lam`` keeps all ``d`` weights apart (``d`` blocks).

    Neighbours are ``2 u = 4 lam / (d-1)`` apart, so the transform still
    increases by ``u`` per entry. Returns float64, shape (d,), sorted ascending.
    """
    if d <= 1:
        return np.zeros(d)
    gap = 4.0 * lam / (d - 1) if lam > 0 else 1.0
    return gap * np.arange(d, dtype=np.float64)


def staircase(d: int, lam: float = 1.0) -> np.ndarray:
    """Input with a drop of the transform at the midpoint of every dyadic segment.

    ``z_k = u * (k - t(k))`` with ``t(k)`` the number of trailing zero bits of
    ``k`` (``k >= 1``, ``t(0) = 0``): going up by ``u`` per entry except at
    odd multiples of ``2^j``, which are the midpoints of level ``j``, where it
    falls by ``(j - 1) u`` (falls steeper than ``u`` are flattened to ties so
    that ``x`` stays sorted). Every level of divide and conquer then has
    segments that merge across their midpoint into a left half with many
    blocks, which is what makes its binary searches run long: about
    0.9 * L(L+1)/2 steps for ``d = 2^L`` (191 of 210 at ``L = 20``), against
    0.75-0.85 * L(L+1)/2 on random normal input at ``lam = 0.5``. Returns
    float64, shape (d,), sorted ascending.
    """
    if d <= 1:
        return np.zeros(d)
    u = 2.0 * lam / (d - 1) if lam > 0 else 1.0
    k = np.arange(d)
    trailing = np.zeros(d)
    nonzero = k > 0
    trailing[nonzero] = np.log2(k[nonzero] & -k[nonzero])
    x = _from_transform(u * (k - trailing), lam)
    # A fall of more than u in one step would need x to decrease: flatten it
    # to a tie instead (the transform then falls by exactly u there).
    return np.maximum.accumulate(x)


#: solver name -> worst-case generator ``(d, lam=1.0) -> ndarray``.
WORST_CASES = {
    "parallel_pava": cascade,
    "lower_sets": separated,
    "divide_conquer": staircase,
}


def input_families(d: int, rng: np.random.Generator) -> dict:
    """One vector of length ``d`` from each input family the benchmarks and tests sweep.

    Random normal; each solver's worst case; and the degenerate geometry where
    many collisions happen at one instant: ties (few integer levels),
    quantized (rounded to 0.1), an evenly spaced grid, a mirrored set
    (``h, -h``), and all equal. Names are the keys, in that order.
    """
    half = rng.standard_normal(d // 2)
    return {
        "random": rng.standard_normal(d),
        "cascade": cascade(d),
        "staircase": staircase(d),
        "separated": separated(d),
        "ties": rng.integers(0, 4, d).astype(np.float64),
        "quantized": np.round(rng.standard_normal(d), 1),
        "grid": np.arange(d, dtype=np.float64),
        "mirrored": np.concatenate((half, -half, np.zeros(d - 2 * (d // 2)))),
        "all_equal": np.full(d, 2.5),
    }
