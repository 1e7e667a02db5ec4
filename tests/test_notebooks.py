"""The teaching notebooks run top to bottom, fast, and are committed executed.

``pytest -m notebook`` runs just the executions (each starts a kernel).
"""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
BUDGET = 60  # seconds per notebook (cells; kernel start-up excluded) and per cell


def _load_executor():
    spec = importlib.util.spec_from_file_location("nb_execute", NOTEBOOK_DIR / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_are_found():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_"], NOTEBOOKS


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path):
    executor = _load_executor()
    on_disk = path.read_bytes()
    nb, seconds = executor.execute_timed(path, timeout=BUDGET)  # raises if a cell raises
    assert seconds < BUDGET, f"{path.name} took {seconds:.0f} s"
    assert path.read_bytes() == on_disk, "executing must not write the notebook"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_small_outputs(path):
    """Committed with outputs (python notebooks/execute.py --write), no widget state."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "run execute.py --write"
    assert any(o.get("data", {}).get("image/png") for c in code for o in c.outputs)
    assert "widgets" not in nb.metadata
    assert path.stat().st_size < 1_500_000
