"""The weight-sharing prox written into a tensor in place: plain, low precision, DTensor.

``prox_ws_(tensor, lam, scope=...)`` is the second half of one proximal-gradient step
(:class:`prox.training.WeightSharing` calls it for every shared parameter). The
*scope* cuts a parameter into prox problems: ``"rows"``, one problem per slice along
the first axis (``p.reshape(p.shape[0], -1)``: a neuron's incoming weights, a conv
output channel's whole filter), or ``"tensor"``, one problem over ``p.reshape(-1)``.
See :mod:`prox.training` for the distributed cases.
"""
from __future__ import annotations

import math

import torch

from prox import SOLVERS, prox_ws
from prox.validation import check_method, check_strength

__all__ = ["prox_ws_", "prox_rows_", "SCOPES", "as_rows", "check_scope", "is_dtensor"]

#: The ways a parameter is cut into prox problems (see the module docstring).
SCOPES = ("rows", "tensor")

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_scope(scope) -> str:
    """The one place a scope is checked."""
    if not isinstance(scope, str) or scope not in SCOPES:
        raise ValueError(f"Unknown scope {scope!r}; expected one of {SCOPES}")
    return scope


def as_rows(tensor: torch.Tensor, scope: str) -> torch.Tensor:
    """The 2-D ``(problems, d)`` view the prox works on (the one place scope is read)."""
    if scope == "tensor" or tensor.ndim <= 1:
        return tensor.reshape(1, -1)
    return tensor.reshape(tensor.shape[0], math.prod(tensor.shape[1:]))  # no -1: 0 rows is fine


def _prox_local_(tensor: torch.Tensor, lam: float, scope: str, method: str) -> None:
    """Prox a plain (non-distributed) tensor in place; low precision goes through float32."""
    with torch.no_grad():
        source = tensor.detach()
        if source.dtype in _LOW_PRECISION:
            source = source.to(torch.float32)
        shared = prox_ws(as_rows(source, scope), lam, method=method)
        tensor.copy_(shared.reshape(tensor.shape))


def is_dtensor(tensor) -> bool:
    """Whether ``tensor`` is a ``torch.distributed.tensor.DTensor`` (False on builds without)."""
    if not torch.distributed.is_available():
        return False
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # older torch without the public DTensor module
        return False
    return isinstance(tensor, DTensor)


def _rows_are_local(tensor, scope: str) -> bool:
    """True if every row of a DTensor lives whole on one rank (no gather needed)."""
    from torch.distributed.tensor import Replicate, Shard

    if scope != "rows" or tensor.ndim < 2:
        return False
    return all(p == Shard(0) or isinstance(p, Replicate) for p in tensor.placements)


def _prox_distributed_(tensor, lam: float, scope: str, method: str) -> None:
    """Prox a DTensor in place: its own rows locally, else gather, prox, keep the shard."""
    from torch.distributed.tensor import DTensor, Replicate

    with torch.no_grad():
        if _rows_are_local(tensor, scope):
            _prox_local_(tensor.to_local(), lam, scope, method)
            return
        full = tensor.full_tensor()
        _prox_local_(full, lam, scope, method)
        mesh = tensor.device_mesh
        replicated = DTensor.from_local(full, mesh, [Replicate()] * mesh.ndim, run_check=False)
        # Replicate -> Shard keeps a local chunk: no communication.
        tensor.copy_(replicated.redistribute(mesh, tensor.placements))


def prox_ws_(tensor: torch.Tensor, lam, *, scope: str = "rows", method: str = "auto"):
    """Replace ``tensor`` by ``prox_{lam R}(tensor)`` IN PLACE (the trailing ``_`` says so).

    Parameters
    ----------
    tensor : floating Tensor, any shape and device (a DTensor too)
        float16 and bfloat16 are computed in float32 and rounded back once.
    lam : float >= 0
    scope : {"rows", "tensor"}
        ``"rows"``: each row of ``tensor.reshape(tensor.shape[0], -1)`` is one
        problem (a 1-D tensor is one row); ``"tensor"``: all entries together.
    method : solver name for :func:`prox.prox_ws`.

    Returns
    -------
    ``tensor`` itself, same object, storage, dtype and ``requires_grad``.
    Cost: that of the solver on ``rows x d`` (``O(numel log d)`` for ``pava``).

    Examples
    --------
    >>> w = torch.tensor([[0.0, 1.0, 5.0]])
    >>> prox_ws_(w, 0.5)
    tensor([[0.5000, 1.0000, 4.5000]])
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"Invalid tensor: expected a torch.Tensor, got {type(tensor).__name__}")
    if not tensor.is_floating_point():
        raise TypeError(
            f"Invalid tensor: dtype {tensor.dtype}; the prox is written in place and needs "
            "a floating dtype"
        )
    check_scope(scope)
    check_method(method, ("auto", *SOLVERS))
    lam = check_strength(lam, "lam")
    if is_dtensor(tensor):
        _prox_distributed_(tensor, lam, scope, method)
    else:
        _prox_local_(tensor, lam, scope, method)
    return tensor


def prox_rows_(tensor: torch.Tensor, lams, *, scope: str = "rows", method: str = "auto"):
    """Prox each row of ``tensor``'s scope view at its own strength, IN PLACE.

    ``lams`` : array ``(rows,)`` of floats >= 0, one per row of ``as_rows(tensor, scope)``.
    R is positively homogeneous, so ``prox_{lam R}(w) = lam prox_R(w / lam)``: one
    batched prox at ``lam = 1`` of the rows divided by their strengths (rows with
    ``lam = 0`` are left as they are). Plain tensors only (not DTensor).
    """
    if is_dtensor(tensor):
        raise TypeError("Invalid tensor: per-row strengths (max_values) work on plain tensors, "
                        "not DTensor")
    check_scope(scope)
    with torch.no_grad():
        source = tensor.detach()
        if source.dtype in _LOW_PRECISION:
            source = source.to(torch.float32)
        rows = as_rows(source, scope)
        lams = torch.as_tensor(lams, dtype=rows.dtype, device=rows.device).reshape(-1, 1)
        if lams.shape[0] != rows.shape[0] or not bool(torch.all(lams >= 0)):
            raise ValueError(f"Invalid lams: expected {rows.shape[0]} strengths >= 0, got "
                             f"shape {tuple(lams.shape)}")
        scale = torch.where(lams > 0, lams, torch.ones_like(lams))
        shared = prox_ws(rows / scale, 1.0, method=method) * scale
        shared = torch.where(lams > 0, shared, rows)
        tensor.copy_(shared.reshape(tensor.shape))
    return tensor
