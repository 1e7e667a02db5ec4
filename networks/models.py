"""The models: the seed paper's FC network, the CNN it contains, MNIST-1D's references.

Images have ``P`` pixels on a torus (``P = 196`` for 14x14, ``P = 40`` for MNIST-1D).
Hidden layers have ``P * a`` units laid out as ``(channel, position)``, exactly like a
flattened convolution's output (``a`` channels):

``FullyConnected`` (the paper's FC network)
    ``P -> P*a -> P*a`` fully connected, each layer followed by BatchNorm, ReLU and
    dropout; then each channel's ``P`` units are averaged (pooling over positions per
    channel) and a linear read-out maps the ``a`` channel means to the classes.
    BatchNorm is per unit, as in the paper's code (``norm="channel"`` pools each channel's
    statistics instead). The network *contains* the CNN: with each FC weight matrix set
    to the unrolled convolution (:func:`networks.measures.unroll_conv`) and each unit's
    BatchNorm holding its channel's statistics, it computes the CNN's function exactly
    (eval mode). Every model normalises the channel means with a BatchNorm before the
    read-out (the means of a wide layer vary little between images at initialisation).
    ``batchnorm=False`` drops the hidden layers' BatchNorm (the check on the
    effective-learning-rate confound: with BatchNorm after a layer, shrinking that
    layer's weights only raises its effective learning rate); the read-out's BatchNorm
    stays, so a common rescaling of layer 2's weights *and* bias is still undone, but
    one of layer 1's is not.
``ConvNet`` (the paper's CNN)
    the same with each FC layer replaced by a circular convolution (3x3 in 2-D, 5 taps
    in 1-D): ``9 a + 9 a^2`` weights instead of ``P^2 a (1 + a)``.
``MLPReference`` / ``CNNReference``
    MNIST-1D's published baselines: an MLP ``40 -> 100 -> 100 -> 10`` with ReLU, and a
    CNN of three 1-D convolutions (25 channels; kernel 5, 3, 3; stride 2; padding 1)
    with ReLU and a linear read-out of the ``25 x 5`` features.

Cost of a forward pass per image: ``P^2 a (1 + a)`` multiply-adds for the FC network,
``9 P a (1 + a)`` (2-D) for the CNN.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ARCHITECTURES", "MODELS", "model_parts", "FullyConnected", "ConvNet",
           "MLPReference", "CNNReference", "build", "kernel_size"]

ARCHITECTURES = ("fc", "fc_nobn", "cnn", "mlp_ref", "cnn_ref")
#: Model name -> (architecture, penalty kind); the penalties are in networks.penalties.
_MODEL_PARTS = {
    "fc": ("fc", "none"), "fc_wsr": ("fc", "wsr"), "fc_wsr_rows": ("fc", "wsr_rows"),
    "fc_l1": ("fc", "l1"), "fc_wd": ("fc", "wd"), "fc_median": ("fc", "median"),
    "fc_nobn": ("fc_nobn", "none"), "fc_nobn_wsr": ("fc_nobn", "wsr"),
    "cnn": ("cnn", "none"), "mlp_ref": ("mlp_ref", "none"), "cnn_ref": ("cnn_ref", "none"),
}
MODELS = tuple(_MODEL_PARTS)


def model_parts(model: str) -> tuple[str, str]:
    """``(architecture, penalty kind)`` of a model name."""
    if model not in _MODEL_PARTS:
        raise ValueError(f"Invalid model: {model!r}; expected one of {MODELS}")
    return _MODEL_PARTS[model]


def kernel_size(shape: tuple[int, ...]) -> int:
    """The CNN's kernel: 3 (x 3) on 2-D images, 5 taps on 1-D signals."""
    return 3 if len(shape) == 2 else 5


class _ChannelNorm(nn.Module):
    """BatchNorm per channel of a ``(n, a * P)`` layer laid out as ``(channel, position)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.norm(h.reshape(h.shape[0], self.channels, -1)).reshape(h.shape)


class _Head(nn.Module):
    """Mean over each channel's positions, then a linear map to the classes."""

    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.channels = channels
        # The channel means of a wide layer vary little between images at initialisation;
        # normalising them (batch statistics in training) lets SGD move at once.
        self.norm = nn.BatchNorm1d(channels)
        self.linear = nn.Linear(channels, n_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(self.norm(h.reshape(h.shape[0], self.channels, -1).mean(-1)))


class FullyConnected(nn.Module):
    """The paper's FC network on ``shape`` images (module docstring).

    ``hidden`` is the tuple of ``nn.Linear`` layers (the ones the penalties act on).
    Input ``(n, *shape)`` or ``(n, P)``; output logits ``(n, n_classes)``.
    """

    def __init__(self, shape, channels: tuple[int, ...], n_classes: int = 10, *,
                 dropout: float = 0.4, batchnorm: bool = True, norm: str = "unit"):
        super().__init__()
        pixels = int(torch.tensor(shape).prod())
        widths = [pixels] + [pixels * c for c in channels]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(
            (nn.BatchNorm1d(pixels * c) if norm == "unit" else _ChannelNorm(c))
            if batchnorm else nn.Identity() for c in channels)
        self.dropout = nn.Dropout(dropout)
        self.head = _Head(channels[-1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], -1)
        for layer, norm in zip(self.hidden, self.norms):
            h = self.dropout(torch.relu(norm(layer(h))))
        return self.head(h)


class ConvNet(nn.Module):
    """The paper's CNN: circular convolutions, BatchNorm, ReLU, dropout, global pooling."""

    def __init__(self, shape, channels: tuple[int, ...], n_classes: int = 10, *,
                 dropout: float = 0.4, batchnorm: bool = True):
        super().__init__()
        self.shape = tuple(shape)
        conv = nn.Conv2d if len(self.shape) == 2 else nn.Conv1d
        norm = nn.BatchNorm2d if len(self.shape) == 2 else nn.BatchNorm1d
        k = kernel_size(self.shape)
        widths = [1, *channels]
        self.hidden = nn.ModuleList(conv(a, b, k, padding=k // 2, padding_mode="circular")
                                    for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(norm(c) if batchnorm else nn.Identity() for c in channels)
        self.dropout = nn.Dropout(dropout)
        self.head = _Head(channels[-1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], 1, *self.shape)
        for layer, norm in zip(self.hidden, self.norms):
            h = self.dropout(torch.relu(norm(layer(h))))
        return self.head(h)


class MLPReference(nn.Module):
    """MNIST-1D's MLP baseline: ``40 -> 100 -> 100 -> 10``, ReLU."""

    def __init__(self, shape, n_classes: int = 10, hidden: int = 100):
        super().__init__()
        pixels = int(torch.tensor(shape).prod())
        self.hidden = nn.ModuleList([nn.Linear(pixels, hidden), nn.Linear(hidden, hidden)])
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], -1)
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return self.head(h)


class CNNReference(nn.Module):
    """MNIST-1D's CNN baseline: three strided 1-D convolutions (25 channels), ReLU, linear."""

    def __init__(self, shape, n_classes: int = 10, channels: int = 25):
        super().__init__()
        (length,) = shape
        self.hidden = nn.ModuleList([nn.Conv1d(1, channels, 5, stride=2, padding=1),
                                     nn.Conv1d(channels, channels, 3, stride=2, padding=1),
                                     nn.Conv1d(channels, channels, 3, stride=2, padding=1)])
        for _ in range(3):
            length = (length + 2 - (5 if _ == 0 else 3)) // 2 + 1
        self.head = nn.Linear(channels * length, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], 1, -1)
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return self.head(h.flatten(1))


def build(architecture: str, shape, *, channels: tuple[int, ...], n_classes: int = 10,
          dropout: float = 0.4, norm: str = "unit") -> nn.Module:
    """A freshly initialised model (seed torch before calling for a reproducible one)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"Invalid architecture: {architecture!r}; expected one of "
                         f"{ARCHITECTURES}")
    channels = tuple(channels)
    if len(channels) < 1 or any(isinstance(c, bool) or not isinstance(c, int) or c < 1
                                for c in channels):
        raise ValueError(f"Invalid channels: {channels!r} (must be ints >= 1)")
    if architecture == "mlp_ref":
        return MLPReference(shape, n_classes)
    if architecture == "cnn_ref":
        if len(shape) != 1:
            raise ValueError(f"Invalid architecture: 'cnn_ref' is 1-D, got shape {shape}")
        return CNNReference(shape, n_classes)
    if architecture == "cnn":
        return ConvNet(shape, channels, n_classes, dropout=dropout)
    return FullyConnected(shape, channels, n_classes, dropout=dropout,
                          batchnorm=architecture == "fc", norm=norm)
