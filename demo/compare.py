"""Run every solver of :data:`prox.SOLVERS` on the same input: accuracy, rounds, time.

Times are wall-clock on a shared CPU: read them as ratios between solvers
measured in the same process, not as absolute speeds.

Hopeless runs are not allowed to block the page:

* **skipped** when their cost is known in advance: ``lower_sets`` takes one
  round of O(d) work per final block, and the number of final blocks is the
  number of groups of the prox (known before running), so it is skipped when
  ``blocks * d`` predicts more than the budget;
* **stopped** when their cost is not known in advance (parallel PAVA takes a
  few rounds on random input but about ``d`` on a cascade): every run has a
  wall-clock budget, checked between the Python-level steps of the solver's
  loop (each round of a torch solver is one such step), and a run over it is
  abandoned and reported.

Each solver is warmed up once on a short prefix of the input (Numba
compilation, torch's first call). On the full input it runs once under the
budget's guard (untimed: the guard traces every Python line), then a few times
untimed by any hook; the table reports the median of those and their spread.

:func:`timed` is the one timing helper of the demo (the benchmarks keep
their own; ``demo`` does not import ``benchmarks``).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_GRID",
    "RUN_BUDGET",
    "SWEEP_BUDGET",
    "OverBudget",
    "REPEATS",
    "timed",
    "runs_on",
    "skip_reason",
    "solver_table",
    "scaling",
    "worst_case",
]

#: Sizes for the scaling chart.
DEFAULT_GRID = (64, 256, 1024, 4096)
#: Seconds one solver run may take in the solver table.
RUN_BUDGET = 5.0
#: Seconds one run may take in the scaling sweep.
SWEEP_BUDGET = 2.0
#: Solvers whose rounds are the final blocks (groups) of the prox, each O(d) work.
ROUNDS_ARE_BLOCKS = frozenset({"lower_sets"})
#: Seconds per element per round of an O(d) torch round, measured on the 2-core CPU
#: (lower_sets at d = 8000: about 50 ns); used only to predict, never reported.
SECONDS_PER_ELEMENT_ROUND = 5e-8
#: Timed calls per solver (the median is reported, with the spread).
REPEATS = 5
#: Length of the prefix a solver is warmed up on.
WARM_UP_D = 64


class OverBudget(BaseException):
    """A run took longer than its budget (a BaseException, so solvers cannot swallow it)."""


@contextmanager
def _time_limit(seconds: float | None):
    """Raise :class:`OverBudget` at the next Python line executed after ``seconds``.

    Uses this thread's trace hook; the previous hook (a debugger, coverage) is
    restored on exit. Compiled kernels (Numba, one torch op) are not
    interrupted, only the Python loops between them.
    """
    if seconds is None:
        yield
        return
    deadline = time.perf_counter() + seconds
    previous = sys.gettrace()

    def on_line(frame, event, arg):
        if event == "line" and time.perf_counter() > deadline:
            raise OverBudget(f"over {seconds:g} s")
        return on_line

    sys.settrace(lambda frame, event, arg: on_line)
    try:
        yield
    finally:
        sys.settrace(previous)


def timed(solver, w: np.ndarray, lam: float, *, repeats: int = 1,
          budget: float | None = None):
    """``(result, seconds)`` of ``solver.solve(w, lam)``: ``seconds`` holds one wall time
    per timed call (at most ``repeats`` of them).

    A first call runs under the budget's guard (:func:`_time_limit`, which raises
    :class:`OverBudget` past ``budget`` seconds) and is NOT timed: the guard's trace
    hook runs on every Python line. The timed calls run with no hook at all; they
    are at most as many as fit in ``budget`` at the guarded call's pace (at least one).
    Warm-up is the caller's business (see :func:`_warm_up`).
    """
    start = time.perf_counter()
    with _time_limit(budget):
        result = solver.solve(w, lam)
    guarded = time.perf_counter() - start
    n = max(int(repeats), 1)
    if budget is not None and guarded > 0:
        n = max(1, min(n, int(budget / guarded)))
    seconds = np.empty(n)
    for i in range(n):
        start = time.perf_counter()
        result = solver.solve(w, lam)
        seconds[i] = time.perf_counter() - start
    return result, seconds


def runs_on(solver) -> str:
    """Where a solver runs, as the table says it: ``"Numba (CPU)"``, ``"torch"`` or ``"NumPy"``.

    A solver's ``kind`` names the array type it takes (``"numpy"`` for the Numba
    kernels too); its summary names Numba when it is compiled.
    """
    if solver.kind == "torch":
        return "torch"
    return "Numba (CPU)" if "Numba" in solver.summary else "NumPy"


def _warm_up(solver, w: np.ndarray, lam: float) -> None:
    # Compiles Numba kernels / makes torch's first call, on a short prefix only.
    solver.solve(np.ascontiguousarray(w[:WARM_UP_D]), lam)


def _solvers(solvers=None) -> dict:
    if solvers is None:
        from prox import SOLVERS

        solvers = SOLVERS
    return dict(solvers)


def skip_reason(name: str, d: int, n_blocks: int, budget: float) -> str:
    """Why solver ``name`` is not run on an input of ``d`` weights whose prox has
    ``n_blocks`` groups, or ``""`` to run it.

    >>> skip_reason("lower_sets", 100_000, 40_000, 5.0)[:40]
    'skipped: one round per final block, 40,0'
    >>> skip_reason("lower_sets", 100_000, 6, 5.0), skip_reason("pava", 10**6, 10**6, 5.0)
    ('', '')
    """
    if name in ROUNDS_ARE_BLOCKS:
        predicted = SECONDS_PER_ELEMENT_ROUND * n_blocks * d
        if predicted > budget:
            return (f"skipped: one round per final block, {n_blocks:,} rounds of O(d) work "
                    f"here (about {predicted:,.0f} s predicted, budget {budget:g} s); "
                    "it suits inputs with few groups")
    return ""


def solver_table(w, lam: float, reference=None, *, solvers=None, repeats: int = REPEATS,
                 budget: float | None = RUN_BUDGET,
                 on_progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """One row per solver on ``(w, lam)``.

    Parameters
    ----------
    w : ndarray, shape (d,)
    lam : float >= 0
    reference : ndarray, shape (d,), optional
        What the solvers are compared with (the simulation's ``traj.prox(lam)``);
        defaults to ``prox.prox_ws(w, lam)``. Its number of distinct values is
        the number of final blocks (see :func:`skip_reason`).
    solvers : mapping name -> Solver, optional
        Defaults to every solver in :data:`prox.SOLVERS`.
    repeats : int
        Timed calls per solver (their median and spread are reported; fewer when
        they would not fit in ``budget``, see :func:`timed`).
    budget : float or None
        Seconds a run may take (skipped if predicted over, stopped if it runs
        over); None for no limit.
    on_progress : callable(fraction, message), optional
        Called before each solver runs and once at the end.

    Returns
    -------
    DataFrame with columns ``solver, runs on, max_deviation, rounds, time_ms, spread_ms,
    runs, note, summary``: ``time_ms`` the median of the timed calls, ``spread_ms`` the
    slowest minus the fastest, ``runs`` how many were timed; ``rounds`` the sequential
    whole-tensor steps as text (``"sequential"`` for a solver without rounds).
    A solver that is skipped, stopped or raises gets NaN numbers and says why in ``note``.
    """
    w = np.ascontiguousarray(w, dtype=np.float64)
    if reference is None:
        from prox import prox_ws

        reference = prox_ws(w, lam)
    reference = np.asarray(reference, dtype=np.float64)
    n_blocks = int(np.unique(reference).size)
    solvers = _solvers(solvers)
    rows = []
    for i, (name, solver) in enumerate(solvers.items()):
        if on_progress is not None:
            on_progress(i / len(solvers), f"{name} ({i + 1} of {len(solvers)})")
        row = {"solver": name, "runs on": runs_on(solver), "max_deviation": np.nan,
               "rounds": "", "time_ms": np.nan, "spread_ms": np.nan, "runs": 0, "note": "",
               "summary": solver.summary}
        row["note"] = skip_reason(name, w.size, n_blocks, budget) if budget else ""
        if not row["note"]:
            try:
                _warm_up(solver, w, lam)
                result, seconds = timed(solver, w, lam, repeats=repeats, budget=budget)
                x = np.asarray(result.x, dtype=np.float64)
                row.update(max_deviation=float(np.max(np.abs(x - reference))) if x.size else 0.0,
                           rounds=("sequential" if result.rounds is None
                                   else f"{int(result.rounds):,}"),
                           time_ms=1e3 * float(np.median(seconds)),
                           spread_ms=1e3 * float(seconds.max() - seconds.min()),
                           runs=int(seconds.size))
            except OverBudget:
                row["note"] = (f"stopped after {budget:g} s (the budget): this input needs "
                               "many sequential rounds from this solver")
            except Exception as error:  # one broken solver must not hide the others
                row["note"] = f"failed: {type(error).__name__}: {error}"
        rows.append(row)
    if on_progress is not None:
        on_progress(1.0, "done")
    return pd.DataFrame(rows, columns=["solver", "runs on", "max_deviation", "rounds", "time_ms",
                                       "spread_ms", "runs", "note", "summary"])


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
    budget: float | None = SWEEP_BUDGET,
    on_progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """Time and rounds of every solver against ``d``, on random and worst-case input.

    Random input is standard normal (``seed``); the worst case is each solver's
    own generator from :data:`prox.worst_cases.WORST_CASES` (the cascade when
    it has none). Runs are skipped or stopped by ``budget`` as in
    :func:`solver_table`; once a solver is stopped on one input kind, its
    larger sizes of that kind are skipped. ``on_progress(fraction, message)``
    is called after each run.

    Times are the median of up to 3 calls (see :func:`timed`).

    Returns
    -------
    DataFrame with columns ``solver, input, d, time_ms, rounds, note, error``
    (``note`` says why a run was skipped or stopped, ``error`` why it raised;
    the time of such a run is NaN).
    """
    from prox import prox_ws

    solvers = _solvers(solvers)
    grid = sorted({int(d) for d in grid})
    rng = np.random.default_rng(seed)
    randoms = {d: rng.normal(size=d) for d in grid}
    total = len(solvers) * len(grid) * 2
    done = 0
    rows = []
    for name, solver in solvers.items():
        _warm_up(solver, randoms[grid[0]] if grid else np.zeros(2), lam)
        for kind in ("random", "worst case"):
            gave_up = ""
            for d in grid:
                w = randoms[d] if kind == "random" else worst_case(name, d, lam)
                row = dict(solver=name, input=kind, d=d, time_ms=np.nan, rounds=None,
                           note=gave_up, error="")
                if not row["note"] and budget:
                    row["note"] = skip_reason(name, d, int(np.unique(prox_ws(w, lam)).size),
                                              budget)
                if not row["note"]:
                    try:
                        result, seconds = timed(solver, w, lam, repeats=3, budget=budget)
                        row.update(time_ms=1e3 * float(np.median(seconds)),
                                   rounds=result.rounds)
                    except OverBudget:
                        row["note"] = f"stopped after {budget:g} s"
                        gave_up = f"skipped: stopped at d = {d:,}"
                    except Exception as error:  # a failing solver leaves a gap in its curve
                        row["error"] = f"{type(error).__name__}: {error}"
                rows.append(row)
                done += 1
                if on_progress is not None:
                    on_progress(done / total, f"{name}, d = {d}, {kind}")
    table = pd.DataFrame(rows, columns=["solver", "input", "d", "time_ms", "rounds", "note",
                                        "error"])
    table["rounds"] = table["rounds"].astype("Float64")
    return table
