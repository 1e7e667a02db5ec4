"""Benchmark the time split (``particles.backends.time_split``): rounds and CPU time.

1. Rounds table (torch on the CPU; rounds are the parallel depth, measured
   without a GPU): for d = 2^10 .. 2^16 and every input family, the rounds
   (sequential whole-tensor steps), the bound log2(d)^3, the levels of the
   time recursion, the height of the merge tree, the old torch event rounds
   (``simulate(tensor, backend="torch_events").rounds``, slow: only up to ``--old-max``) and
   the wall time of the gap times.
2. The time split as a ``simulate`` backend on the CPU: gap times + the
   event log (``simulate(w, backend="torch")``) against ``numpy.argsort`` and
   ``numpy.sort`` of the same float64 random normal input, same process, and
   the Numba event loop (``simulate(w, backend="numba")``) beside it (the time
   split up to ``--split-max``: it needs O(K d) memory).

Usage::

    python -m benchmarks.bench_time_split [--log-sizes 10,...,16] [--old-max 2048]
        [--cpu-sizes 1e5,1e6,1e7] [--split-max 1e6] [--json benchmarks/results/time_split.json]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import markdown_table, simd_features, time_calls, write_json
from particles import simulate
from particles.backends.time_split import events_from_gap_times, gap_times_rows
from prox.worst_cases import input_families


def tree_height(gap_time: np.ndarray) -> int:
    """Height of the max-Cartesian tree of the gap times (merges on the longest chain)."""
    d = gap_time.shape[0] + 1
    _, head, split, stop, _ = events_from_gap_times(np.zeros(d), gap_time)
    height_at_head = np.zeros(d, np.int64)  # height of the cluster starting at each head
    best = 0
    for a, b in zip(head, split):
        h = 1 + max(height_at_head[a], height_at_head[b])
        height_at_head[a] = h
        best = max(best, h)
    return int(best)


def rounds_table(log_sizes, old_max, rng):
    rows = []
    for log_d in log_sizes:
        d = 1 << log_d
        for name, w in input_families(d, rng).items():
            xs = torch.from_numpy(np.sort(w))[None]
            seconds, (times, stats) = time_calls(lambda: gap_times_rows(xs), repeats=1)
            old = None
            if d <= old_max:
                old = simulate(torch.from_numpy(w), backend="torch_events").rounds
            rows.append(dict(d=d, input=name, rounds=stats["rounds"], bound=log_d ** 3,
                             levels=stats["levels"], tree_height=tree_height(times[0].numpy()),
                             old_event_rounds=old, syncs=stats["syncs"],
                             work_per_d=stats["work"] / d, seconds=seconds))
            print(f"  d=2^{log_d} {name}: {stats}", file=sys.stderr, flush=True)
    return rows


def cpu_table(sizes, split_max, repeats, rng):
    simulate(rng.standard_normal(1000))  # compile / load the cached kernels
    simulate(rng.standard_normal(1000), backend="torch")
    rows = []
    for d in sizes:
        w = rng.standard_normal(d)
        t_sort, _ = time_calls(lambda: np.sort(w), repeats=repeats)
        t_argsort, _ = time_calls(lambda: np.argsort(w), repeats=repeats)
        t_events, _ = time_calls(lambda: simulate(w, backend="numba"), repeats=repeats)
        row = dict(d=d, sort_s=t_sort, argsort_s=t_argsort, events_s=t_events,
                   events_over_argsort=t_events / t_argsort, events_over_sort=t_events / t_sort)
        if d <= split_max:
            t_split, _ = time_calls(lambda: simulate(w, backend="torch"), repeats=1)
            row.update(time_split_s=t_split, time_split_over_argsort=t_split / t_argsort,
                       time_split_over_sort=t_split / t_sort)
        rows.append(row)
        print(f"  cpu d={d:.0e}: {row}", file=sys.stderr, flush=True)
    return rows


def _ints(text):
    return [int(float(item)) for item in text.split(",") if item]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-sizes", type=_ints, default=_ints("10,11,12,13,14,15,16"))
    parser.add_argument("--old-max", type=int, default=2048,
                        help="largest d for the old torch event rounds (slow)")
    parser.add_argument("--cpu-sizes", type=_ints, default=_ints("1e5,1e6,1e7"))
    parser.add_argument("--split-max", type=int, default=int(1e6),
                        help="largest d the torch time split runs at on the CPU (memory)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    simd = simd_features()
    print(f"SIMD level (numpy): {simd['best']} (found {', '.join(simd['found'])}); "
          f"torch threads: {args.threads}")
    rounds = rounds_table(args.log_sizes, args.old_max, rng)
    if rounds:
        print("\n### Time split: rounds on every input (torch, CPU)\n")
        print(markdown_table(rounds, ["d", "input", "rounds", "bound", "levels", "tree_height",
                                      "old_event_rounds", "syncs", "work_per_d", "seconds"]))
    cpu = cpu_table(args.cpu_sizes, args.split_max, args.repeats, rng) if args.cpu_sizes else []
    if cpu:
        print("\n### simulate on the CPU vs numpy (float64 random normal)\n")
        print(markdown_table(cpu, ["d", "sort_s", "argsort_s", "events_s", "events_over_argsort",
                                   "events_over_sort", "time_split_s",
                                   "time_split_over_argsort", "time_split_over_sort"]))
    if args.json:
        if args.json.exists() and not rounds:  # a CPU-only run keeps the rounds table
            import json

            rounds = json.loads(args.json.read_text()).get("rounds", [])
        if args.json.exists() and not cpu:
            import json

            cpu = json.loads(args.json.read_text()).get("cpu", [])
        write_json(args.json, dict(simd=simd, threads=args.threads, rounds=rounds, cpu=cpu,
                                   bound="log2(d)^3", date=time.strftime("%Y-%m-%d %H:%M UTC",
                                                                         time.gmtime())))


if __name__ == "__main__":
    main()
