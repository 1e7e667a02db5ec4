"""Execute the teaching notebooks top to bottom.

    python notebooks/execute.py                 # run all, report times, write nothing
    python notebooks/execute.py --write         # ... and save the outputs into the files
    python notebooks/execute.py 02_solvers.ipynb --write
    python notebooks/execute.py --check         # exit 1 if a committed output is stale

The notebooks are committed WITH their outputs so they read well on a code host.
Saving drops what would only bloat the files: widget state (a rendered page
cannot drive a kernel anyway; every widget cell is followed by a static figure)
and per-cell timing metadata.

Every ``*.ipynb`` in this folder is a notebook of the project, run in name
order. The packages must be installed (``pip install -e .`` from the
repository root); the notebooks import them like any user's code would.

Stale outputs. :func:`stale_outputs` compares the TEXT a fresh run prints
(streams and ``text/plain`` results; images are not compared) with the
committed one, cell by cell, character for character. Two tags relax that:

* ``volatile-output``: the text changes from run to run (timings); not compared.
* ``approximate-output``: the numbers depend on floating-point reduction order
  (a trained network: numpy and torch pick AVX2 or AVX-512 kernels at run time,
  so the last digits differ between CPUs, and training amplifies them). The
  words must match exactly and every number must satisfy
  ``|fresh - committed| <= atol + rtol * |committed|``, with the cell's
  ``{"tolerance": {"rtol": ..., "atol": ...}}`` metadata or
  :data:`DEFAULT_TOLERANCE`. Everything else stays exact.
A notebook may set its own time budget in its metadata,
``{"execution": {"budget_seconds": 120}}``, instead of :data:`BUDGET`.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
TIMEOUT = 60  # seconds, per cell
BUDGET = 60  # seconds, per whole notebook (its cells; kernel start-up excluded)
#: Cell tag for outputs that change from run to run (timings); not compared.
VOLATILE = "volatile-output"
#: Cell tag for outputs whose numbers depend on reduction order (training); compared with
#: a tolerance, see :func:`mismatch`.
APPROXIMATE = "approximate-output"
#: Tolerance of an ``approximate-output`` cell without its own ``tolerance`` metadata.
DEFAULT_TOLERANCE = {"rtol": 0.05, "atol": 0.02}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def notebook_paths() -> list[pathlib.Path]:
    """Every notebook in this folder, in name (= reading) order."""
    return sorted(HERE.glob("*.ipynb"))


def budget_seconds(nb: nbformat.NotebookNode) -> float:
    """The notebook's time budget: its ``execution.budget_seconds`` metadata, else BUDGET."""
    return float(nb.metadata.get("execution", {}).get("budget_seconds", BUDGET))


def text_outputs(nb: nbformat.NotebookNode) -> dict[int, str]:
    """Per code cell (by index, volatile cells left out): the text it printed or returned."""
    texts = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or VOLATILE in cell.metadata.get("tags", []):
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.get("data", {}).get("text/plain", "")
                             if "image/png" not in out.get("data", {}) else "")
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
        texts[index] = "".join(parts)
    return texts


def tolerance(cell: nbformat.NotebookNode) -> dict[str, float] | None:
    """``{"rtol", "atol"}`` of an ``approximate-output`` cell; None for an exact cell."""
    if APPROXIMATE not in cell.metadata.get("tags", []):
        return None
    return {**DEFAULT_TOLERANCE, **cell.metadata.get("tolerance", {})}


def _split_numbers(text: str) -> tuple[list[str], list[float]]:
    """The words between the numbers (white space folded) and the numbers of ``text``."""
    words = [" ".join(part.split()) for part in _NUMBER.split(text)]
    return words, [float(n) for n in _NUMBER.findall(text)]


def mismatch(old: str, new: str, tol: dict[str, float] | None) -> str | None:
    """Where ``new`` differs from the committed ``old`` (None: it matches).

    Exact when ``tol`` is None; else the words must match and the numbers agree within
    ``tol`` (``|new - old| <= atol + rtol * |old|``).
    """
    if tol is None:
        if old == new:
            return None
        lines_old, lines_new = old.splitlines(), new.splitlines()
        for line, (a, b) in enumerate(zip(lines_old, lines_new)):
            if a != b:
                return f"line {line}: committed {a!r} but a fresh run prints {b!r}"
        return (f"committed {len(lines_old)} lines but a fresh run prints {len(lines_new)}: "
                f"{old[-120:]!r} vs {new[-120:]!r}")
    (words_old, numbers_old), (words_new, numbers_new) = _split_numbers(old), _split_numbers(new)
    if words_old != words_new:
        return mismatch(old, new, None)
    for a, b in zip(numbers_old, numbers_new):
        if abs(b - a) > tol["atol"] + tol["rtol"] * abs(a):
            return (f"committed {a:g} but a fresh run prints {b:g}, beyond the cell's "
                    f"tolerance (atol {tol['atol']:g}, rtol {tol['rtol']:g})")
    return None


def stale_outputs(committed: nbformat.NotebookNode,
                  fresh: nbformat.NotebookNode) -> list[str]:
    """How the committed outputs differ from a fresh run's: one line per stale cell."""
    old, new = text_outputs(committed), text_outputs(fresh)
    if sorted(old) != sorted(new):
        return ["the cells differ (re-run with --write)"]
    stale = []
    for i in sorted(old):
        problem = mismatch(old[i], new[i], tolerance(committed.cells[i]))
        if problem is not None:
            stale.append(f"cell {i}: {problem}")
    return stale


def execute(path: pathlib.Path, *, timeout: int = TIMEOUT) -> nbformat.NotebookNode:
    """Run a copy of the notebook at ``path`` in a fresh ``python3`` kernel.

    The kernel's working directory is the notebooks folder; the packages
    come from the environment (installed). Raises
    ``nbclient.exceptions.CellExecutionError`` if any cell raises.
    """
    return execute_timed(path, timeout=timeout)[0]


def execute_timed(path: pathlib.Path, *, timeout: int = TIMEOUT):
    """:func:`execute`, also returning the seconds spent running the cells.

    Kernel start-up is not counted: on a busy machine it is noise.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,  # nbclient needs it for Output widgets; clean() drops it
        record_timing=False,
    )
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
    return clean(nb), seconds


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop widget state and execution timing so the saved file stays small."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="file names (default: all)")
    parser.add_argument("--write", action="store_true", help="save the outputs back")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a committed output differs from a fresh run")
    args = parser.parse_args(argv)
    paths = [HERE / name for name in args.notebooks] or notebook_paths()
    status = 0
    for path in paths:
        committed = nbformat.read(path, as_version=4)
        nb, seconds = execute_timed(path, timeout=int(budget_seconds(committed)))
        stale = stale_outputs(committed, nb)
        if args.write:
            nbformat.write(nb, path)
        size = len(nbformat.writes(nb)) / 1e3
        written = " (written)" if args.write else ""
        print(f"{path.name}: {seconds:.1f} s in cells (budget {budget_seconds(nb):.0f} s), "
              f"{size:.0f} kB{written}")
        if stale and not args.write:
            print("  stale outputs:\n  " + "\n  ".join(stale))
            status = 1 if args.check else status
    return status


if __name__ == "__main__":
    sys.exit(main())
