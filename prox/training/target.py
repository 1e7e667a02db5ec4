"""A target number of shared values: the strength as a νPI-controlled Lagrange multiplier.

A user who compresses a network asks for *k distinct values per row* (or per
tensor), not for a strength. :class:`prox.training.WeightSharing` with
``max_values=k`` treats the strength ``s`` of each shared parameter as the
Lagrange multiplier of the constraint "at most k values per row" and moves it
with the νPI controller of Sohrabi et al. (ICML 2024), as shipped by the
``cooper-optim`` library (``cooper.optim.nuPI``), on the violation measured at
every step. At the end :func:`share_k_values` (``WeightSharing.finalize()``) makes the
count exact.

The measured violation (what the controller sees)
-------------------------------------------------
One proximal-gradient step writes ``w <- prox_{lam R}(v)`` with ``v`` the
weights just after the optimizer step and ``lam = lr * s``. Merges never undo
along the prox path, so a row of ``v`` leaves the prox with at most k values
exactly when ``lam >= lam_k(v)``, the smallest strength at which k groups remain
(``particles.simulate(v).lam_for_clusters(k)``). The constraint of one step is
therefore ``lam_k(v) / lam <= 1``. Every row has its own constraint and its
own multiplier (rows of one layer differ: dead units and always-zero inputs
have k values at no cost, busy units need far more strength than the layer's
average), and the controller sees, per row::

    e_t = clip(log(lam_k(v_row) / lam_t,row), -C, C),   C = CLIP = 2

``e_t > 0``: a typical row would keep more than k values at the current
strength. Unlike the count itself (an integer that moves only when two groups
meet) it is continuous in the weights and says *how far* the strength is from
enough, in a unit that does not depend on the scale of the weights or of the
learning rate. A row that already has at most k values (``lam_k = 0``)
sees ``-C``. With ``scope="tensor"`` the tensor is one row. The prox of a row
at its own strength uses the homogeneity of R:
``prox_{lam R}(w) = lam prox_R(w / lam)`` (one batched call for all rows).
The clip bounds one step's change of the multiplier. Cost per step: one
particle simulation per row, ``O(numel log d)``.

The multiplier and the controller
---------------------------------
The controlled variable is ``theta = log s`` (the multiplier stays positive
without a projection, and one set of gains serves layers whose strengths differ
by orders of magnitude). With the error ``e_t`` as the multiplier's gradient,
``cooper.optim.nuPI(lr=eta, Kp, Ki, ema_nu=nu, maximize=True)`` does::

    xi_t      = nu xi_{t-1} + (1 - nu) e_t                 (EMA of the error)
    theta_t+1 = theta_t + eta (Ki e_t + Kp (xi_t - xi_{t-1}))

The integral term alone (``Kp = 0, nu = 0``) is gradient ascent on the
multiplier, the ablation :data:`ASCENT`: it keeps raising the strength while
rows have too many values, but the weights follow the strength with a delay
(two groups meet only after the prox has pulled them together for several
steps), so it overshoots, the count falls below k, and it settles late. The
proportional term reacts to the *change* of the error and brakes
as soon as the error falls. The target itself falls geometrically from d
values to k over ``warmup`` steps (:func:`scheduled_target`): with a target of
k from the first step every controller winds up while the error is clipped and
collapses the layer.

Gains (:data:`PI`): ``eta = 0.05, Ki = 1``: the integral moves ``log s`` by
at most ``eta * C = 0.1`` per step, so the strength can grow a thousandfold
(``log 1000 = 6.9``) in about 70 steps, a few epochs of a small network.
``Kp = 4``: the braking term is worth four integral steps of the same change
of the error; ``nu = 0.5`` averages the minibatch noise over about two steps
before it reaches that term. Measured on the deterministic toy problem of
``tests/test_target_sharing.py`` (two rows of 16 values, k = 3): the strength
overshoots its final value by 12 % with νPI and by 30 % with gradient ascent,
the count never goes below k with νPI (2.5 on average with ascent), and νPI
settles within 2 % about 30 steps sooner.

Finalizing
----------
:func:`share_k_values` (``WeightSharing.finalize()``) makes the count exact:
the prox of each row at ``lam_k`` of that row leaves at most k groups (read as
labels from the merge times, never from float equality), and each group takes
the mean of the row's weights in it (:func:`prox.sharing.refit_groups`): the
least-squares choice of the shared values for those groups.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from prox.sharing import refit_groups

__all__ = ["PI", "ASCENT", "CONTROLLERS", "CLIP", "check_max_values", "lam_for_k",
           "sharing_violation", "share_k_values", "StrengthController"]

#: νPI gains used by default (see the module docstring for why).
PI = {"lr": 0.05, "Kp": 4.0, "Ki": 1.0, "ema_nu": 0.5}
#: The ablation: plain gradient ascent on the (log) multiplier, same step size.
ASCENT = {"lr": 0.05, "Kp": 0.0, "Ki": 1.0, "ema_nu": 0.0}
CONTROLLERS = {"pi": PI, "ascent": ASCENT}
#: Bound on the per-row log ratio the controller sees.
CLIP = 2.0
#: The strength a controlled parameter starts from when its group sets none.
START_STRENGTH = 1e-3
#: Steps over which the target goes from d values per row down to k (geometrically).
WARMUP_STEPS = 300


def scheduled_target(k: int, d: int, step: int, warmup: int) -> int:
    """The target of step ``step``: ``d (k/d)^(step/warmup)`` rounded, then k from ``warmup`` on.

    The weights follow the strength with a delay, so a target of k from the first
    step makes every controller overshoot (module docstring); a target that falls
    geometrically keeps the error small and the controller in its linear range.
    """
    if d <= k or warmup <= 0 or step >= warmup:
        return min(k, max(d, 1))
    return max(k, int(round(d * (k / d) ** (step / warmup))))


def check_max_values(value):
    """``None`` or an int >= 1 (the number of distinct values allowed per row / tensor)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Invalid max_values: expected an int >= 1 or None, got {value!r}")
    if value < 1:
        raise ValueError(f"Invalid max_values: {value} (must be >= 1)")
    return int(value)


def check_controller(controller) -> dict:
    """``"pi"``, ``"ascent"`` or a dict of nuPI gains (keys of :data:`PI`) -> a full dict."""
    if isinstance(controller, str):
        if controller not in CONTROLLERS:
            raise ValueError(f"Unknown controller {controller!r}; expected one of "
                             f"{tuple(CONTROLLERS)} or a dict of gains")
        return dict(CONTROLLERS[controller])
    if not isinstance(controller, dict):
        raise TypeError(f"Invalid controller: expected a name or a dict, got "
                        f"{type(controller).__name__}")
    unknown = set(controller) - set(PI)
    if unknown:
        raise ValueError(f"Invalid controller: unknown keys {sorted(unknown)}; "
                         f"expected some of {sorted(PI)}")
    gains = {**PI, **controller}
    for key, value in gains.items():
        if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise ValueError(f"Invalid controller: {key}={value!r} (a finite number >= 0)")
    if gains["ema_nu"] >= 1:
        raise ValueError(f"Invalid controller: ema_nu={gains['ema_nu']!r} (must be < 1)")
    return gains


def _numpy_rows(rows) -> np.ndarray:
    if isinstance(rows, torch.Tensor):
        rows = rows.detach().to("cpu", torch.float64).numpy()
    return np.asarray(rows, dtype=np.float64).reshape(-1, np.shape(rows)[-1])


def _trajectories(rows: np.ndarray):
    # particles is this project's particle simulation (prox never imports it at load time:
    # it is prox's plugin); its trajectory knows the strength for every number of groups.
    from particles import simulate

    return [simulate(row) for row in rows]


def lam_for_k(rows, k: int) -> np.ndarray:
    """``lam_k`` of every row: the smallest ``lam`` whose prox leaves at most ``k`` values.

    rows : array or Tensor ``(r, d)``; returns float64 ``(r,)`` (0 where a row already
    has at most k values). Cost: one particle simulation per row, ``O(r d log d)``.
    """
    k = check_max_values(k)
    rows = _numpy_rows(rows)
    return np.array([t.lam_for_clusters(min(k, t.d)) for t in _trajectories(rows)],
                    dtype=np.float64)


def sharing_violation(rows, k: int, lam) -> np.ndarray:
    """The error the controller sees, per row: ``clip(log(lam_k(row) / lam_row), -CLIP, CLIP)``.

    Positive where a row of ``rows`` ``(r, d)`` would keep more than ``k`` values after
    the prox at its ``lam`` (a float or ``(r,)``, > 0); ``-CLIP`` where it already has
    at most k. Returns float64 ``(r,)``.
    """
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), (np.shape(rows)[0],))
    if not np.all(lam > 0):
        raise ValueError(f"Invalid lam: {lam!r} (must be > 0)")
    with np.errstate(divide="ignore"):
        ratio = np.log(lam_for_k(rows, k) / lam)  # -inf where a row has <= k values
    return np.clip(ratio, -CLIP, CLIP)


def share_k_values(rows, k: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``k`` distinct values per row: the prox at each row's ``lam_k``, then refit.

    Returns ``(shared, labels)``: float64 ``(r, d)`` where each group of a row (the
    clusters of ``prox_{lam_k R}(row)``, ``labels`` int64 ``(r, d)``) holds the mean
    of the row's weights in it. Cost: one particle simulation per row.
    """
    k = check_max_values(k)
    rows = _numpy_rows(rows)
    labels = np.empty(rows.shape, np.int64)
    for index, trajectory in enumerate(_trajectories(rows)):
        labels[index] = trajectory.labels(trajectory.lam_for_clusters(min(k, trajectory.d)))
    # refit_groups keeps the groups on which its second argument is constant.
    return refit_groups(rows, labels.astype(np.float64)), labels


class StrengthController:
    """νPI-controlled multipliers ``theta = log(strength)``, one per row of each parameter.

    ``key`` is the parameter's index in ``WeightSharing.params``. Call :meth:`observe`
    for every controlled parameter of a step, then :meth:`step` once; the history
    keeps, per key and step, the geometric mean of the rows' strengths, the mean
    error, the mean count of values per row after the prox, and the target.
    """

    def __init__(self, controller="pi", warmup: int = WARMUP_STEPS):
        self.gains = check_controller(controller)
        if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or warmup < 0:
            raise ValueError(f"Invalid warmup: expected an int >= 0, got {warmup!r}")
        self.warmup = int(warmup)
        self.steps = 0
        self.theta: dict[int, torch.Tensor] = {}
        self.optimizer = None
        self.history: dict[int, dict[str, list]] = {}

    def add(self, key: int, rows: int, strength: float) -> None:
        """Start controlling the ``rows`` multipliers of ``key`` from ``strength`` (> 0)."""
        if not strength > 0:
            raise ValueError(f"Invalid strength: {strength!r}; a controlled strength starts "
                             "> 0 (it moves multiplicatively)")
        theta = torch.full((rows,), math.log(strength), dtype=torch.float64)
        self.theta[key] = theta
        self.history[key] = {"strength": [], "violation": [], "count": [], "target": []}
        if self.optimizer is None:
            from cooper.optim import nuPI

            self.optimizer = nuPI([theta], maximize=True, **self.gains)
        else:
            self.optimizer.add_param_group({"params": [theta]})

    def strength(self, key: int) -> np.ndarray:
        """The rows' strengths of ``key``, float64 ``(rows,)``."""
        return np.exp(self.theta[key].numpy())

    def target(self, k: int, d: int) -> int:
        """This step's target number of values for rows of length ``d``."""
        return scheduled_target(k, d, self.steps, self.warmup)

    def observe(self, key: int, violation, target: int) -> None:
        """Hand the controller this step's error ``(rows,)`` for ``key`` (the gradient)."""
        violation = np.asarray(violation, dtype=np.float64)
        self.theta[key].grad = torch.from_numpy(violation.copy())
        self.history[key]["violation"].append(float(np.mean(violation)))
        self.history[key]["target"].append(int(target))

    def step(self) -> None:
        """One νPI step on every multiplier that was observed since the last step."""
        self.steps += 1
        if self.optimizer is not None:
            self.optimizer.step()
            for theta in self.theta.values():
                theta.grad = None

    def record(self, key: int, count: float) -> None:
        self.history[key]["strength"].append(float(torch.exp(self.theta[key].mean())))
        self.history[key]["count"].append(float(count))

    def state_dict(self) -> dict:
        keys = list(self.theta)
        return {"gains": dict(self.gains), "keys": keys, "steps": self.steps,
                "theta": [self.theta[k].clone() for k in keys],
                "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
                "history": {k: {n: list(v) for n, v in h.items()}
                            for k, h in self.history.items()}}

    def load_state_dict(self, state: dict) -> None:
        if sorted(state["keys"]) != sorted(self.theta):
            raise ValueError(f"Invalid state_dict: controlled parameters {state['keys']}, "
                             f"this WeightSharing controls {list(self.theta)}")
        self.steps = int(state["steps"])
        with torch.no_grad():
            for key, value in zip(state["keys"], state["theta"]):
                self.theta[key].copy_(value)
        if state["optimizer"] is not None and self.optimizer is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.history = {int(k): {n: list(v) for n, v in h.items()}
                        for k, h in state["history"].items()}
