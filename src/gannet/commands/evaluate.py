"""``gannet eval ...``: evaluation of a run (or of any array of samples)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from gannet.commands import add_raw_argument
from gannet.commands.evaluate_cas import add_cas_parser
from gannet.commands.evaluate_classify import add_classify_parser
from gannet.commands.evaluate_features import add_feature_parsers
from gannet.commands.evaluate_selftest import add_selftest_parser
from gannet.config import DataConfig
from gannet.data import Dataset, load_dataset
from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from gannet.metrics.classifier import DatasetClassifier


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    add_raw_argument(pz)
    pz.add_argument("--samples-file", help="score these samples (.npz, values in [0, 1]) instead")
    pz.add_argument("--data", help="dataset for --samples-file (e.g. mnist)")
    pz.add_argument("--data-dir", help="folder holding the dataset files")
    pz.add_argument("--out", help="JSON result file (default: RUN/eval/parzen.json)")
    pz.set_defaults(handler=_parzen)
    _add_modes_parser(metrics)
    add_feature_parsers(metrics)
    add_classify_parser(metrics)
    add_cas_parser(metrics)
    add_selftest_parser(metrics)


def _validation_rows(spec: str, data: Dataset) -> torch.Tensor:
    if data.validation is None or len(data.validation) == 0:
        raise GannetError(
            f"dataset {data.name!r} has no validation split to choose sigma on; "
            "set data.validation_size > 0"
        )
    validation = data.as_float("validation")
    assert validation is not None
    if spec == "all":
        return validation
    try:
        n = int(spec)
    except ValueError:
        raise GannetError(f"--validation must be a number or 'all', got {spec!r}") from None
    if n < 1:
        raise GannetError("--validation must be at least 1")
    return validation[:n]


def _parzen(args: argparse.Namespace) -> int:
    from gannet.files.samplefile import load_samples_npz
    from gannet.metrics.parzen import parzen_evaluate
    from gannet.trained.memory import check_samples_fit
    from gannet.trained.run import load_run

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
        run = load_run(args.run, checkpoint=args.checkpoint, ema=not args.raw)
        run_dir = run.path
        data_cfg = run.config.data
        if args.data_dir:
            data_cfg = DataConfig(**{**data_cfg.__dict__, "data_dir": args.data_dir})
        check_samples_fit(args.samples, run.sample(1, seed=args.seed)[0].numel(), "--samples")
        samples = run.sample(args.samples, seed=args.seed)
        checkpoint = str(run.checkpoint)
        weights = "EMA" if run.uses_ema else "raw"
        label = f"gannet (epoch {run.epoch}, step {run.step}, {weights} weights)"
    else:
        raise GannetError("give a RUN folder, or --samples-file FILE.npz --data NAME")
    data = load_dataset(DataConfig(**{**data_cfg.__dict__, "subset": 0}))
    validation = _validation_rows(args.validation, data)
    reported = data.as_float("test" if args.split == "test" else "validation")
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
        if args.raw:
            stem += "-raw"
        out = run_dir / "eval" / f"{stem}.json"
    else:
        out = None
    if out is not None:
        atomic_write_bytes(out, (json.dumps(result.to_dict(), indent=2) + "\n").encode())
        print(f"wrote {out}")
    return 0


# ---------------------------------------------------------------------- modes


def _add_modes_parser(metrics: argparse._SubParsersAction) -> None:
    md = metrics.add_parser(
        "modes",
        help="mode coverage: modes of a 2-D mixture, or classes of MNIST / Fashion-MNIST",
        description="Count the modes a generator produces. A mixture-2d run: modes covered "
        "(high-quality samples within 3 std of a mode), the share of high-quality samples and "
        "KL(mode histogram || uniform). An mnist or fashion-mnist run: classes covered and "
        "KL(predicted-class histogram || uniform), labels from gannet's own classifier "
        "('gannet classifier train DATASET'). The same numbers for real test data are "
        "reported as a reference. Writes RUN/eval/modes.json.",
    )
    md.add_argument("run", nargs="?", help="run folder (or use --samples-file)")
    md.add_argument(
        "--samples",
        type=int,
        default=None,
        help="samples drawn (default 2500 for a 2-D mixture, as VEEGAN and PacGAN; 10000 for "
        "images)",
    )
    md.add_argument("--seed", type=int, default=0, help="noise seed for the samples (default 0)")
    md.add_argument("--checkpoint", help="a snapshot to evaluate instead of the latest checkpoint")
    add_raw_argument(md)
    md.add_argument("--samples-file", help="evaluate these samples (.npz, key 'samples') instead")
    md.add_argument("--data", help="dataset for --samples-file (mixture-2d, mnist, fashion-mnist)")
    md.add_argument(
        "--mixture", choices=["ring", "grid"], help="mixture of --data mixture-2d (default ring)"
    )
    md.add_argument("--data-dir", help="folder holding the dataset files")
    md.add_argument(
        "--min-count",
        type=int,
        help="mixtures: high-quality samples a mode needs (default: 1 per 2500 samples)",
    )
    md.add_argument(
        "--min-share",
        type=float,
        help="images: share of the samples a class needs (default: 0.1/K, 1%% for 10 classes)",
    )
    md.add_argument(
        "--train-classifier",
        action="store_true",
        help="train and cache the classifier first when it is missing (a few minutes)",
    )
    md.add_argument("--out", help="JSON result file (default: RUN/eval/modes.json)")
    md.set_defaults(handler=_modes)


def _classifier_for(name: str, data_dir: str, train: bool) -> DatasetClassifier:
    from gannet.metrics.classifier import (
        dataset_classifier,
        has_classifier,
        save_classifier,
        train_classifier,
    )

    if has_classifier(name) or not train:
        if not has_classifier(name):
            raise GannetError(
                f"gannet ships no {name} classifier and none is cached; train it with "
                f"'gannet classifier train {name}' (a few minutes on a CPU) or add "
                "--train-classifier"
            )
        return dataset_classifier(name)
    print(f"no {name} classifier cached; training it (--train-classifier) ...", flush=True)
    model, info = train_classifier(
        name,
        data_dir=data_dir,
        progress=lambda r: print(
            f"  epoch {r['epoch']}/{r['epochs']}: loss {r['loss']:.4f} ({r['seconds']:.0f} s)",
            flush=True,
        ),
    )
    print(f"  {info.summary()}; wrote {save_classifier(model, info)}")
    return dataset_classifier(name)


def _modes(args: argparse.Namespace) -> int:
    import time

    from gannet.files.samplefile import load_points_npz, load_samples_npz
    from gannet.metrics.classifier import SUPPORTED
    from gannet.metrics.modes import (
        LITERATURE_SAMPLES,
        classifier_mode_stats,
        mixture_mode_stats,
    )
    from gannet.trained.memory import check_samples_fit
    from gannet.trained.run import load_run

    if args.samples is not None and args.samples < 1:
        raise GannetError("--samples must be at least 1")
    if args.min_count is not None and args.min_count < 1:
        raise GannetError("--min-count must be at least 1")
    if args.min_share is not None and not 0 < args.min_share <= 1:
        raise GannetError("--min-share must be in (0, 1], e.g. 0.01")
    t0 = time.perf_counter()
    run = None
    if args.samples_file:
        if args.run:
            raise GannetError("give either a RUN or --samples-file, not both")
        if not args.data:
            raise GannetError("--samples-file needs --data NAME (e.g. --data mixture-2d)")
        if args.samples is not None:
            raise GannetError("--samples is for runs; --samples-file evaluates every row")
        data_cfg = DataConfig(
            name=args.data, data_dir=args.data_dir or "", mixture=args.mixture or "ring"
        )
        label = Path(args.samples_file).name
    elif args.run:
        if args.mixture or args.data:
            raise GannetError("--data and --mixture are for --samples-file; a run knows its data")
        run = load_run(args.run, checkpoint=args.checkpoint, ema=not args.raw)
        data_cfg = run.config.data
        if args.data_dir:
            data_cfg = DataConfig(**{**data_cfg.__dict__, "data_dir": args.data_dir})
        label = f"gannet (epoch {run.epoch}, step {run.step})"
    else:
        raise GannetError("give a RUN folder, or --samples-file FILE.npz --data NAME")
    name = data_cfg.name
    mixture = name == "mixture-2d"
    if not mixture and name not in SUPPORTED:
        raise GannetError(
            f"mode metrics need a mixture-2d run or an image run on {' or '.join(SUPPORTED)}; "
            f"{name!r} is neither"
        )
    if mixture and args.min_share is not None:
        raise GannetError("--min-share is for image data; mixtures take --min-count")
    if not mixture and args.min_count is not None:
        raise GannetError("--min-count is for mixtures; image data takes --min-share")
    found = None
    if not mixture:  # before drawing samples: fail fast when the classifier is missing
        found = _classifier_for(name, data_cfg.data_dir, args.train_classifier)
    if run is not None:
        n = args.samples or (LITERATURE_SAMPLES if mixture else 10000)
        check_samples_fit(n, run.sample(1, seed=args.seed)[0].numel(), "--samples")
        samples = run.sample(n, seed=args.seed)
    elif mixture:
        samples = load_points_npz(args.samples_file)
    else:
        samples = load_samples_npz(args.samples_file)
    data = load_dataset(DataConfig(**{**data_cfg.__dict__, "subset": 0}))
    if data.test is None:
        raise GannetError(f"dataset {name!r} has no test split to compare with")
    rows = min(len(samples), len(data.test))
    result: dict[str, object]
    if mixture:
        kind = data_cfg.mixture
        stats = mixture_mode_stats(samples, kind, min_count=args.min_count)
        ref = mixture_mode_stats(data.test[:rows], kind)
        what = f"{name} {kind}"
        result = {"metric": "modes-2d", **stats.to_dict(), "dataset": name, "mixture": kind}
        needs = f"a mode needs >= {stats.min_count} high-quality samples"
    else:
        assert found is not None
        classifier = found.model
        labels = None if data.test_labels is None else data.test_labels[:rows]
        stats = classifier_mode_stats(samples, classifier, min_share=args.min_share)
        ref = classifier_mode_stats(
            data.test[:rows], classifier, min_share=args.min_share, labels=labels
        )
        what = name
        result = {
            "metric": "modes-classifier",
            **stats.to_dict(),
            "dataset": name,
            "classifier": found.describe(),
        }
        needs = f"a class needs >= {stats.min_count} samples"
    result.update(
        source=label,
        seed=args.seed if run is not None else None,
        checkpoint=str(run.checkpoint) if run is not None else None,
        reference={"split": "test", **ref.to_dict()},
        seconds=time.perf_counter() - t0,
    )
    width = max(len(label), len("real test data"))
    print(f"{label:{width}s}  {what}  {stats.summary()}  ({stats.n_samples} samples, {needs})")
    print(f"{'real test data':{width}s}  {what}  {ref.summary()}  ({ref.n_samples} rows)")
    if args.out:
        out: Path | None = Path(args.out)
    elif run is not None:
        stem = "modes" if not args.checkpoint else f"modes-{Path(args.checkpoint).stem}"
        out = run.path / "eval" / f"{stem}.json"
    else:
        out = None
    if out is not None:
        atomic_write_bytes(out, (json.dumps(result, indent=2) + "\n").encode())
        print(f"wrote {out}")
    return 0
