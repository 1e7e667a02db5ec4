"""CPU prox solvers against numpy's sort, numpy's argsort and SciPy's isotonic regression.

    python -m benchmarks.bench_prox                      # d = 1e3 .. 1e7, prints a table
    python -m benchmarks.bench_prox --json benchmarks/results/prox.json
    python -m benchmarks.bench_prox --memory 100000000   # peak RSS of one float32 prox

Every CPU solver in ``prox.SOLVERS`` (``kind == "numpy"``) and the users'
alternative (argsort + ``scipy.optimize.isotonic_regression`` on the sorted
transform, scattered back) is timed on the same random normal input as
``numpy.sort`` and ``numpy.argsort``; the table gives the ratios.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

import numpy as np
from scipy.optimize import isotonic_regression
from tqdm import tqdm

from benchmarks.common import (
    CLOCKS,
    add_clock_option,
    interleaved,
    load_average,
    markdown_table,
    simd_features,
    write_json,
)
from prox import SOLVERS, rank_velocities
from prox.sort_keys import sort_plan

STRENGTHS = (0.01, 0.5, 5.0)


def scipy_alternative(w: np.ndarray, lam: float) -> np.ndarray:
    """What a user writes without this package: argsort + SciPy PAVA + scatter."""
    order = np.argsort(w)
    z = w[order].astype(np.float64) + lam * rank_velocities(w.size)
    out = np.empty(w.size, dtype=w.dtype)
    out[order] = isotonic_regression(z).x
    return out


def run(sizes, dtypes, repeats: int, names=None, clock=time.perf_counter) -> list[dict]:
    """Median times of the CPU solvers, numpy.sort and numpy.argsort, interleaved per input.

    ``names``: the solvers to time (default every CPU solver of ``prox.SOLVERS``).
    """
    solvers = {name: s for name, s in SOLVERS.items()
               if s.kind == "numpy" and (names is None or name in names)}
    solvers["scipy (argsort + isotonic_regression)"] = scipy_alternative
    rng = np.random.default_rng(0)
    for solver in solvers.values():  # compile every kernel before timing
        for dtype in dtypes:
            solver(rng.standard_normal(5000).astype(dtype), 0.5)
    rows = []
    cases = [(d, dtype) for d in sizes for dtype in dtypes]
    for d, dtype in tqdm(cases, desc="bench_prox", leave=False):
        w = rng.standard_normal(d).astype(dtype)
        functions = {"np.sort": lambda: np.sort(w), "np.argsort": lambda: np.argsort(w)}
        for lam in STRENGTHS:
            for name, solver in solvers.items():
                functions[(name, lam)] = lambda solver=solver, lam=lam: solver(w, lam)
        seconds = interleaved(functions, rounds=repeats, clock=clock)
        load = load_average()
        sort_time, argsort_time = seconds.pop("np.sort"), seconds.pop("np.argsort")
        for (name, lam), solver_time in seconds.items():
            rows.append(
                {
                    "d": d,
                    "dtype": np.dtype(dtype).name,
                    "lam": lam,
                    "solver": name,
                    "seconds": solver_time,
                    "x np.sort": solver_time / sort_time,
                    "x np.argsort": solver_time / argsort_time,
                    "np.argsort / np.sort": argsort_time / sort_time,
                    "load": load,
                }
            )
    return rows


def peak_memory(d: int, dtype: str = "float32") -> dict:
    """Peak RSS (``/usr/bin/time -v``) of a child process running one prox of size d.

    A second child only allocates the input, so the prox's own share is visible.
    """
    setup = (
        f"import numpy as np; w = np.random.default_rng(0).standard_normal({d}, dtype=np.{dtype})"
    )
    programs = {
        "input only": f"{setup}; import prox",
        "prox_ws": f"{setup}; import prox; prox.prox_ws(w, 0.5)",
    }
    result = {"d": d, "dtype": dtype, "input bytes": d * np.dtype(dtype).itemsize}
    for label, program in programs.items():
        done = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, "-c", program],
            capture_output=True,
            text=True,
            check=True,
        )
        kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
        result[f"peak RSS {label} (bytes)"] = kib * 1024
    result["peak / input bytes"] = result["peak RSS prox_ws (bytes)"] / result["input bytes"]
    result["(peak - baseline) / input bytes"] = (
        result["peak RSS prox_ws (bytes)"] - result["peak RSS input only (bytes)"]
    ) / result["input bytes"] + 1
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e3, 1e4, 1e5, 1e6, 1e7])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=3)
    add_clock_option(parser)
    parser.add_argument("--solvers", nargs="+", default=None,
                        help="CPU solvers to time (default: all of them)")
    parser.add_argument(
        "--memory", type=float, default=None, help="measure peak RSS at this d instead"
    )
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.memory:
        result = peak_memory(int(args.memory))
        print(markdown_table([result], list(result)))
        payload = {"memory": result}
    else:
        sizes = [int(d) for d in args.sizes]
        rows = run(sizes, [np.dtype(t).type for t in args.dtypes], args.repeats, args.solvers,
                   CLOCKS[args.clock])
        columns = [
            "d", "dtype", "lam", "solver", "x np.argsort", "x np.sort", "np.argsort / np.sort",
            "load",
        ]
        plans = {bits: sort_plan(bits) for bits in (32, 64)}
        simd = simd_features()
        print(f"SIMD level (numpy): {simd['best']} (found {', '.join(simd['found'])}); "
              f"sort plan: float32 {plans[32]['path']}, float64 {plans[64]['path']}; "
              f"medians of {args.repeats} interleaved rounds; clock: {args.clock}")
        print(markdown_table(rows, columns))
        payload = {"timings": rows, "sort plans": {str(k): v for k, v in plans.items()}}
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
