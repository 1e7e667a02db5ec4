"""Instructions and cache misses per merge of the Numba event loop, counted by cachegrind.

Hardware counters are often unavailable on shared VMs (``perf stat`` says "not
supported"), so the counts come from ``valgrind --tool=cachegrind``: two runs
that do the same work except the event loop on d random normal particles; the
difference of their totals over d - 1 merges is the loop's cost per merge::

    for run in 0 1; do
        valgrind --tool=cachegrind --cache-sim=yes --D1=32768,8,64 --LL=1048576,8,64 \\
            --cachegrind-out-file=/tmp/cg.$run python -m benchmarks.count_event_loop 2e5 $run
    done
    python -m benchmarks.count_event_loop --per-merge 2e5 /tmp/cg.0 /tmp/cg.1

(run ``argsort`` instead of ``1`` counts ``numpy.argsort`` of the same row, per element).

``--LL`` is set to a 1 MB L2 (cachegrind models two levels); the host's last
level (often tens of MB, shared) is not what a merge misses on this scale.
Run the pair with Numba's cache warm (once without valgrind first), or the
first run also counts compilation.
"""
from __future__ import annotations

import sys

import numpy as np

EVENTS = ("Ir", "I1mr", "ILmr", "Dr", "D1mr", "DLmr", "Dw", "D1mw", "DLmw")


def event_loop(xs: np.ndarray) -> int:
    """The Numba event loop alone on sorted float64 ``xs``, recording every event."""
    from particles.backends import numba_events

    d = xs.shape[0]
    index = numba_events.index_dtype(d)
    time, position = np.empty(d - 1), np.empty(d - 1)
    head, split, stop = (np.empty(d - 1, index) for _ in range(3))
    return numba_events.simulate_sorted(xs, np.inf, *numba_events.allocate(d).values(),
                                        time, head, split, stop, position, True)


def totals(path: str) -> dict:
    """The ``summary:`` totals of a cachegrind output file."""
    with open(path) as handle:
        for line in handle:
            if line.startswith("summary:"):
                return dict(zip(EVENTS, map(int, line.split()[1:])))
    raise ValueError(f"no summary line in {path}")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[0] == "--per-merge":
        d, without, with_loop = int(float(argv[1])), totals(argv[2]), totals(argv[3])
        per_merge = {k: (with_loop[k] - without[k]) / (d - 1) for k in EVENTS}
        print(" | ".join(f"{k} {v:.1f}" for k, v in per_merge.items()))
        return
    from prox.sort_keys import sort_with_order

    d, run = int(float(argv[0])), argv[1]
    w = np.random.default_rng(0).standard_normal(d)
    event_loop(np.sort(w[:1000]))  # load the compiled kernels in every run
    _, xs = sort_with_order(w.reshape(1, d))
    if run == "1":
        event_loop(np.ascontiguousarray(xs[0]))
    elif run == "argsort":  # the reference, counted the same way
        np.argsort(w)


if __name__ == "__main__":
    main()
