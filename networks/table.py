"""The experiment's table: hyperparameters picked on validation, then seeds on test.

Procedure (per data variant; all runs ``epochs`` long, same architecture):

1. ``fc`` and ``cnn``: train with seed 0 for every learning rate in ``lr_grid``; keep the
   one with the best **validation** accuracy (ties: the smaller lr).
2. ``fc_wsr`` and ``fc_wsr_rows``: the learning rate chosen for ``fc``, and every
   strength in ``strength_grid`` with seed 0; keep the best validation accuracy (ties:
   the larger strength, i.e. more sharing for the same accuracy).
3. Each chosen configuration is re-run with ``seeds`` seeds (seed 0 is the search run
   itself, identical by determinism) and reported on the **test** split: mean and
   sample standard deviation over the seeds.

The test split is never looked at before step 3.
"""
from __future__ import annotations

import platform
import time
from dataclasses import replace

import numpy as np
import torch

from .data import VARIANTS
from .measures import conv_likeness, unroll_conv
from .models import MODELS
from .training import RunConfig, RunResult, run

__all__ = ["LR_GRID", "STRENGTH_GRID", "TableSpec", "run_table", "summarise", "markdown_table",
           "reference_scores", "table_history_policy"]

LR_GRID = (0.003, 0.01, 0.03)
STRENGTH_GRID = (0.01, 0.03, 0.1, 0.3)
#: Columns summarised over seeds: metric key -> (header, format).
COLUMNS = {
    "test_acc": ("test accuracy", "{:.3f}"),
    "distinct_layer1": ("distinct values, layer 1", "{:.0f}"),
    "conv_score": ("conv-likeness", "{:.2f}"),
    "conv_score_gaussian": ("conv-likeness, Gaussian null", "{:.2f}"),
    "locality": ("locality", "{:.2f}"),
}


class TableSpec:
    """What the table runs: variants, models, grids, seeds and the base config."""

    def __init__(self, *, variants=VARIANTS, models=MODELS, lr_grid=LR_GRID,
                 strength_grid=STRENGTH_GRID, seeds: int = 3, base: RunConfig | None = None):
        self.variants = tuple(variants)
        self.models = tuple(models)
        self.lr_grid = tuple(float(x) for x in lr_grid)
        self.strength_grid = tuple(float(x) for x in strength_grid)
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ValueError(f"Invalid seeds: {seeds!r} (must be an int >= 1)")
        self.seeds = seeds
        self.base = base or RunConfig()
        for name, values in (("variants", self.variants), ("models", self.models),
                             ("lr_grid", self.lr_grid), ("strength_grid", self.strength_grid)):
            if not values:
                raise ValueError(f"Invalid {name}: empty")
        unknown = set(self.variants) - set(VARIANTS) | set(self.models) - set(MODELS)
        if unknown:
            raise ValueError(f"Invalid variants/models: {sorted(unknown)}")

    def to_dict(self) -> dict:
        return dict(variants=list(self.variants), models=list(self.models),
                    lr_grid=list(self.lr_grid), strength_grid=list(self.strength_grid),
                    seeds=self.seeds, base=self.base.to_dict())


def _best(results: list[RunResult], prefer_strength: bool) -> RunResult:
    def key(r):
        tie = r.config.strength if prefer_strength else -r.config.lr
        return (r.metrics["val_acc"], tie)
    return max(results, key=key)


def run_table(spec: TableSpec, *, progress: bool = True, on_progress=None):
    """All runs of the table. Returns ``(runs, chosen)``.

    ``runs``: every RunResult (search and seeds); ``chosen``: the configs picked on
    validation, one per (variant, model), in table order.
    """
    from tqdm.auto import tqdm

    per_variant = (len(spec.lr_grid) * sum(m in ("fc", "cnn") for m in spec.models)
                   + len(spec.strength_grid) * sum(m.startswith("fc_wsr") for m in spec.models)
                   + (spec.seeds - 1) * len(spec.models))
    total = per_variant * len(spec.variants)
    bar = tqdm(total=total, desc="table", disable=not progress)
    runs, chosen = [], []

    def do(config):
        bar.set_description(config.label)
        result = run(config)
        runs.append(result)
        bar.update()
        if on_progress is not None:
            on_progress(bar.n / total, config.label)
        return result

    for variant in spec.variants:
        base = replace(spec.base, variant=variant, seed=0)
        lr_for = {}
        for model in ("fc", "cnn"):
            needed = model in spec.models or (model == "fc" and any(
                m.startswith("fc_wsr") for m in spec.models))
            if needed:
                search = [do(replace(base, model=model, lr=lr, strength=0.0))
                          for lr in spec.lr_grid]
                best = _best(search, prefer_strength=False)
                lr_for[model] = best.config.lr
                if model in spec.models:
                    chosen.append(best.config)
        for model in [m for m in spec.models if m.startswith("fc_wsr")]:
            search = [do(replace(base, model=model, lr=lr_for["fc"], strength=s))
                      for s in spec.strength_grid]
            chosen.append(_best(search, prefer_strength=True).config)
        for config in [c for c in chosen if c.variant == variant]:
            for seed in range(1, spec.seeds):
                do(replace(config, seed=seed))
    bar.close()
    order = {m: i for i, m in enumerate(spec.models)}
    chosen.sort(key=lambda c: (spec.variants.index(c.variant), order[c.model]))
    return runs, chosen


def _matches(result: RunResult, config: RunConfig) -> bool:
    return replace(result.config, seed=0) == replace(config, seed=0)


def summarise(runs: list[RunResult], chosen: list[RunConfig]) -> list[dict]:
    """One row per chosen config: its hyperparameters and mean/std of every column."""
    rows = []
    for config in chosen:
        seeds = [r for r in runs if _matches(r, config)]
        seeds = list({r.config.seed: r for r in seeds}.values())
        row = dict(variant=config.variant, model=config.model, lr=config.lr,
                   strength=config.strength if config.scope else None, seeds=len(seeds))
        for key in COLUMNS:
            values = np.array([r.metrics[key] for r in seeds], dtype=np.float64)
            row[key] = float(values.mean())
            row[key + "_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def reference_scores(units: int = 256, *, seed: int = 0) -> dict:
    """Conv-likeness of the two reference points, for a layer of ``units`` filters.

    ``conv``: a random circular 3x3 ``Conv2d`` with ``units // 64`` channels, unrolled;
    ``random``: i.i.d. Gaussian weights; ``scrambled``: the convolution seen through a
    fixed pixel permutation and scored without un-permuting (sparse filters, no
    translation structure). Returns ``{name: (score, raw, gaussian_score)}``.
    """
    generator = torch.Generator().manual_seed(seed)
    conv = torch.nn.Conv2d(1, max(units // 64, 1), 3, padding=1, padding_mode="circular")
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator))
    dense = unroll_conv(conv).double().numpy()
    noise = np.random.default_rng(seed).standard_normal(dense.shape)
    scrambled = dense[:, np.random.default_rng(seed).permutation(dense.shape[1])]
    return {name: (s.score, s.raw, s.gaussian_score) for name, s in
            (("conv", conv_likeness(dense)), ("random", conv_likeness(noise)),
             ("scrambled", conv_likeness(scrambled)))}


def _cell(row: dict, key: str) -> str:
    fmt = COLUMNS[key][1]
    text = fmt.format(row[key])
    return text + (" ± " + fmt.format(row[key + "_std"]) if row["seeds"] > 1 else "")


def markdown_table(rows: list[dict], *, meta: dict) -> str:
    """The Markdown page written by ``python -m networks table``."""
    base = meta["spec"]["base"]
    refs = meta["references"]
    lines = [
        "# Weight sharing inside a network: the table",
        "",
        f"Written by `{meta['command']}` in {meta['wall_seconds'] / 60:.1f} min of wall "
        f"time ({meta['machine']}, {base['threads']} torch thread(s)).",
        "",
        f"Mean ± standard deviation over {meta['spec']['seeds']} seeds (initialisation and "
        f"batch order; the data split is fixed). Architecture: hidden layer of 64 x "
        f"{base['channels']} units, {base['readout']} read-out; {base['optimizer']}, "
        f"{base['epochs']} epochs, batch {base['batch_size']}, cosine schedule, "
        f"torus-shift augmentation on every variant but plain. lr and strength picked on "
        f"the validation split (lr in {meta['spec']['lr_grid']} for fc and cnn; strength "
        f"in {meta['spec']['strength_grid']} at fc's lr), see `networks/table.py`.",
        "",
        "| variant | model | lr | strength | " + " | ".join(h for h, _ in COLUMNS.values())
        + " |",
        "|---|---|---:|---:|" + "---:|" * len(COLUMNS),
    ]
    for row in rows:
        strength = "" if row["strength"] is None else f"{row['strength']:g}"
        lines.append(f"| {row['variant']} | {row['model']} | {row['lr']:g} | {strength} | "
                     + " | ".join(_cell(row, key) for key in COLUMNS) + " |")
    lines += [
        "",
        f"Reference points of the conv-likeness score (layer of {refs['units']} filters; "
        "definition in `networks/measures.py`): a real circular 3x3 convolution, unrolled, "
        f"scores {refs['conv'][0]:.3f} (raw mean best correlation {refs['conv'][1]:.3f}); "
        f"i.i.d. Gaussian weights score {refs['random'][0]:.3f} (raw "
        f"{refs['random'][1]:.3f}); the same convolution scrambled by a pixel permutation "
        f"scores {refs['scrambled'][0]:.3f} (Gaussian null: {refs['scrambled'][2]:.3f}, "
        "which is why the main score uses the permuted-filter null). A CNN's first layer "
        "scores 1 by construction on every variant except the shuffled ones, where its "
        "filters are un-permuted before scoring (the same way as every model's).",
        "",
    ]
    return "\n".join(lines)


def table_history_policy(chosen: list[RunConfig]):
    """Which runs of the table keep their history (curves, filters, particles) on disk.

    Seed 0 of every chosen configuration and of every strength tried for the
    weight-sharing models (what the app offers to pick); the extra seeds and the other
    learning rates keep only their final measures, so the file stays small.
    """
    picked = {replace(c, seed=0) for c in chosen}

    def keep(result: RunResult) -> bool:
        config = result.config
        return config.seed == 0 and (config in picked or config.scope is not None)
    return keep


def machine_note() -> str:
    return f"{platform.machine()}, {platform.system()}, torch {torch.__version__}"


def timed_table(spec: TableSpec, *, command: str, progress: bool = True, on_progress=None):
    """``run_table`` plus the meta dict (wall time, spec, references, summary rows)."""
    start = time.perf_counter()
    runs, chosen = run_table(spec, progress=progress, on_progress=on_progress)
    rows = summarise(runs, chosen)
    units = 64 * spec.base.channels[0]
    refs = reference_scores(units)
    meta = dict(command=command, wall_seconds=time.perf_counter() - start,
                machine=machine_note(), spec=spec.to_dict(), rows=rows,
                chosen=[c.to_dict() for c in chosen],
                references=dict(units=units, **{k: list(v) for k, v in refs.items()}))
    return runs, chosen, meta
