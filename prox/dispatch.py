"""The public prox: validation, dispatch to a registered solver, and the result.

One dispatcher for every penalty (:data:`prox._registry.PENALTIES`):
``solve(w, strength, *, penalty="ws"|"owl", method=...)`` validates ``w`` and
the strength (``lam`` for weight sharing, ``theta`` for OWL), picks the solver,
applies the overflow guard and the dtype policy, and returns a
:class:`ProxResult`. :func:`prox_ws` and :func:`prox.owl.prox_owl` are its
two faces. ``prox_ws`` first tries a fast path for its common call (a short
float ndarray, one compiled call, the same bits and errors; see
``_short_ndarray_prox``).

Also the registration hook :func:`register_solver`, through which packages
built on prox (the particle simulation, for one) add their algorithms to
:data:`SOLVERS` (or :data:`OWL_SOLVERS`) and to every ``method=`` argument
when they are imported.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import largest_magnitude, to_rows
from ._registry import PENALTIES, REGISTRY, PluginTable, SolverSpec, add_spec
from .scaling import needs_scaling, power_of_two_scale
from .validation import check_method, check_strength, check_theta, check_weights, is_torch_tensor

__all__ = [
    "ProxResult", "solve", "prox_ws", "Solver", "SOLVERS", "OWL_SOLVERS", "auto_method",
    "register_solver",
]


@dataclass(frozen=True)
class ProxResult:
    """Result of :func:`solve`.

    Attributes
    ----------
    x : ndarray or Tensor, same shape as the input
        The prox of every slice along the last axis.
    method : str
        The solver that produced ``x`` (``"auto"`` resolved).
    rounds : int or None
        Sequential whole-batch steps the solver took (parallel depth measured
        without a GPU); ``None`` for sequential CPU solvers.
    penalty : str
        ``"ws"`` or ``"owl"``.
    """

    x: Any
    method: str
    rounds: int | None
    penalty: str = "ws"


@dataclass(frozen=True)
class _PenaltyRules:
    """What differs between penalties at the dispatcher: the strength and the defaults.

    ``check(strength, d)`` validates the strength for rows of length ``d``;
    ``size(strength)`` is its largest magnitude (for the overflow guard);
    ``identity(strength, d)`` says when the prox is exactly the identity;
    ``accelerator`` is the solver ``"auto"`` picks for tensors off the CPU.
    Both penalties are positively homogeneous, so ``prox(w; s) = k prox(w / k; s / k)``
    for every ``k > 0``: the overflow guard divides the strength like ``w``.
    """

    check: Callable[[Any, int], Any]
    size: Callable[[Any], float]
    identity: Callable[[Any, int], bool]
    accelerator: str


_RULES = {
    "ws": _PenaltyRules(
        check=lambda lam, d: check_strength(lam, "lam"),
        size=float,
        identity=lambda lam, d: d <= 1 or lam == 0.0,
        accelerator="divide_conquer",
    ),
    "owl": _PenaltyRules(
        check=check_theta,
        size=lambda theta: float(theta[0]) if theta.size else 0.0,
        identity=lambda theta, d: d == 0 or not theta.any(),
        accelerator="parallel_pava",
    ),
}


def auto_method(w, *, penalty: str = "ws") -> str:
    """The solver ``method="auto"`` picks for ``w``.

    Inputs on the CPU (ndarrays, CPU tensors) go to ``"pava"``, the fastest CPU
    path of every penalty. Tensors on an accelerator go to the penalty's
    parallel solver when it is registered: for weight sharing
    ``"divide_conquer"``, whose depth is O(log^3 d) on every input (parallel
    PAVA can need O(d) rounds on a cascade); for OWL ``"parallel_pava"``.
    """
    accelerator = _RULES[penalty].accelerator
    if is_torch_tensor(w) and w.device.type != "cpu" and accelerator in REGISTRY[penalty]:
        return accelerator
    return "pava"


def _check_penalty(penalty) -> str:
    if not isinstance(penalty, str) or penalty not in PENALTIES:
        raise ValueError(f"Unknown penalty {penalty!r}; expected one of 'ws', 'owl'")
    return penalty


def _scaled_kernel(spec: SolverSpec, rows, strength, size: float):
    """Run ``spec``'s kernel, on ``rows / s`` and ``strength / s`` if the scale is extreme.

    Near the top of the float range ``x + lam * c`` and block sums overflow
    (``[1e308, -1e308]`` at ``lam = 1e308`` would give inf), and near the
    bottom subnormals lose digits. The prox scales exactly (``prox_{lam R}(w)
    = s prox_{(lam/s) R}(w/s)``, and likewise for OWL's ``theta``), so there
    the kernel runs on unit-scale data divided by a power of two ``s`` and the
    result is multiplied back.
    """
    largest = max(largest_magnitude(rows), size)
    # Numpy kernels compute in float64 whatever the input; torch ones in its dtype.
    compute_dtype = np.float64 if spec.kind == "numpy" else _numpy_dtype(rows)
    if not needs_scaling(largest, compute_dtype):
        return spec.kernel(rows, strength)
    scale = power_of_two_scale(largest)
    # A float32 input runs in float64 here: the power of two may lie beyond float32's
    # range (lam = 1e300), and float32 rows divided by it would be 0, then 0 * inf.
    # The prox stays within the input's range, so the result casts back exactly as
    # any float32 result does.
    single = _numpy_dtype(rows) == np.float32
    torch_rows = is_torch_tensor(rows)
    work = (rows.double() if torch_rows else rows.astype(np.float64)) if single else rows
    out, rounds = spec.kernel(work / scale, strength / scale)
    out *= scale
    if single:
        out = out.to(rows.dtype) if torch_rows else out.astype(np.float32)
    return out, rounds


def _numpy_dtype(rows):
    # float32 or float64, for a numpy array or a torch tensor.
    return np.float32 if str(rows.dtype).endswith("float32") else np.float64


def solve(w, strength, *, penalty: str = "ws", method: str = "auto") -> ProxResult:
    """Prox of a penalty along the last axis, with solver details.

    Parameters
    ----------
    w : array_like or Tensor, shape (..., d)
        float32, float64 or integer; finite. Each slice along the last axis is
        one problem (rows of a layer = per-neuron sharing).
    strength : float >= 0 (``penalty="ws"``) or array_like (d,) (``penalty="owl"``)
        ``lam`` of ``lam R`` (the time of the particle system), or the OWL
        weights ``theta``: finite, >= 0, non-increasing, shared by every slice.
    penalty : {"ws", "owl"}, keyword-only
        The weight-sharing penalty ``R`` or ``OWL_theta``.
    method : str, keyword-only
        ``"auto"`` or a key of the penalty's table (:data:`SOLVERS`,
        :data:`OWL_SOLVERS`).

    Returns
    -------
    ProxResult
        ``x`` has the input's kind, shape and device; float32 stays float32,
        float64 stays float64, integers give float64. The input is not modified.

    Notes
    -----
    Autograd (weight sharing): for a floating-point tensor with
    ``requires_grad=True`` (and grad mode on) ``x`` is differentiable with
    respect to ``w``: its gradient averages the incoming gradient over each
    group of shared values, the Jacobian of the prox wherever the groups are
    locally constant (:mod:`prox.autograd`). Otherwise ``x`` is detached, like
    any result computed under ``torch.no_grad()``.

    Examples
    --------
    >>> solve(np.array([0.0, 1.0, 5.0]), 0.5).x
    array([0.5, 1. , 4.5])
    >>> solve(np.array([3.0, -1.0, 0.5]), [1.0, 0.5, 0.5], penalty="owl").x
    array([ 2. , -0.5,  0. ])
    """
    return ProxResult(*_solve(w, strength, penalty, method))


def _solve(w, strength, penalty: str, method: str) -> tuple:
    # solve() without the result object: (x, method, rounds, penalty). prox_ws
    # calls it directly, which saves a frozen dataclass per call on short rows.
    penalty = _check_penalty(penalty)
    rules, table = _RULES[penalty], REGISTRY[penalty]
    w = check_weights(w)
    strength = rules.check(strength, w.shape[-1])
    if not (isinstance(method, str) and (method == "auto" or method in table)):
        check_method(method, ("auto", *table))  # raises, naming every solver
    if method == "auto":
        method = auto_method(w, penalty=penalty)
    spec: SolverSpec = table[method]
    rows, restore = to_rows(w, spec.kind)
    if rows.shape[0] == 0 or rules.identity(strength, rows.shape[-1]):
        # Empty batches, d <= 1 (weight sharing) and zero strength: exactly the identity.
        out, rounds = rows.clone() if spec.kind == "torch" else rows.copy(), 0
    else:
        out, rounds = _scaled_kernel(spec, rows, strength, rules.size(strength))
    x = restore(out)
    if penalty == "ws" and is_torch_tensor(w) and w.requires_grad and _grad_enabled():
        from .autograd import attach_prox_gradient

        x = attach_prox_gradient(w, x)
    return x, method, rounds, penalty


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
    if type(w) is np.ndarray and type(method) is str and (method == "auto" or method == "pava"):
        x = _short_ndarray_prox(w, lam)
        if x is not None:
            return x
    return _solve(w, lam, "ws", method)[0]


# The fast path of prox_ws. Through _solve, a call on a short row spends
# microseconds in the dispatcher's Python (checks, rules, conversion to rows)
# and in three crossings into compiled code (finiteness, max|w|, the kernel),
# several times the kernel's own work. The common
# case, a float32/float64 ndarray of at most ONE_CALL_SIZE entries and a real
# lam with method "auto" or "pava", takes one compiled call instead
# (prox.solvers.pava.prox_short_checked); it runs the same steps in the same
# order, so results are the same bits. Anything else, and any input that would
# raise or need the overflow guard, goes through _solve unchanged.
_WS_TABLE = REGISTRY["ws"]
_BUILTIN_PAVA = dict.get(_WS_TABLE, "pava")  # a replaced "pava" disables the fast path
_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)
_FAST_DTYPES = (_FLOAT32, _FLOAT64)  # native byte order only, like Numba
_FAST_LAM_TYPES = (float, int, np.float64, np.float32)  # float() reads them like check_strength
_pava = None  # prox.solvers.pava, imported on first use (import prox stays light)


def _short_ndarray_prox(w: np.ndarray, lam):
    """``prox_ws(w, lam)`` by the fast path, or None where the general path must run."""
    global _pava
    if _pava is None:
        from .solvers import pava as _pava
    dtype = w.dtype
    # Identity first (the builtin dtypes are singletons), equality for copies (unpickled arrays).
    if not (dtype is _FLOAT64 or dtype is _FLOAT32 or dtype in _FAST_DTYPES):
        return None
    if not 1 <= w.ndim <= 2:
        return None
    if not 0 < w.size <= _pava.ONE_CALL_SIZE or type(lam) not in _FAST_LAM_TYPES:
        return None
    if dict.get(_WS_TABLE, "pava") is not _BUILTIN_PAVA:
        return None
    try:
        lam = float(lam)
    except OverflowError:  # an int beyond float range: the general path says so
        return None
    if not 0.0 <= lam < math.inf:  # negative, inf or NaN: the general path raises
        return None
    if not w.flags.c_contiguous:
        w = np.ascontiguousarray(w)
    status, x = _pava.prox_short_checked(w, lam)
    return x if status == _pava.SHORT_DONE else None


class Solver:
    """One registered algorithm as a callable ``solver(w, strength) -> prox``.

    ``solver.solve(w, strength)`` returns the :class:`ProxResult` with its rounds.
    """

    def __init__(self, spec: SolverSpec):
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.penalty = spec.penalty
        self.summary = spec.summary
        face = "prox_ws(w, lam)" if spec.penalty == "ws" else "prox_owl(w, theta)"
        self.__doc__ = f"{face} with method={spec.name!r}: {spec.summary}"

    def __call__(self, w, strength):
        return self.solve(w, strength).x

    def solve(self, w, strength) -> ProxResult:
        return solve(w, strength, penalty=self.penalty, method=self.name)

    def __repr__(self) -> str:
        return f"<Solver {self.name!r} ({self.penalty}): {self.summary}>"


def _solver_table(penalty: str) -> PluginTable:
    return PluginTable((name, Solver(spec)) for name, spec in dict.items(REGISTRY[penalty]))


#: name -> callable(w, lam) for every registered weight-sharing prox algorithm
#: (prox's own, plus those that packages built on prox added with :func:`register_solver`).
SOLVERS: dict[str, Solver] = _solver_table("ws")
#: name -> callable(w, theta) for every registered OWL prox algorithm.
OWL_SOLVERS: dict[str, Solver] = _solver_table("owl")
_TABLES = {"ws": SOLVERS, "owl": OWL_SOLVERS}


def register_solver(name: str, kind: str, kernel, summary: str, *, penalty: str = "ws",
                    replace: bool = False):
    """Make a rows kernel available as ``method=name`` and in the penalty's solver table.

    Parameters
    ----------
    name : str
        A Python identifier other than ``"auto"``.
    kind : {"numpy", "torch"}
        The rows the kernel takes: CPU ndarrays, or torch tensors on any device.
    kernel : callable or str
        ``kernel(rows, strength) -> (out, rounds)`` (the contract in
        ``prox._registry``), or its import path ``"package.module:function"``,
        imported on first use.
    summary : str
        One line: what the algorithm does, where it runs, its work and depth.
    penalty : {"ws", "owl"}, keyword-only
        The penalty it solves: its table is :data:`SOLVERS` or :data:`OWL_SOLVERS`.
    replace : bool, keyword-only
        Allow replacing a different solver already registered under ``name``.
        Registering the same solver twice is always a no-op.

    Returns
    -------
    Solver
        The registered solver, ``SOLVERS[name]`` (or ``OWL_SOLVERS[name]``).

    Examples
    --------
    >>> def identity_rows(rows, lam):
    ...     return rows.copy(), None
    >>> solver = register_solver("identity", "numpy", identity_rows, "returns w (a demo)")
    >>> prox_ws([3.0, 1.0], 0.5, method="identity")
    array([3., 1.])
    >>> del SOLVERS["identity"], REGISTRY["ws"]["identity"]
    """
    spec = SolverSpec(name, kind, kernel, summary, _check_penalty(penalty))
    table = _TABLES[penalty]
    if add_spec(spec, replace=replace) or not dict.__contains__(table, name):
        table[name] = Solver(spec)
    return table[name]
