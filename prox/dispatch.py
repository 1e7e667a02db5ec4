"""The public prox: validation, dispatch to a registered solver, and the result.

Also the registration hook :func:`register_solver`, through which packages
built on prox (the particle simulation, for one) add their algorithms to
:data:`SOLVERS` and to every ``method=`` argument when they are imported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import to_rows
from ._registry import SOLVER_SPECS, PluginTable, SolverSpec, add_spec
from .scaling import needs_scaling, power_of_two_scale
from .validation import check_method, check_strength, check_weights, is_torch_tensor

__all__ = ["ProxResult", "solve", "prox_ws", "Solver", "SOLVERS", "auto_method", "register_solver"]


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


def _scaled_kernel(spec: SolverSpec, rows, lam: float):
    """Run ``spec``'s kernel, on ``rows / s`` and ``lam / s`` if the scale is extreme.

    Near the top of the float range ``x + lam * c`` and block sums overflow
    (``[1e308, -1e308]`` at ``lam = 1e308`` would give inf), and near the
    bottom subnormals lose digits. The prox scales exactly (``prox_{lam R}(w)
    = s prox_{(lam/s) R}(w/s)``), so there the kernel runs on unit-scale data
    divided by a power of two ``s`` and the result is multiplied back.
    """
    largest = max(float(rows.max()), -float(rows.min()), lam)
    # Numpy kernels compute in float64 whatever the input; torch ones in its dtype.
    compute_dtype = np.float64 if spec.kind == "numpy" else _numpy_dtype(rows)
    if not needs_scaling(largest, compute_dtype):
        return spec.kernel(rows, lam)
    scale = power_of_two_scale(largest)
    out, rounds = spec.kernel(rows / scale, lam / scale)
    out *= scale
    return out, rounds


def _numpy_dtype(rows):
    # float32 or float64, for a numpy array or a torch tensor.
    return np.float32 if str(rows.dtype).endswith("float32") else np.float64


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

    Notes
    -----
    Autograd: for a floating-point tensor with ``requires_grad=True`` (and grad
    mode on) ``x`` is differentiable with respect to ``w``: its gradient
    averages the incoming gradient over each group of shared values, the
    Jacobian of the prox wherever the groups are locally constant
    (:mod:`prox.autograd`). Otherwise ``x`` is detached, like any result
    computed under ``torch.no_grad()``.
    """
    w = check_weights(w)
    lam = check_strength(lam, "lam")
    if not (isinstance(method, str) and (method == "auto" or method in SOLVER_SPECS)):
        check_method(method, ("auto", *SOLVER_SPECS))  # raises, naming every solver
    if method == "auto":
        method = auto_method(w)
    spec: SolverSpec = SOLVER_SPECS[method]
    rows, restore = to_rows(w, spec.kind)
    if rows.shape[-1] <= 1 or rows.shape[0] == 0 or lam == 0.0:
        # d <= 1, empty batches and lam = 0: the prox is exactly the identity.
        out, rounds = rows.clone() if spec.kind == "torch" else rows.copy(), 0
    else:
        out, rounds = _scaled_kernel(spec, rows, lam)
    x = restore(out)
    if is_torch_tensor(w) and w.requires_grad and _grad_enabled():
        from .autograd import attach_prox_gradient

        x = attach_prox_gradient(w, x)
    return ProxResult(x=x, method=method, rounds=rounds)


def _grad_enabled() -> bool:
    import torch

    return torch.is_grad_enabled()


def prox_ws(w, lam, *, method: str = "auto"):
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


#: name -> callable(w, lam) for every registered prox algorithm (prox's own, plus
#: those that packages built on prox added with :func:`register_solver`).
SOLVERS: dict[str, Solver] = PluginTable(
    (name, Solver(spec)) for name, spec in dict.items(SOLVER_SPECS)
)


def register_solver(name: str, kind: str, kernel, summary: str, *, replace: bool = False):
    """Make a rows kernel available as ``method=name`` and as ``SOLVERS[name]``.

    Parameters
    ----------
    name : str
        A Python identifier other than ``"auto"``.
    kind : {"numpy", "torch"}
        The rows the kernel takes: CPU ndarrays, or torch tensors on any device.
    kernel : callable or str
        ``kernel(rows, lam) -> (out, rounds)`` (the contract in ``prox._registry``),
        or its import path ``"package.module:function"``, imported on first use.
    summary : str
        One line: what the algorithm does, where it runs, its work and depth.
    replace : bool, keyword-only
        Allow replacing a different solver already registered under ``name``.
        Registering the same solver twice is always a no-op.

    Returns
    -------
    Solver
        The registered ``SOLVERS[name]``.

    Examples
    --------
    >>> def identity_rows(rows, lam):
    ...     return rows.copy(), None
    >>> solver = register_solver("identity", "numpy", identity_rows, "returns w (a demo)")
    >>> prox_ws([3.0, 1.0], 0.5, method="identity")
    array([3., 1.])
    >>> del SOLVERS["identity"], SOLVER_SPECS["identity"]
    """
    spec = SolverSpec(name, kind, kernel, summary)
    if add_spec(spec, replace=replace) or not dict.__contains__(SOLVERS, name):
        SOLVERS[name] = Solver(spec)
    return SOLVERS[name]
