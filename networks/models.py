"""The models: a fully connected network and the CNN it contains.

Both see an image as ``SIDE * SIDE = 64`` pixels and have hidden layers of
``64 * channels`` units, laid out as ``(channel, pixel)`` exactly like a flattened
convolution's output, so that :func:`networks.measures.unroll_conv` of the CNN's
first convolution IS a valid first layer of the FC network: the FC network is the
CNN with the convolution constraint removed (and ``64 * 64 * channels`` free
weights in the first layer instead of ``9 * channels``).

Read-out (``readout``): ``"pool"`` averages each channel's 64 units (global average
pooling, as the CNN's usual head) and maps the channels linearly to the classes;
``"linear"`` maps all units linearly to the classes.

Model names (``MODELS``): ``fc`` and ``cnn`` are plain; ``fc_wsr`` is ``fc`` trained
with weight-sharing regularization over each whole flattened FC layer, ``fc_wsr_rows``
over each hidden unit's incoming weights (see :mod:`networks.training`).
"""
from __future__ import annotations

import torch
from torch import nn

from .data import N_PIXELS, SIDE

__all__ = ["MODELS", "FullyConnected", "SmallCNN", "build_model", "first_layer_weight",
           "sharing_scope"]

MODELS = ("fc", "fc_wsr", "fc_wsr_rows", "cnn")
_SCOPES = {"fc": None, "fc_wsr": "tensor", "fc_wsr_rows": "rows", "cnn": None}
READOUTS = ("pool", "linear")


def sharing_scope(model_name: str) -> str | None:
    """The ``WeightSharing`` scope a model name asks for (None: no regularization)."""
    if model_name not in MODELS:
        raise ValueError(f"Invalid model: {model_name!r}; expected one of {MODELS}")
    return _SCOPES[model_name]


class _Readout(nn.Module):
    def __init__(self, channels: int, n_classes: int, readout: str):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"Invalid readout: {readout!r}; expected one of {READOUTS}")
        self.pool = readout == "pool"
        self.channels = channels
        features = channels if self.pool else channels * N_PIXELS
        # Pooled features vary little between images at initialisation; normalising them
        # (batch statistics in training, running ones in eval) lets SGD/Adam move at once.
        self.norm = nn.BatchNorm1d(features) if self.pool else nn.Identity()
        self.linear = nn.Linear(features, n_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h.reshape(h.shape[0], self.channels, N_PIXELS)
        return self.linear(self.norm(h.mean(-1) if self.pool else h.flatten(1)))


class FullyConnected(nn.Module):
    """``64 -> 64*c1 -> (64*c2) -> read-out``, ReLU between; input ``(n, 8, 8)`` or ``(n, 64)``.

    ``hidden`` is the tuple of ``nn.Linear`` layers (the ones weight sharing acts on).
    """

    def __init__(self, channels: tuple[int, ...], n_classes: int, readout: str = "pool"):
        super().__init__()
        widths = [N_PIXELS] + [N_PIXELS * c for c in channels]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.readout = _Readout(channels[-1], n_classes, readout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], N_PIXELS)
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return self.readout(h)


class SmallCNN(nn.Module):
    """Circular 3x3 convolutions with ``channels`` channels, ReLU between, then the read-out."""

    def __init__(self, channels: tuple[int, ...], n_classes: int, readout: str = "pool",
                 kernel_size: int = 3):
        super().__init__()
        widths = [1, *channels]
        self.hidden = nn.ModuleList(
            nn.Conv2d(a, b, kernel_size, padding=kernel_size // 2, padding_mode="circular")
            for a, b in zip(widths, widths[1:]))
        self.readout = _Readout(channels[-1], n_classes, readout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], 1, SIDE, SIDE)
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return self.readout(h)


def build_model(name: str, *, channels: tuple[int, ...], n_classes: int,
                readout: str = "pool") -> nn.Module:
    """A freshly initialised model (seed torch before calling for a reproducible one)."""
    sharing_scope(name)  # validates the name
    channels = tuple(int(c) for c in channels)
    if not channels or min(channels) < 1:
        raise ValueError(f"Invalid channels: {channels!r}; expected one or more ints >= 1")
    if name == "cnn":
        return SmallCNN(channels, n_classes, readout)
    return FullyConnected(channels, n_classes, readout)


def first_layer_weight(model: nn.Module) -> torch.Tensor:
    """The first layer as a dense ``(units, 64)`` matrix (a convolution is unrolled)."""
    from .measures import unroll_conv

    layer = model.hidden[0]
    if isinstance(layer, nn.Conv2d):
        return unroll_conv(layer)
    return layer.weight.detach()
