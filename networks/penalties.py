"""The proximal steps applied after every optimizer step: weight sharing and its controls.

Training minimises ``loss + sum_l s_l P(W_l)`` over the hidden FC weight matrices ``W_l``
by proximal gradient: after each optimizer step, ``W_l <- prox_{lam_l P}(W_l)`` with
``lam_l = lr * s_l`` (``lr`` the current, scheduled learning rate). ``s_l`` is the
per-layer strength (``strength`` on layer 1, ``strength * ratio`` on layer 2). The kinds:

``wsr``      weight sharing over each whole matrix (``WeightSharing(scope="tensor")``, the
             paper's choice): ``P(w) = 1/(d-1) sum_{i>j} |w_i - w_j|``; weights merge.
``wsr_rows`` the same per hidden unit (``scope="rows"``).
``l1``       ``P(w) = ||w||_1``: ``soft_threshold(w, lam)`` (sparsity, no sharing).
``wd``       weight decay, ``P(w) = ||w||^2 / 2``: ``w / (1 + lam)`` (shrinkage, no sharing).
``median``   the drift of ``wsr`` without its merging: each weight moves toward the matrix's
             median by ``lam * v_r`` where ``v_r = (d - 1 - 2r) / (d - 1)`` is the rank
             velocity of its rank ``r`` (``prox.rank_velocities``): exactly the gradient step
             of the ``wsr`` penalty, so weights are pulled together at the same speeds, but
             weights that meet pass each other instead of sticking (no exact sharing).

With BatchNorm after a layer, the network's function ignores the layer's scale, so
``l1``, ``wd`` and ``median`` also raise the effective learning rate; the network
without BatchNorm is the check on that confound.

Cost per step: ``wsr`` and ``median`` sort each matrix (O(d log d), d its weights);
``l1`` and ``wd`` are O(d).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from prox import rank_velocities, soft_threshold
from prox.sort_keys import sort_with_order
from prox.training import WeightSharing

__all__ = ["PENALTIES", "Penalty"]

PENALTIES = ("none", "wsr", "wsr_rows", "l1", "wd", "median")


def _learning_rate(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


class Penalty:
    """The proximal step of one penalty kind on ``weights`` with per-tensor ``strengths``.

    ``step(optimizer)`` applies it in place with ``lam = lr * strength`` and adds its
    wall time to ``seconds`` (``steps`` counts the calls), so the cost of the prox inside
    training can be reported.
    """

    def __init__(self, kind: str, weights: list[torch.Tensor], strengths: list[float]):
        if kind not in PENALTIES:
            raise ValueError(f"Invalid penalty: {kind!r}; expected one of {PENALTIES}")
        if len(weights) != len(strengths):
            raise ValueError(f"Invalid strengths: {len(strengths)} for {len(weights)} weights")
        for s in strengths:
            if not (isinstance(s, (int, float)) and math.isfinite(s) and s >= 0):
                raise ValueError(f"Invalid strength: {s!r} (must be a finite number >= 0)")
        self.kind = kind
        self.weights = list(weights)
        self.strengths = [float(s) for s in strengths]
        self.seconds = 0.0
        self.steps = 0
        self._sharing = None
        if kind in ("wsr", "wsr_rows"):
            groups = [{"params": [w], "strength": s} for w, s in zip(weights, strengths)]
            self._sharing = WeightSharing(groups, 0.0,
                                          scope="tensor" if kind == "wsr" else "rows")

    @property
    def active(self) -> bool:
        return self.kind != "none" and any(s > 0 for s in self.strengths)

    def step(self, optimizer) -> None:
        """One proximal step with the optimizer's current learning rate."""
        if not self.active:
            return
        start = time.perf_counter()
        if self._sharing is not None:
            self._sharing.step(optimizer)
        else:
            lr = _learning_rate(optimizer)
            with torch.no_grad():
                for w, s in zip(self.weights, self.strengths):
                    if s > 0:
                        w.copy_(self.apply(self.kind, w, lr * s))
        self.seconds += time.perf_counter() - start
        self.steps += 1

    @staticmethod
    def apply(kind: str, w: torch.Tensor, lam: float) -> torch.Tensor:
        """The control maps as pure functions (a new tensor; see the module docstring)."""
        if kind == "l1":
            return soft_threshold(w, lam)
        if kind == "wd":
            return w / (1.0 + lam)
        if kind == "median":
            flat = w.detach().reshape(1, -1).cpu().double().numpy()
            (order,), _ = sort_with_order(flat)  # the package's radix sort: ranks at once
            velocity = np.empty(flat.shape[1])
            velocity[order] = rank_velocities(flat.shape[1])
            return w + lam * torch.from_numpy(velocity).to(w).reshape(w.shape)
        raise ValueError(f"Invalid penalty for apply: {kind!r}; expected 'l1', 'wd' or "
                         "'median'")

    @property
    def ms_per_step(self) -> float:
        return 1e3 * self.seconds / max(self.steps, 1)
