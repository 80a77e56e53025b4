"""``gannet reproduce table1``: the paper's Table 1, trained, scored and tabulated."""

from __future__ import annotations

import argparse
from pathlib import Path

from gannet.config import Config
from gannet.errors import GannetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="reproduce an experiment of the paper (table1)",
        description="Reproduce an experiment of the paper.",
    )
    what = p.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    what.required = True
    t = what.add_parser(
        "table1",
        help="Table 1: Parzen log-likelihood of the paper's MNIST GAN, both schedules",
        description="Train the paper's MNIST model with each schedule, score it with the "
        "Parzen-window protocol every --eval-every epochs, and write OUT/table1.md (the "
        "paper's rows beside ours, with the epoch and training time of each score), "
        "table1.json, table1.png and scores.jsonl. Run the same command again to continue "
        "after an interruption.",
    )
    t.add_argument("--out", required=True, help="folder for the runs and the table")
    t.add_argument(
        "--config",
        help="base config TOML (default: the paper's setup, configs/mnist-paper.toml)",
    )
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (repeatable)",
    )
    t.add_argument("--name", default="paper", help="label of this recipe (default: paper)")
    t.add_argument(
        "--datasets",
        nargs="+",
        default=["mnist"],
        choices=["mnist", "fashion-mnist"],
        help="table columns (default: mnist; fashion-mnist stands in for the non-public TFD)",
    )
    t.add_argument(
        "--schedules",
        nargs="+",
        default=["alternating", "simultaneous"],
        choices=["alternating", "simultaneous"],
    )
    t.add_argument("--epochs", type=int, default=100, help="epochs per run (default 100)")
    t.add_argument("--eval-every", type=int, default=5, help="epochs between scores (default 5)")
    t.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="stop each run after this much training time (default: no limit)",
    )
    t.add_argument("--samples", type=int, default=10000, help="samples per score (default 10000)")
    t.add_argument("--data-dir", default="", help="folder holding the dataset files")
    t.add_argument(
        "--average",
        type=int,
        nargs="+",
        default=[],
        metavar="N",
        help="also score G averaged uniformly over the last N epochs' snapshots (a row "
        "per N; keeps a snapshot every epoch, about 25 MB each for the paper's model)",
    )
    t.set_defaults(handler=_table1)


def _table1(args: argparse.Namespace) -> int:
    from gannet.paper.reproduce import Table1Settings, reproduce_table1

    if args.samples < 1:
        raise GannetError("--samples must be at least 1")
    config = (
        Config.load(args.config, args.set) if args.config else Config().with_overrides(args.set)
    )
    settings = Table1Settings(
        out=Path(args.out),
        datasets=args.datasets,
        schedules=args.schedules,
        config=config,
        name=args.name,
        epochs=args.epochs,
        eval_every=args.eval_every,
        minutes=args.minutes,
        samples=args.samples,
        data_dir=args.data_dir,
        average=args.average,
    )
    reproduce_table1(settings)
    print((settings.out / "table1.md").read_text(), end="")
    print(f"wrote {settings.out / 'table1.md'}")
    return 0
