"""The Compression view's logic: a short live run at a target k, and the saved table.

A live run trains the table's small network on scikit-learn's 8x8 digits with
``WeightSharing(max_values=k)`` on its hidden layer (k values per row), so the
multiplier (the strength, one per row, summarised by its geometric mean) and the
mean count of values per row can be watched converging to the target; then
``finalize()`` and a short fine-tuning of the shared values.
:func:`controller_figure` draws that history, :func:`table_figures` the saved
comparison written by ``python -m networks.compression``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# networks (and torch) load here: the Train tab, rendered on every run, needs them anyway.
from networks.compression import KS, RESULTS_FILE

__all__ = ["RESULTS_FILE", "KS", "LIVE", "live_run", "controller_figure", "load_table",
           "table_figures"]

#: The live run: small and quick (a few seconds on one core).
LIVE = {"data": "digits8", "hidden": 64, "epochs": 8, "batch_size": 64, "scope": "rows",
        "finetune_epochs": 2}


def live_run(k: int, controller: str = "pi", *, seed: int = 0, on_epoch=None, **overrides):
    """Train with ``max_values=k``; returns a dict with the history and the accuracies.

    ``on_epoch(epoch, history)`` is called after every epoch with the history so far
    (``{"strength", "count", "target", "violation"}`` lists, one entry per step).
    Keys: ``history``, ``accuracy_finalized`` (after ``finalize()``),
    ``accuracy_finetuned`` (after fine-tuning the shared values), ``max_count``
    (largest count of values in a row after finalize), ``k``, ``controller``.
    """
    import torch

    from networks import compression as C
    from prox.sharing import count_shared_values

    torch.set_num_threads(1)
    config = C.CompressionConfig(**{**LIVE, **overrides}, controller=controller)
    data = C._data(config)

    def epoch_done(epoch, sharing):
        if on_epoch is not None:
            history = sharing.controller.history[min(sharing.controller.history)]
            on_epoch(epoch, {name: list(v) for name, v in history.items()})

    model, sharing, labels = C.train_wsr_target(config, data, seed, k, on_epoch=epoch_done)
    history = sharing.controller.history[min(sharing.controller.history)]
    out = {"k": k, "controller": controller,
           "history": {name: list(v) for name, v in history.items()},
           "accuracy_finalized": C.accuracy(model, data[2], data[3]),
           "max_count": int(count_shared_values(C.weights(model)[0].detach()).max())}
    C.finetune_shared(model, labels, data, config, seed)
    out["accuracy_finetuned"] = C.accuracy(model, data[2], data[3])
    return out


def controller_figure(history: dict, *, title: str = "") -> go.Figure:
    """The multiplier (log) and the mean count of values per row (log) against the step."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    steps = np.arange(1, len(history["strength"]) + 1)
    fig.add_trace(go.Scatter(x=steps, y=history["strength"], name="strength (geometric mean)",
                             line={"color": "#1f77b4"}), secondary_y=False)
    fig.add_trace(go.Scatter(x=steps, y=history["count"], name="values per row (mean)",
                             line={"color": "#d62728"}), secondary_y=True)
    fig.add_trace(go.Scatter(x=steps, y=history["target"], name="target",
                             line={"color": "#d62728", "dash": "dot"}), secondary_y=True)
    fig.update_yaxes(type="log", title_text="strength", secondary_y=False)
    fig.update_yaxes(type="log", title_text="values per row", secondary_y=True)
    fig.update_xaxes(title_text="step")
    fig.update_layout(title=title or None, height=360, margin={"t": 40, "b": 40},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def load_table(path=RESULTS_FILE) -> dict | None:
    """The saved comparison (``networks/results/compression.json``), or None if absent."""
    path = Path(path)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def table_figures(table: dict) -> tuple[go.Figure, go.Figure]:
    """Test accuracy (mean +- sd over seeds) against k, and against bits per weight."""
    from networks.compression import LABELS, METHODS, SPARSE

    by_k, by_bits = go.Figure(), go.Figure()
    summary = table["summary"]
    for method in [m for m in METHODS if any(r["method"] == m for r in summary)]:
        cells = [r for r in summary if r["method"] == method]
        error = {"type": "data", "array": [r["accuracy_sd"] for r in cells]}
        mean = [r["accuracy_mean"] for r in cells]
        dash = "dash" if method in SPARSE else None
        by_k.add_trace(go.Scatter(x=[r["k"] for r in cells], y=mean, error_y=error,
                                  name=LABELS[method], line={"dash": dash}))
        by_bits.add_trace(go.Scatter(x=[r["bits_mean"] for r in cells], y=mean,
                                     error_y=error, name=method, line={"dash": dash}))
    by_k.update_xaxes(type="log", title_text="k: distinct values per layer (sparse: same bits)")
    by_bits.update_xaxes(title_text="bits per weight")
    for fig in (by_k, by_bits):
        fig.update_yaxes(title_text="test accuracy")
        fig.update_layout(height=380, margin={"t": 20, "b": 40})
    return by_k, by_bits
