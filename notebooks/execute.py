"""Execute the teaching notebooks top to bottom.

    python notebooks/execute.py                 # run all, report times, write nothing
    python notebooks/execute.py --write         # ... and save the outputs into the files
    python notebooks/execute.py 02_solvers.ipynb --write

The notebooks are committed WITH their outputs so they read well on a code host.
Saving drops what would only bloat the files: widget state (a rendered page
cannot drive a kernel anyway; every widget cell is followed by a static figure)
and per-cell timing metadata.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
TIMEOUT = 60  # seconds, per cell; the test also bounds each whole notebook


def notebook_paths() -> list[pathlib.Path]:
    """The teaching notebooks, in reading order (``NN_name.ipynb``)."""
    return sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


def execute(path: pathlib.Path, *, timeout: int = TIMEOUT) -> nbformat.NotebookNode:
    """Run a copy of the notebook at ``path`` in a fresh ``python3`` kernel.

    The kernel's working directory is the notebooks folder (the notebooks put
    the repository root on ``sys.path`` themselves). Raises
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
    args = parser.parse_args(argv)
    paths = [HERE / name for name in args.notebooks] or notebook_paths()
    for path in paths:
        nb, seconds = execute_timed(path)
        if args.write:
            nbformat.write(nb, path)
        size = len(nbformat.writes(nb)) / 1e3
        print(f"{path.name}: {seconds:.1f} s in cells, {size:.0f} kB{' (written)' if args.write else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
