"""``WeightSharing``: the weight-sharing prox after each optimizer step (proximal gradient).

The conventions (param groups, scopes, biases, learning rates, distributed
training) are described in :mod:`prox.training`; a target number of values
(``max_values``) in :mod:`prox.training.target`.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np
import torch

from prox import SOLVERS
from prox.sharing import count_shared_values
from prox.validation import check_method, check_strength

from .inplace import as_rows, check_scope, is_dtensor, prox_rows_, prox_ws_
from .target import (
    START_STRENGTH,
    WARMUP_STEPS,
    StrengthController,
    check_max_values,
    share_k_values,
    sharing_violation,
)

__all__ = ["WeightSharing"]


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
        May be omitted only if every group sets its own or sets ``max_values``
        (then it is the controlled strength's starting point, default 1e-3).
    max_values : int >= 1 or None, keyword-only
        Default None. An int k: the group's strength becomes a νPI-controlled
        Lagrange multiplier (one per parameter) that drives every row (or the
        tensor) toward at most k distinct values (:mod:`prox.training.target`);
        :meth:`finalize` makes it exact.
    controller : "pi", "ascent" or dict, keyword-only
        The multiplier's update: νPI with the gains :data:`prox.training.PI`
        (default), plain gradient ascent (:data:`prox.training.ASCENT`, the
        ablation), or a dict of ``cooper.optim.nuPI`` gains
        (``lr, Kp, Ki, ema_nu``).
    warmup : int >= 0, keyword-only
        Steps (calls of :meth:`step`) over which the target falls geometrically
        from d values per row to ``max_values`` (default 300; about a third to a
        half of the training steps is a good choice).
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
        Each with ``params`` and the five hyperparameters; edit between steps
        like an optimizer's (e.g. to schedule ``strength``).
    defaults : dict
        The constructor's hyperparameters.
    controller : StrengthController
        The multipliers of the groups with ``max_values``: ``controller.history[i]``
        holds, per step, parameter ``i``'s strength, the error the controller
        saw and the mean number of values per row after the prox.

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

    A target of k values per row instead of a strength (train as above, then)::

    >>> wide = torch.nn.Linear(8, 2)
    >>> sharing = WeightSharing([wide.weight], max_values=3)
    >>> _ = sharing.finalize()                 # exact: at most 3 values per row
    >>> [len(set(row)) <= 3 for row in wide.weight.tolist()]
    [True, True]
    """

    def __init__(
        self,
        params,
        strength=None,
        *,
        scope: str = "rows",
        method: str = "auto",
        include_bias: bool = False,
        max_values=None,
        controller="pi",
        warmup: int = WARMUP_STEPS,
    ):
        self.defaults = {
            "strength": strength,
            "scope": scope,
            "method": method,
            "include_bias": include_bias,
            "max_values": max_values,
        }
        if strength is not None:
            check_strength(strength, "strength")
        check_max_values(max_values)
        self.controller = StrengthController(controller, warmup)
        check_scope(scope)
        check_method(method, ("auto", *SOLVERS))
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
        first = len(self.params)
        self.param_groups.append(group)
        if group["max_values"] is not None:
            for offset, parameter in enumerate(group["params"]):
                if self._shares(parameter, group):
                    self._control(first + offset, parameter, group)

    def _control(self, key: int, parameter: torch.Tensor, group: dict) -> None:
        """Give parameter ``key`` its row multipliers (a group that gained max_values too)."""
        if is_dtensor(parameter):
            raise TypeError("Invalid params: max_values works on plain tensors, not DTensor "
                            "(sharded) parameters")
        start = START_STRENGTH if group["strength"] is None else group["strength"]
        self.controller.add(key, as_rows(parameter.detach(), group["scope"]).shape[0], start)

    @staticmethod
    def _check_group(group: dict, index: int) -> float | None:
        """Check a group's hyperparameters; return its strength as a float (None if unset)."""
        check_max_values(group["max_values"])
        if group["strength"] is None:
            if group["max_values"] is not None:
                strength = None
            else:
                raise ValueError(
                    f"Invalid param group {index}: it sets no 'strength', no 'max_values' "
                    "and no default strength was given"
                )
        else:
            strength = check_strength(group["strength"], f"strength (param group {index})")
        check_scope(group["scope"])
        check_method(group["method"], ("auto", *SOLVERS))
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

        Groups with ``max_values``: first every controlled multiplier takes one
        νPI step on the error measured on the parameters as the optimizer left
        them, then the prox uses the new strength (one particle simulation per
        row on top of the prox, :mod:`prox.training.target`).
        """
        plan = self._plan(optimizer_or_lr)
        controlled = [(key, p, g, lr) for key, p, g, lr, _ in plan
                      if g["max_values"] is not None and lr > 0]
        for key, parameter, group, _ in controlled:
            if key not in self.controller.theta:  # max_values set by editing param_groups
                self._control(key, parameter, group)
        for key, parameter, group, lr in controlled:
            rows = as_rows(parameter.detach(), group["scope"])
            lam = lr * self.controller.strength(key)
            target = self.controller.target(group["max_values"], rows.shape[1])
            self.controller.observe(key, sharing_violation(rows, target, lam), target)
        if controlled:
            self.controller.step()
        for key, parameter, group, lr, strength in plan:
            if group["max_values"] is not None:
                if lr > 0:
                    prox_rows_(parameter, lr * self.controller.strength(key),
                               scope=group["scope"], method=group["method"])
            elif lr * strength > 0:
                prox_ws_(parameter, lr * strength, scope=group["scope"], method=group["method"])
        for key, parameter, group, _ in controlled:
            counts = count_shared_values(as_rows(parameter.detach(), group["scope"]))
            self.controller.record(key, float(np.mean(counts)))

    def _plan(self, optimizer_or_lr) -> list[tuple]:
        """``(index in params, parameter, group, lr, strength)`` of every shared parameter."""
        if hasattr(optimizer_or_lr, "param_groups"):
            lrs = _learning_rate_of(optimizer_or_lr)
            fixed_lr = None
        else:
            lrs, fixed_lr = None, check_strength(optimizer_or_lr, "lr")
        plan, key = [], -1
        for index, group in enumerate(self.param_groups):
            strength = self._check_group(group, index)  # groups may be edited between steps
            for parameter in group["params"]:
                key += 1
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
                plan.append((key, parameter, group, lr, strength))
        return plan

    def strengths(self) -> list:
        """The strength each parameter uses now: a float, a float64 array of its rows'
        strengths (groups with ``max_values``), or None where it is not shared."""
        out = []
        for index, group in enumerate(self.param_groups):
            strength = self._check_group(group, index)
            for parameter in group["params"]:
                key = len(out)
                if not self._shares(parameter, group):
                    out.append(None)
                elif group["max_values"] is not None:
                    out.append(self.controller.strength(key))
                else:
                    out.append(strength)
        return out

    def finalize(self, max_values=None) -> list[np.ndarray | None]:
        """At most k distinct values per row / tensor, exactly, IN PLACE.

        For every shared parameter of a group with ``max_values`` (or of every
        group, if ``max_values`` is given here): the prox of each row at the
        strength that leaves k groups (``lam_for_clusters(k)`` of the row's particle
        trajectory), then each group takes the mean of the row's weights in it
        (:func:`prox.training.target.share_k_values`). Afterwards
        ``count_shared_values`` of every row is at most k, whatever the dtype
        (rounding the means can only merge groups).

        Returns, per parameter of :attr:`params`, the int64 group labels of
        shape ``(rows, d)`` (the scope's view), or None where nothing was done;
        fine-tune the shared values with the groups frozen from them.
        Cost: one particle simulation per row, ``O(numel log d)``.
        """
        override = check_max_values(max_values)
        out = []
        for group in self.param_groups:
            k = group["max_values"] if override is None else override
            for parameter in group["params"]:
                if k is None or not self._shares(parameter, group):
                    out.append(None)
                    continue
                if is_dtensor(parameter):
                    raise TypeError("finalize() works on plain tensors; gather a sharded "
                                    "parameter first (FSDP2: model.unshard())")
                shared, labels = share_k_values(as_rows(parameter, group["scope"]), k)
                with torch.no_grad():
                    parameter.copy_(torch.from_numpy(shared).reshape(parameter.shape))
                out.append(labels)
        return out

    def state_dict(self) -> dict:
        """``{"state": {...}, "param_groups": [...]}``, parameters as indices (as torch.optim).

        ``state`` is empty without ``max_values``; with it, ``state["controller"]``
        holds the multipliers, the νPI state and the history.
        """
        groups, start = [], 0
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(packed)
        state = {"controller": self.controller.state_dict()} if self.controller.theta else {}
        return {"state": copy.deepcopy(state), "param_groups": groups}

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
        if self.controller.theta:
            if "controller" not in state_dict.get("state", {}):
                raise ValueError("Invalid state_dict: this WeightSharing has max_values but "
                                 "the state_dict holds no controller state")
            self.controller.load_state_dict(copy.deepcopy(state_dict["state"]["controller"]))

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
