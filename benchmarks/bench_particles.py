"""Benchmark the particle simulation (``particles.simulate``).

1. Numba backend: time of ``simulate(w)`` on float64 random normal input as a
   ratio to ``numpy.argsort`` of the same input, measured in the same process
   (medians over ``--repeats``). Absolute times on a shared machine are noise;
   the ratio is the figure (absolute times on a shared machine are noise).
   ``numpy.sort`` is timed too, and the CPU's SIMD level printed: where numpy
   sorts with AVX-512 both of its sorts are several times faster.
2. Torch backends (CPU): wall time and rounds vs d, for random input and for
   ``prox.worst_cases.cascade(d)`` (one cluster absorbing its neighbours one
   after another): ``torch`` (divide and conquer over time) and
   ``torch_events`` (parallel event rounds). ``tree height`` is the depth of
   the merge tree: no method that performs a merge only after both of its
   clusters exist can take fewer rounds -- which is why the time split does not.

Usage::

    python -m benchmarks.bench_particles [--sizes 1e3,1e4,...] [--torch-sizes 256,...]
                                         [--repeats 3] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.common import interleaved, load_average, simd_features, time_calls
from benchmarks.count_event_loop import event_loop
from particles import simulate
from prox.sort_keys import sort_with_order
from prox.worst_cases import cascade


def tree_height(linkage: np.ndarray) -> int:
    d = linkage.shape[0] + 1
    height = np.zeros(2 * d - 1, dtype=np.int64)
    for j, (left, right) in enumerate(linkage[:, :2].astype(np.int64)):
        height[d + j] = 1 + max(height[left], height[right])
    return int(height.max())


def bench_numba(sizes, repeats, rng):
    """simulate(w) against argsort and sort, and where its time goes.

    Interleaved medians of ``repeats`` rounds. Breakdown: the sort with
    permutation (``prox.sort_keys.sort_with_order``), the event loop alone on
    the sorted row, and the rest (scaling, building the Trajectory).
    """
    simulate(rng.standard_normal(1 << 16))  # compile kernels; plan the sort (prox.sort_keys)
    rows = []
    for d in tqdm(sizes, desc="numba", file=sys.stderr):
        w = rng.standard_normal(d)
        xs = np.sort(w)
        seconds = interleaved({
            "argsort": lambda: np.argsort(w), "sort": lambda: np.sort(w),
            "simulate": lambda: simulate(w),
            "sort_with_order": lambda: sort_with_order(w.reshape(1, d)),
            "event loop": lambda: event_loop(xs),
        }, rounds=repeats, calls=max(1, 100_000 // d))  # short rows: loops of calls
        t_argsort, t_sim = seconds["argsort"], seconds["simulate"]
        rows.append(dict(d=d, argsort_s=t_argsort, sort_s=seconds["sort"], simulate_s=t_sim,
                         ratio=t_sim / t_argsort, ratio_sort=t_sim / seconds["sort"],
                         sort_with_order_x_argsort=seconds["sort_with_order"] / t_argsort,
                         event_loop_x_argsort=seconds["event loop"] / t_argsort,
                         rest_x_argsort=(t_sim - seconds["sort_with_order"]
                                         - seconds["event loop"]) / t_argsort,
                         event_loop_ns_per_merge=1e9 * seconds["event loop"] / (d - 1),
                         load=load_average()))
    return rows


def bench_torch(sizes, rng):
    for backend in ("torch", "torch_events"):  # warm up
        simulate(torch.randn(64, dtype=torch.float64), backend=backend)
    rows = []
    for d in tqdm(sizes, desc="torch", file=sys.stderr):
        for name, w in (("random", rng.standard_normal(d)), ("cascade", cascade(d))):
            tensor = torch.from_numpy(w)
            for backend in ("torch", "torch_events"):
                elapsed, traj = time_calls(lambda: simulate(tensor, backend=backend), repeats=1)
                rows.append(dict(d=d, input=name, backend=backend, seconds=elapsed,
                                 rounds=traj.rounds, tree_height=tree_height(traj.linkage)))
    return rows


def markdown(numba_rows, torch_rows) -> str:
    simd = simd_features()
    lines = ["### Numba backend vs numpy.argsort and numpy.sort (float64 random normal)", "",
             f"SIMD level (numpy): {simd['best']} (found {', '.join(simd['found'])})", "",
             "| d | argsort (s) | sort (s) | simulate (s) | / argsort | / sort "
             "| sort+order / argsort | event loop / argsort | rest / argsort "
             "| loop ns/merge | load |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in numba_rows:
        lines.append(f"| {r['d']:.0e} | {r['argsort_s']:.4f} | {r['sort_s']:.4f} "
                     f"| {r['simulate_s']:.4f} | {r['ratio']:.2f} | {r['ratio_sort']:.2f} "
                     f"| {r['sort_with_order_x_argsort']:.2f} | {r['event_loop_x_argsort']:.2f} "
                     f"| {r['rest_x_argsort']:.2f} | {r['event_loop_ns_per_merge']:.0f} "
                     f"| {r['load']:.1f} |")
    lines += ["", "### Torch backends (CPU): rounds", "",
              "| d | input | backend | time (s) | rounds | log2(d)^3 | tree height |",
              "|---:|:---|:---|---:|---:|---:|---:|"]
    for r in torch_rows:
        lines.append(f"| {r['d']} | {r['input']} | {r['backend']} | {r['seconds']:.2f} "
                     f"| {r['rounds']} | {np.log2(r['d']) ** 3:.0f} | {r['tree_height']} |")
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
    parser.add_argument("--no-torch", action="store_true", help="skip the torch backends")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(1)  # a shared 2-core machine; rounds are the figure anyway
    numba_rows = bench_numba(args.sizes, args.repeats, rng)
    torch_rows = [] if args.no_torch else bench_torch(args.torch_sizes, rng)
    print(markdown(numba_rows, torch_rows))
    if args.json:
        args.json.write_text(json.dumps(dict(numba=numba_rows, torch=torch_rows,
                                             simd=simd_features()), indent=2))


if __name__ == "__main__":
    main()
