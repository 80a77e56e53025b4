"""``gannet project``: invert images into a run's latent space (docs/projection.md)."""

from __future__ import annotations

import argparse
import math

from gannet.commands import add_raw_argument
from gannet.config.ranges import MAX_INT
from gannet.errors import GannetError

MAX_STEPS = 100_000
"""The most optimisation steps ``--steps`` accepts."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "project",
        help="find the latent whose generated image matches each given image",
        description="For each IMAGE, optimise G's input (z; for a StyleGAN run w+ and its "
        "noise images) with Adam so that G's image matches it: mean squared pixel error plus "
        "the distance in gannet's classifier features of the run's dataset when that is "
        "cached. Writes NAME.npz (the latent), NAME-reconstruction.png, NAME-progress.png "
        "(and NAME-progress.mp4 with the video extra) into --out, and prints each "
        "reconstruction's error. An image must have the run's mode (L or RGB) and size "
        "(--resize: centred crop to the run's aspect, then Lanczos). Conditional runs: the "
        "class is --class, or else the best-fitting class of the starting draws, held fixed.",
    )
    p.add_argument("run", help="run folder (from 'gannet train')")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG/JPEG files to project")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results")
    p.add_argument("--steps", type=int, default=500, help="optimisation steps (default 500)")
    p.add_argument("--lr", type=float, default=0.1, help="Adam's peak learning rate (0.1)")
    p.add_argument(
        "--feature-weight",
        type=float,
        default=0.1,
        help="weight of the classifier-feature term (default 0.1; 0 = pixels only)",
    )
    p.add_argument(
        "--noise-weight",
        type=float,
        default=1e5,
        help="StyleGAN: weight of the noise regulariser (the paper's 1e5)",
    )
    p.add_argument("--class", dest="label", type=int, default=None, help="conditional runs")
    p.add_argument("--resize", action="store_true", help="crop and resize other sizes")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting draws (0)")
    p.add_argument("--checkpoint", help="a snapshot to use instead of the latest checkpoint")
    add_raw_argument(p)
    p.set_defaults(handler=_project)


def _project(args: argparse.Namespace) -> int:
    from gannet.trained.projection import Settings, project_files
    from gannet.trained.run import load_run

    if not 1 <= args.steps <= MAX_STEPS:
        raise GannetError(f"--steps must be an integer from 1 to {MAX_STEPS}, got {args.steps}")
    if not 0 <= args.seed <= MAX_INT:
        raise GannetError(f"--seed must be an integer from 0 to 2**63 - 1, got {args.seed}")
    if not 0 < args.lr <= 10:
        raise GannetError(f"--lr must be a number in (0, 10], got {args.lr}")
    for name, value in (
        ("--feature-weight", args.feature_weight),
        ("--noise-weight", args.noise_weight),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise GannetError(f"{name} must be a finite number >= 0, got {value}")
    run = load_run(args.run, checkpoint=args.checkpoint, ema=not args.raw)
    settings = Settings(
        steps=args.steps,
        lr=args.lr,
        feature_weight=args.feature_weight,
        noise_weight=args.noise_weight,
        seed=args.seed,
    )
    done = project_files(
        run,
        args.images,
        args.out,
        settings,
        label=args.label,
        resize=args.resize,
        use_features=args.feature_weight > 0,
    )
    print(f"wrote {len(done)} projection(s) to {args.out}")
    return 0
