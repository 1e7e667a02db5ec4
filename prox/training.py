"""Proximal-gradient training with weight sharing, for any torch optimizer.

Proximal gradient minimizes ``loss(x) + strength * R(x)`` by alternating an
ordinary optimizer step on the loss with the prox of the regularizer::

    x <- prox_{lam R}(x - lr * grad),      lam = lr * strength,

where ``R(w) = 1/(d-1) sum_{i>j} |w_i - w_j|`` is taken over each *row* of a
parameter or over the whole parameter (the *scope*); ``docs/maths.md``,
sections "The regularizer and its prox" and "Training", says why the prox
makes weights share values exactly. The optimizer does the first half,
:class:`WeightSharing` the second::

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    sharing = WeightSharing(model.parameters(), strength=1e-3)   # weights, not biases
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        sharing.step(optimizer)     # each parameter: lam = (its group's lr) * strength

It follows ``torch.optim``'s conventions: ``params`` is an iterable of
tensors or of param-group dicts with per-group hyperparameters
(``strength``, ``scope``, ``method``, ``include_bias``; missing keys take the
constructor's values), ``param_groups`` can be edited between steps, and
``state_dict()`` / ``load_state_dict()`` save the hyperparameters with
parameters referred to by index.

What a step does to a parameter
-------------------------------
* **Rows.** ``scope="rows"``: one problem per slice along the first axis, i.e.
  per row of ``p.reshape(p.shape[0], -1)``. For a linear weight ``(out, in)``
  that is a neuron's incoming weights; for a conv weight
  ``(out, in, kh, kw)`` it is one output channel's whole filter
  (``in * kh * kw`` values). ``scope="tensor"``: one problem over all of
  ``p.reshape(-1)`` (the layer-wide sharing of the weight-sharing paper).
* **Biases.** Parameters with fewer than 2 dimensions (biases, norm scales and
  shifts) are left alone unless the group sets ``include_bias=True``; then a
  1-D parameter is one row whatever the scope. So
  ``WeightSharing(model.parameters(), s)`` shares the values of weight
  matrices and kernels only, and a list holding nothing but such parameters
  is an error rather than a silent no-op.
* **In place.** The update is written into the parameter's own storage under
  ``torch.no_grad()``: the parameter objects, their ``requires_grad`` and the
  optimizer's state (momentum, Adam moments) are untouched, so the optimizer
  keeps working. float16/bfloat16 parameters are proxed in float32 and
  rounded back once.
* **Learning rate.** ``step(optimizer)`` uses, for every parameter, the
  ``lr`` of the optimizer param group that holds it; ``step(lr)`` uses one
  float for all.
* **Cost.** The solver's on every ``(rows, d)`` view: ``O(numel log d)`` work
  with ``pava``; nothing for parameters skipped or with ``lam = 0``.

Distributed training
--------------------
* **DistributedDataParallel**: call ``step`` on every rank after
  ``optimizer.step()``. DDP all-reduces the gradients, so every replica enters
  the prox with identical parameters, and the prox is deterministic, so they
  leave it identical; there is no communication. (Bitwise on the CPU, where
  ``"auto"`` means ``pava``. On CUDA the torch solvers sum blocks with
  ``index_add_``, whose float atomics are not reproducible bit for bit: turn
  on ``torch.use_deterministic_algorithms(True)`` or pass ``method="pava"``
  to keep replicas bitwise equal.)
* **Sharded parameters** (FSDP2's ``fully_shard``, or any ``DTensor``): with
  ``scope="rows"`` and the parameter sharded along its first axis
  (``Shard(0)``, FSDP2's layout) or replicated, every row is whole on one rank
  and each rank proxes its own rows: no communication, and the result is the
  prox of the full tensor. Any other case (``scope="tensor"``, 1-D parameters,
  other placements) gathers the full tensor on every rank, proxes it there
  (identically) and keeps the local shard.
* **FSDP1** (``FullyShardedDataParallel``) flattens parameters into 1-D shards
  that cut rows anywhere, so a per-rank prox would be wrong and is not
  supported: use FSDP2, or inside ``FSDP.summon_full_params(model)`` call
  :func:`prox_ws_` on the full parameters (gather, prox, re-shard).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import torch

from ._registry import SOLVER_SPECS
from .dispatch import prox_ws
from .validation import check_method, check_strength

__all__ = ["prox_ws_", "WeightSharing", "SCOPES"]

#: The ways a parameter is cut into prox problems (see the module docstring).
SCOPES = ("rows", "tensor")

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _check_scope(scope) -> str:
    """The one place a scope is checked."""
    if not isinstance(scope, str) or scope not in SCOPES:
        raise ValueError(f"Unknown scope {scope!r}; expected one of {SCOPES}")
    return scope


def _as_rows(tensor: torch.Tensor, scope: str) -> torch.Tensor:
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
        shared = prox_ws(_as_rows(source, scope), lam, method=method)
        tensor.copy_(shared.reshape(tensor.shape))


def _dtensor_type():
    """``torch.distributed.tensor.DTensor`` when this torch build has it, else None."""
    if not torch.distributed.is_available():
        return None
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # older torch without the public DTensor module
        return None
    return DTensor


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
    _check_scope(scope)
    check_method(method, ("auto", *SOLVER_SPECS))
    lam = check_strength(lam, "lam")
    dtensor = _dtensor_type()
    if dtensor is not None and isinstance(tensor, dtensor):
        _prox_distributed_(tensor, lam, scope, method)
    else:
        _prox_local_(tensor, lam, scope, method)
    return tensor


def _learning_rate_of(optimizer):
    """``id(parameter) -> lr`` over every param group of ``optimizer``."""
    lrs = {}
    for index, group in enumerate(optimizer.param_groups):
        if "lr" not in group:
            raise ValueError(f"Invalid optimizer: its param group {index} has no 'lr'")
        lr = check_strength(group["lr"], f"lr (optimizer param group {index})")
        for parameter in group["params"]:
            lrs[id(parameter)] = lr
    return lrs


class WeightSharing:
    """The weight-sharing prox after each optimizer step (proximal gradient).

    Parameters
    ----------
    params : iterable of Tensors, or of dicts (param groups)
        As for ``torch.optim``: ``[{"params": [...], "strength": 1e-3,
        "scope": "tensor"}, ...]``; a group's missing keys take the values
        below. A bare Tensor is refused (wrap it in a list).
    strength : float >= 0, optional
        Default regularization strength; a step uses ``lam = lr * strength``.
        May be omitted only if every group sets its own.
    scope : {"rows", "tensor"}, keyword-only
        Default scope; ``"rows"`` = per output unit / channel, see the module
        docstring.
    method : str, keyword-only
        Default solver for :func:`prox.prox_ws` (``"auto"``: ``pava`` on the
        CPU, ``divide_conquer`` on accelerators).
    include_bias : bool, keyword-only
        Default False: parameters with fewer than 2 dimensions are skipped.

    Attributes
    ----------
    param_groups : list of dict
        Each with ``params`` and the four hyperparameters; edit between steps
        like an optimizer's (e.g. to schedule ``strength``).
    defaults : dict
        The constructor's hyperparameters.

    Examples
    --------
    >>> layer = torch.nn.Linear(3, 1, bias=False)
    >>> _ = layer.weight.data.copy_(torch.tensor([[0.0, 1.0, 5.0]]))
    >>> optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    >>> sharing = WeightSharing([{"params": [layer.weight], "strength": 5.0}])
    >>> optimizer.step()                 # (after a backward pass)
    >>> sharing.step(optimizer)          # lam = 0.1 * 5.0 for every row
    >>> layer.weight.tolist()
    [[0.5, 1.0, 4.5]]
    """

    def __init__(
        self,
        params,
        strength=None,
        *,
        scope: str = "rows",
        method: str = "auto",
        include_bias: bool = False,
    ):
        self.defaults = {
            "strength": strength,
            "scope": scope,
            "method": method,
            "include_bias": include_bias,
        }
        if strength is not None:
            check_strength(strength, "strength")
        _check_scope(scope)
        check_method(method, ("auto", *SOLVER_SPECS))
        _check_flag(include_bias)
        groups = _param_list(params, "params")
        if not groups:
            raise ValueError("Invalid params: WeightSharing got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.param_groups: list[dict] = []
        for group in groups:
            self.add_param_group(group)
        if not any(self._shares(p, g) for g in self.param_groups for p in g["params"]):
            raise ValueError(
                "Invalid params: every parameter has fewer than 2 dimensions (biases, norm "
                "weights), which WeightSharing skips; pass include_bias=True to share them"
            )

    @property
    def params(self) -> list[torch.Tensor]:
        """Every parameter of every group, in order (the indices of ``state_dict``)."""
        return [p for group in self.param_groups for p in group["params"]]

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (a dict with ``params`` and optional hyperparameters)."""
        if not isinstance(param_group, dict):
            raise TypeError(
                f"Invalid param group: expected a dict, got {type(param_group).__name__}"
            )
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("Invalid param group: it has no 'params'")
        # torch.optim's convention: a single Tensor under "params" is a one-element group.
        group["params"] = [params] if isinstance(params, torch.Tensor) else _param_list(
            params, "param group 'params'"
        )
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        index = len(self.param_groups)
        self._check_group(group, index)
        for parameter in group["params"]:
            if not isinstance(parameter, torch.Tensor):
                raise TypeError(
                    f"Invalid params: expected Tensors, got {type(parameter).__name__} "
                    f"in param group {index}"
                )
            if not parameter.is_floating_point():
                raise TypeError(
                    f"Invalid params: dtype {parameter.dtype} in param group {index}; "
                    "the prox needs floating parameters"
                )
        ids = [id(p) for p in group["params"]]
        if len(set(ids)) != len(ids) or not set(ids).isdisjoint(id(p) for p in self.params):
            raise ValueError("Invalid params: some parameters appear more than once")
        self.param_groups.append(group)

    @staticmethod
    def _check_group(group: dict, index: int) -> float:
        """Check a group's hyperparameters; return its strength as a float."""
        if group["strength"] is None:
            raise ValueError(
                f"Invalid param group {index}: it sets no 'strength' and no default "
                "strength was given"
            )
        strength = check_strength(group["strength"], f"strength (param group {index})")
        _check_scope(group["scope"])
        check_method(group["method"], ("auto", *SOLVER_SPECS))
        _check_flag(group["include_bias"])
        return strength

    @staticmethod
    def _shares(parameter: torch.Tensor, group: dict) -> bool:
        """The bias policy: 2-D and larger always, smaller only with include_bias."""
        return parameter.ndim >= 2 or (group["include_bias"] and parameter.ndim == 1)

    def step(self, optimizer_or_lr) -> None:
        """Prox every shared parameter in place with ``lam = lr * strength``.

        Parameters
        ----------
        optimizer_or_lr : torch optimizer or float
            An optimizer (anything with ``param_groups``): each parameter uses
            the ``lr`` of the optimizer group that holds it, so call this right
            after ``optimizer.step()``. A float: that ``lr`` for every group.
        """
        if hasattr(optimizer_or_lr, "param_groups"):
            lrs = _learning_rate_of(optimizer_or_lr)
            fixed_lr = None
        else:
            lrs, fixed_lr = None, check_strength(optimizer_or_lr, "lr")
        for index, group in enumerate(self.param_groups):
            strength = self._check_group(group, index)  # groups may be edited between steps
            for parameter in group["params"]:
                if not self._shares(parameter, group):
                    continue
                if lrs is None:
                    lr = fixed_lr
                elif id(parameter) in lrs:
                    lr = lrs[id(parameter)]
                else:
                    raise ValueError(
                        f"Invalid optimizer: it does not hold a parameter of shape "
                        f"{tuple(parameter.shape)} from WeightSharing param group {index}"
                    )
                lam = lr * strength
                if lam > 0:
                    prox_ws_(parameter, lam, scope=group["scope"], method=group["method"])

    def state_dict(self) -> dict:
        """``{"state": {}, "param_groups": [...]}``, parameters as indices (as torch.optim)."""
        groups, start = [], 0
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(packed)
        return {"state": {}, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the hyperparameters saved by :meth:`state_dict` (same group sizes)."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict:
            raise ValueError("Invalid state_dict: expected a dict with 'param_groups'")
        saved = copy.deepcopy(state_dict["param_groups"])
        if len(saved) != len(self.param_groups):
            raise ValueError(
                f"Invalid state_dict: {len(saved)} param groups, this WeightSharing has "
                f"{len(self.param_groups)}"
            )
        for index, (group, loaded) in enumerate(zip(self.param_groups, saved)):
            if len(loaded.get("params", ())) != len(group["params"]):
                raise ValueError(
                    f"Invalid state_dict: param group {index} has "
                    f"{len(loaded.get('params', ()))} parameters, expected "
                    f"{len(group['params'])}"
                )
        updated = []
        for index, (group, loaded) in enumerate(zip(self.param_groups, saved)):
            loaded["params"] = group["params"]
            self._check_group({**self.defaults, **loaded}, index)
            updated.append({**group, **loaded})
        self.param_groups = updated

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")
            lines.append(f"  group {index}: {len(group['params'])} params, {settings}")
        return "\n".join(lines + [")"])


def _check_flag(value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"Invalid include_bias: expected True or False, got {value!r}")


def _param_list(params, name: str) -> list:
    """``list(params)`` for an ordered iterable; refuses a bare Tensor and sets."""
    if isinstance(params, torch.Tensor):
        raise TypeError(
            f"Invalid {name}: expected an iterable of Tensors or of param-group dicts, got a "
            f"Tensor of shape {tuple(params.shape)} (iterating it would give its rows); "
            "wrap it in a list: [tensor]"
        )
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"Invalid {name}: a set has no order; use a list")
    if isinstance(params, dict):
        raise TypeError(f"Invalid {name}: a single dict; pass a list of param groups: [group]")
    if not isinstance(params, Iterable):
        raise TypeError(
            f"Invalid {name}: expected an iterable of Tensors or dicts, "
            f"got {type(params).__name__}"
        )
    return list(params)
