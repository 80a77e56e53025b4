"""``gannet train``: train a GAN from a TOML config, or resume a run."""

from __future__ import annotations

import argparse
import json

from gannet.errors import GannetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a GAN from a TOML config, or resume a run",
        description="Train a GAN by Algorithm 1. Writes a run folder with the resolved config, "
        "metrics.jsonl, a sample grid per epoch, curves.png and checkpoints.",
    )
    p.add_argument(
        "config",
        nargs="?",
        help="TOML config file, or a bundled config's name (e.g. mnist-paper; gannet configs)",
    )
    p.add_argument("--resume", metavar="RUN", help="continue this run exactly where it stopped")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (repeatable), e.g. --set train.epochs=300",
    )
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/NNNNN-<dataset>)")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the dataset files")
    p.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from gannet.config import Config
    from gannet.configfiles import find_config
    from gannet.training import resume_run, start_run

    overrides = list(args.overrides)
    if args.data_dir:
        overrides.append(f"data.data_dir={json.dumps(args.data_dir)}")
    if args.resume:
        if args.config or args.out:
            raise GannetError("--resume RUN takes no CONFIG and no --out: the run has both")
        trainer = resume_run(args.resume, overrides)
    else:
        if not args.config:
            raise GannetError("give a config file (e.g. configs/mnist-paper.toml) or --resume RUN")
        config = Config.load(find_config(args.config), overrides)
        trainer = start_run(config, args.out)
    trainer.fit()
    print(f"run directory: {trainer.run_dir}")
    return 0
