"""Result files: runs saved as one small JSON file that the app and notebook load at once.

Layout::

    {"format": "networks-results/2", "rows": [...], "sweep": [...], "meta": {...},
     "runs": [run, ...]}
    run = {"config": RunConfig fields, "metrics": {...}, "history": {name: array}}

Arrays are packed as ``{"dtype", "shape", "base64"}`` of their little-endian bytes.
Float arrays are stored as float16 (``STORED_FLOAT``): enough for curves, filter images
and particle positions, and equal values stay equal (two values closer than float16's
resolution, about 1e-3 relative, are drawn as one). Runs saved without history (the
extra seeds of the table) have ``"history": {}``.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from .training import RunConfig, RunResult

__all__ = ["FORMAT", "RESULTS_DIR", "DEFAULT_TABLE", "save_results", "load_results",
           "encode_array", "decode_array"]

FORMAT = "networks-results/2"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_TABLE = RESULTS_DIR / "table.json"
STORED_FLOAT = np.float16


def encode_array(a) -> dict:
    """A JSON-ready dict for an array (floats as float16, integers as int32 or int64)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a.astype(STORED_FLOAT)
    elif a.dtype.kind in "iub":
        a = a.astype(np.int32 if a.size == 0 or np.abs(a).max() < 2**31 else np.int64)
    else:
        raise TypeError(f"Invalid array: dtype {a.dtype} cannot be stored")
    data = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
    return {"dtype": a.dtype.name, "shape": list(a.shape),
            "base64": base64.b64encode(data).decode("ascii")}


def decode_array(packed: dict) -> np.ndarray:
    """Inverse of :func:`encode_array` (floats come back as float32)."""
    raw = base64.b64decode(packed["base64"])
    a = np.frombuffer(raw, dtype=np.dtype(packed["dtype"]).newbyteorder("<"))
    a = a.reshape(packed["shape"])
    return a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int64)


def _clean(value):
    """Python scalars for JSON (numpy scalars and tuples converted)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_to_dict(result: RunResult, *, with_history: bool = True) -> dict:
    history = ({k: encode_array(v) for k, v in result.history.items()}
               if with_history else {})
    return {"config": result.config.to_dict(), "metrics": _clean(result.metrics),
            "history": history}


def run_from_dict(data: dict) -> RunResult:
    return RunResult(RunConfig.from_dict(data["config"]), dict(data["metrics"]),
                     {k: decode_array(v) for k, v in data.get("history", {}).items()})


def save_results(path, runs, *, meta: dict | None = None, history_for=None,
                 rows: list | None = None, sweep: list | None = None) -> Path:
    """Write ``runs`` (RunResults) to ``path`` as JSON; returns the path.

    ``history_for``: optional predicate ``RunResult -> bool`` choosing which runs keep
    their history (default: all). ``rows`` and ``sweep`` (the table's summary, see
    :mod:`networks.table`) are stored at the top level.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keep = history_for or (lambda result: True)
    payload = {"format": FORMAT, "rows": _clean(rows or []), "sweep": _clean(sweep or []),
               "meta": _clean(meta or {}),
               "runs": [run_to_dict(r, with_history=keep(r)) for r in runs]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, separators=(",", ":")))
    tmp.replace(path)
    return path


def load_results(path=DEFAULT_TABLE) -> tuple[list[RunResult], dict]:
    """The runs and the ``meta`` dict of a results file (``meta["rows"]``, ``meta["sweep"]``
    hold the table's rows and sweep).

    Raises ``FileNotFoundError`` if it is missing and ``ValueError`` if it is not a
    results file of this format.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"Invalid results file {path}: not JSON ({error})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"Invalid results file {path}: expected format {FORMAT!r}")
    meta = dict(payload.get("meta", {}))
    meta.update(rows=payload.get("rows", []), sweep=payload.get("sweep", []))
    return [run_from_dict(r) for r in payload["runs"]], meta
