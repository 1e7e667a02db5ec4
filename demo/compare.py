"""Run every solver of :data:`prox.SOLVERS` on the same input: accuracy, rounds, time.

Times are wall-clock on a shared CPU: read them as ratios between solvers
measured in the same process, not as absolute speeds (DESIGN.md §6).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

__all__ = ["solver_table", "scaling", "worst_case", "DEFAULT_GRID"]

#: Sizes for the scaling chart: small, so the whole sweep takes a few seconds.
DEFAULT_GRID = (64, 256, 1024, 4096)


def _solvers(solvers=None) -> dict:
    if solvers is None:
        from prox import SOLVERS

        solvers = SOLVERS
    return dict(solvers)


def _timed(solver, w: np.ndarray, lam: float, repeats: int):
    """Best wall time (s) of ``repeats`` calls after one untimed warm-up call."""
    result = solver.solve(w, lam)  # compiles Numba kernels / imports torch once
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = solver.solve(w, lam)
        best = min(best, time.perf_counter() - start)
    return result, best


def solver_table(w, lam: float, reference=None, *, solvers=None, repeats: int = 1) -> pd.DataFrame:
    """One row per solver on ``(w, lam)``.

    Parameters
    ----------
    w : ndarray, shape (d,)
    lam : float >= 0
    reference : ndarray, shape (d,), optional
        What the solvers are compared with (the simulation's ``traj.prox(lam)``);
        defaults to ``prox.prox_ws(w, lam)``.
    solvers : mapping name -> Solver, optional
        Defaults to every solver in :data:`prox.SOLVERS`.
    repeats : int
        Timed calls per solver (the best is reported).

    Returns
    -------
    DataFrame with columns ``solver, kind, max_deviation, rounds, time_ms, summary``.
    A solver that raises gets a row with its error in ``summary`` instead.
    """
    w = np.asarray(w, dtype=np.float64)
    if reference is None:
        from prox import prox_ws

        reference = prox_ws(w, lam)
    reference = np.asarray(reference, dtype=np.float64)
    rows = []
    for name, solver in _solvers(solvers).items():
        try:
            result, seconds = _timed(solver, w, lam, repeats)
            x = np.asarray(result.x, dtype=np.float64)
            deviation = float(np.max(np.abs(x - reference))) if x.size else 0.0
            rows.append(dict(solver=name, kind=solver.kind, max_deviation=deviation,
                             rounds=result.rounds, time_ms=1e3 * seconds,
                             summary=solver.summary))
        except Exception as error:  # one broken solver must not hide the others
            rows.append(dict(solver=name, kind=solver.kind, max_deviation=np.nan, rounds=None,
                             time_ms=np.nan, summary=f"failed: {type(error).__name__}: {error}"))
    table = pd.DataFrame(rows, columns=["solver", "kind", "max_deviation", "rounds", "time_ms",
                                        "summary"])
    table["rounds"] = table["rounds"].astype("Int64")
    return table


def worst_case(name: str, d: int, lam: float = 1.0) -> np.ndarray:
    """The worst-case input of solver ``name`` (falling back to the cascade)."""
    from prox import worst_cases

    generator = worst_cases.WORST_CASES.get(name, worst_cases.cascade)
    return np.asarray(generator(d, lam=lam), dtype=np.float64)


def scaling(
    grid: Iterable[int] = DEFAULT_GRID,
    *,
    lam: float = 1.0,
    seed: int = 0,
    solvers=None,
    on_progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """Time and rounds of every solver against ``d``, on random and worst-case input.

    Random input is standard normal (``seed``); the worst case is each solver's
    own generator from :data:`prox.worst_cases.WORST_CASES` (the cascade when
    it has none). ``on_progress(fraction, message)`` is called after each run.

    Returns
    -------
    DataFrame with columns ``solver, input, d, time_ms, rounds, error``
    (``error`` is empty unless that run raised; its time is then NaN).
    """
    solvers = _solvers(solvers)
    grid = sorted({int(d) for d in grid})
    rng = np.random.default_rng(seed)
    randoms = {d: rng.normal(size=d) for d in grid}
    total = len(solvers) * len(grid) * 2
    done = 0
    rows = []
    for name, solver in solvers.items():
        for d in grid:
            for kind in ("random", "worst case"):
                w = randoms[d] if kind == "random" else worst_case(name, d, lam)
                try:
                    result, seconds = _timed(solver, w, lam, repeats=1)
                    rows.append(dict(solver=name, input=kind, d=d, time_ms=1e3 * seconds,
                                     rounds=result.rounds, error=""))
                except Exception as error:  # a failing solver leaves a gap in its curve
                    rows.append(dict(solver=name, input=kind, d=d, time_ms=np.nan, rounds=None,
                                     error=f"{type(error).__name__}: {error}"))
                done += 1
                if on_progress is not None:
                    on_progress(done / total, f"{name}, d = {d}, {kind}")
    table = pd.DataFrame(rows, columns=["solver", "input", "d", "time_ms", "rounds", "error"])
    table["rounds"] = table["rounds"].astype("Float64")
    return table
