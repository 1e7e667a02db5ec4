"""Compression you ask for: k shared values per layer, against clustering, quantization, sparsity.

``python -m networks.compression`` trains a small fully connected network
(``n_pixels -> 128 -> 10``, ReLU) on the real digits (``mnist14``: 3,000 / 1,000 /
1,000) and compares, at equal storage, for k = 2, 4, 8, 16, 32 values per layer
and 3 seeds (mean +- sd of the test accuracy):

``wsr_target``
    :class:`prox.training.WeightSharing` with ``max_values=k, scope="tensor"``:
    the strength is a νPI-controlled multiplier, ``finalize()`` leaves at most k
    values per layer, then the k shared values are fine-tuned with the groups frozen.
``wsr_posthoc``
    the prox path as a clustering: ``finalize()`` applied to the trained dense
    network (each row / layer proxed at the strength that leaves k groups, group
    means), then the shared values fine-tuned.
``kmeans``
    the dense network clustered layer by layer (exact 1-D k-means,
    :func:`kmeans_1d`), then the centroids fine-tuned (TensorFlow Model
    Optimization's weight clustering).
``uniform``
    the dense network's layers rounded to k evenly spaced levels between their
    min and max, levels fine-tuned the same way.
``l1``, ``ws_l1``, ``dwf2``, ``dwf3``
    sparsity at the same bits per weight: proximal L1, ``prox_ws_l1`` (sharing
    and zeros at once) and deep weight factorization of depth 2 and 3, each
    pruned to the same number of nonzeros per row (largest magnitudes) and the
    survivors fine-tuned.

Storage, in bits per weight: k shared values cost ``log2 k`` bits per weight plus
a codebook of k float32 values per layer; a sparse row of length d with a
fraction rho of nonzeros costs ``rho (32 + ceil(log2 d))`` (value and index).
The sparse methods get ``rho`` with the same bits as k values.

What is compressed: the hidden layer's weight matrix (``n_pixels x 128``); the
10-unit readout and the biases stay float32 for every method (:func:`weights`).

Budget (this 2-core machine, one thread): 16 epochs of training, 3 epochs of
fine-tuning, batch 128, SGD with momentum 0.9; under 10 minutes in all.
Writes ``networks/results/compression.json``, ``.md`` and ``.png``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from prox import prox_ws_l1, soft_threshold
from prox.sharing import count_shared_values
from prox.training import WeightSharing

from .measures import accuracy

__all__ = ["CompressionConfig", "KS", "METHODS", "kmeans_1d", "uniform_levels",
           "bits_shared", "sparse_fraction", "train_dense", "train_wsr_target",
           "finetune_shared", "compress", "run_table", "markdown", "plot", "main"]

RESULTS = Path(__file__).parent / "results"
#: The table's default output (``.md`` and ``.png`` beside it).
RESULTS_FILE = RESULTS / "compression.json"
KS = (2, 4, 8, 16, 32)
METHODS = ("wsr_target", "wsr_posthoc", "kmeans", "uniform", "l1", "ws_l1", "dwf2", "dwf3")
SPARSE = ("l1", "ws_l1", "dwf2", "dwf3")
FLOAT_BITS = 32
#: Above this many distinct values, :func:`kmeans_1d` works on as many quantile bins.
KMEANS_BINS = 512


@dataclass
class CompressionConfig:
    """One run's settings (the defaults are the table's)."""

    data: str = "mnist14"
    hidden: int = 128
    epochs: int = 16
    finetune_epochs: int = 3
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    scope: str = "tensor"
    controller: str = "pi"
    l1: float = 1e-3           # mu of the L1 prox (per unit lr)
    ws_strength: float = 1e-3  # lam of prox_ws_l1 (per unit lr), its mu is ``l1``
    dwf_decay: float = 1e-4    # weight decay on every factor
    dwf_lr_cap: float = 10.0   # at most this factor on the learning rate of the factors
    seeds: tuple = (0, 1, 2)
    ks: tuple = KS
    methods: tuple = METHODS
    extra: dict = field(default_factory=dict)


# --- data, model, loop -------------------------------------------------------------------

def _data(config: CompressionConfig):
    from .data import load

    d = load(config.data, "plain", 0)
    flat = [t.reshape(len(t), -1) for t in (d.x_train, d.x_test)]
    return flat[0], d.y_train, flat[1], d.y_test


def make_model(n_in: int, hidden: int, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def weights(model: nn.Module) -> list[torch.Tensor]:
    """The compressed tensors: the hidden layer's weight matrix.

    The 10-unit readout (and the biases) stay float32 for every method, the usual
    convention of quantization papers for the layer next to the output; with WSR a
    readout row of k values is one common value and k - 1 distinct weights, so each
    class would read only a few hidden units.
    """
    return [model[0].weight]


def _loop(model, params, data, epochs, config, seed, after_step=None, on_epoch=None):
    """SGD with momentum over ``params`` (tensors or param groups) for ``epochs``;
    ``after_step(optimizer)`` each step, ``on_epoch(epoch)`` after each epoch."""
    x, y = data[0], data[1]
    optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), config.batch_size):
            batch = order[start:start + config.batch_size]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
            if after_step is not None:
                after_step(optimizer)
        if on_epoch is not None:
            on_epoch(epoch)
    return optimizer


def _steps(config, n_train: int) -> int:
    return config.epochs * math.ceil(n_train / config.batch_size)


def train_dense(config, data, seed):
    model = make_model(data[0].shape[1], config.hidden, seed)
    _loop(model, model.parameters(), data, config.epochs, config, seed)
    return model


# --- shared values -----------------------------------------------------------------------

def kmeans_1d(values, k: int) -> np.ndarray:
    """Labels ``0..k-1`` (in increasing order of value) of the 1-D k-means of ``values``.

    In 1-D the optimal clusters are contiguous runs of the sorted values, so dynamic
    programming over prefix sums finds the optimum: ``O(k m^2)`` on ``m`` points.
    Exact when ``values`` has at most :data:`KMEANS_BINS` distinct values; above
    that the DP runs on that many weighted quantile bins (optimal up to a bin's
    width; a layer of 25,000 weights takes a fraction of a second).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    grid = np.unique(values)
    if len(grid) > KMEANS_BINS:
        grid = np.unique(np.quantile(values, np.linspace(0, 1, KMEANS_BINS + 1)))
    bins = np.clip(np.searchsorted(grid, values, side="left"), 0, len(grid) - 1)
    mass = np.bincount(bins, minlength=len(grid)).astype(np.float64)
    total = np.bincount(bins, values, minlength=len(grid))
    square = np.bincount(bins, values ** 2, minlength=len(grid))
    keep = mass > 0
    index = np.cumsum(keep) - 1
    mass, total, square = mass[keep], total[keep], square[keep]
    n = len(mass)
    k = min(k, n)
    cm, ct, cs = (np.concatenate(([0.0], np.cumsum(a))) for a in (mass, total, square))

    def cost(i, j):  # segments [i, j), vectorised over i
        m = cm[j] - cm[i]
        t = ct[j] - ct[i]
        return cs[j] - cs[i] - np.divide(t * t, m, out=np.zeros_like(t), where=m > 0)

    best = np.full((k + 1, n + 1), np.inf)
    cut = np.zeros((k + 1, n + 1), np.int64)
    best[0, 0] = 0.0
    for c in range(1, k + 1):
        for j in range(c, n + 1):
            i = np.arange(c - 1, j)
            total_cost = best[c - 1, i] + cost(i, j)
            arg = int(np.argmin(total_cost))
            best[c, j], cut[c, j] = total_cost[arg], i[arg]
    segment = np.empty(n, np.int64)
    j = n
    for c in range(k, 0, -1):
        i = cut[c, j]
        segment[i:j] = c - 1
        j = i
    return segment[index[bins]]


def uniform_levels(values, k: int) -> np.ndarray:
    """Labels of the nearest of k evenly spaced levels between min and max."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    low, high = values.min(), values.max()
    if high == low or k == 1:
        return np.zeros(values.shape, np.int64)
    return np.rint((values - low) / (high - low) * (k - 1)).astype(np.int64)


def _set_group_means(tensor: torch.Tensor, labels: torch.Tensor, level_values=None) -> None:
    """Give every group of ``labels`` (same shape) one value: its mean, or ``level_values``."""
    flat = tensor.detach().reshape(-1)
    n = int(labels.max()) + 1
    # Labels come from NumPy (CPU); the sums live where the weights live (CPU or GPU).
    index = labels.reshape(-1).to(flat.device)
    if level_values is None:
        sums = flat.new_zeros(n).index_add_(0, index, flat)
        counts = flat.new_zeros(n).index_add_(0, index, torch.ones_like(flat))
        level_values = sums / counts.clamp(min=1)
    level_values = torch.as_tensor(level_values, dtype=flat.dtype, device=flat.device)
    with torch.no_grad():
        tensor.copy_(level_values[index].reshape(tensor.shape))


def finetune_shared(model, labels: list[torch.Tensor], data, config, seed) -> None:
    """Fine-tune with the groups frozen: SGD, then each group back to its mean (projected SGD)."""
    shared = weights(model)
    for tensor, label in zip(shared, labels):
        _set_group_means(tensor, label)

    def project(_):
        for tensor, label in zip(shared, labels):
            _set_group_means(tensor, label)

    _loop(model, model.parameters(), data, config.finetune_epochs, config, seed + 1000, project)


def _view(tensor, scope) -> torch.Tensor:
    """``(problems, d)``: the whole layer as one row (``"tensor"``) or its rows."""
    flat = tensor.detach()
    return flat.reshape(1, -1) if scope == "tensor" else flat.reshape(flat.shape[0], -1)


def _scope_labels(tensor, k, method, scope) -> torch.Tensor:
    rows = _view(tensor, scope)
    pick = kmeans_1d if method == "kmeans" else uniform_levels
    labels = np.stack([pick(row.cpu().numpy(), k) + r * k for r, row in enumerate(rows)])
    return torch.from_numpy(labels).reshape(tensor.shape)


def train_wsr_target(config, data, seed, k, controller=None, on_epoch=None):
    """WSR with ``max_values=k`` on :func:`weights`, then ``finalize()``.

    Returns ``(model, sharing, labels)``: the model with at most k values per row /
    layer (not fine-tuned), the :class:`WeightSharing` (its ``controller.history``),
    and per compressed tensor the group ids (unique across rows) for
    :func:`finetune_shared`. ``on_epoch(epoch, sharing)`` is called after each epoch.
    """
    model = make_model(data[0].shape[1], config.hidden, seed)
    sharing = WeightSharing(weights(model), max_values=k, scope=config.scope,
                            controller=controller or config.controller,
                            warmup=_steps(config, len(data[0])) // 2)
    _loop(model, model.parameters(), data, config.epochs, config, seed, sharing.step,
          None if on_epoch is None else (lambda epoch: on_epoch(epoch, sharing)))
    labels = sharing.finalize()
    return model, sharing, [_unique_ids(a, k, p) for a, p in zip(labels, weights(model))]


def _unique_ids(labels: np.ndarray, k: int, tensor) -> torch.Tensor:
    """``finalize()``'s labels ``(rows, d)``, ids 0..k-1 within each row, as ids unique
    across rows, shaped like ``tensor`` (what :func:`finetune_shared` takes)."""
    return torch.from_numpy(labels + k * np.arange(len(labels))[:, None]).reshape(tensor.shape)


# --- sparsity ----------------------------------------------------------------------------

class Factorized(nn.Module):
    """``w = u_1 * ... * u_D`` for every weight matrix of a model (biases plain)."""

    def __init__(self, model: nn.Sequential, depth: int):
        super().__init__()
        self.model = model
        self.depth = depth
        self.factors = nn.ParameterList()
        for w in weights(model):
            # The seed paper's advice: initialise the factors so that their product is
            # the usual initialisation (|u_d| = |w|^(1/D), the sign on the first factor),
            # not each factor with the usual variance (the product would vanish).
            magnitude = w.detach().abs().clamp(min=1e-8) ** (1.0 / depth)
            for d in range(depth):
                sign = torch.sign(w.detach()) if d == 0 else torch.ones_like(w)
                self.factors.append(nn.Parameter(sign * magnitude))
            w.requires_grad_(False)

    def products(self) -> list[torch.Tensor]:
        out = []
        for i in range(0, len(self.factors), self.depth):
            prod = self.factors[i]
            for d in range(1, self.depth):
                prod = prod * self.factors[i + d]
            out.append(prod)
        return out

    def forward(self, x):
        (w,) = self.products()  # the hidden layer's weight (see ``weights``)
        return self.model[2](torch.relu(nn.functional.linear(x, w, self.model[0].bias)))

    def collapse(self) -> nn.Sequential:
        with torch.no_grad():
            for w, prod in zip(weights(self.model), self.products()):
                w.copy_(prod)
                w.requires_grad_(True)
        return self.model


def train_sparse(config, data, seed, method):
    """Train with the sparsity method; returns a plain model (not yet pruned)."""
    model = make_model(data[0].shape[1], config.hidden, seed)
    if method in ("l1", "ws_l1"):
        shared = weights(model)

        def prox_step(optimizer):
            lr = optimizer.param_groups[0]["lr"]
            with torch.no_grad():
                for w in shared:
                    if method == "l1":
                        w.copy_(soft_threshold(w.detach(), lr * config.l1))
                    else:
                        w.copy_(prox_ws_l1(w.detach(), lr * config.ws_strength, lr * config.l1))

        _loop(model, model.parameters(), data, config.epochs, config, seed, prox_step)
        return model
    depth = int(method[-1])
    factorized = Factorized(model, depth)
    # The seed paper's learning-rate advice: the factors' gradients are the weights'
    # times the other factors (about |w|^((D-1)/D) each), so the step on w shrinks by
    # D |w|^(2(D-1)/D); scale the learning rate up by that at initialisation.
    products = factorized.products()
    typical = float(torch.cat([w.detach().abs().reshape(-1) for w in products]).mean())
    scale = 1.0 / (depth * typical ** (2 * (depth - 1) / depth))
    fast = CompressionConfig(**{**asdict(config), "lr": config.lr * min(scale, config.dwf_lr_cap)})
    plain = [p for p in model.parameters() if p.requires_grad]  # all but the factorized
    optimizer_params = [{"params": list(factorized.factors), "weight_decay": config.dwf_decay},
                        {"params": plain}]
    _loop(factorized, optimizer_params, data, config.epochs, fast, seed)
    return factorized.collapse()


def bits_shared(k: int, numel: int) -> float:
    """Bits per weight of ``numel`` weights sharing a codebook of k float32 values."""
    return math.log2(k) + k * FLOAT_BITS / numel


def sparse_fraction(bits: float, d: int) -> float:
    """Fraction of nonzeros whose storage (value + index in a row of d) costs ``bits``."""
    return min(1.0, bits / (FLOAT_BITS + math.ceil(math.log2(d))))


def prune_and_finetune(model, config, data, seed, fraction):
    """Keep the ``fraction`` largest magnitudes of every row, fine-tune the survivors."""
    masks = []
    for w in weights(model):
        keep = max(1, int(round(fraction * w.shape[1])))
        threshold = w.detach().abs().topk(keep, dim=1).values[:, -1:]
        order = w.detach().abs().argsort(dim=1, descending=True)
        mask = torch.zeros_like(w, dtype=torch.bool).scatter_(1, order[:, :keep], True)
        del threshold
        masks.append(mask)
        with torch.no_grad():
            w.mul_(mask)

    def apply(_):
        with torch.no_grad():
            for w, mask in zip(weights(model), masks):
                w.mul_(mask)

    _loop(model, model.parameters(), data, config.finetune_epochs, config, seed + 1000, apply)
    return [int(m.sum()) for m in masks]


# --- one cell, the table -----------------------------------------------------------------

def compress(config, data, seed, method, k, dense=None, sparse=None) -> dict:
    """One (method, k, seed) cell: the test accuracy and what was stored."""
    import copy

    x_test, y_test = data[2], data[3]
    row = {"method": method, "k": k, "seed": seed}
    if method == "wsr_target":
        model, sharing, labels = train_wsr_target(config, data, seed, k)
        row["accuracy_finalized"] = accuracy(model, x_test, y_test)
        finetune_shared(model, labels, data, config, seed)
    elif method == "wsr_posthoc":
        model = copy.deepcopy(dense)
        labels = WeightSharing(weights(model), max_values=k, scope=config.scope).finalize()
        finetune_shared(model, [_unique_ids(a, k, w) for a, w in zip(labels, weights(model))],
                        data, config, seed)
    elif method in ("kmeans", "uniform"):
        model = copy.deepcopy(dense)
        labels = [_scope_labels(w, k, method, config.scope) for w in weights(model)]
        finetune_shared(model, labels, data, config, seed)
    else:
        model = copy.deepcopy(sparse)
        numel = sum(w.numel() for w in weights(model))
        bits = sum(bits_shared(k, w.numel()) * w.numel() for w in weights(model)) / numel
        fraction = sparse_fraction(bits, weights(model)[0].shape[1])
        row["nonzeros"] = prune_and_finetune(model, config, data, seed, fraction)
        row["nonzero_fraction"] = fraction
    row["accuracy"] = accuracy(model, x_test, y_test)
    ws = weights(model)
    total = sum(w.numel() for w in ws)
    if method in SPARSE:
        row["bits_per_weight"] = sum(
            float((w != 0).sum()) * (FLOAT_BITS + math.ceil(math.log2(w.shape[1])))
            for w in ws) / total
    else:
        views = [_view(w, config.scope) for w in ws]
        counts = [int(count_shared_values(v).max()) for v in views]  # per row (scope)
        row["distinct_per_layer"] = [int(count_shared_values(w.detach().reshape(-1)))
                                     for w in ws]
        row["distinct_per_scope"] = counts
        row["bits_per_weight"] = sum(bits_shared(c, v.shape[1]) * v.numel()
                                     for c, v in zip(counts, views)) / total
    return row


def run_table(config: CompressionConfig, *, log=print) -> dict:
    """Every (method, k, seed) cell; returns ``{"config", "rows", "summary", "seconds"}``."""
    torch.set_num_threads(1)
    data = _data(config)
    start = time.perf_counter()
    rows, dense_acc = [], []
    for seed in config.seeds:
        dense = train_dense(config, data, seed)
        dense_acc.append(accuracy(dense, data[2], data[3]))
        sparse = {m: train_sparse(config, data, seed, m) for m in config.methods
                  if m in SPARSE}
        for method in config.methods:
            for k in config.ks:
                row = compress(config, data, seed, method, k, dense=dense,
                               sparse=sparse.get(method))
                rows.append(row)
                log(f"seed {seed} {method:10s} k={k:2d}: accuracy {row['accuracy']:.3f}, "
                    f"{row['bits_per_weight']:.2f} bits/weight "
                    f"({time.perf_counter() - start:.0f} s)")
    return {"config": asdict(config), "rows": rows, "dense_accuracy": dense_acc,
            "summary": summarise(rows), "seconds": time.perf_counter() - start}


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    keys = sorted({(r["method"], r["k"]) for r in rows},
                  key=lambda mk: (METHODS.index(mk[0]), mk[1]))
    for method, k in keys:
        cell = [r for r in rows if r["method"] == method and r["k"] == k]
        acc = np.array([r["accuracy"] for r in cell])
        bits = np.array([r["bits_per_weight"] for r in cell])
        out.append({"method": method, "k": k, "accuracy_mean": float(acc.mean()),
                    "accuracy_sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                    "bits_mean": float(bits.mean()), "seeds": len(cell)})
    return out


# --- outputs -----------------------------------------------------------------------------

LABELS = {"wsr_target": "WSR, νPI target k + finalize + fine-tune",
          "wsr_posthoc": "WSR prox-path groups of the dense net (finalize) + fine-tune",
          "kmeans": "k-means clustering + fine-tuned centroids",
          "uniform": "uniform quantization to k levels + fine-tune",
          "l1": "L1 prox, pruned to equal bits",
          "ws_l1": "prox_ws_l1, pruned to equal bits",
          "dwf2": "deep weight factorization D=2, pruned",
          "dwf3": "deep weight factorization D=3, pruned"}


def _mean_sd(values) -> str:
    values = np.asarray(values, dtype=np.float64)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.3f} ± {sd:.3f}"


def _unit(config: dict) -> str:
    return "row" if config.get("scope") == "rows" else "layer"


def markdown(table: dict, verdict: str = "") -> str:
    summary = table["summary"]
    ks = sorted({r["k"] for r in summary})
    unit = _unit(table["config"])
    lines = [f"# Compression at k values per {unit}: test accuracy (mean ± sd over seeds)", "",
             f"Data {table['config']['data']}, network n_pixels-{table['config']['hidden']}-10, "
             f"{table['config']['epochs']} epochs + {table['config']['finetune_epochs']} of "
             f"fine-tuning, seeds {list(table['config']['seeds'])}; dense network: "
             f"{_mean_sd(table['dense_accuracy'])}. "
             f"Run time {table['seconds']:.0f} s."
             + (" Sparse methods: same bits per weight as k values (value + index per "
                "nonzero)." if any(r["method"] in SPARSE for r in summary) else ""), "",
             "| method | " + " | ".join(f"k = {k}" for k in ks) + " |",
             "|---|" + "---|" * len(ks)]
    for method in [m for m in METHODS if any(r["method"] == m for r in summary)]:
        cells = []
        for k in ks:
            r = next((r for r in summary if r["method"] == method and r["k"] == k), None)
            cells.append("" if r is None else
                         f"{r['accuracy_mean']:.3f} ± {r['accuracy_sd']:.3f} "
                         f"({r['bits_mean']:.2f} b)")
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + " |")
    lines += ["", "(b) = bits per weight, codebook or indices included.", ""]
    if verdict:
        lines += ["## Verdict", "", verdict, ""]
    return "\n".join(lines)


def plot(table: dict, path, controller_histories: dict | None = None):
    """Accuracy against k and against bits per weight (PNG, matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if controller_histories else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2))
    summary = table["summary"]
    for method in [m for m in METHODS if any(r["method"] == m for r in summary)]:
        cells = [r for r in summary if r["method"] == method]
        ks = [r["k"] for r in cells]
        mean = [r["accuracy_mean"] for r in cells]
        sd = [r["accuracy_sd"] for r in cells]
        bits = [r["bits_mean"] for r in cells]
        style = "--s" if method in SPARSE else "-o"
        axes[0].errorbar(ks, mean, yerr=sd, fmt=style, label=LABELS[method], capsize=3)
        axes[1].errorbar(bits, mean, yerr=sd, fmt=style, label=method, capsize=3)
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel(f"k (distinct values per {_unit(table['config'])}; sparse: same bits)")
    axes[1].set_xlabel("bits per weight")
    for ax in axes[:2]:
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if controller_histories:
        ax = axes[2]
        for name, history in controller_histories.items():
            ax.plot(history["strength"], label=f"{name}: strength")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("multiplier (strength, layer 1)")
        twin = ax.twinx()
        for name, history in controller_histories.items():
            twin.plot(history["count"], ":", label=f"{name}: values")
        twin.set_yscale("log")
        twin.set_ylabel("distinct values in layer 1 (dotted)")
        ax.legend(fontsize=7, loc="upper left")
        ax.set_title("νPI vs gradient ascent on the multiplier")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def controller_runs(config, k: int = 4, seed: int = 0) -> dict:
    """Layer-1 multiplier and count histories of νPI and of gradient ascent (the ablation)."""
    data = _data(config)
    out = {}
    for name in ("pi", "ascent"):
        _, sharing, _ = train_wsr_target(config, data, seed, k, controller=name)
        first = min(sharing.controller.history)
        out[name] = {key: list(v) for key, v in sharing.controller.history[first].items()}
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m networks.compression",
                                     description=__doc__.split("\n")[0])
    defaults = CompressionConfig()
    parser.add_argument("--data", default=defaults.data)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--finetune-epochs", type=int, default=defaults.finetune_epochs)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(defaults.seeds))
    parser.add_argument("--ks", type=int, nargs="+", default=list(defaults.ks))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--scope", choices=("rows", "tensor"), default=defaults.scope)
    parser.add_argument("--hidden", type=int, default=defaults.hidden)
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    parser.add_argument("--render", action="store_true",
                        help="only rewrite the .md and .png from the saved --out JSON (and "
                             "its .verdict.md), no training")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.render:
        write_outputs(json.loads(args.out.read_text()), args.out)
        return 0
    config = CompressionConfig(data=args.data, epochs=args.epochs, scope=args.scope,
                               hidden=args.hidden,
                               finetune_epochs=args.finetune_epochs, seeds=tuple(args.seeds),
                               ks=tuple(args.ks), methods=tuple(args.methods))
    table = run_table(config)
    table["controller"] = controller_runs(config)
    table["command"] = "python -m networks.compression " + " ".join(argv or sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table, indent=1))
    write_outputs(table, args.out)
    return 0


def write_outputs(table: dict, out: Path) -> None:
    """``out`` with suffixes ``.md`` (with ``.verdict.md`` appended, if present) and ``.png``."""
    verdict_path = out.with_suffix(".verdict.md")
    verdict = verdict_path.read_text() if verdict_path.exists() else ""
    out.with_suffix(".md").write_text(markdown(table, verdict))
    plot(table, out.with_suffix(".png"), table.get("controller"))
    print(markdown(table, verdict))


if __name__ == "__main__":
    sys.exit(main())
