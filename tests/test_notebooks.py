"""The notebooks run top to bottom, within their time budget, and are committed executed.

Every ``notebooks/*.ipynb`` is found (teammates add notebooks without editing
this file). Each is executed in a fresh kernel; the run must take at most the
notebook's budget (``notebooks/execute.py``: 60 s, or its own
``execution.budget_seconds`` metadata), and the text each cell prints must
equal the committed output (cells tagged ``volatile-output``, e.g. timings,
are left out; cells tagged ``approximate-output``, e.g. a trained network's
accuracy, compare their numbers within the cell's stated tolerance): stale
outputs fail the test. Fix with ``python notebooks/execute.py --write``.

``pytest -m notebook`` runs just the executions (each starts a kernel).
"""
from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _load_executor():
    spec = importlib.util.spec_from_file_location("nb_execute", NOTEBOOK_DIR / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


executor = _load_executor()


def test_notebooks_are_found_by_glob():
    names = [p.name for p in NOTEBOOKS]
    assert names[:3] == ["01_particles.ipynb", "02_solvers.ipynb",
                         "03_path_and_sharing.ipynb"], names
    assert executor.notebook_paths() == NOTEBOOKS


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_within_budget_and_matches_its_outputs(path):
    on_disk = path.read_bytes()
    committed = nbformat.reads(on_disk.decode(), as_version=4)
    budget = executor.budget_seconds(committed)
    nb, seconds = executor.execute_timed(path, timeout=int(budget))  # raises if a cell raises
    assert seconds < budget, f"{path.name} took {seconds:.0f} s (budget {budget:.0f} s)"
    assert path.read_bytes() == on_disk, "executing must not write the notebook"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    stale = executor.stale_outputs(committed, nb)
    assert not stale, (f"{path.name} has stale outputs; run python notebooks/execute.py "
                       f"--write {path.name}:\n" + "\n".join(stale))


def _notebook(cells_text: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for text in cells_text:
        cell = nbformat.v4.new_code_cell("print(...)")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells.append(cell)
    return nb


def test_stale_outputs_are_detected_and_volatile_cells_ignored():
    committed = _notebook(["solvers: ['pava']\n", "took 1.2 s\n"])
    fresh = _notebook(["solvers: ['events', 'pava']\n", "took 3.4 s\n"])
    stale = executor.stale_outputs(committed, fresh)
    assert len(stale) == 2 and stale[0].startswith("cell 0:")
    committed.cells[1].metadata["tags"] = [executor.VOLATILE]
    assert len(executor.stale_outputs(committed, fresh)) == 1
    assert executor.stale_outputs(committed, committed) == []
    assert executor.stale_outputs(committed, _notebook(["x"])) != []


def test_approximate_cells_compare_numbers_within_their_stated_tolerance():
    committed = _notebook(["strength 0.010: test accuracy 0.772,  13.3 distinct values\n"])
    avx512 = _notebook(["strength 0.010: test accuracy 0.774,  13.6 distinct values\n"])
    drifted = _notebook(["strength 0.010: test accuracy 0.700,  13.3 distinct values\n"])
    reworded = _notebook(["strength 0.010: train accuracy 0.772,  13.3 distinct values\n"])
    assert executor.stale_outputs(committed, avx512) != []  # exact unless tagged
    committed.cells[0].metadata["tags"] = [executor.APPROXIMATE]
    committed.cells[0].metadata["tolerance"] = {"rtol": 0.05, "atol": 0.01}
    assert executor.stale_outputs(committed, avx512) == []
    [problem] = executor.stale_outputs(committed, drifted)
    assert "0.772" in problem and "0.7" in problem and "atol 0.01" in problem
    assert executor.stale_outputs(committed, reworded) != []  # the words stay exact
    assert executor.stale_outputs(committed, _notebook(["strength 0.010: test accuracy "
                                                        "0.772\n"])) != []


def test_exact_mismatch_names_the_first_differing_line():
    committed = _notebook(["a 1\nb 2\nc 3\n"])
    fresh = _notebook(["a 1\nb 2\nc 4\n"])
    [problem] = executor.stale_outputs(committed, fresh)
    assert "line 2" in problem and "'c 3'" in problem and "'c 4'" in problem


TRAINING = re.compile(r"\.fit\(|\.backward\(|\bnn\.|optim\.")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_that_train_do_not_compare_their_numbers_exactly(path):
    """A cell that trains a model prints numbers that depend on the CPU's kernels."""
    nb = nbformat.read(path, as_version=4)
    exact = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and TRAINING.search(c.source) and executor.text_outputs(nb).get(i)
             and executor.tolerance(c) is None]
    assert not exact, (f"{path.name}: cells {exact} train a model and print text compared "
                       f"exactly; tag them {executor.APPROXIMATE!r} (or {executor.VOLATILE!r})")


def test_budget_comes_from_metadata():
    nb = nbformat.v4.new_notebook()
    assert executor.budget_seconds(nb) == executor.BUDGET
    nb.metadata["execution"] = {"budget_seconds": 150}
    assert executor.budget_seconds(nb) == 150


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_small_outputs(path):
    """Committed with outputs (python notebooks/execute.py --write), no widget state."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "run execute.py --write"
    assert any(o.get("data", {}).get("image/png") for c in code for o in c.outputs)
    assert "widgets" not in nb.metadata
    assert path.stat().st_size < 1_500_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_the_installed_packages(path):
    """No sys.path edits: the packages are installed (pip install -e .)."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "sys.path" not in code
