"""The fixed cost of one ``prox_ws`` call, and what a CPU tensor adds on busy cores.

    python -m benchmarks.bench_call_tax --json benchmarks/results/call_tax.json

Three measurements, each a ratio to a reference timed in the same process,
interleaved, median of ``--rounds`` (process time for the single-threaded short
rows, so that other processes holding the core do not count; wall time for the
tensors, where waiting for cores is what is measured):

* short rows: ``prox_ws`` on d = 100 (float64) against ``numpy.argsort`` of the
  same row and the users' recipe (argsort + ``scipy.optimize.isotonic_regression``);
  microseconds per call over a loop of calls;
* stages: where one short-row ``prox_ws`` spends its time (its one compiled call,
  the fixed cost of such a call, the Python around it) beside the general
  dispatcher (``solve``), which takes each step as a separate call;
* tensors: ``prox_ws`` of a CPU ``torch.Tensor`` of shape (512, 784) float32
  (one layer of a digits network) against ``prox_ws`` of the same numpy array,
  with 0, 1 and 2 spinning processes that this script starts (each bounded by
  ``--spin-seconds``) to keep the cores busy like other users would. A torch
  reduction in the validation waits for torch's thread pool there; the package
  validates CPU tensors through their numpy view instead.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import environment, interleaved, load_average, markdown_table, write_json
from prox import prox_ws, rank_velocities

SPIN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def short_rows(rounds: int, d: int = 100) -> dict:
    from scipy.optimize import isotonic_regression

    w = np.random.default_rng(0).standard_normal(d)
    c = rank_velocities(d)

    def recipe():
        order = np.argsort(w)
        out = np.empty_like(w)
        out[order] = isotonic_regression(w[order] + 0.5 * c).x
        return out

    functions = {"prox_ws": lambda: prox_ws(w, 0.5), "argsort": lambda: np.argsort(w),
                 "argsort + isotonic_regression": recipe}
    for function in functions.values():
        function()
    seconds = interleaved(functions, rounds=rounds, calls=2000, clock=time.process_time)
    return {"d": d, "load": load_average(),
            "us": {name: 1e6 * s for name, s in seconds.items()},
            "prox_ws / argsort": seconds["prox_ws"] / seconds["argsort"]}


def stages(rounds: int, d: int = 100) -> dict:
    """Microseconds per call of each stage of one short-row ``prox_ws`` (its fast path).

    ``prox_ws`` on a short float ndarray makes one compiled call
    (``prox.solvers.pava.prox_short_checked``: finiteness, overflow-guard test,
    sort + PAVA). Timed on their own (same input, interleaved rounds): that
    call, and an empty compiled call with the same arguments, which measures
    the fixed cost of crossing from Python into Numba and back with a new array.
    Derived: the compiled work (call minus empty call) and the fast path's own
    Python (``prox_ws`` minus the call). ``solve`` takes the general dispatcher
    (validation, conversion to rows, overflow guard and kernel as separate steps).
    """
    import numba

    from prox import solve
    from prox.solvers.pava import prox_short_checked

    @numba.njit
    def empty_call(w, lam):
        return 0, np.empty_like(w)

    w = np.random.default_rng(0).standard_normal(d)
    functions = {
        "prox_ws": lambda: prox_ws(w, 0.5),
        "compiled call": lambda: prox_short_checked(w, 0.5),
        "empty compiled call": lambda: empty_call(w, 0.5),
        "general path (solve)": lambda: solve(w, 0.5),
        "argsort": lambda: np.argsort(w),
    }
    for function in functions.values():
        function()  # compile
    seconds = interleaved(functions, rounds=rounds, calls=2000, clock=time.process_time)
    us = {name: 1e6 * value for name, value in seconds.items()}
    us["compiled work"] = us["compiled call"] - us["empty compiled call"]
    us["fast path's Python"] = us["prox_ws"] - us["compiled call"]
    return {"d": d, "load": load_average(), "us": us}


def spinning(n: int, seconds: float) -> list:
    """Start ``n`` busy-looping Python processes that stop by themselves after ``seconds``."""
    code = SPIN.format(seconds=seconds)
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def tensors(rounds: int, spinners: int, spin_seconds: float, shape=(512, 784)) -> dict:
    import torch

    array = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    tensor = torch.from_numpy(array.copy())
    functions = {"numpy": lambda: prox_ws(array, 0.5),
                 "torch CPU tensor": lambda: prox_ws(tensor, 0.5)}
    for function in functions.values():
        function()
    processes = spinning(spinners, spin_seconds)
    try:
        time.sleep(0.2)  # let the spinners take the cores
        seconds = interleaved(functions, rounds=rounds, calls=3)
        load = load_average()
    finally:
        for process in processes:
            process.kill()
            process.wait()
    return {"shape": list(shape), "spinning processes": spinners, "load": load,
            "torch threads": torch.get_num_threads(),
            "ms": {name: 1e3 * s for name, s in seconds.items()},
            "tensor / numpy": seconds["torch CPU tensor"] / seconds["numpy"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--spin-seconds", type=float, default=30.0,
                        help="upper bound on each spinning process's life")
    parser.add_argument("--spinners", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    simd = environment()["simd"]
    short = short_rows(args.rounds)
    print(f"SIMD level (numpy): {simd['best']} (found {', '.join(simd['found'])})")
    print(markdown_table(
        [{"d": short["d"], **{k: round(v, 2) for k, v in short["us"].items()},
          "prox_ws / argsort": round(short["prox_ws / argsort"], 2), "load": short["load"]}],
        ["d", "prox_ws", "argsort", "argsort + isotonic_regression", "prox_ws / argsort", "load"]))
    parts = stages(args.rounds)
    print(markdown_table([{**{k: round(v, 2) for k, v in parts["us"].items()},
                           "load": parts["load"]}], [*parts["us"], "load"]))
    rows = [tensors(args.rounds, n, args.spin_seconds) for n in args.spinners]
    print(markdown_table(
        [{"spinning processes": r["spinning processes"], "numpy (ms)": r["ms"]["numpy"],
          "tensor (ms)": r["ms"]["torch CPU tensor"], "tensor / numpy": r["tensor / numpy"],
          "load": r["load"]} for r in rows],
        ["spinning processes", "numpy (ms)", "tensor (ms)", "tensor / numpy", "load"]))
    if args.json:
        write_json(args.json, {"short rows (microseconds per call)": short,
                               "stages (microseconds per call)": parts, "tensors": rows})


if __name__ == "__main__":
    main()
