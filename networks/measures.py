"""What a trained network is measured by: accuracy, distinct values, locality, shifted copies.

A first layer is a matrix ``W`` of shape ``(units, P)``: row ``i`` is hidden unit ``i``'s
*filter*, its weights on the ``P`` pixels of the image (in natural pixel order: under
shuffling, un-permute first with :meth:`networks.data.Dataset.unpermute`). Units are laid
out as ``(channel, position)``: ``P`` units per channel. A circular convolution unrolled
into such a matrix (:func:`unroll_conv`) is local (every filter is zero outside a
``k x k`` window, or ``k`` taps in 1-D) and its filters are exact torus translates of the
other filters of their channel. Two measures ask how close ``W`` comes to that:

**Locality** (:func:`locality`): per filter, the largest share of its energy
``sum (w - m)^2`` inside any ``3 x 3`` torus window (5 samples in 1-D), averaged over the
filters; ``m`` is the layer's median, the value strong sharing pulls the layer toward (0
for an unrolled convolution). 1 for a convolution of that kernel size; the *random-order
control* is the same layer with each filter's weights randomly permuted within the filter
(``locality_null``), about ``9 / P`` plus what the largest weights alone give.

**Shifted copies** (:func:`shifted_copies`): centre and normalise each filter,
``f_i = (w_i - mean w_i) / ||.||``; ``s_i = max_{j, tau != 0} <f_i, roll_tau f_j>`` over the
filters ``j`` of the same channel (itself included) and every non-zero torus shift
``tau``; ``raw = mean_i s_i``. Calibrated against the same layer with each filter's
weights randomly permuted (``null``): ``score = (raw - null) / (1 - null)``, 1 for an
unrolled convolution, about 0 for a layer whose correlations come only from its value
distribution (sparse filters match shifted sparse filters easily). Filters whose centred
norm is below ``1e-6`` of the layer's largest are *flat* (no pattern), left out of the
mean and counted in ``flat_fraction``. All correlations over all shifts at once by FFT:
cost ``O(a P^2 P log P)`` for ``a`` channels.

**Distinct values**: exact counts (``prox.sharing.count_shared_values``) over each hidden
layer's whole dense weight matrix (convolutions unrolled, so a CNN counts its kernel's
values plus the zero outside the kernel).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from prox.sharing import count_shared_values

__all__ = [
    "ShiftedCopies",
    "accuracy",
    "distinct_values_per_layer",
    "layer_weights",
    "locality",
    "locality_window",
    "shifted_copies",
    "unroll_conv",
]

FLAT_TOL = 1e-6
NULL_SEED = 2024


@dataclass(frozen=True)
class ShiftedCopies:
    """``score`` (conv = 1, value-only structure ~ 0), ``raw`` (mean best correlation),
    ``null`` (the permuted-filter control's raw), ``flat_fraction`` (filters left out)."""

    score: float
    raw: float
    null: float
    flat_fraction: float


def locality_window(shape) -> int:
    """The window of :func:`locality`: 3 (x 3) on 2-D images, 5 samples on 1-D signals."""
    return 3 if len(tuple(shape)) == 2 else 5


def unroll_conv(conv: nn.Module, shape) -> torch.Tensor:
    """The dense matrix of a 1-D or 2-D convolution on ``shape`` inputs (bias left out).

    Returns ``M`` of shape ``(out_channels * P, in_channels * P)`` with
    ``conv(x).flatten(1) - bias == x.flatten(1) @ M.T`` (rows in ``(channel, position)``
    order). Computed by applying the convolution to the identity basis: exact for any
    padding mode; output and input must have the same size (stride 1, 'same' padding).
    """
    shape = tuple(shape)
    n_in = conv.in_channels * int(np.prod(shape))
    basis = torch.eye(n_in, dtype=conv.weight.dtype, device=conv.weight.device)
    with torch.no_grad():
        response = conv._conv_forward(basis.reshape(n_in, conv.in_channels, *shape),
                                      conv.weight, None)
    return response.reshape(n_in, -1).T.contiguous()


def layer_weights(model: nn.Module, shape) -> list[np.ndarray]:
    """Each hidden layer's weights as a dense float64 matrix (convolutions unrolled)."""
    out = []
    for layer in model.hidden:
        if isinstance(layer, (nn.Conv1d, nn.Conv2d)) and layer.stride in ((1,), (1, 1)):
            weight = unroll_conv(layer, shape)
        else:
            weight = layer.weight.detach()
        out.append(weight.cpu().double().numpy())
    return out


def distinct_values_per_layer(model: nn.Module, shape) -> list[int]:
    """Exact number of distinct values in each hidden layer's dense weight matrix."""
    return [int(count_shared_values(w.reshape(-1))) for w in layer_weights(model, shape)]


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` classified as ``y`` (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(1) == y).sum()
    model.train(was_training)
    return float(correct) / max(int(y.shape[0]), 1)


def _check_filters(weights, shape) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    pixels = int(np.prod(shape))
    if w.ndim != 2 or w.shape[1] != pixels or w.shape[0] < 1:
        raise ValueError(f"Invalid weights: expected shape (units, {pixels}) for images of "
                         f"shape {tuple(shape)}, got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("Invalid weights: contains NaN or infinite entries")
    return w


def _permuted(w: np.ndarray) -> np.ndarray:
    """The random-order control: each filter's weights permuted within the filter."""
    return np.random.default_rng(NULL_SEED).permuted(w, axis=1)


def _window_share(w: np.ndarray, shape, window: int) -> float:
    energy = ((w - np.median(w)) ** 2).reshape(-1, *shape)
    axes = tuple(range(1, energy.ndim))
    total = energy.sum(axes)
    patch = np.zeros_like(energy)
    for offset in np.ndindex(*([window] * len(shape))):
        patch += np.roll(energy, tuple(-o for o in offset), axis=axes)
    share = patch.reshape(len(w), -1).max(1) / np.where(total > 0, total, 1.0)
    return float(np.where(total > 0, share, 0.0).mean())


def locality(weights, shape) -> tuple[float, float]:
    """``(locality, random-order control)`` of filters ``(units, P)`` (module docstring)."""
    w = _check_filters(weights, shape)
    window = locality_window(shape)
    return _window_share(w, shape, window), _window_share(_permuted(w), shape, window)


def _best_shift_correlation(w: np.ndarray, shape, channels: int) -> np.ndarray:
    """Each filter's best correlation with a non-zero torus shift of a filter of its channel."""
    centred = w - w.mean(1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    flat = norms <= FLAT_TOL * max(norms.max(), np.finfo(float).tiny)
    f = centred / np.where(flat, 1.0, norms)[:, None]
    f[flat] = 0.0
    axes = tuple(range(-len(shape), 0))
    spectra = np.fft.rfftn(f.reshape(-1, *shape), axes=axes)
    best = np.full(len(w), -np.inf)
    per_channel = len(w) // channels
    for c in range(channels):
        block = spectra[c * per_channel:(c + 1) * per_channel]
        for start in range(0, per_channel, 16):
            rows = block[start:start + 16]
            # corr[i, j, tau] = sum_x f_i(x + tau) f_j(x), every tau at once
            corr = np.fft.irfftn(rows[:, None] * np.conj(block[None]), s=shape, axes=axes)
            corr = corr.reshape(len(rows), per_channel, -1)
            corr[..., 0] = -np.inf  # tau = 0: a duplicate is not a translation
            best[c * per_channel + start:c * per_channel + start + len(rows)] = corr.max((1, 2))
    best[flat] = np.nan
    return best


def _mean(per_filter: np.ndarray) -> float:
    ok = ~np.isnan(per_filter)
    return float(per_filter[ok].mean()) if ok.any() else 0.0


def shifted_copies(weights, shape, channels: int = 1) -> ShiftedCopies:
    """Shifted-copies score of filters ``(units, P)`` grouped in ``channels`` (docstring)."""
    w = _check_filters(weights, shape)
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1 \
            or len(w) % channels:
        raise ValueError(f"Invalid channels: {channels!r} for {len(w)} filters")
    per_filter = _best_shift_correlation(w, shape, channels)
    raw = _mean(per_filter)
    null = _mean(_best_shift_correlation(_permuted(w), shape, channels))
    score = 0.0 if null >= 1 - 1e-9 else (raw - null) / (1.0 - null)
    return ShiftedCopies(score, raw, null, float(np.isnan(per_filter).mean()))
