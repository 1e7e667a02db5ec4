"""Exact proximal maps of weight-sharing regularization.

``R(w) = 1/(d-1) sum_{i>j} |w_i - w_j|`` and its prox, the map that pulls
weights together until groups of them share one value.

Public API (the maths: docs/maths.md)::

    ws_penalty(w)                    R along the last axis
    prox_ws(w, lam, method="auto")   prox_{lam R} along the last axis
    solve(w, lam, method=...)        the same, with the solver's round count
    solve(w, theta, penalty="owl")   the OWL prox through the same dispatch (prox.owl)
    prox_ws_l1(w, lam, mu)           prox of lam R + mu ||.||_1
    SOLVERS                          name -> callable(w, lam)
    register_solver(name, kind, kernel, summary, penalty="ws")   add an algorithm
    check_prox(w, lam, candidate)    how far a claimed prox is from the exact one

``SOLVERS`` holds prox's own solvers and those of every installed package that
declares itself under the ``prox.plugins`` entry-point group (this project's
``particles`` adds ``"events"``): such packages call :func:`register_solver`
when imported, and prox imports them the first time ``SOLVERS`` is listed or
asked for a name it does not hold (``SOLVERS["events"]``, ``method="events"``),
not at ``import prox``. Without the package metadata (a bare checkout on
``sys.path``), ``import particles`` registers them just the same.

Submodules: ``prox.owl`` (OWL / OSCAR / GrOWL), ``prox.training`` (proximal
gradient with torch optimizers), ``prox.sharing`` (count shared values,
refit groups), ``prox.worst_cases`` (inputs that force the
most rounds on each parallel solver), ``prox.solvers`` (the kernels, one
algorithm per module), ``prox.sort_keys`` (sort with permutation).
"""
from .check import ProxCheck, check_prox
from .dispatch import SOLVERS, ProxResult, auto_method, prox_ws, register_solver, solve
from .l1 import prox_ws_l1
from .penalty import soft_threshold, ws_penalty
from .transform import rank_velocities, sorted_transform, velocity

__all__ = [
    "ws_penalty",
    "prox_ws",
    "prox_ws_l1",
    "solve",
    "ProxResult",
    "SOLVERS",
    "register_solver",
    "auto_method",
    "soft_threshold",
    "velocity",
    "rank_velocities",
    "sorted_transform",
    "check_prox",
    "ProxCheck",
]

