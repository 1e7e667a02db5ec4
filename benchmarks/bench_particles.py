"""Benchmark the particle simulation (``particles.simulate``).

1. Numba backend: time of ``simulate(w)`` on float64 random normal input as a
   ratio to ``numpy.argsort`` of the same input, measured in the same process
   (medians over ``--repeats``). Absolute times on a shared machine are noise;
   the ratio is the figure (absolute times on a shared machine are noise).
2. Torch backend (CPU): wall time and parallel event rounds vs d, for random
   input and for ``prox.worst_cases.cascade(d)`` (one cluster absorbing its
   neighbours one after another). ``tree height`` is the depth of the merge
   tree: no method that performs a merge only after both of its clusters exist
   can take fewer rounds.

Usage::

    python -m benchmarks.bench_particles [--sizes 1e3,1e4,...] [--torch-sizes 256,...]
                                         [--repeats 3] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.common import time_calls
from particles import simulate
from prox.worst_cases import cascade


def tree_height(linkage: np.ndarray) -> int:
    d = linkage.shape[0] + 1
    height = np.zeros(2 * d - 1, dtype=np.int64)
    for j, (left, right) in enumerate(linkage[:, :2].astype(np.int64)):
        height[d + j] = 1 + max(height[left], height[right])
    return int(height.max())


def bench_numba(sizes, repeats, rng):
    simulate(rng.standard_normal(100))  # compile / load the cached kernels
    rows = []
    for d in tqdm(sizes, desc="numba", file=sys.stderr):
        w = rng.standard_normal(d)
        t_argsort, _ = time_calls(lambda: np.argsort(w), repeats=repeats,
                                  statistic=statistics.median)
        t_sim, _ = time_calls(lambda: simulate(w), repeats=repeats, statistic=statistics.median)
        rows.append(dict(d=d, argsort_s=t_argsort, simulate_s=t_sim, ratio=t_sim / t_argsort))
    return rows


def bench_torch(sizes, rng):
    simulate(torch.randn(64, dtype=torch.float64))  # warm up
    rows = []
    for d in tqdm(sizes, desc="torch", file=sys.stderr):
        for name, w in (("random", rng.standard_normal(d)), ("cascade", cascade(d))):
            tensor = torch.from_numpy(w)
            elapsed, traj = time_calls(lambda: simulate(tensor), repeats=1)
            rows.append(dict(d=d, input=name, seconds=elapsed, rounds=traj.rounds,
                             tree_height=tree_height(traj.linkage)))
    return rows


def markdown(numba_rows, torch_rows) -> str:
    lines = ["### Numba backend vs numpy.argsort (float64 random normal)", "",
             "| d | argsort (s) | simulate (s) | ratio |", "|---:|---:|---:|---:|"]
    for r in numba_rows:
        lines.append(f"| {r['d']:.0e} | {r['argsort_s']:.4f} | {r['simulate_s']:.4f} "
                     f"| {r['ratio']:.2f} |")
    lines += ["", "### Torch backend (CPU): parallel event rounds", "",
              "| d | input | time (s) | rounds | tree height | rounds / d |",
              "|---:|:---|---:|---:|---:|---:|"]
    for r in torch_rows:
        lines.append(f"| {r['d']} | {r['input']} | {r['seconds']:.2f} | {r['rounds']} "
                     f"| {r['tree_height']} | {r['rounds'] / r['d']:.3f} |")
    return "\n".join(lines)


def _sizes(text):
    return [int(float(item)) for item in text.split(",") if item]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=_sizes("1e3,1e4,1e5,1e6,1e7"),
                        help="d for the Numba backend (comma separated)")
    parser.add_argument("--torch-sizes", type=_sizes, default=_sizes("256,512,1024,2048"),
                        help="d for the torch backend (comma separated)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(1)  # a shared 2-core machine; rounds are the figure anyway
    numba_rows = bench_numba(args.sizes, args.repeats, rng)
    torch_rows = bench_torch(args.torch_sizes, rng)
    print(markdown(numba_rows, torch_rows))
    if args.json:
        args.json.write_text(json.dumps(dict(numba=numba_rows, torch=torch_rows), indent=2))


if __name__ == "__main__":
    main()
