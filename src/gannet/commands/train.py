"""``gannet train``: train a GAN from a TOML config, or resume a run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gannet.config import Config
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
    p.add_argument(
        "--init-from",
        metavar="RUN",
        help="start G, D and their EMA from a trained run's weights (or a checkpoint or "
        "snapshot file); optimizers fresh (train.init_from)",
    )
    p.add_argument(
        "--freeze-d",
        type=int,
        metavar="N",
        help="with --init-from: keep D's first N blocks fixed (FreezeD; train.freeze_d)",
    )
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the dataset files")
    p.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="train on N local processes (data parallel through torch.distributed; gloo on "
        "CPU, nccl on CUDA); train.batch_size stays the global batch",
    )
    p.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from gannet.training.launch import in_distributed_worker

    if args.nproc < 1:
        raise GannetError(f"--nproc must be at least 1, got {args.nproc}")
    if args.nproc > 1 and not in_distributed_worker():
        return _launch(args)
    if not in_distributed_worker():
        return _run(args)
    return _run_worker(args)


def _config(args: argparse.Namespace) -> tuple[Config | None, list[str]]:
    """The config to start (None when resuming) and the overrides, as the user gave them."""
    from gannet.config import Config
    from gannet.config.presets import find_config

    overrides = list(args.overrides)
    if args.data_dir:
        overrides.append(f"data.data_dir={json.dumps(args.data_dir)}")
    if args.init_from:
        overrides.append(f"train.init_from={json.dumps(args.init_from)}")
    if args.freeze_d is not None:
        overrides.append(f"train.freeze_d={args.freeze_d}")
    if args.resume:
        if args.config or args.out:
            raise GannetError("--resume RUN takes no CONFIG and no --out: the run has both")
        if args.init_from or args.freeze_d is not None:
            raise GannetError(
                "--resume RUN takes no --init-from or --freeze-d: the run keeps its own"
            )
        return None, overrides
    if not args.config:
        raise GannetError("give a config file (e.g. configs/mnist-paper.toml) or --resume RUN")
    return Config.load(find_config(args.config), overrides), overrides


def _run(args: argparse.Namespace) -> int:
    from gannet.training import resume_run, start_run

    config, overrides = _config(args)
    if config is None:
        trainer = resume_run(args.resume, overrides)
    else:
        trainer = start_run(config, args.out)
    trainer.fit()
    trainer.world.close()
    if trainer.world.is_main:
        print(f"run directory: {trainer.run_dir}")
    return 0


def _run_worker(args: argparse.Namespace) -> int:
    """One process of a distributed run: rank 0 reports bad input in one line, the other
    ranks (which meet the same input) exit with the same code silently; a collective that
    fails because another process died ends this one quietly (the launcher says which)."""
    from gannet.training.launch import WORKER_BAD_INPUT, WORKER_LOST_PEER, is_main_process

    try:
        return _run(args)
    except GannetError:
        if is_main_process():
            raise
        return WORKER_BAD_INPUT
    except RuntimeError:  # gloo/nccl: a peer process is gone
        return WORKER_LOST_PEER


def _launch(args: argparse.Namespace) -> int:
    """Check what can be checked here, then start ``--nproc`` processes."""
    from gannet.files.rundir import CONFIG, default_run_dir, require_run_dir
    from gannet.training.accumulate import micro_batches
    from gannet.training.distributed import World
    from gannet.training.launch import launch
    from gannet.training.validate import validate_config

    config, overrides = _config(args)
    if config is None:
        run_dir = str(require_run_dir(args.resume))
        config = Config.load(Path(run_dir) / CONFIG, overrides)
    else:
        run_dir = str(args.out or default_run_dir(config.data.name))
    validate_config(config)
    share = World(size=args.nproc).check_batch(config.train.batch_size)
    micro_batches(config.train.batch_gpu, share, args.nproc)
    argv = ["train", *([args.config] if args.config else [])]
    argv += ["--resume", run_dir] if args.resume else ["--out", run_dir]
    for item in args.overrides:
        argv += ["--set", item]
    if args.init_from:
        argv += ["--init-from", args.init_from]
    if args.freeze_d is not None:
        argv += ["--freeze-d", str(args.freeze_d)]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    return launch(args.nproc, argv, run_dir)
