"""``gannet sample``: draw samples from a run's generator (a PNG grid or raw .npz)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gannet.errors import GannetError
from gannet.ranges import MAX_INT

MEMORY_COPIES = 4
"""Bytes of memory a sample value takes while ``gannet sample`` runs, in float32 copies:
the batches, their concatenation, and the PNG grid or the archive's buffer."""


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
    p.set_defaults(handler=_sample)


def _sample(args: argparse.Namespace) -> int:
    from gannet.plotting import save_samples
    from gannet.run import load_run
    from gannet.samplefile import write_samples_npz

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npz"):
        raise GannetError(f"--out {args.out!r} must end in .png (a grid) or .npz (raw samples)")
    if args.n < 1:
        raise GannetError("--n must be at least 1")
    if args.seed is not None and not 0 <= args.seed <= MAX_INT:
        raise GannetError(f"--seed must be an integer from 0 to 2**63 - 1, got {args.seed}")
    run = load_run(args.run, checkpoint=args.checkpoint)
    one, _ = run.sample_labelled(1, seed=args.seed, labels=args.label)
    check_memory(args.n, one[0].numel(), out.suffix.lower() == ".png")
    samples, labels = run.sample_labelled(args.n, seed=args.seed, labels=args.label)
    if out.suffix.lower() == ".png":
        save_samples(samples, out, labels=labels)
    else:
        write_samples_npz(out, samples.numpy(), None if labels is None else labels.numpy())
    which = f" of class {args.label}" if args.label is not None else ""
    print(f"wrote {args.n} samples{which} to {out}")
    return 0


def check_memory(n: int, values_per_sample: int, grid: bool) -> None:
    """Refuse ``--n`` when its samples would not fit in the memory available now (one line,
    before minutes of sampling end in an allocator error)."""
    need = n * values_per_sample * 4 * MEMORY_COPIES
    free = available_memory()
    if free is not None and need > free:
        most = max(free // (values_per_sample * 4 * MEMORY_COPIES), 1)
        what = "a PNG grid of" if grid else "an archive of"
        raise GannetError(
            f"--n {n} needs about {need / 2**30:.1f} GiB for {what} samples, but only "
            f"{free / 2**30:.1f} GiB of memory is available; use --n {most} or fewer "
            "(several files with different --seed for more)"
        )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None
