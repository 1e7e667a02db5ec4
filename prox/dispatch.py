"""The public prox: validation, dispatch to a registered solver, and the result."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._arrays import to_rows
from ._registry import SOLVER_SPECS, SolverSpec
from ._validation import check_method, check_strength, check_weights, is_torch_tensor

__all__ = ["ProxResult", "solve", "prox_ws", "Solver", "SOLVERS", "auto_method"]


@dataclass(frozen=True)
class ProxResult:
    """Result of :func:`solve`.

    Attributes
    ----------
    x : ndarray or Tensor, same shape as the input
        ``prox_{lam R}`` of every slice along the last axis.
    method : str
        The solver that produced ``x`` (``"auto"`` resolved).
    rounds : int or None
        Sequential whole-batch steps the solver took (parallel depth measured
        without a GPU); ``None`` for sequential CPU solvers.
    """

    x: Any
    method: str
    rounds: int | None


def auto_method(w) -> str:
    """The solver ``method="auto"`` picks for ``w``.

    Inputs on the CPU (ndarrays, CPU tensors) go to ``"pava"``, the fastest CPU
    path. Tensors on an accelerator go to ``"divide_conquer"``, the torch solver
    whose depth is O(log^3 d) on every input (parallel PAVA can need O(d) rounds
    on a cascade), when it is available.
    """
    if is_torch_tensor(w) and w.device.type != "cpu" and "divide_conquer" in SOLVER_SPECS:
        return "divide_conquer"
    return "pava"


def solve(w, lam, *, method: str = "auto") -> ProxResult:
    """Prox of the weight-sharing penalty along the last axis, with solver details.

    Parameters
    ----------
    w : array_like or Tensor, shape (..., d)
        float32, float64 or integer; finite. Each slice along the last axis is
        one problem (rows of a layer = per-neuron sharing).
    lam : float >= 0
        Regularization strength (the time of the particle system).
    method : str, keyword-only
        ``"auto"`` or a key of :data:`SOLVERS`.

    Returns
    -------
    ProxResult
        ``x`` has the input's kind, shape and device; float32 stays float32,
        float64 stays float64, integers give float64. The input is not modified.
    """
    w = check_weights(w)
    lam = check_strength(lam, "lam")
    method = check_method(method, ("auto", *SOLVER_SPECS))
    if method == "auto":
        method = auto_method(w)
    spec: SolverSpec = SOLVER_SPECS[method]
    rows, restore = to_rows(w, spec.kind)
    if rows.shape[-1] <= 1 or rows.shape[0] == 0:
        # d <= 1 and empty batches: R is 0, the prox is the identity.
        out, rounds = rows.clone() if spec.kind == "torch" else rows.copy(), 0
    else:
        out, rounds = spec.kernel(rows, lam)
    return ProxResult(x=restore(out), method=method, rounds=rounds)


def prox_ws(w, lam, method: str = "auto"):
    """``prox_{lam R}(w)`` along the last axis; see :func:`solve` for the details.

    ``R(w) = 1/(d-1) sum_{i>j} |w_i - w_j|``; the result is
    ``argmin_u 1/2 ||u - w||^2 + lam R(u)`` for every slice.

    Examples
    --------
    >>> import numpy as np
    >>> prox_ws(np.array([0.0, 1.0, 5.0]), 0.5)
    array([0.5, 1. , 4.5])
    """
    return solve(w, lam, method=method).x


class Solver:
    """One registered algorithm as a callable ``solver(w, lam) -> prox``.

    ``solver.solve(w, lam)`` returns the :class:`ProxResult` with its rounds.
    """

    def __init__(self, spec: SolverSpec):
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.summary = spec.summary
        self.__doc__ = f"prox_ws(w, lam) with method={spec.name!r}: {spec.summary}"

    def __call__(self, w, lam):
        return solve(w, lam, method=self.name).x

    def solve(self, w, lam) -> ProxResult:
        return solve(w, lam, method=self.name)

    def __repr__(self) -> str:
        return f"<Solver {self.name!r}: {self.summary}>"


#: name -> callable(w, lam) for every prox algorithm.
SOLVERS: dict[str, Solver] = {name: Solver(spec) for name, spec in SOLVER_SPECS.items()}
