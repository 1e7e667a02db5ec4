"""Proximal-gradient training helpers for torch.

Proximal gradient = an ordinary optimizer step on the loss, then the prox of
the regularizer with ``lam = learning_rate * strength`` (DESIGN.md §4). Use::

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    sharing = WeightSharing([model.fc1.weight], strength=1e-3, scope="rows")
    for x, y in batches:
        optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()
        sharing.step(optimizer)          # prox with lam = lr * strength, in place

``scope="rows"`` shares values within each row (per-neuron sharing);
``scope="tensor"`` shares across the whole flattened tensor.
"""
from __future__ import annotations

import torch

from ._validation import check_strength
from .dispatch import prox_ws

__all__ = ["prox_ws_", "WeightSharing"]

_SCOPES = ("rows", "tensor")


def prox_ws_(tensor: torch.Tensor, lam: float, *, scope: str = "rows", method: str = "auto") -> torch.Tensor:
    """Replace ``tensor`` by its prox IN PLACE (the trailing underscore says so).

    ``scope="rows"``: along the last axis (each neuron's incoming weights of a
    2-D ``(out, in)`` weight); ``scope="tensor"``: over all entries at once.
    Returns ``tensor``.
    """
    if scope not in _SCOPES:
        raise ValueError(f"Unknown scope {scope!r}; expected one of {_SCOPES}")
    lam = check_strength(lam, "lam")
    with torch.no_grad():
        source = tensor.detach().reshape(-1) if scope == "tensor" else tensor.detach()
        tensor.copy_(prox_ws(source, lam, method=method).reshape(tensor.shape))
    return tensor


class WeightSharing:
    """Applies the weight-sharing prox to chosen parameters after each optimizer step.

    Parameters
    ----------
    params : iterable of Tensors
    strength : float >= 0
        Regularization strength; each step uses ``lam = lr * strength``.
    scope : {"rows", "tensor"}
    method : solver name passed to :func:`prox.prox_ws`.
    """

    def __init__(self, params, strength: float, *, scope: str = "rows", method: str = "auto"):
        self.params = list(params)
        if not self.params:
            raise ValueError("WeightSharing got an empty parameter list")
        if scope not in _SCOPES:
            raise ValueError(f"Unknown scope {scope!r}; expected one of {_SCOPES}")
        self.strength = check_strength(strength, "strength")
        self.scope = scope
        self.method = method

    def step(self, optimizer_or_lr) -> None:
        """Prox every parameter with ``lam = lr * strength``.

        ``optimizer_or_lr`` is a float learning rate or a torch optimizer (its
        first param group's ``lr`` is used).
        """
        if isinstance(optimizer_or_lr, torch.optim.Optimizer):
            lr = optimizer_or_lr.param_groups[0]["lr"]
        else:
            lr = optimizer_or_lr
        lam = check_strength(lr, "lr") * self.strength
        for parameter in self.params:
            prox_ws_(parameter, lam, scope=self.scope, method=self.method)
