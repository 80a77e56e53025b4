"""``gannet eval cas``: the Classification Accuracy Score of a conditional run (added to
``gannet eval`` by :mod:`gannet.commands.evaluate`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gannet.commands import add_raw_argument, add_truncation_argument
from gannet.config.ranges import MAX_INT
from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes


def add_cas_parser(metrics: argparse._SubParsersAction) -> None:
    p = metrics.add_parser(
        "cas",
        help="Classification Accuracy Score: a classifier trained on G's samples only",
        description="Classification Accuracy Score (Ravuri & Vinyals, 2019) of a conditional "
        "run: gannet's classifier is trained on the run's samples only (the same number of "
        "every class) and its accuracy on the real test set is reported beside the same "
        "classifier trained on as many real training images (cached per dataset, number "
        "and seed). Writes RUN/eval/cas-<classifier>.json.",
    )
    p.add_argument("run", help="run folder of a conditional run (model.conditional = true)")
    p.add_argument(
        "--samples",
        type=int,
        default=0,
        help="generated (and real) training images (default: the size of the real training "
        "split), split evenly over the classes",
    )
    p.add_argument("--seed", type=int, default=0, help="noise, subset and training seed")
    p.add_argument("--epochs", type=int, default=0, help="classifier epochs (default: recipe's)")
    p.add_argument("--checkpoint", help="a snapshot to evaluate instead of the latest checkpoint")
    add_raw_argument(p)
    add_truncation_argument(p)
    p.add_argument("--data-dir", help="folder holding the dataset files")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: PyTorch's)")
    p.add_argument("--no-cache", action="store_true", help="retrain the real-data reference")
    p.add_argument("--out", help="JSON result file (default: RUN/eval/cas-<classifier>.json)")
    p.set_defaults(handler=_cas)


def _cas(args: argparse.Namespace) -> int:
    from gannet.config import DataConfig
    from gannet.data import load_dataset
    from gannet.files.rundir import refuse_run_file
    from gannet.metrics.base import METRICS
    from gannet.metrics.cas import classifier_name
    from gannet.trained.memory import check_samples_fit
    from gannet.trained.run import load_run
    from gannet.trained.synthset import sample_balanced
    from gannet.trained.truncation import with_truncation

    if args.samples < 0:
        raise GannetError(
            f"--samples must be at least 1 (0 = the training split's size), got {args.samples}"
        )
    if args.epochs < 0:
        raise GannetError(f"--epochs must be at least 1 (0 = the recipe's), got {args.epochs}")
    if not 0 <= args.threads <= 1024:
        raise GannetError(
            f"--threads must be from 0 (PyTorch's default) to 1024, got {args.threads}"
        )
    if not 0 <= args.seed <= MAX_INT:
        raise GannetError(f"--seed must be an integer from 0 to 2**63 - 1, got {args.seed}")
    run = with_truncation(
        load_run(args.run, checkpoint=args.checkpoint, ema=not args.raw), args.truncation
    )
    one, _ = sample_balanced(run, 1, args.seed)  # unconditional: refused before loading data
    check_samples_fit(args.samples, one[0].numel(), "--samples")
    cfg = run.config.data
    data = load_dataset(
        DataConfig(**{**cfg.__dict__, "subset": 0, "data_dir": args.data_dir or cfg.data_dir})
    )
    if data.num_classes and data.num_classes != run.num_classes:
        raise GannetError(
            f"run {str(run.path)!r} has {run.num_classes} classes but its dataset has "
            f"{data.num_classes}; evaluate it on the data it was trained on"
        )
    if args.out:
        out = Path(args.out)
    else:
        stem = f"cas-{classifier_name(data.name)}"
        if args.checkpoint:
            stem += f"-{Path(args.checkpoint).stem}"
        out = run.path / "eval" / f"{stem}{'-raw' if args.raw else ''}.json"
    refuse_run_file(out, run.path, "the CAS result")
    if out.is_dir():
        raise GannetError(f"--out {str(out)!r} is a folder; give a .json file path")
    cas = METRICS.get("cas")
    result = cas(
        lambda y, seed: run.sample(len(y), seed=seed, labels=y),
        data,
        samples=args.samples,
        seed=args.seed,
        epochs=args.epochs,
        threads=args.threads,
        cache=not args.no_cache,
    )
    record = result.to_dict()
    record.update(
        checkpoint=str(run.checkpoint),
        step=run.step,
        weights="EMA" if run.uses_ema else "raw",
        truncation=args.truncation,
    )
    print(result.summary())
    atomic_write_bytes(out, (json.dumps(record, indent=2) + "\n").encode())
    print(f"wrote {out}")
    return 0
