"""``gannet augment``: a labelled synthetic training set from a conditional run."""

from __future__ import annotations

import argparse
from pathlib import Path

from gannet.commands import add_raw_argument, add_truncation_argument
from gannet.config.ranges import MAX_INT
from gannet.errors import GannetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "augment",
        help="export a labelled synthetic set from a conditional run",
        description="Draw --per-class samples of every class from a conditional run's "
        "generator and write them as a folder tree (one subfolder per class, PNG files, "
        "readable with data.name='folder') or, when --out ends in .npz, as an archive with "
        "x (uint8, N x C x H x W), y (int64 classes) and classes (names). An existing "
        "--out is never replaced without --force.",
    )
    p.add_argument("run", help="run folder of a conditional run (model.conditional = true)")
    p.add_argument(
        "--per-class", type=int, required=True, metavar="N", help="samples of every class"
    )
    p.add_argument("--out", required=True, help="DIR (PNG files in class folders) or FILE.npz")
    add_truncation_argument(p)
    p.add_argument("--checkpoint", help="a snapshot to use instead of the latest checkpoint")
    add_raw_argument(p)
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--force", action="store_true", help="replace an existing --out")
    p.set_defaults(handler=_augment)


def _augment(args: argparse.Namespace) -> int:
    from gannet.files.rundir import refuse_run_file
    from gannet.trained.run import load_run
    from gannet.trained.synthset import (
        check_out,
        dataset_class_names,
        sample_balanced,
        to_bytes,
        write_class_folders,
        write_labelled_npz,
    )
    from gannet.trained.truncation import with_truncation

    out = Path(args.out)
    if args.per_class < 1:
        raise GannetError(f"--per-class must be at least 1, got {args.per_class}")
    if not 0 <= args.seed <= MAX_INT:
        raise GannetError(f"--seed must be an integer from 0 to 2**63 - 1, got {args.seed}")
    npz = out.suffix.lower() == ".npz"
    check_out(out, args.force)
    run = load_run(args.run, checkpoint=args.checkpoint, ema=not args.raw)
    refuse_run_file(out, run.path, "the synthetic set")
    if out.resolve() == run.path.resolve():
        raise GannetError(f"--out {str(out)!r} is the run folder itself; choose another path")
    run = with_truncation(run, args.truncation)
    x, y = sample_balanced(run, args.per_class, args.seed)
    if x.dim() != 4:
        raise GannetError(
            f"gannet augment exports images; run {str(run.path)!r} draws samples of shape "
            f"{tuple(x.shape[1:])}"
        )
    data = run.config.data
    names = dataset_class_names(data.name, run.num_classes, data.data_dir)
    pixels, labels = to_bytes(x), y.numpy()
    if npz:
        write_labelled_npz(out, pixels, labels, names)
    else:
        write_class_folders(out, pixels, labels, names)
    psi = f", truncation {args.truncation}" if args.truncation is not None else ""
    print(
        f"wrote {len(labels)} samples ({args.per_class} of each of {run.num_classes} classes"
        f"{psi}) to {out}"
    )
    return 0
