"""What a trained network is measured by: accuracy, distinct values, convolution-likeness.

Convolution-likeness of a first layer
-------------------------------------
A first layer is a matrix ``W`` of shape ``(units, 64)``: row ``i`` is hidden unit
``i``'s *filter*, its weights on the 8x8 pixel grid (in natural pixel order: under
shuffling, un-permute first with :meth:`networks.data.Dataset.unpermute`). A circular
convolution, unrolled into such a matrix (:func:`unroll_conv`), has a row per
``(channel, position)`` and every row is an exact torus translate of the other rows of
its channel. The score asks how close ``W`` is to that:

1. centre each filter and scale it to unit norm, ``f_i = (w_i - mean w_i) / ||.||``;
   a filter whose centred norm is below ``1e-6`` times the layer's largest is *flat*
   (all its weights equal, as strong sharing can leave a unit): it carries no pattern,
   is left out of the mean below and counted in ``flat_fraction`` instead;
2. ``s_i = max_{j, tau != 0} <f_i, roll(f_j, tau)>``: the best normalised
   cross-correlation of filter ``i`` with any filter (itself included) translated by
   any non-zero torus shift ``tau`` (63 shifts; excluding ``tau = 0`` keeps duplicated
   filters from counting as translations);
3. ``raw = mean_i s_i`` over the non-flat filters (in ``[-1, 1]``; exactly 1 for an
   unrolled convolution; 0 if every filter is flat);
4. calibrate against a null that keeps everything but the spatial arrangement: the same
   layer with each filter's 64 weights randomly permuted within the filter
   (``PERMUTED_DRAWS`` draws, fixed seed) has mean raw value ``baseline``, and
   ``score = (raw - baseline) / (1 - baseline)``. An unrolled convolution scores 1,
   random weights about 0, and so does any layer whose correlations come only from its
   filters' values (sparse filters match shifted sparse filters easily: a CNN's 3x3
   filters scattered by a pixel permutation score about 0, not 0.5). If the null itself
   reaches ``raw`` >= 1 - 1e-9 (filters of one or two non-zero pixels: translates of each
   other whatever their arrangement) the score is 0: the layer carries no evidence.

``gaussian_score`` is the simpler calibration, ``(raw - b) / (1 - b)`` with ``b`` the
mean raw of i.i.d. Gaussian matrices of the same shape (:func:`random_baseline`); it
is kept for reference but it rewards sparse or smooth filters whatever their
arrangement.

Cost: O(units^2 * 64 * 63) multiply-adds, three times (the layer and two null draws).

``locality`` complements it: per filter, the largest share of its squared weights
inside any 3x3 torus window, averaged (1 for a 3x3 convolution, about 0.3 for random).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from prox.sharing import count_shared_values

from .data import SIDE

__all__ = [
    "ConvLikeness",
    "accuracy",
    "conv_likeness",
    "distinct_values_per_layer",
    "layer_weights",
    "locality",
    "random_baseline",
    "torus_shifts",
    "unroll_conv",
]

FLAT_TOL = 1e-6
BASELINE_DRAWS = 4
PERMUTED_DRAWS = 2


@dataclass(frozen=True)
class ConvLikeness:
    """``score`` (conv = 1, no spatial structure ~ 0), ``raw`` (mean best NCC), ``baseline``
    (the permuted-filter null's raw), ``gaussian_score`` and ``gaussian_baseline`` (the
    Gaussian calibration), ``flat_fraction`` (filters left out), ``per_filter`` (each
    filter's best NCC, NaN if flat)."""

    score: float
    raw: float
    baseline: float
    gaussian_score: float
    gaussian_baseline: float
    flat_fraction: float
    per_filter: np.ndarray


def unroll_conv(conv: nn.Conv2d, side: int = SIDE) -> torch.Tensor:
    """The dense matrix of a 2-D convolution on ``side x side`` images (bias left out).

    Returns ``M`` of shape ``(out_channels * side^2, in_channels * side^2)`` with
    ``conv(x).flatten(1) - bias == x.flatten(1) @ M.T`` (rows in ``(channel, y, x)`` order).
    Computed by applying the convolution to the identity basis: exact for any padding.
    """
    n_in = conv.in_channels * side * side
    basis = torch.eye(n_in, dtype=conv.weight.dtype, device=conv.weight.device)
    with torch.no_grad():
        images = basis.reshape(n_in, conv.in_channels, side, side)
        response = torch.nn.functional.conv2d(
            torch.nn.functional.pad(images, [conv.padding[1]] * 2 + [conv.padding[0]] * 2,
                                    mode=conv.padding_mode if conv.padding_mode != "zeros"
                                    else "constant"),
            conv.weight, None, conv.stride, 0, conv.dilation, conv.groups)
    return response.reshape(n_in, -1).T.contiguous()


def layer_weights(model: nn.Module) -> list[np.ndarray]:
    """Each hidden layer's weights as a dense float64 matrix (convolutions unrolled)."""
    out = []
    for layer in model.hidden:
        weight = unroll_conv(layer) if isinstance(layer, nn.Conv2d) else layer.weight.detach()
        out.append(weight.cpu().double().numpy())
    return out


def distinct_values_per_layer(model: nn.Module) -> list[int]:
    """Distinct values in each hidden layer's dense weight matrix (all entries at once).

    The same count for every model: an unrolled convolution counts its kernel's
    values plus the zero outside the kernel.
    """
    return [int(count_shared_values(w.reshape(-1))) for w in layer_weights(model)]


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` classified as ``y`` (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(1) == y).sum()
    model.train(was_training)
    return float(correct) / max(int(y.shape[0]), 1)


def torus_shifts(side: int = SIDE) -> np.ndarray:
    """Index maps of the ``side^2 - 1`` non-zero torus shifts: ``(side^2 - 1, side^2)``.

    ``filter[maps[k]]`` is the filter rolled by the k-th shift ``(dy, dx) != (0, 0)``.
    """
    grid = np.arange(side * side).reshape(side, side)
    maps = [np.roll(grid, (dy, dx), axis=(0, 1)).ravel()
            for dy in range(side) for dx in range(side) if (dy, dx) != (0, 0)]
    return np.array(maps)


def _check_filters(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != SIDE * SIDE or w.shape[0] < 1:
        raise ValueError(f"Invalid weights: expected shape (units, {SIDE * SIDE}), "
                         f"got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("Invalid weights: contains NaN or infinite entries")
    return w


def _best_shift_correlation(w: np.ndarray) -> np.ndarray:
    """Step 1-2 of the score: each filter's best NCC with any non-zero torus translate."""
    centred = w - w.mean(1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    flat = norms <= FLAT_TOL * max(norms.max(), np.finfo(float).tiny)
    f = centred / np.where(flat, 1.0, norms)[:, None]
    f[flat] = 0.0
    shifted = f[:, torus_shifts()]  # (units, shifts, 64)
    best = np.full(w.shape[0], -np.inf)
    chunk = max(1, 4096 // w.shape[0])  # keeps the (chunk, units * shifts) block small
    flat_shifted = shifted.reshape(-1, w.shape[1])
    for start in range(0, w.shape[0], chunk):
        block = f[start:start + chunk] @ flat_shifted.T
        best[start:start + chunk] = block.max(1)
    best[flat] = np.nan
    return best


@lru_cache(maxsize=32)
def random_baseline(units: int, draws: int = BASELINE_DRAWS) -> float:
    """Mean raw score of i.i.d. standard Gaussian ``(units, 64)`` matrices (fixed seed)."""
    rng = np.random.default_rng(12345)
    return float(np.mean([_best_shift_correlation(rng.standard_normal((units, SIDE * SIDE)))
                          .mean() for _ in range(draws)]))  # Gaussian filters are never flat


def conv_likeness(weights) -> ConvLikeness:
    """Convolution-likeness of a first layer ``(units, 64)`` in natural pixel order.

    See the module docstring for the definition; ``score`` is 1 for an unrolled
    convolution and about 0 for random weights.
    """
    w = _check_filters(weights)
    per_filter = _best_shift_correlation(w)
    raw = _mean_raw(per_filter)
    rng = np.random.default_rng(2024)
    baseline = float(np.mean([
        _mean_raw(_best_shift_correlation(rng.permuted(w, axis=1)))
        for _ in range(PERMUTED_DRAWS)]))
    score = 0.0 if baseline >= 1 - 1e-9 else (raw - baseline) / (1.0 - baseline)
    gaussian = random_baseline(w.shape[0])
    return ConvLikeness(score, raw, baseline, (raw - gaussian) / (1.0 - gaussian), gaussian,
                        float(np.isnan(per_filter).mean()), per_filter)


def _mean_raw(per_filter: np.ndarray) -> float:
    flat = np.isnan(per_filter)
    return 0.0 if flat.all() else float(per_filter[~flat].mean())


def locality(weights, window: int = 3) -> float:
    """Mean over filters of the largest share of squared weight in a ``window^2`` torus patch."""
    w = _check_filters(weights)
    energy = (w ** 2).reshape(-1, SIDE, SIDE)
    total = energy.sum((1, 2))
    patch = np.zeros_like(energy)
    for dy in range(window):
        for dx in range(window):
            patch += np.roll(energy, (-dy, -dx), axis=(1, 2))
    share = patch.reshape(len(w), -1).max(1) / np.where(total > 0, total, 1.0)
    return float(np.where(total > 0, share, 0.0).mean())
