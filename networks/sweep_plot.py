"""The figures of the table: the strength sweep and the un-permuted first-layer filters.

``plot_sweep(sweep, path)``: one row per data set (its shuffled variant), three panels
against the layer-1 strength (log axis): test accuracy of every penalised model (the
unpenalised FC at strength 0 drawn as a dashed line), the fraction of distinct values in
layers 1 and 2 of the weight-sharing model, and the locality of its first-layer filters
against the random-order control, with the shifted-copies score.

``plot_filters(runs, path)``: first-layer filters of saved runs, un-permuted to the
natural pixel grid (14x14 images, or 40-sample signals drawn as curves).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_sweep", "plot_filters", "filter_panels"]


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_sweep(sweep: list[dict], path, *, variant: str = "shuffled") -> Path:
    """Write the sweep figure (PNG) and return its path."""
    plt = _matplotlib()
    datasets = sorted({p["data"] for p in sweep if p["variant"] == variant}) or ["none"]
    fig, axes = plt.subplots(len(datasets), 3, figsize=(13, 3.4 * len(datasets)),
                             squeeze=False)
    for row, data in zip(axes, datasets):
        points = [p for p in sweep if p["data"] == data and p["variant"] == variant]
        models = sorted({p["model"] for p in points})
        for model in models:
            ps = [p for p in points if p["model"] == model]
            row[0].plot([p["strength"] for p in ps], [p["test_accuracy"] for p in ps],
                        "o-" if model == "fc_wsr" else ".--", label=model,
                        lw=2 if model == "fc_wsr" else 1)
        wsr = [p for p in points if p["model"] == "fc_wsr"]
        xs = [p["strength"] for p in wsr]
        for layer, marker in (("1", "o-"), ("2", "s-")):
            row[1].plot(xs, [p[f"distinct_layer{layer}"] / p[f"weights_layer{layer}"]
                             for p in wsr], marker, label=f"layer {layer}")
        row[1].axhline(0.01, color="grey", lw=0.8, ls=":")
        row[2].plot(xs, [p["locality"] for p in wsr], "o-", label="locality")
        row[2].plot(xs, [p["locality_null"] for p in wsr], "o--", label="random-order control")
        row[2].plot(xs, [p["shift_score"] for p in wsr], "s-", label="shifted copies")
        titles = (f"{data}, {variant}: test accuracy (seed 0)",
                  "fc_wsr: distinct values / weights", "fc_wsr: first-layer filters")
        for ax, title in zip(row, titles):
            ax.set_xscale("log")
            ax.set_xlabel("strength (layer 1)")
            ax.set_title(title, fontsize=10)
            ax.legend(fontsize=7)
        row[1].set_yscale("log")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_filters(panels: list[tuple[str, np.ndarray, tuple[int, ...]]], path,
                 n: int = 8) -> Path:
    """Draw ``n`` filters of each ``(title, filters (k, P), shape)`` panel; returns the path."""
    plt = _matplotlib()
    fig, axes = plt.subplots(len(panels), n, figsize=(1.1 * n, 1.25 * len(panels)),
                             squeeze=False)
    for row, (title, filters, shape) in zip(axes, panels):
        chosen = np.linspace(0, len(filters) - 1, min(n, len(filters))).astype(int)
        for ax, f in zip(row, filters[chosen]):
            centred = f - np.median(f)
            vmax = max(float(np.abs(centred).max()), 1e-12)
            if len(shape) == 2:
                ax.imshow(centred.reshape(shape), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            else:
                ax.plot(centred, lw=0.8)
                ax.set_ylim(-vmax, vmax)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(title, fontsize=7, rotation=0, ha="right", va="center")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def filter_panels(done: dict, picks: list[dict], variant: str = "shuffled") -> list:
    """Panels for :func:`plot_filters`: per data set, the shuffled picks of ``fc``,
    ``fc_wsr`` and ``cnn`` (seed 0) and the strongest ``fc_wsr`` of the sweep."""
    from .data import SHAPES

    panels = []
    for data in sorted({p["config"].data for p in picks}):
        chosen = {p["config"].model: p["config"] for p in picks
                  if p["config"].data == data and p["config"].variant == variant}
        sweep = [c for c in done if c.data == data and c.variant == variant
                 and c.model == "fc_wsr" and c.seed == 0]
        configs = [(m, chosen.get(m)) for m in ("fc", "fc_wsr", "cnn")]
        if sweep:
            strongest = max(sweep, key=lambda c: c.strength)
            configs.append((f"fc_wsr {strongest.strength:g}", strongest))
        for name, config in configs:
            if config is None or "filters" not in done[config].history:
                continue
            if name == "fc_wsr":
                name = f"fc_wsr {config.strength:g} (pick)"
            panels.append((f"{data}\n{name}", done[config].history["filters"], SHAPES[data]))
    return panels
