"""The fast OWL prox against numpy's argsort and the SciPy reference.

    python -m benchmarks.bench_owl                       # d = 1e5 .. 1e7, prints a table
    python -m benchmarks.bench_owl --json benchmarks/results/owl.json

On the same random normal input (OSCAR weights ``theta_i = 0.1 + 0.5 (d - i) / (d - 1)``):
``numpy.argsort`` of ``|w|``, the Numba OWL solver (``OWL_SOLVERS["pava"]``: packed-key sort
of ``|w|`` + one stack pass), the torch solver on CPU tensors (``"parallel_pava"``), and
``prox_owl_reference`` (argsort + ``scipy.optimize.isotonic_regression``). The figures to quote
are the ratios to argsort, measured in the same process (medians of interleaved rounds); the
SIMD level of the machine and the load average are printed with them.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from tqdm import tqdm

from benchmarks import common
from prox.owl import OWL_SOLVERS, oscar_weights, prox_owl_reference


def run(sizes, dtypes, repeats: int, *, with_torch: bool, with_reference: bool,
        clock=time.perf_counter) -> list[dict]:
    import torch

    rng = np.random.default_rng(0)
    for dtype in dtypes:  # compile the kernels before timing
        OWL_SOLVERS["pava"](rng.standard_normal(5000).astype(dtype), np.linspace(1, 0, 5000))
    rows = []
    for d, dtype in tqdm([(d, t) for d in sizes for t in dtypes], desc="bench_owl", leave=False):
        w = rng.standard_normal(d).astype(dtype)
        theta = oscar_weights(d, 0.1, 0.5 / (d - 1))
        magnitude = np.abs(w)
        solvers = {"np.argsort": lambda: np.argsort(magnitude),
                   "pava (Numba)": lambda: OWL_SOLVERS["pava"](w, theta)}
        if with_torch:
            tensor = torch.from_numpy(w)
            solvers["parallel_pava (torch, CPU)"] = lambda: OWL_SOLVERS["parallel_pava"](
                tensor, theta)
        if with_reference:
            solvers["reference (argsort + SciPy)"] = lambda: prox_owl_reference(w, theta)
        seconds = common.interleaved(solvers, rounds=repeats, clock=clock)
        argsort_time = seconds.pop("np.argsort")
        for name, solver_time in seconds.items():
            rows.append({"d": d, "dtype": np.dtype(dtype).name, "solver": name,
                         "seconds": solver_time, "x np.argsort": solver_time / argsort_time,
                         "simd": common.simd_features()["best"], "load": common.load_average()})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=3)
    common.add_clock_option(parser)
    parser.add_argument("--no-torch", action="store_true", help="skip the torch solver")
    parser.add_argument("--no-reference", action="store_true", help="skip the SciPy reference")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    sizes = [int(d) for d in args.sizes]
    rows = run(sizes, args.dtypes, args.repeats, with_torch=not args.no_torch,
               with_reference=not args.no_reference, clock=common.CLOCKS[args.clock])
    simd = common.simd_features()["best"]
    print(f"SIMD level (numpy's CPU features): {simd}; clock: {args.clock}")
    print(common.markdown_table(rows, ["d", "dtype", "solver", "seconds", "x np.argsort", "load"]))
    if args.json:
        common.write_json(args.json, {"rows": rows, "simd": common.simd_features()["best"]})


if __name__ == "__main__":
    main()
