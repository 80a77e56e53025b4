"""The ``gannet`` command line. Each command is a thin layer over the Python API.

Bad input (config, data, checkpoint, run folder) prints one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gannet.errors import GannetError

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {}


def command(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a function that adds one sub-command's parser."""

    def add(fn: Callable[..., None]) -> Callable[..., None]:
        COMMANDS[name] = fn
        return fn

    return add


# ---------------------------------------------------------------------- train


@command("train")
def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a GAN from a TOML config, or resume a run",
        description="Train a GAN by Algorithm 1. Writes a run folder with the resolved config, "
        "metrics.jsonl, a sample grid per epoch, curves.png and checkpoints.",
    )
    p.add_argument("config", nargs="?", help="TOML config file (e.g. configs/mnist-paper.toml)")
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
    from gannet.trainer import Trainer

    overrides = list(args.overrides)
    if args.data_dir:
        overrides.append(f"data.data_dir={json.dumps(args.data_dir)}")
    if args.resume:
        if args.config or args.out:
            raise GannetError("--resume RUN takes no CONFIG and no --out: the run has both")
        trainer = Trainer.resume(args.resume, overrides)
    else:
        if not args.config:
            raise GannetError("give a config file (e.g. configs/mnist-paper.toml) or --resume RUN")
        config = Config.load(args.config, overrides)
        trainer = Trainer.create(config, args.out)
    run_dir = trainer.fit()
    print(f"run directory: {run_dir}")
    return 0


# ---------------------------------------------------------------------- sample


@command("sample")
def _sample_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a run's generator",
        description="Draw samples from a trained generator: a PNG grid, or raw samples in "
        "[0, 1] as .npz (key 'samples'; conditional runs also 'labels').",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", required=True, help="FILE.png (a grid) or FILE.npz (raw samples)")
    p.add_argument("--seed", type=int, default=None, help="noise seed (default: from the run)")
    p.add_argument("--checkpoint", help="a snapshot to use instead of the latest checkpoint")
    p.add_argument(
        "--class",
        dest="label",
        type=int,
        default=None,
        metavar="C",
        help="conditional runs: draw every sample from class C (default: uniform classes)",
    )
    p.set_defaults(handler=_sample)


def _sample(args: argparse.Namespace) -> int:
    import numpy as np

    from gannet.io import atomic_write
    from gannet.plotting import save_samples
    from gannet.run import load_run

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npz"):
        raise GannetError(f"--out {args.out!r} must end in .png (a grid) or .npz (raw samples)")
    if args.n < 1:
        raise GannetError("--n must be at least 1")
    run = load_run(args.run, checkpoint=args.checkpoint)
    samples, labels = run.sample_labelled(args.n, seed=args.seed, labels=args.label)
    if out.suffix.lower() == ".png":
        save_samples(samples, out, labels=labels)
    else:
        array = samples.numpy()
        if labels is None:
            atomic_write(out, lambda f: np.savez_compressed(f, samples=array))
        else:
            ys = labels.numpy()
            atomic_write(out, lambda f: np.savez_compressed(f, samples=array, labels=ys))
    which = f" of class {args.label}" if args.label is not None else ""
    print(f"wrote {args.n} samples{which} to {out}")
    return 0


# ---------------------------------------------------------------------- info


@command("info")
def _info_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info", help="describe a run", description="Status, config and last metrics of a run."
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=_info)


def _info(args: argparse.Namespace) -> int:
    from gannet.config import Config
    from gannet.run import CONFIG, METRICS, read_metrics, read_status, require_run_dir

    run_dir = require_run_dir(args.run)
    status = read_status(run_dir)
    config = Config.load(run_dir / CONFIG)
    metrics = read_metrics(run_dir / METRICS)
    last = metrics[-1] if metrics else {}
    evals = {p.stem: json.loads(p.read_text()) for p in sorted((run_dir / "eval").glob("*.json"))}
    if args.json:
        print(
            json.dumps(
                {"status": status, "config": config.to_dict(), "last_metrics": last, "eval": evals},
                indent=2,
            )
        )
        return 0
    c = config
    print(f"run          {run_dir}")
    print(f"status       {status.get('status')} (updated {status.get('updated')})")
    print(
        f"progress     epoch {status.get('epoch')}, step {status.get('step')}, "
        f"{status.get('elapsed_seconds', 0):.0f} s of training on {status.get('device')}"
    )
    print(
        f"data         {c.data.name} ({status.get('train_examples')} examples from "
        f"{status.get('data_source')})"
    )
    print(
        f"models       G {c.model.generator}, D {c.model.discriminator}, z {c.model.z_dim} "
        f"{c.model.noise}"
        + (f", conditional (D by {c.model.d_conditioning})" if c.model.conditional else "")
    )
    print(
        f"training     {c.train.schedule}, k={c.train.k}, batch {c.train.batch_size}, loss "
        f"{c.loss.name}, {c.optim.name} lr {c.optim.lr}, seed {c.train.seed}"
    )
    if last:
        print(
            f"last metrics D {last['d_loss']:.4f}  G {last['g_loss']:.4f}  V {last['value']:.4f}"
            f"  D(x) {last['d_real']:.3f}  D(G(z)) {last['d_fake']:.3f}  "
            f"{last['images_per_s']:.0f} img/s"
        )
    for name, result in evals.items():
        summary = ", ".join(f"{k}={v}" for k, v in result.items() if isinstance(v, int | float))
        print(f"eval {name:12s} {summary}")
    return 0


# ---------------------------------------------------------------------- datasets


@command("datasets")
def _datasets_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datasets",
        help="list datasets and where they are found locally",
        description="Every registered dataset, and the folder its files are found in (or "
        "'missing' and how to get them).",
    )
    p.add_argument("--data-dir", metavar="DIR", help="also look in this folder")
    p.set_defaults(handler=_datasets)


def _datasets(args: argparse.Namespace) -> int:
    from gannet.config import DataConfig
    from gannet.data import DATASETS

    for name in DATASETS.names():
        entry = DATASETS.get(name)
        cfg = DataConfig(name=name, data_dir=args.data_dir or "")
        try:
            where = entry.locate(cfg)
        except GannetError as e:
            where = None
            note = str(e)
        else:
            note = ""
        shown = where if where else f"missing{': ' + note if note else ''}"
        print(f"{name:15s} {shown:50s} {entry.description}")
    return 0


# ---------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    from gannet import __version__

    parser = argparse.ArgumentParser(
        prog="gannet",
        description="Generative Adversarial Nets (Goodfellow et al., 2014): train, sample, "
        "evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"gannet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _load_plugins()
    for add in COMMANDS.values():
        add(sub)
    return parser


def _load_plugins() -> None:
    """Import modules that add sub-commands (evaluation, figures, ...)."""
    import importlib

    for module in ("gannet.commands",):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise


EXIT_BROKEN_PIPE = 141
"""Exit status when stdout's reader went away (e.g. ``| head -1``): 128 + SIGPIPE, as a
shell reports a command killed by SIGPIPE."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _run(argv)
        finally:  # inside the try: a closed pipe shows up here, not at interpreter exit
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader of stdout has gone (e.g. `gannet ... | head -1`): stop quietly. Point
        # stdout at devnull so Python's own flush at exit does not fail again (the recipe
        # of the Python docs, "Note on SIGPIPE" in the signal module).
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except GannetError as e:
        print(f"gannet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gannet: interrupted", file=sys.stderr)
        return 130


def _stdout_to_devnull() -> None:
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a non-file (tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


if __name__ == "__main__":  # run as `python -m gannet.cli`: use the importable module's
    from gannet.cli import main as _main  # registry, which the command modules fill

    sys.exit(_main())
