"""Every torch solver and ``simulate(backend="torch")`` on one device, against ``torch.sort``.

    python -m benchmarks.bench_gpu --json benchmarks/results/gpu.json
    python -m benchmarks.bench_gpu --device cpu --sizes 1e3 1e4 --batches 64x784

On a CUDA machine the default is the GPU with d = 1e5 .. 1e8 (one row each) and
batches of rows (rows x d: a layer per neuron, and many short rows); elsewhere
the CPU at small sizes. Each case is a random normal tensor made on the device.
Every torch solver of every penalty in the registry (weight sharing with
``lam = 0.5``; OWL with ``theta_k = 0.5 (d - k) / d``) and the torch time split
of the particle simulation are timed through the public entry points
(``prox.solve``, ``particles.simulate``) against ``torch.sort`` of the same
tensor in the same process: interleaved, ``--rounds`` times, medians, the device
synchronized around every call. The table gives seconds, the ratio to the sort,
the solver's rounds (sequential whole-tensor steps) and, where the device
reports it, the peak memory over the input's bytes.

A solver that took more than ``--budget`` seconds on a case is not run on larger
cases of the same batch shape ("skipped"); running out of device memory is
reported as "out of memory" and the run goes on.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks.common import environment, markdown_table, write_json
from particles import simulate
from prox import solve
from prox._registry import REGISTRY

GPU_SIZES = ("1e5", "1e6", "1e7", "1e8")
GPU_BATCHES = ("512x784", "4096x1024", "100000x100")
CPU_SIZES = ("1e3", "1e4")
CPU_BATCHES = ("64x784",)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    backend = getattr(torch, device.type, None)
    if device.type != "cpu" and hasattr(backend, "synchronize"):
        backend.synchronize()


def timed(function, device: torch.device):
    """``(seconds, result)`` of one call, the device synchronized before and after."""
    synchronize(device)
    start = time.perf_counter()
    result = function()
    synchronize(device)
    return time.perf_counter() - start, result


def owl_theta(d: int, device: torch.device, dtype) -> torch.Tensor:
    # A decreasing OWL weight vector (OSCAR-like), made on the device.
    return 0.5 * torch.arange(d, 0, -1, device=device, dtype=dtype) / d


def contenders(d: int, device: torch.device, dtype) -> dict:
    """name -> function(w) for every torch solver and the torch simulation."""
    out = {}
    for penalty, table in REGISTRY.items():
        for name, spec in table.items():
            if spec.kind != "torch":
                continue
            strength = 0.5 if penalty == "ws" else owl_theta(d, device, dtype)
            out[f"{penalty}:{name}"] = (
                lambda w, strength=strength, penalty=penalty, name=name:
                solve(w, strength, penalty=penalty, method=name)
            )
    out["simulate(backend='torch')"] = lambda w: simulate(w, backend="torch")
    return out


def rounds_of(result):
    rounds = getattr(result, "rounds", None)
    return None if rounds is None else int(rounds)


def peak_memory(device: torch.device):
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return None


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


_warm: set = set()


def warm_up(functions: dict, w: torch.Tensor, device) -> None:
    """Call each contender once, untimed, on a short slice (compilation, caches)."""
    for name, function in functions.items():
        if (name, device.type) not in _warm:
            function(w[..., : min(w.shape[-1], 256)].contiguous())
            synchronize(device)
            _warm.add((name, device.type))


def run_case(rows: int, d: int, device, dtype, rounds: int, skip: set, budget: float) -> list:
    """Time every contender on one (rows, d) tensor; return one result dict each."""
    generator = torch.Generator(device=device).manual_seed(0)
    shape = (d,) if rows == 1 else (rows, d)
    w = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    functions = contenders(d, device, dtype)
    warm_up(functions, w, device)
    sort_times, times, results = [], {name: [] for name in functions}, {}
    peaks = {}
    for _ in range(rounds):
        sort_times.append(timed(lambda: torch.sort(w, dim=-1), device)[0])
        for name, function in functions.items():
            if (name, rows) in skip or name in results and isinstance(results[name], str):
                continue
            try:
                reset_peak(device)
                seconds, result = timed(lambda function=function: function(w), device)
                peaks[name] = peak_memory(device)
            except torch.OutOfMemoryError:
                results[name] = "out of memory"
                continue
            times[name].append(seconds)
            results[name] = result
            if seconds > budget:
                skip.add((name, rows))
                break
    sort_seconds = statistics.median(sort_times)
    table = []
    for name in functions:
        row = {"rows": rows, "d": d, "dtype": str(dtype).removeprefix("torch."),
               "device": str(device), "what": name, "torch.sort (s)": sort_seconds}
        if isinstance(results.get(name), str):
            row["status"] = results[name]
        elif not times[name]:
            row["status"] = "skipped"
        else:
            seconds = statistics.median(times[name])
            row.update({"seconds": seconds, "x torch.sort": seconds / sort_seconds,
                        "rounds": rounds_of(results[name]), "status": "ok"})
            if peaks.get(name) is not None:
                row["peak / input"] = peaks[name] / (w.numel() * w.element_size())
        table.append(row)
    return table


def parse_shape(text: str):
    rows, _, d = text.partition("x")
    return int(float(rows)), int(float(d))


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", nargs="*", default=None, help="d of single rows (1e5 ...)")
    parser.add_argument("--batches", nargs="*", default=None, help="ROWSxD batch shapes")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds per call beyond which larger cases are skipped")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    accelerated = device.type != "cpu"
    sizes = args.sizes if args.sizes is not None else (GPU_SIZES if accelerated else CPU_SIZES)
    batches = args.batches if args.batches is not None else (
        GPU_BATCHES if accelerated else CPU_BATCHES)
    dtype = getattr(torch, args.dtype)
    cases = [(1, int(float(d))) for d in sizes] + [parse_shape(b) for b in batches]
    skip: set = set()
    table = []
    for rows, d in cases:
        table += run_case(rows, d, device, dtype, args.rounds, skip, args.budget)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}; torch {torch.__version__}; "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}; "
          f"numpy SIMD {environment()['simd']['best']}")
    print(markdown_table(table, ["rows", "d", "what", "seconds", "x torch.sort", "rounds",
                                 "peak / input", "status"]))
    if args.json:
        write_json(args.json, {"device": name, "rounds": args.rounds, "dtype": args.dtype,
                               "results": table,
                               "torch": torch.__version__})
    return table


if __name__ == "__main__":
    main()
