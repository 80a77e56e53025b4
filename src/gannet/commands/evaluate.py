"""``gannet eval ...``: evaluation of a run (or of any array of samples)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from gannet.cli import command
from gannet.config import DataConfig
from gannet.data import Dataset, load_dataset
from gannet.errors import GannetError
from gannet.io import atomic_write_bytes


@command("eval")
def _eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a run", description="Evaluate a trained run.")
    metrics = p.add_subparsers(dest="metric", metavar="METRIC")
    metrics.required = True
    pz = metrics.add_parser(
        "parzen",
        help="Parzen-window log-likelihood (the paper's Table 1 protocol)",
        description="Draw samples from the run's generator, fit an isotropic Gaussian Parzen "
        "window on them, choose sigma on validation rows, and report the mean test "
        "log-likelihood with its standard error. Writes RUN/eval/parzen.json.",
    )
    pz.add_argument("run", nargs="?", help="run folder (or use --samples-file)")
    pz.add_argument("--samples", type=int, default=10000, help="samples drawn (default 10000)")
    pz.add_argument(
        "--sigmas",
        type=float,
        nargs="+",
        default=None,
        help="sigma grid (default: 10 values log-spaced from 0.1 to 1.0)",
    )
    pz.add_argument(
        "--validation",
        default="1000",
        help="validation rows used to choose sigma: a number (default 1000, the first rows of "
        "the validation split) or 'all'",
    )
    pz.add_argument(
        "--split", choices=["test", "validation"], default="test", help="split to report on"
    )
    pz.add_argument("--seed", type=int, default=0, help="noise seed for the samples (default 0)")
    pz.add_argument("--checkpoint", help="a snapshot to evaluate instead of the latest checkpoint")
    pz.add_argument("--samples-file", help="score these samples (.npz, values in [0, 1]) instead")
    pz.add_argument("--data", help="dataset for --samples-file (e.g. mnist)")
    pz.add_argument("--data-dir", help="folder holding the dataset files")
    pz.add_argument("--out", help="JSON result file (default: RUN/eval/parzen.json)")
    pz.set_defaults(handler=_parzen)


def _validation_rows(spec: str, data: Dataset) -> torch.Tensor:
    if data.validation is None or len(data.validation) == 0:
        raise GannetError(
            f"dataset {data.name!r} has no validation split to choose sigma on; "
            "set data.validation_size > 0"
        )
    if spec == "all":
        return data.validation
    try:
        n = int(spec)
    except ValueError:
        raise GannetError(f"--validation must be a number or 'all', got {spec!r}") from None
    if n < 1:
        raise GannetError("--validation must be at least 1")
    return data.validation[:n]


def _parzen(args: argparse.Namespace) -> int:
    from gannet.metrics.parzen import load_samples_npz, parzen_evaluate
    from gannet.run import load_run

    if args.samples < 1:
        raise GannetError("--samples must be at least 1")
    checkpoint: str | None = None
    run_dir: Path | None = None
    if args.samples_file:
        if args.run:
            raise GannetError("give either a RUN or --samples-file, not both")
        if not args.data:
            raise GannetError("--samples-file needs --data NAME (e.g. --data mnist)")
        data_cfg = DataConfig(name=args.data, data_dir=args.data_dir or "")
        samples = load_samples_npz(args.samples_file)
        label = Path(args.samples_file).name
    elif args.run:
        run = load_run(args.run, checkpoint=args.checkpoint)
        run_dir = run.path
        data_cfg = run.config.data
        if args.data_dir:
            data_cfg = DataConfig(**{**data_cfg.__dict__, "data_dir": args.data_dir})
        samples = run.sample(args.samples, seed=args.seed)
        checkpoint = str(run.checkpoint)
        label = f"gannet (epoch {run.epoch}, step {run.step})"
    else:
        raise GannetError("give a RUN folder, or --samples-file FILE.npz --data NAME")
    data = load_dataset(DataConfig(**{**data_cfg.__dict__, "subset": 0}))
    validation = _validation_rows(args.validation, data)
    reported = data.test if args.split == "test" else data.validation
    if reported is None:
        raise GannetError(f"dataset {data.name!r} has no {args.split} split")
    result = parzen_evaluate(
        samples,
        validation,
        reported,
        sigmas=args.sigmas,
        dataset=data.name,
        seed=args.seed if not args.samples_file else None,
        checkpoint=checkpoint,
    )
    result.extra.update(split=args.split, source=label)
    print(result.table_line(label))
    if result.sigma_at_grid_edge:
        print("note: the chosen sigma is at the edge of the grid; widen it with --sigmas")
    if args.out:
        out = Path(args.out)
    elif run_dir is not None:
        stem = "parzen" if not args.checkpoint else f"parzen-{Path(args.checkpoint).stem}"
        out = run_dir / "eval" / f"{stem}.json"
    else:
        out = None
    if out is not None:
        atomic_write_bytes(out, (json.dumps(result.to_dict(), indent=2) + "\n").encode())
        print(f"wrote {out}")
    return 0
