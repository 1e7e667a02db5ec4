"""The device benchmark (benchmarks/bench_gpu.py) runs end to end on the CPU at small sizes.

On a CUDA machine the same command times d = 1e5 .. 1e8; here it only has to
run, cover every torch solver and the torch simulation, and write its JSON.
"""
import json
import math

from benchmarks.bench_gpu import main
from prox._registry import REGISTRY


def test_device_benchmark_covers_every_torch_solver(tmp_path):
    path = tmp_path / "gpu.json"
    table = main(["--device", "cpu", "--sizes", "64", "--batches", "3x16", "--rounds", "1",
                  "--json", str(path)])
    expected = {f"{penalty}:{name}" for penalty, table_ in REGISTRY.items()
                for name, spec in table_.items() if spec.kind == "torch"}
    expected.add("simulate(backend='torch')")
    for shape in ((1, 64), (3, 16)):
        rows = [row for row in table if (row["rows"], row["d"]) == shape]
        assert {row["what"] for row in rows} == expected
        for row in rows:
            assert row["status"] == "ok", row
            assert row["seconds"] > 0 and math.isfinite(row["x torch.sort"])
            assert isinstance(row["rounds"], int) and row["rounds"] >= 0
    saved = json.loads(path.read_text())
    assert saved["device"] == "cpu" and len(saved["results"]) == len(table)
