"""Why a Parzen score is what it is: how far each test image is from its nearest sample.

At the sigma the protocol chooses (about 0.2 on MNIST), a test image's Parzen log-likelihood
is dominated by its nearest samples: every extra unit of squared distance costs
1 / (2 sigma^2), about 11 nats. This script compares, for the 10,000 MNIST test images, the
squared Euclidean distance to the nearest of a run's 10,000 samples with the distance to the
nearest of 10,000 real training images, and prints pixel statistics of both sets.

Run from the repository root::

    python benchmarks/parzen_nearest.py RUN                     # RUN: a gannet run folder
    python benchmarks/parzen_nearest.py RUN --raw               # G's raw weights, not its EMA
    python benchmarks/parzen_nearest.py RUN --checkpoint RUN/snapshots/average-0266-0300.pt

Output: the figures on stdout and as JSON in ``--out`` (default
``benchmarks/results/parzen_nearest.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import Tensor

from common import print_machine, write_results

REPO = Path(__file__).resolve().parents[1]
QUANTILES = (0.1, 0.5, 0.9)


def nearest_sq_distances(queries: Tensor, points: Tensor, block: int = 1000) -> Tensor:
    """For each row of ``queries``, the squared L2 distance to its nearest row of ``points``
    (float64 accumulation of ||q||^2 + ||p||^2 - 2 q.p, clamped at 0)."""
    q, p = queries.double(), points.double()
    p2 = (p * p).sum(1)
    out = []
    for i in range(0, q.shape[0], block):
        qb = q[i : i + block]
        d2 = (qb * qb).sum(1, keepdim=True) + p2 - 2.0 * qb @ p.T
        out.append(d2.min(1).values.clamp_min(0.0))
    return torch.cat(out)


def describe(samples: Tensor, test: Tensor) -> dict[str, float | list[float]]:
    d2 = nearest_sq_distances(test, samples)
    return {
        "nearest_sq_distance_mean": d2.mean().item(),
        "nearest_sq_distance_quantiles": d2.quantile(
            torch.tensor(QUANTILES, dtype=d2.dtype)
        ).tolist(),
        "grey_pixel_fraction": ((samples > 0.1) & (samples < 0.9)).float().mean().item(),
        "ink_per_image": samples.sum(1).mean().item(),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a gannet run folder (an MNIST-like image run)")
    p.add_argument("--raw", action="store_true", help="use G's raw weights, not the EMA")
    p.add_argument("--checkpoint", help="a snapshot of RUN to use instead of its latest checkpoint")
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=str(REPO / "benchmarks/results/parzen_nearest.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print_machine()

    from gannet.data import load_dataset
    from gannet.errors import GannetError
    from gannet.trained.run import load_run

    try:
        run = load_run(args.run, args.checkpoint, ema=not args.raw)
        cfg = run.config.data
        if args.data_dir:
            cfg.data_dir = args.data_dir
        data = load_dataset(cfg)
    except GannetError as e:
        print(f"parzen_nearest: {e}", file=sys.stderr)
        return 2
    n = args.samples
    samples = run.sample(n, seed=0).reshape(n, -1).float()
    test = data.test.reshape(data.test.shape[0], -1).float()
    real = data.train[:n].reshape(n, -1).float()
    result = {
        "run": str(args.run),
        "checkpoint": str(run.checkpoint),
        "epoch": run.epoch,
        "uses_ema": run.uses_ema,
        "samples": describe(samples, test),
        "real_training_images": describe(real, test),
    }
    for name in ("samples", "real_training_images"):
        r = result[name]
        q = ", ".join(f"{v:.1f}" for v in r["nearest_sq_distance_quantiles"])  # type: ignore[union-attr]
        print(
            f"{name:22s} nearest squared distance of a test image: mean "
            f"{r['nearest_sq_distance_mean']:.2f} (10/50/90 %: {q}); grey pixels "
            f"{100 * r['grey_pixel_fraction']:.1f} %; ink {r['ink_per_image']:.1f}"
        )
    out = write_results(args.out, result, script=__file__, argv=argv)
    print(f"JSON: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
