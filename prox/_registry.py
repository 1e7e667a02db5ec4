"""The solver registry: every prox algorithm behind one signature.

A solver is a *rows kernel* ``kernel(rows, lam) -> (out, rounds)``:

* ``rows``: 2-D C-contiguous float32/float64 ndarray (``kind="numpy"``) or
  tensor (``kind="torch"``, any device), one problem per row; kernels must not
  write to it (the dispatcher handles empty input and rows of length <= 1);
* ``out``: a new array of the same kind, shape and dtype holding the prox of
  each row;
* ``rounds``: the number of sequential whole-batch steps it took (the
  GPU-free measure of parallel depth), or ``None`` for sequential solvers.

Kernels are named by import path and imported on first use, so importing
``prox`` does not import torch.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

__all__ = ["SolverSpec", "SOLVER_SPECS"]


@dataclass(frozen=True)
class SolverSpec:
    """What the dispatcher needs to know about one algorithm."""

    name: str
    kind: str  # "numpy" (CPU kernel) or "torch" (any device)
    kernel_path: str  # "package.module:function"
    summary: str
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def kernel(self):
        if "kernel" not in self._cache:
            module, _, attribute = self.kernel_path.partition(":")
            self._cache["kernel"] = getattr(importlib.import_module(module), attribute)
        return self._cache["kernel"]


SOLVER_SPECS: dict[str, SolverSpec] = {
    spec.name: spec
    for spec in (
        SolverSpec(
            "pava",
            "numpy",
            "prox.pava:prox_pava_rows",
            "sort + pool adjacent violators (Numba, CPU); work O(d log d), sequential",
        ),
        SolverSpec(
            "events",
            "numpy",
            "particles.solver:prox_events_rows",
            "event-driven particle simulation up to time lam (Numba, CPU); "
            "work O(d log d), sequential",
        ),
        SolverSpec(
            "parallel_pava",
            "torch",
            "prox.parallel_pava:prox_parallel_pava_rows",
            "parallel PAVA, all violating runs pooled per round (torch); "
            "rounds O(d) on a cascade",
        ),
        SolverSpec(
            "lower_sets",
            "torch",
            "prox.lower_sets:prox_lower_sets_rows",
            "minimum lower sets, one final block per step (torch); rounds = blocks",
        ),
        SolverSpec(
            "divide_conquer",
            "torch",
            "prox.divide_conquer:prox_divide_conquer_rows",
            "divide and conquer over solved halves (torch); depth O(log^3 d), "
            "rounds <= log2(d)^2 + log2(d)",
        ),
    )
}
