"""Timing, table and JSON helpers shared by the benchmark scripts.

Absolute times on shared machines are noise; every script reports ratios to
``numpy.sort`` / ``numpy.argsort`` of the same input measured in the same
process, which is the figure to quote.
"""
from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

__all__ = [
    "CLOCKS", "add_clock_option", "time_calls", "best_time", "interleaved", "load_average",
    "markdown_table", "write_json", "environment",
]


def time_calls(function, *, repeats: int = 3, statistic=min, patience: float = math.inf):
    """Call ``function()`` up to ``repeats`` times; return ``(statistic(times), last result)``.

    Times are wall-clock seconds (``time.perf_counter``). ``statistic`` reduces
    the list of times (``min`` for the best run, ``statistics.median``, ...).
    Repeating stops early once ``patience`` seconds have been spent; there is
    always at least one call. The single timing helper of every benchmark.
    """
    times, result = [], None
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        if sum(times) > patience:
            break
    return statistic(times), result


#: The clocks a benchmark can time with: wall time, or this process's CPU time.
CLOCKS = {"wall": time.perf_counter, "process": time.process_time}


def add_clock_option(parser) -> None:
    """Give an argparse parser ``--clock {process,wall}``; ``CLOCKS[args.clock]`` is the clock."""
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (robust to other "
                             "processes on the cores; counts every thread of torch)")


def interleaved(functions: dict, *, rounds: int = 5, calls: int = 1,
                patience: float = math.inf, clock=time.perf_counter) -> dict:
    """Median seconds of one call of each function, the functions timed in turn.

    Each of ``rounds`` rounds calls every function of ``functions`` (name ->
    callable) ``calls`` times in a row, in order, so a change of load on a
    shared machine hits every function alike and the ratios between them stay
    meaningful. Rounds stop early once ``patience`` seconds have been spent
    (at least one round always runs). Returns name -> median seconds per call.
    ``clock`` is wall time by default; ``time.process_time`` leaves out the time
    other processes hold the core (for single-threaded code on a busy machine).
    """
    times = {name: [] for name in functions}
    spent = 0.0
    for _ in range(max(rounds, 1)):
        for name, function in functions.items():
            start = clock()
            for _ in range(calls):
                function()
            elapsed = clock() - start
            times[name].append(elapsed / calls)
            spent += elapsed
        if spent > patience:
            break
    return {name: statistics.median(values) for name, values in times.items()}


def load_average() -> float:
    """The 1-minute load average (printed beside timings from shared machines)."""
    return os.getloadavg()[0]


def best_time(function, *, repeats: int = 3) -> float:
    """Minimum wall time of ``function()`` over ``repeats`` calls, in seconds."""
    return time_calls(function, repeats=repeats)[0]


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """Render ``rows`` (dicts) as a Markdown table with the given column order."""

    def cell(value):
        if isinstance(value, float):
            return f"{value:.3g}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def simd_features() -> dict:
    """The SIMD extensions numpy found on this CPU (what its sorts can use).

    ``{"found": [...], "best": name}``: where numpy has AVX-512 sorts,
    ``numpy.sort``/``argsort`` are several times faster than on AVX2 machines,
    so every table prints this beside its ratios.
    """
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    wanted = ["SSE42", "AVX2", "AVX512F", "AVX512_SKX", "AVX512_ICL", "AVX512_SPR",
              "ASIMD", "SVE"]
    found = [name for name in wanted if features.get(name)]
    return {"found": found, "best": found[-1] if found else "none"}


def environment() -> dict:
    import numba

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "simd": simd_features(),
    }


def write_json(path: str | Path, payload: dict) -> None:
    """Write ``payload`` plus the environment to ``path`` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"environment": environment(), **payload}, indent=2))
