"""Rounds and CPU time of the torch solvers, as ratios to ``numpy.argsort``.

For d = 2^k (``--sizes``, default k = 10 .. 20) and each input

    normal     random normal weights, lam = 0.5
    cascade    prox.worst_cases.cascade(d, lam), lam = 0.5 and lam = 1.0
    separated  prox.worst_cases.separated(d, 0.5), lam = 0.5 (d blocks)
    staircase  prox.worst_cases.staircase(d, 0.5), lam = 0.5

it runs every torch solver through ``prox.solve`` on a CPU float64 tensor and
reports its rounds, the bound ``log2(P)^2 + log2(P)`` of divide and conquer
(``P`` the padded length), the best-of-``--repeats`` wall time (fewer repeats
once a combination has used 3 s), that time over
the best time of ``numpy.argsort`` of the same input in this process, and the
largest deviation from the Numba ``"pava"`` result relative to
``max|w| + lam``. torch keeps its default number of threads unless
``--threads`` is given.

A combination is skipped (printed as "skipped") when the same solver and input
at half the size took long enough that quadratic growth predicts more than
``--budget`` seconds (default 20; the half size is timed first, from d = 1024
up, if it was not among ``--sizes``): parallel PAVA on large cascades (~d rounds of
O(d) work) and minimum lower sets on inputs with ~d blocks.

    python -m benchmarks.bench_parallel --sizes 10 12 14 16 18 20 --json out.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.common import time_calls
from prox import solve
from prox.solvers.divide_conquer import round_bound
from prox.worst_cases import cascade, separated, staircase

SOLVERS = ("parallel_pava", "divide_conquer", "lower_sets")


#: (input name, lam, generator(d, lam, rng) -> float64 ndarray)
INPUTS = (
    ("normal", 0.5, lambda d, lam, rng: rng.normal(size=d)),
    ("cascade", 0.5, lambda d, lam, rng: cascade(d, lam)),
    ("cascade", 1.0, lambda d, lam, rng: cascade(d, lam)),
    ("separated", 0.5, lambda d, lam, rng: separated(d, lam)),
    ("staircase", 0.5, lambda d, lam, rng: staircase(d, lam)),
)


#: Stop repeating one measurement after this many seconds.
PATIENCE = 3.0


def dc_bound(d: int) -> int:
    """The column `dc_bound` of the tables: ``L^2 + L``, ``L = log2(P)`` (a round budget).

    Twice the proven bound ``L(L+1)/2`` (:func:`prox.solvers.divide_conquer.round_bound`).
    """
    return 2 * round_bound(d)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(range(10, 21)),
                        help="log2 of the sizes d (default: 10 .. 20)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs, best kept")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="skip runs predicted to take longer (seconds)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=SOLVERS,
                        help="the torch solvers to time (default: all)")
    parser.add_argument("--inputs", nargs="+", default=None,
                        help="input names to run (default: all of INPUTS)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(args.seed)
    for name in SOLVERS:  # warm up imports and first-call overheads
        solve(torch.zeros(8, dtype=torch.float64), 0.5, method=name)

    # (input, lam, solver) -> (d, seconds) of its largest run so far.
    previous: dict[tuple, tuple[int, float]] = {}

    def too_slow(key, make, d) -> bool:
        """Quadratic extrapolation from d/2, first timing d = 1024 .. d/2 if need be."""
        size, seconds = previous.get(key, (None, None))
        size = 2 * size if size else min(1024, d // 2)
        while size <= d // 2:
            if seconds is not None and seconds * 4 > args.budget:
                return True
            w_small = make(size, key[1], rng)
            seconds, _ = time_calls(lambda: solve(torch.from_numpy(w_small), key[1],
                                                  method=key[2]), repeats=1)
            previous[key] = (size, seconds)
            size *= 2
        if key not in previous:
            return False
        size, seconds = previous[key]
        return seconds * (d / size) ** 2 > args.budget

    cases = [(k, kind, lam, make) for k in args.sizes for kind, lam, make in INPUTS
             if args.inputs is None or kind in args.inputs]
    rows = []
    for k, kind, lam, make in tqdm(cases, desc="bench_parallel", file=sys.stderr):
        d = 2**k
        w = make(d, lam, rng)
        t_argsort, _ = time_calls(lambda: np.argsort(w), repeats=args.repeats,
                                  patience=PATIENCE)
        reference = solve(w, lam, method="pava").x
        tensor = torch.from_numpy(w)
        for name in args.solvers:
            row = {"log2_d": k, "d": d, "input": kind, "lam": lam, "solver": name,
                   "dc_bound": dc_bound(d) if name == "divide_conquer" else None}
            key = (kind, lam, name)
            if too_slow(key, make, d):
                row.update(skipped=True)
                rows.append(row)
                continue
            t_solver, result = time_calls(lambda: solve(tensor, lam, method=name),
                                          repeats=args.repeats, patience=PATIENCE)
            previous[key] = (d, t_solver)
            error = np.max(np.abs(result.x.numpy() - reference)) / (np.max(np.abs(w)) + lam)
            row.update(skipped=False, rounds=result.rounds, seconds=t_solver,
                       argsort_seconds=t_argsort, ratio=t_solver / t_argsort,
                       rel_error=float(error))
            rows.append(row)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"best of {args.repeats}; ratio = solver time / numpy.argsort time\n")
    print("| log2 d | input | lam | solver | rounds | L^2+L | time (s) | x argsort | rel. err |")
    print("|---:|---|---:|---|---:|---:|---:|---:|---:|")
    for row in rows:
        bound = row["dc_bound"] if row["dc_bound"] is not None else ""
        head = f"| {row['log2_d']} | {row['input']} | {row['lam']} | {row['solver']} |"
        if row["skipped"]:
            print(f"{head} skipped | {bound} | skipped | skipped | |")
        else:
            print(f"{head} {row['rounds']} | {bound} | {row['seconds']:.4f} | "
                  f"{row['ratio']:.1f} | {row['rel_error']:.1e} |")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
