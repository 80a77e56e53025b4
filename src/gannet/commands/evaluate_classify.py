"""``gannet eval classify RUN``: a semi-supervised run's discriminator scored as a classifier
on the real test split (Salimans et al. 2016); writes RUN/eval/classify.json."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gannet.config import DataConfig
from gannet.data import load_dataset
from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes
from gannet.game.losses import SEMI_SUPERVISED


def add_classify_parser(metrics: argparse._SubParsersAction) -> None:
    p = metrics.add_parser(
        "classify",
        help="test error of a semi-supervised run's D as a classifier",
        description="Score the discriminator of a semi-supervised run (loss.name = "
        "'semi-supervised') as a classifier: the share of the real test split whose largest "
        "class logit is not its label. Writes RUN/eval/classify.json.",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--checkpoint", help="a snapshot to evaluate instead of the latest checkpoint")
    p.add_argument(
        "--raw",
        action="store_true",
        help="score D's own weights, not their moving average (runs with train.d_ema > 0)",
    )
    p.add_argument("--data-dir", help="folder holding the dataset files")
    p.add_argument("--out", help="JSON result file (default: RUN/eval/classify.json)")
    p.set_defaults(handler=_classify)


def _classify(args: argparse.Namespace) -> int:
    from gannet.metrics.classify import classification_error
    from gannet.trained.run import load_run

    t0 = time.perf_counter()
    run = load_run(args.run, checkpoint=args.checkpoint)
    config = run.config
    if config.loss.name != SEMI_SUPERVISED:
        raise GannetError(
            f"run {str(run.path)!r} has loss.name={config.loss.name!r}: its D is not a "
            f"classifier; eval classify scores runs trained with loss.name={SEMI_SUPERVISED!r}"
        )
    data_cfg = config.data
    overrides = {"subset": 0, "data_dir": args.data_dir or data_cfg.data_dir}
    data = load_dataset(DataConfig(**{**data_cfg.__dict__, **overrides}))
    if data.test is None or data.test_labels is None or len(data.test) == 0:
        raise GannetError(f"dataset {data.name!r} has no labelled test split to score D on")
    averaged = run.discriminator_ema is not None and not args.raw
    model = run.discriminator_ema if averaged else run.discriminator
    assert model is not None
    result = classification_error(model, data.test, data.test_labels)
    out = Path(args.out) if args.out else run.path / "eval" / _stem(args.checkpoint, args.raw)
    record = {
        **result.to_dict(),
        "dataset": data.name,
        "labels": config.data.labels,
        "seed": config.train.seed,
        "weights": "average" if averaged else "raw",
        "step": run.step,
        "epoch": run.epoch,
        "checkpoint": str(run.checkpoint),
        "seconds": time.perf_counter() - t0,
    }
    print(
        f"{run.path} (epoch {run.epoch}, step {run.step}, {config.data.labels} labels, "
        f"D's {'averaged' if averaged else 'own'} weights): "
        f"test error {100 * result.error:.2f} % ({result.errors} of {result.n})"
    )
    atomic_write_bytes(out, (json.dumps(record, indent=2) + "\n").encode())
    print(f"wrote {out}")
    return 0


def _stem(checkpoint: str | None, raw: bool) -> str:
    name = "classify" if not checkpoint else f"classify-{Path(checkpoint).stem}"
    return f"{name}-raw.json" if raw else f"{name}.json"
