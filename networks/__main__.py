"""Command line: ``python -m networks run ...`` and ``python -m networks table``.

Examples::

    python -m networks run --data mnist1d --variant shuffled --model fc_wsr --seed 7
    python -m networks table          # the whole table, 9-25 minutes on 2 shared cores
    python -m networks table --adam --out networks/results/table_adam.json

``run`` trains one cell (one configuration, one seed) with the hyperparameters the saved
table picked for that data set, variant and model (or the defaults if there is none;
then a model with a penalty needs ``--strength``, exit status 2 without it);
``--strength``, ``--lr`` and ``--epochs`` override them. Its last stdout line is a JSON
object with ``test_accuracy``, ``distinct_layer1`` and the other final measures.

``table`` writes ``networks/results/table.json`` (rows, sweep and the runs),
``table.md`` and ``sweep.png``; ``--quick`` runs a tiny version of it (for tests).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from .data import DATASETS
from .results import DEFAULT_TABLE, save_results
from .training import MODELS, RunConfig, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m networks",
                                     description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("run", help="train one cell and print its measures as JSON")
    one.add_argument("--data", choices=DATASETS, default="mnist14")
    one.add_argument("--variant", default="shuffled")
    one.add_argument("--model", choices=MODELS, default="fc_wsr")
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--strength", type=float, default=None)
    one.add_argument("--lr", type=float, default=None)
    one.add_argument("--epochs", type=int, default=None)
    one.add_argument("--table", type=Path, default=DEFAULT_TABLE,
                     help="take the hyperparameters this table picked (if it has the cell)")
    table = commands.add_parser("table", help="the whole table: search on validation, "
                                              "seeds on test; JSON, Markdown and the sweep")
    table.add_argument("--seeds", type=int, default=5)
    table.add_argument("--epochs14", type=int, default=None)
    table.add_argument("--epochs1d", type=int, default=None)
    table.add_argument("--quick", action="store_true",
                       help="a tiny table (8x8 digits, 1 epoch, 2 seeds) to check the pipeline")
    table.add_argument("--adam", action="store_true",
                       help="the alternative optimizer: Adam on shuffled MNIST-1D (fc, fc_wsr, "
                            "fc_median); write it beside the main table with --out")
    table.add_argument("--out", type=Path, default=DEFAULT_TABLE)
    return parser


def picked_config(table: Path, data: str, variant: str, model: str) -> RunConfig | None:
    """The configuration a saved table picked for a cell (None if it has none)."""
    try:
        rows = json.loads(Path(table).read_text()).get("rows", [])
    except (OSError, ValueError, AttributeError):
        return None
    for row in rows:
        if (row.get("data"), row.get("variant"), row.get("model")) == (data, variant, model):
            return RunConfig.from_dict(row["config"])
    return None


def _run_one(args, parser: argparse.ArgumentParser) -> int:
    config = picked_config(args.table, args.data, args.variant, args.model)
    if config is None:
        config = (RunConfig.reference(args.model, variant=args.variant)
                  if args.model in ("mlp_ref", "cnn_ref") else
                  RunConfig(data=args.data, variant=args.variant, model=args.model))
        # The default strength is 0: a penalised model would silently train unpenalised.
        if config.penalty != "none" and args.strength is None:
            parser.error(f"the table {str(args.table)!r} has no row for data {args.data!r}, "
                         f"variant {args.variant!r}, model {args.model!r}: pass --strength")
    changes = {k: getattr(args, k) for k in ("strength", "lr", "epochs")
               if getattr(args, k) is not None}
    config = replace(config, seed=args.seed, **changes)
    result = run(config, progress=True)
    out = dict(data=config.data, variant=config.variant, model=config.model,
               seed=config.seed, lr=config.lr, strength=config.strength,
               test_accuracy=result.metrics["test_acc"], **{
                   k: v for k, v in result.metrics.items() if k != "test_acc"})
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compression"]:  # k shared values vs clustering and sparsity
        from .compression import main as compression_main

        return compression_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    command = "python -m networks " + shlex.join(argv)
    try:
        if args.command == "run":
            return _run_one(args, parser)
        from .sweep_plot import filter_panels, plot_filters, plot_sweep
        from .table import adam_spec, default_spec, markdown_table, quick_spec, timed_table

        if args.quick:
            spec = quick_spec(seeds=args.seeds)
        elif args.adam:
            spec = adam_spec(seeds=args.seeds)
        else:
            sizes = {k: getattr(args, k) for k in ("epochs14", "epochs1d")
                     if getattr(args, k) is not None}
            spec = default_spec(seeds=args.seeds, **sizes)
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    done, picks, rows, sweep, meta = timed_table(spec, command=command)
    keep = {replace(p["config"], seed=0) for p in picks}
    save_results(args.out, list(done.values()), meta=meta, rows=rows, sweep=sweep,
                 history_for=lambda r: r.config.seed == 0 and (
                     r.config in keep or r.config.model == "fc_wsr"))
    text = markdown_table(rows, meta=meta)
    markdown = args.out.with_suffix(".md")
    markdown.write_text(text)
    # table.json -> sweep.png, filters.png; table_adam.json -> sweep_adam.png, ...
    figure = plot_sweep(sweep, args.out.with_name(args.out.stem.replace("table", "sweep")
                                                  + ".png"))
    filters = plot_filters(filter_panels(done, picks), args.out.with_name(
        args.out.stem.replace("table", "filters") + ".png"))
    print(text)
    print(f"wrote {args.out}, {markdown}, {figure} and {filters} "
          f"({meta['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
