"""``gannet sample``: draw samples from a run's generator (a PNG grid or raw .npz)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gannet.commands import add_raw_argument, add_truncation_argument
from gannet.config.ranges import MAX_INT
from gannet.errors import GannetError


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        metavar="N",
        help="diffusion runs: reverse steps per sample, 1..T (default: the run's "
        "model.sample_steps)",
    )
    p.add_argument(
        "--sampler",
        choices=["ddim", "ancestral"],
        default=None,
        help="diffusion runs: ddim (deterministic given the noise) or ancestral (default: "
        "the run's model.sampler)",
    )
    add_truncation_argument(p)
    add_raw_argument(p)
    p.set_defaults(handler=_sample)


def _sample(args: argparse.Namespace) -> int:
    from gannet.files.pictures import save_samples
    from gannet.files.samplefile import write_samples_npz
    from gannet.models.ddpm import set_sampling
    from gannet.trained.memory import check_samples_fit
    from gannet.trained.run import load_run
    from gannet.trained.truncation import with_truncation

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npz"):
        raise GannetError(f"--out {args.out!r} must end in .png (a grid) or .npz (raw samples)")
    if args.n < 1:
        raise GannetError("--n must be at least 1")
    if args.seed is not None and not 0 <= args.seed <= MAX_INT:
        raise GannetError(f"--seed must be an integer from 0 to 2**63 - 1, got {args.seed}")
    run = with_truncation(
        load_run(args.run, checkpoint=args.checkpoint, ema=not args.raw), args.truncation
    )
    set_sampling(run.generator, args.steps, args.sampler)
    one, _ = run.sample_labelled(1, seed=args.seed, labels=args.label)
    check_samples_fit(args.n, one[0].numel(), "--n")
    samples, labels = run.sample_labelled(args.n, seed=args.seed, labels=args.label)
    if out.suffix.lower() == ".png":
        save_samples(samples, out, labels=labels)
    else:
        write_samples_npz(out, samples.numpy(), None if labels is None else labels.numpy())
    which = f" of class {args.label}" if args.label is not None else ""
    if args.truncation is not None:
        which += f" with truncation psi = {args.truncation:g}"
    print(f"wrote {args.n} samples{which} to {out}")
    return 0
