"""The experiment's table: hyperparameters picked on validation, then seeds on test.

Procedure for each block (one data set and variant; all runs of a block share the
base configuration: architecture widths, epochs, batch, optimizer, schedule):

1. **Learning rate.** Each architecture without a penalty (``fc``, ``fc_nobn``, ``cnn``)
   is trained with seed 0 at every lr of ``lr_grid``; the best **validation** accuracy
   wins (ties: the smaller lr). If the winner is at an edge of the grid, the grid is
   widened by one geometric step (the grid's own ratio, x3 for the default lr grid) past
   that edge and searched again, up to ``MAX_WIDEN`` = 5 times (so the default lr grid
   0.1-0.9 can reach 0.1 / 3**5 ... 0.9 * 3**5); the row records whether its pick ended up
   interior (the few that do not are stated, not hidden).
2. **Strength.** Each penalised model uses the lr picked for its architecture and every
   strength of ``strength_grid`` (layer 1; layer 2 gets ``strength * strength_ratio``),
   seed 0, widened past an edge the same way (x2 steps for the default strength grid, up
   to ``MAX_WIDEN`` times; ties: the larger strength). For the
   whole-matrix weight sharing model (``fc_wsr``) the grid is also extended upward until
   layer 1 keeps fewer than 1 % distinct values (the *sweep*: from no sharing to almost
   full sharing, whatever the pick). Strength 0 is the unpenalised model itself; a row
   says whether its pick beat it on validation.
3. **Seeds.** Every pick is re-run with seeds ``1 .. seeds-1`` (seed 0 is the search run
   itself, identical by determinism) and reported on the **test** split: mean and sample
   standard deviation over the seeds.
4. **References** (MNIST-1D): its published MLP and CNN with their published recipe
   (no search), ``seeds`` seeds each, on the package's own train/test split.

The test split is never used for a choice. Every run is deterministic given its config and
seed, so the widened searches pick the same values on a re-run (up to floating-point reduction
order across machines).
"""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .training import RunConfig, RunResult, run

__all__ = ["Block", "TableSpec", "default_spec", "run_table", "summarise", "sweep_points",
           "markdown_table", "METRICS"]

LR_STEP = 3.0
#: Widenings of a grid past an edge pick (one geometric step each) before giving up.
MAX_WIDEN = 5
#: The sweep of ``fc_wsr`` goes on upward until layer 1 keeps fewer distinct values than this.
SWEEP_TARGET = 0.01
MAX_SWEEP_EXTRA = 5
#: Metric key of a run -> column name of a table row (mean and sd over seeds).
METRICS = {
    "test_acc": "test_accuracy", "val_acc": "val_accuracy",
    "distinct_layer1": "distinct_layer1", "distinct_layer2": "distinct_layer2",
    "locality": "locality", "locality_null": "locality_null",
    "shift_score": "shift_score", "penalty_ms_per_step": "penalty_ms_per_step",
    "isolated_prox_ms": "isolated_prox_ms", "seconds": "seconds",
}


@dataclass(frozen=True)
class Block:
    """One data set and variant: the models run on it and the grids they search."""

    base: RunConfig
    models: tuple[str, ...]
    lr_grid: tuple[float, ...]
    strength_grid: tuple[float, ...]
    references: tuple[str, ...] = ()


@dataclass
class TableSpec:
    """What the table runs: blocks in order and the number of seeds per pick."""

    blocks: list[Block]
    seeds: int = 5
    notes: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValueError(f"Invalid seeds: {self.seeds!r} (must be an int >= 1)")
        if not self.blocks:
            raise ValueError("Invalid blocks: empty")

    def to_dict(self) -> dict:
        return dict(seeds=self.seeds, notes=self.notes, blocks=[
            dict(base=b.base.to_dict(), models=list(b.models), lr_grid=list(b.lr_grid),
                 strength_grid=list(b.strength_grid), references=list(b.references))
            for b in self.blocks])

    def planned_runs(self) -> int:
        """Runs before any widening (the progress bar's first total)."""
        total = 0
        for b in self.blocks:
            archs = {RunConfig(model=m).architecture for m in b.models}
            penalised = [m for m in b.models if RunConfig(model=m).penalty != "none"]
            total += (len(archs) * len(b.lr_grid) + len(penalised) * len(b.strength_grid)
                      + (self.seeds - 1) * len(b.models) + self.seeds * len(b.references))
        return total


#: Models of the shuffled blocks (the question) and of the others (the context).
QUESTION_MODELS = ("fc", "fc_wsr", "fc_wsr_rows", "fc_l1", "fc_wd", "fc_median", "fc_nobn",
                   "fc_nobn_wsr", "cnn")
CONTEXT_MODELS = ("fc", "cnn")
STRENGTH_GRID = (0.002, 0.004, 0.008, 0.016)
#: SGD learning rates searched first. The table with 0.01-0.1 picked >= 0.1 for every
#: architecture, so the grid starts there (fewer runs); a pick at 0.1 widens it downward.
LR_GRID = (0.1, 0.3, 0.9)


def default_spec(*, epochs14: int = 8, epochs1d: int = 20, seeds: int = 5) -> TableSpec:
    """The table of ``python -m networks table``: about 193 runs, 9 minutes on 2 shared cores
    at load average 2-5 (25 minutes at load 6-11).

    MNIST-1D: plain (FC, CNN and the two published references) and shuffled (FC, every
    penalty and control, FC without BatchNorm, CNN). 14x14 digits: shifted (FC, CNN) and
    shuffled (the same models as MNIST-1D's but the per-row variant). The plain 14x14
    digits and the per-row variant on them are left out to fit the time.
    """
    base14 = RunConfig(data="mnist14", epochs=epochs14, channels=(2, 4), strength_ratio=0.1)
    base1d = RunConfig(data="mnist1d", epochs=epochs1d, channels=(4, 8), strength_ratio=0.1)
    blocks = [
        Block(replace(base1d, variant="plain"), CONTEXT_MODELS, LR_GRID, STRENGTH_GRID,
              references=("mlp_ref", "cnn_ref")),
        Block(replace(base1d, variant="shuffled"), QUESTION_MODELS, LR_GRID, STRENGTH_GRID),
        Block(replace(base14, variant="shifted"), CONTEXT_MODELS, LR_GRID, STRENGTH_GRID),
        Block(replace(base14, variant="shuffled"),
              tuple(m for m in QUESTION_MODELS if m != "fc_wsr_rows"), LR_GRID,
              STRENGTH_GRID),
    ]
    return TableSpec(blocks, seeds, notes=dict(
        epochs={"mnist14": epochs14, "mnist1d": epochs1d},
        channels={"mnist14": list(base14.channels), "mnist1d": list(base1d.channels)}))


class _Runner:
    """Runs configs once each (cached by config), with one progress bar for the table."""

    def __init__(self, total: int, progress: bool, on_progress):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="table", disable=not progress)
        self.on_progress = on_progress
        self.done: dict[RunConfig, RunResult] = {}

    def __call__(self, config: RunConfig) -> RunResult:
        if config not in self.done:
            self.bar.set_description(config.label)
            if self.bar.n >= self.bar.total:
                self.bar.total = self.bar.n + 1
                self.bar.refresh()
            self.done[config] = run(config)
            self.bar.update()
            if self.on_progress is not None:
                self.on_progress(self.bar.n / max(self.bar.total, 1), config.label)
        return self.done[config]

    def grow(self, extra: int) -> None:
        self.bar.total += extra
        self.bar.refresh()


def _search(runner, configs_for, grid, *, prefer_larger: bool, widen: bool = True):
    """Search ``grid`` (widened past an edge pick); returns (best, results, interior)."""
    grid = sorted(grid)
    ratio = grid[1] / grid[0] if len(grid) > 1 else LR_STEP
    results = {}
    for _ in range(MAX_WIDEN + 1):
        for value in grid:
            if value not in results:
                results[value] = runner(configs_for(value))
        ranked = sorted(results, key=lambda v: (results[v].metrics["val_acc"],
                                                v if prefer_larger else -v))
        best = ranked[-1]
        values = sorted(results)
        interior = values[0] < best < values[-1]
        if interior or not widen:
            break
        grid = [best / ratio] if best == values[0] else [best * ratio]
        grid = [float(f"{g:.3g}") for g in grid]
        runner.grow(1)
    values = sorted(results)
    best = max(values, key=lambda v: (results[v].metrics["val_acc"],
                                      v if prefer_larger else -v))
    return results[best], [results[v] for v in values], values[0] < best < values[-1]


def run_table(spec: TableSpec, *, progress: bool = True, on_progress=None):
    """All runs of the table. Returns ``(runner.done, picks)``.

    ``picks``: one dict per (block, model) with the chosen config and the selection
    record (``lr_interior``, ``strength_interior``, ``beats_unpenalised``).
    """
    runner = _Runner(spec.planned_runs(), progress, on_progress)
    picks = []
    for block in spec.blocks:
        base = replace(block.base, seed=0)
        lr_pick = {}
        architectures = []
        for model in block.models:
            arch = RunConfig(model=model).architecture
            if arch not in architectures:
                architectures.append(arch)
        for arch in architectures:
            plain_model = {"fc": "fc", "fc_nobn": "fc_nobn", "cnn": "cnn"}[arch]
            best, _, interior = _search(
                runner, lambda lr, m=plain_model: replace(base, model=m, lr=lr, strength=0.0),
                block.lr_grid, prefer_larger=False)
            lr_pick[arch] = (best, interior)
        for model in block.models:
            config = RunConfig(model=model)
            plain, lr_interior = lr_pick[config.architecture]
            if config.penalty == "none":
                picks.append(dict(config=plain.config, lr_interior=lr_interior,
                                  strength_interior=None, beats_unpenalised=None))
                continue
            def configs_for(s, m=model, lr=plain.config.lr):
                return replace(base, model=m, lr=lr, strength=s)
            best, searched, interior = _search(runner, configs_for, block.strength_grid,
                                               prefer_larger=True)
            if model == "fc_wsr":  # the sweep: on to < 1 % distinct values in layer 1
                strongest = max(searched, key=lambda r: r.config.strength)
                ratio = block.strength_grid[1] / block.strength_grid[0]
                for _ in range(MAX_SWEEP_EXTRA):
                    m = strongest.metrics
                    if m["distinct_layer1"] < SWEEP_TARGET * m["weights_layer1"]:
                        break
                    runner.grow(1)
                    stronger = float(f"{strongest.config.strength * ratio:.3g}")
                    strongest = runner(configs_for(stronger))
            picks.append(dict(config=best.config, lr_interior=lr_interior,
                              strength_interior=interior,
                              beats_unpenalised=best.metrics["val_acc"]
                              > plain.metrics["val_acc"]))
        for pick in [p for p in picks if p["config"].data == base.data
                     and p["config"].variant == base.variant]:
            for seed in range(1, spec.seeds):
                runner(replace(pick["config"], seed=seed))
        for model in block.references:
            config = RunConfig.reference(model, variant=base.variant)
            for seed in range(spec.seeds):
                runner(replace(config, seed=seed))
            picks.append(dict(config=config, lr_interior=None, strength_interior=None,
                              beats_unpenalised=None, reference=True))
    runner.bar.close()
    return runner.done, picks


def _seed_runs(done: dict, config: RunConfig) -> list[RunResult]:
    return [r for c, r in done.items() if replace(c, seed=0) == replace(config, seed=0)]


def summarise(done: dict, picks: list[dict]) -> list[dict]:
    """One row per pick: its hyperparameters, selection record, mean and sd of every metric."""
    rows = []
    for pick in picks:
        config = pick["config"]
        runs = sorted(_seed_runs(done, config), key=lambda r: r.config.seed)
        penalised = config.penalty != "none"
        row = dict(data=config.data, variant=config.variant, model=config.model,
                   optimizer=config.optimizer, lr=config.lr,
                   strength=config.strength if penalised else 0.0,
                   strength_layer2=config.strength * config.strength_ratio if penalised
                   else 0.0,
                   lr_interior=pick["lr_interior"], strength_interior=pick["strength_interior"],
                   beats_unpenalised_on_val=pick["beats_unpenalised"],
                   reference=bool(pick.get("reference", False)),
                   seeds=len(runs), seed_list=[r.config.seed for r in runs],
                   weights_layer1=runs[0].metrics["weights_layer1"],
                   weights_layer2=runs[0].metrics["weights_layer2"],
                   config=config.to_dict())
        for key, name in METRICS.items():
            values = np.array([np.nan if r.metrics.get(key) is None else r.metrics[key]
                               for r in runs], dtype=np.float64)
            row[name + "_mean"] = None if np.isnan(values).all() else float(np.nanmean(values))
            row[name + "_sd"] = (float(np.nanstd(values, ddof=1))
                                 if len(values) > 1 and not np.isnan(values).any() else 0.0)
        rows.append(row)
    return rows


def sweep_points(done: dict) -> list[dict]:
    """Every seed-0 run of a penalised model (the strength searches), sorted by strength."""
    points = []
    for config, result in done.items():
        if config.seed != 0 or config.penalty == "none":
            continue
        m = result.metrics
        points.append(dict(data=config.data, variant=config.variant, model=config.model,
                           lr=config.lr, strength=config.strength,
                           strength_layer2=config.strength * config.strength_ratio,
                           val_accuracy=m["val_acc"], test_accuracy=m["test_acc"],
                           distinct_layer1=m["distinct_layer1"],
                           distinct_layer2=m["distinct_layer2"],
                           weights_layer1=m["weights_layer1"],
                           weights_layer2=m["weights_layer2"],
                           locality=m.get("locality"), locality_null=m.get("locality_null"),
                           shift_score=m.get("shift_score")))
    return sorted(points, key=lambda p: (p["data"], p["variant"], p["model"], p["strength"]))


def machine_note() -> str:
    return f"{platform.machine()}, {platform.system()}, torch {torch.__version__}"


def _pm(row, name, fmt) -> str:
    mean = row[name + "_mean"]
    if mean is None:
        return ""
    text = fmt.format(mean)
    return text + (" ± " + fmt.format(row[name + "_sd"]) if row["seeds"] > 1 else "")


def _flag(value) -> str:
    return "" if value is None else ("yes" if value else "**edge**")


def markdown_table(rows: list[dict], *, meta: dict) -> str:
    """The Markdown table of every row (``networks/results/table.md``)."""
    lines = [
        "| data | variant | model | lr | strength (layer 1) | interior pick | "
        "beats strength 0 (val) | test accuracy | distinct values, layer 1 | layer 2 | "
        "locality (random order) | shifted copies | prox ms/step |",
        "|---|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        strength = f"{row['strength']:g}" if row["strength"] else ""
        interior = "/".join(_flag(row[k]) for k in ("lr_interior", "strength_interior")
                            if row[k] is not None) or "published recipe"
        beats = "" if row["beats_unpenalised_on_val"] is None else (
            "yes" if row["beats_unpenalised_on_val"] else "no")
        local = _pm(row, "locality", "{:.2f}")
        if local:
            local += f" ({row['locality_null_mean']:.2f})"
        distinct1 = _pm(row, "distinct_layer1", "{:.0f}")
        lines.append(
            f"| {row['data']} | {row['variant']} | {row['model']} | {row['lr']:g} | "
            f"{strength} | {interior} | {beats} | {_pm(row, 'test_accuracy', '{:.3f}')} | "
            f"{distinct1} / {row['weights_layer1']} | "
            f"{_pm(row, 'distinct_layer2', '{:.0f}')} | {local} | "
            f"{_pm(row, 'shift_score', '{:.2f}')} | "
            + (f"{row['penalty_ms_per_step_mean']:.1f} (isolated "
               f"{row['isolated_prox_ms_mean']:.1f})" if row["penalty_ms_per_step_mean"]
               else "") + " |")
    return "\n".join(lines) + "\n"


def timed_table(spec: TableSpec, *, command: str, progress: bool = True, on_progress=None):
    """``run_table`` plus the meta dict, rows and sweep."""
    start = time.perf_counter()
    done, picks = run_table(spec, progress=progress, on_progress=on_progress)
    rows = summarise(done, picks)
    meta = dict(command=command, wall_seconds=time.perf_counter() - start,
                machine=machine_note(), spec=spec.to_dict(), runs=len(done))
    return done, picks, rows, sweep_points(done), meta


ADAM_LR_GRID = (0.001, 0.003, 0.01)
#: Adam's lr is about 300 times smaller than SGD's picks, so its strengths are larger
#: for the same lam = lr * strength.
ADAM_STRENGTH_GRID = (0.25, 0.5, 1.0, 2.0)


def adam_spec(*, epochs1d: int = 20, seeds: int = 5) -> TableSpec:
    """The alternative optimizer: Adam (cosine decay) on shuffled MNIST-1D, for FC, FC+WSR
    and the median-drift control, selected the same way (``python -m networks table
    --adam``, a few minutes)."""
    base = RunConfig(data="mnist1d", variant="shuffled", epochs=epochs1d, channels=(4, 8),
                     strength_ratio=0.1, optimizer="adam")
    return TableSpec([Block(base, ("fc", "fc_wsr", "fc_median"), ADAM_LR_GRID,
                            ADAM_STRENGTH_GRID)], seeds, notes=dict(optimizer="adam"))


def quick_spec(*, seeds: int = 2) -> TableSpec:
    """A tiny table on the 8x8 digits (one channel, one epoch): checks the pipeline only."""
    base = RunConfig(data="digits8", variant="shuffled", epochs=1, channels=(1, 1),
                     snapshots=4, strength_ratio=0.1)
    return TableSpec([Block(base, ("fc", "fc_wsr", "fc_l1", "cnn"), (0.03, 0.1),
                            (1e-3, 1e-2))], seeds)
