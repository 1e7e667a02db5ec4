"""The solver registry: every prox algorithm behind one signature.

A solver is a *rows kernel* ``kernel(rows, lam) -> (out, rounds)``:

* ``rows``: 2-D C-contiguous float32/float64 ndarray (``kind="numpy"``) or
  tensor (``kind="torch"``, any device), one problem per row; kernels must not
  write to it (it may be a view of the caller's array; the dispatcher handles
  empty input and rows of length <= 1);
* ``out``: a new array of the same kind, shape and dtype holding the prox of
  each row;
* ``rounds``: the number of sequential whole-batch steps it took (the
  GPU-free measure of parallel depth), or ``None`` for sequential solvers.

Kernels named by import path (``"package.module:function"``) are imported on
first use, so importing ``prox`` does not import torch. Other packages add
their solvers with :func:`prox.register_solver` when they are imported; prox
itself knows only its own.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SolverSpec", "SOLVER_SPECS", "KINDS", "add_spec"]

#: The array kinds a kernel can take: CPU ndarrays, or torch tensors on any device.
KINDS = ("numpy", "torch")


@dataclass(frozen=True)
class SolverSpec:
    """What the dispatcher needs to know about one algorithm.

    ``kernel_ref`` is the rows kernel itself or its ``"package.module:function"``
    import path; :attr:`kernel` resolves it once.
    """

    name: str
    kind: str  # one of KINDS
    kernel_ref: str | Callable
    summary: str
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Invalid name: {self.name!r} (expected an identifier)")
        if self.name == "auto":
            raise ValueError("Invalid name: 'auto' (reserved for the automatic choice)")
        if self.kind not in KINDS:
            raise ValueError(f"Invalid kind: {self.kind!r}; expected one of 'numpy', 'torch'")
        ref = self.kernel_ref
        if isinstance(ref, str):
            module, sep, attribute = ref.partition(":")
            if not (sep and module and attribute):
                raise ValueError(f"Invalid kernel: {ref!r} (expected 'package.module:function')")
        elif not callable(ref):
            raise TypeError(f"Invalid kernel: {ref!r} (expected a callable or an import path)")
        if not isinstance(self.summary, str) or not self.summary:
            raise ValueError(f"Invalid summary: {self.summary!r} (expected a non-empty string)")

    @property
    def kernel(self):
        if "kernel" not in self._cache:
            ref = self.kernel_ref
            if isinstance(ref, str):
                module, _, attribute = ref.partition(":")
                ref = getattr(importlib.import_module(module), attribute)
            self._cache["kernel"] = ref
        return self._cache["kernel"]


#: name -> spec of every registered solver, in registration order.
SOLVER_SPECS: dict[str, SolverSpec] = {}


def add_spec(spec: SolverSpec, *, replace: bool = False) -> bool:
    """Register ``spec`` under its name; return False if that exact spec was there.

    Registering an equal spec again (a module imported twice) changes nothing;
    a different spec under a taken name needs ``replace=True``.
    """
    old = SOLVER_SPECS.get(spec.name)
    if old is not None and not replace:
        if old == spec:
            return False
        raise ValueError(
            f"Invalid name: {spec.name!r} is already registered ({old.kernel_ref!r}); "
            "pass replace=True to replace it"
        )
    SOLVER_SPECS[spec.name] = spec
    return True


for _spec in (
    SolverSpec(
        "pava",
        "numpy",
        "prox.pava:prox_pava_rows",
        "sort + pool adjacent violators (Numba, CPU); work O(d log d), sequential",
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
        "rounds <= log2(d)(log2(d) + 1) / 2",
    ),
):
    add_spec(_spec)
del _spec
