"""The data sets: scikit-learn's 8x8 digits in three variants, and a teacher task.

Every image is 8x8 (``SIDE x SIDE``), one channel, float32; labels are int64.

``plain``
    the digits, pixel values / 16 (so in [0, 1]).
``shifted``
    each image rolled on the torus (``np.roll`` over both axes, wrap-around) by its own
    random ``(dy, dx)`` in ``{0..7}^2``: the class no longer says where the digit is, so a
    translation-equivariant layer has something to exploit.
``shuffled``
    the ``shifted`` images with one fixed random permutation of the 64 pixels applied to
    every image: ``x_shuffled.flat[j] = x_shifted.flat[permutation[j]]``. A fully connected
    layer cannot tell the difference from ``shifted``; a CNN's locality prior is now wrong.
``teacher``
    a control with a known answer: spatially correlated noise (white noise smoothed by a
    Gaussian filter with wrap-around, standardised) labelled by a fixed random network
    that IS a convolution: circular 3x3 convolution with ``TEACHER_CHANNELS`` channels,
    ReLU, global average pooling, a linear read-out (centred so classes are balanced) and
    argmax over ``TEACHER_CLASSES`` classes.
``teacher_shuffled``
    the teacher images with the fixed pixel permutation, as for ``shuffled``.

Splits: stratified train / validation / test = 60 / 20 / 20 %, fixed by ``data_seed``
(as are the shifts, the permutation and the teacher). Training seeds vary the model's
initialisation and the batch order, never the data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SIDE",
    "VARIANTS",
    "Dataset",
    "load_dataset",
    "digits_images",
    "torus_shift",
    "pixel_permutation",
    "permute_pixels",
    "unpermute_pixels",
    "correlated_noise",
    "teacher_labels",
]

SIDE = 8
N_PIXELS = SIDE * SIDE
VARIANTS = ("plain", "shifted", "shuffled", "teacher", "teacher_shuffled")
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)  # train, validation, test
TEACHER_SAMPLES = 1800
TEACHER_CHANNELS = 4
TEACHER_KERNEL = 3
TEACHER_CLASSES = 4
NOISE_SIGMA = 1.0  # pixels: the correlation length of the teacher's images


@dataclass(frozen=True)
class Dataset:
    """One variant's splits. Images ``(n, 8, 8)`` float32, labels ``(n,)`` int64.

    ``permutation`` is the pixel permutation applied to every image (``None`` if the
    pixels are in their natural order); :meth:`unpermute` maps first-layer filters
    back to the natural pixel grid.
    """

    variant: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    permutation: np.ndarray | None = None

    @property
    def shift_invariant(self) -> bool:
        """Whether a torus shift of an image keeps its label (all variants but ``plain``)."""
        return self.variant != "plain"

    def shift_maps(self) -> np.ndarray:
        """Index maps ``(64, 64)`` of the 64 torus shifts in this variant's pixel order.

        ``image.reshape(-1)[maps[k]]`` is the image rolled by shift ``k = 8 * dy + dx`` in
        the natural grid, expressed in the stored (possibly permuted) pixel order: with
        stored ``s[j] = x[perm[j]]`` and rolled ``r[i] = x[S[i]]``, ``r[perm[j]] =
        s[perm^-1[S[perm[j]]]]``.
        """
        grid = np.arange(N_PIXELS).reshape(SIDE, SIDE)
        rolls = np.stack([np.roll(grid, (dy, dx), axis=(0, 1)).ravel()
                          for dy in range(SIDE) for dx in range(SIDE)])
        if self.permutation is None:
            return rolls
        inverse = np.argsort(self.permutation)
        return inverse[rolls[:, self.permutation]]

    def unpermute(self, weights) -> np.ndarray:
        """First-layer weights ``(..., 64)`` (one input pixel per column) in natural pixel order."""
        weights = np.asarray(weights)
        return weights if self.permutation is None else unpermute_pixels(weights,
                                                                        self.permutation)


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images ``(1797, 8, 8)`` float32 in [0, 1] and labels int64."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


def torus_shift(images, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Roll each image ``(n, H, W)`` by its own random ``(dy, dx)`` with wrap-around.

    Returns the rolled images (a new array) and the shifts ``(n, 2)``; image ``i`` is
    ``np.roll(images[i], shifts[i], axis=(0, 1))``.
    """
    images = np.asarray(images)
    n, height, width = images.shape
    shifts = np.column_stack((rng.integers(0, height, n), rng.integers(0, width, n)))
    # One gather instead of n calls to np.roll: out[i, r, c] = in[i, r - dy, c - dx].
    rows = (np.arange(height)[None, :] - shifts[:, :1]) % height
    cols = (np.arange(width)[None, :] - shifts[:, 1:]) % width
    out = images[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out, shifts


def pixel_permutation(seed: int, n_pixels: int = N_PIXELS) -> np.ndarray:
    """The fixed random pixel permutation of the shuffled variants."""
    return np.random.default_rng([seed, 7]).permutation(n_pixels)


def permute_pixels(images, permutation) -> np.ndarray:
    """``out.flat[j] = image.flat[permutation[j]]`` for every image ``(n, H, W)``."""
    images = np.asarray(images)
    flat = images.reshape(images.shape[0], -1)
    return flat[:, permutation].reshape(images.shape)


def unpermute_pixels(weights, permutation) -> np.ndarray:
    """Inverse of :func:`permute_pixels` on the last axis of ``weights`` ``(..., n_pixels)``.

    A first-layer unit computes ``sum_j W[j] x_shuffled[j] = sum_j W[j] x[perm[j]]``, so its
    weight on natural pixel ``perm[j]`` is ``W[j]``.
    """
    weights = np.asarray(weights)
    out = np.empty_like(weights)
    out[..., permutation] = weights
    return out


def correlated_noise(n: int, rng: np.random.Generator, *, side: int = SIDE,
                     sigma: float = NOISE_SIGMA) -> np.ndarray:
    """``n`` images of white noise smoothed by a Gaussian (wrap-around), standardised."""
    from scipy.ndimage import gaussian_filter

    noise = rng.standard_normal((n, side, side))
    smooth = gaussian_filter(noise, sigma=(0, sigma, sigma), mode="wrap")
    return ((smooth - smooth.mean()) / smooth.std()).astype(np.float32)


def _circular_conv(images: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """``out[n, c, y, x] = sum_{u,v} kernels[c, u, v] images[n, y + u - k//2, x + v - k//2]``
    on the torus (cross-correlation, as ``torch.nn.Conv2d`` with circular padding)."""
    k = kernels.shape[-1]
    out = np.zeros((images.shape[0], kernels.shape[0]) + images.shape[1:])
    for u in range(k):
        for v in range(k):
            moved = np.roll(images, (k // 2 - u, k // 2 - v), axis=(1, 2))
            out += kernels[None, :, u, v, None, None] * moved[:, None]
    return out


def teacher_labels(images, seed: int) -> np.ndarray:
    """Labels of the fixed random teacher (a convolution) for ``images`` ``(n, H, W)``.

    Circular 3x3 convolution (``TEACHER_CHANNELS`` kernels), ReLU, global average
    pooling, then a random linear read-out of the pooled features, centred and scaled
    by their mean and std over ``images``; the label is the argmax over classes.
    """
    rng = np.random.default_rng([seed, 11])
    kernels = rng.standard_normal((TEACHER_CHANNELS, TEACHER_KERNEL, TEACHER_KERNEL))
    readout = rng.standard_normal((TEACHER_CHANNELS, TEACHER_CLASSES))
    pooled = np.maximum(_circular_conv(np.asarray(images, np.float64), kernels), 0).mean((2, 3))
    logits = ((pooled - pooled.mean(0)) / pooled.std(0)) @ readout
    return logits.argmax(1).astype(np.int64)


def _split(x, y, seed: int):
    from sklearn.model_selection import train_test_split

    n_test = SPLIT_FRACTIONS[2]
    n_val = SPLIT_FRACTIONS[1] / (1 - n_test)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=n_test, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=n_val, random_state=seed + 1, stratify=y_rest)
    return x_train, y_train, x_val, y_val, x_test, y_test


def load_dataset(variant: str, *, data_seed: int = 0) -> Dataset:
    """The splits of one variant (see the module docstring). Deterministic in ``data_seed``."""
    if variant not in VARIANTS:
        raise ValueError(f"Invalid variant: {variant!r}; expected one of {VARIANTS}")
    if isinstance(data_seed, bool) or not isinstance(data_seed, (int, np.integer)):
        raise TypeError(f"Invalid data_seed: expected an int, got {data_seed!r}")
    rng = np.random.default_rng([int(data_seed), 3])
    if variant.startswith("teacher"):
        x = correlated_noise(TEACHER_SAMPLES, rng)
        y = teacher_labels(x, int(data_seed))
        n_classes = TEACHER_CLASSES
    else:
        x, y = digits_images()
        n_classes = 10
        if variant != "plain":
            x, _ = torus_shift(x, rng)
    permutation = None
    if variant.endswith("shuffled"):
        permutation = pixel_permutation(int(data_seed))
        x = permute_pixels(x, permutation)
    return Dataset(variant, *_split(x, y, int(data_seed)), n_classes=n_classes,
                   permutation=permutation)
