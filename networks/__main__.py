"""Command line: ``python -m networks run ...`` and ``python -m networks table``.

Examples::

    python -m networks run --variant shuffled --model fc_wsr --strength 0.03 --seeds 0 1 2
    python -m networks table                      # the whole table (a few minutes)
    python -m networks table --variants plain --models fc cnn --seeds 2 --epochs 2 \\
        --lr-grid 0.01 --out /tmp/t.json --markdown /tmp/t.md      # a tiny one
"""
from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from .data import VARIANTS
from .models import MODELS
from .results import DEFAULT_TABLE, RESULTS_DIR, save_results
from .table import (
    LR_GRID,
    STRENGTH_GRID,
    TableSpec,
    markdown_table,
    table_history_policy,
    timed_table,
)
from .training import OPTIMIZERS, RunConfig, run


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    defaults = RunConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--channels", type=int, nargs="+", default=list(defaults.channels),
                        help="channels per hidden layer (layer width = 64 x channels)")
    parser.add_argument("--readout", choices=("pool", "linear"), default=defaults.readout)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    parser.add_argument("--no-augment", action="store_true",
                        help="no torus-shift augmentation of the training images")
    parser.add_argument("--data-seed", type=int, default=defaults.data_seed)
    parser.add_argument("--threads", type=int, default=defaults.threads)


def _base_config(args) -> RunConfig:
    return RunConfig(epochs=args.epochs, batch_size=args.batch_size,
                     channels=tuple(args.channels), readout=args.readout,
                     optimizer=args.optimizer, augment=not args.no_augment,
                     data_seed=args.data_seed, threads=args.threads)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m networks", description=__doc__.split(
        "\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    one = commands.add_parser("run", help="train one configuration for one or more seeds")
    one.add_argument("--variant", choices=VARIANTS, default="shifted")
    one.add_argument("--model", choices=MODELS, default="fc_wsr")
    one.add_argument("--strength", type=float, default=0.03)
    one.add_argument("--lr", type=float, default=RunConfig().lr)
    one.add_argument("--seeds", type=int, nargs="+", default=[0])
    one.add_argument("--out", type=Path, default=RESULTS_DIR / "run.json")
    _add_training_options(one)

    table = commands.add_parser("table", help="the whole table: search on validation, "
                                              "seeds on test, JSON + Markdown")
    table.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    table.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    table.add_argument("--lr-grid", type=float, nargs="+", default=list(LR_GRID))
    table.add_argument("--strength-grid", type=float, nargs="+", default=list(STRENGTH_GRID))
    table.add_argument("--seeds", type=int, default=3, help="seeds per chosen configuration")
    table.add_argument("--out", type=Path, default=DEFAULT_TABLE)
    table.add_argument("--markdown", type=Path, default=RESULTS_DIR / "table.md")
    _add_training_options(table)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    command = "python -m networks " + shlex.join(argv)
    try:
        base = _base_config(args)
        if args.command == "run":
            configs = [replace(base, variant=args.variant, model=args.model,
                               strength=args.strength, lr=args.lr, seed=s)
                       for s in args.seeds]
            results = []
            for config in configs:
                results.append(run(config, progress=True))
                m = results[-1].metrics
                print(f"{config.label}: test accuracy {m['test_acc']:.3f}, "
                      f"{m['distinct_layer1']} distinct values in layer 1, "
                      f"conv-likeness {m['conv_score']:.2f} ({m['seconds']:.1f} s)")
            save_results(args.out, results, meta=dict(command=command))
            print(f"wrote {args.out}")
            return 0
        spec = TableSpec(variants=args.variants, models=args.models, lr_grid=args.lr_grid,
                         strength_grid=args.strength_grid, seeds=args.seeds, base=base)
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    runs, chosen, meta = timed_table(spec, command=command)
    save_results(args.out, runs, meta=meta, history_for=table_history_policy(chosen))
    text = markdown_table(meta["rows"], meta=meta)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text)
    print(text)
    print(f"wrote {args.out} and {args.markdown} ({meta['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
