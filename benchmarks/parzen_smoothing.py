"""How much a slight blur moves a Parzen score: the metric rewards smoothness.

Each image is filtered with the 3x3 kernel [[a^2, a, a^2], [a, 1, a], [a^2, a, a^2]] / sum
(edges replicated), for a few neighbour weights ``a`` (0 = unchanged), and scored with the
Table 1 protocol (10,000 points, sigma from 10 values in 0.1..1.0 chosen on validation rows
50,000..50,999, mean log-likelihood of the 10,000 test images). It is done for 10,000 real
training images and, given a run, for 10,000 of its samples. The mean absolute pixel change
shows how small each filter is; the score shows how much it pays.

This is a diagnostic of the metric, not a way to report a model: a filtered sample is not
what the generator draws.

Run from the repository root::

    python benchmarks/parzen_smoothing.py                 # real training images only
    python benchmarks/parzen_smoothing.py RUN             # and a run's samples (its EMA, if any)
    python benchmarks/parzen_smoothing.py RUN --raw --weights 0 0.05
    python benchmarks/parzen_smoothing.py RUN --checkpoint RUN/snapshots/epoch-0268.pt

Output: a table on stdout and JSON in ``--out`` (default
``benchmarks/results/parzen_smoothing.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from common import print_machine, write_results

REPO = Path(__file__).resolve().parents[1]
SIDE = 28


def smooth(images: Tensor, a: float) -> Tensor:
    """Rows of 28x28 images, each pixel mixed with its 8 neighbours by weights a (edge) and
    a^2 (corner), normalised to sum 1; a = 0 returns the images unchanged."""
    if a == 0:
        return images
    k = torch.tensor([[a * a, a, a * a], [a, 1.0, a], [a * a, a, a * a]], dtype=images.dtype)
    k = (k / k.sum()).reshape(1, 1, 3, 3)
    x = images.reshape(-1, 1, SIDE, SIDE)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k).reshape(images.shape)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", nargs="?", help="a gannet run folder trained on MNIST (optional)")
    p.add_argument("--raw", action="store_true", help="use G's raw weights, not the EMA")
    p.add_argument("--checkpoint", help="a snapshot of RUN to use instead of its latest checkpoint")
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.03, 0.06, 0.1, 0.2])
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--data-dir", default="", help="folder holding the MNIST files")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = PyTorch default)")
    p.add_argument("--out", default=str(REPO / "benchmarks/results/parzen_smoothing.json"))
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print_machine()

    from gannet.config import DataConfig
    from gannet.data import load_dataset
    from gannet.errors import GannetError
    from gannet.metrics.parzen import parzen_evaluate
    from gannet.trained.run import load_run

    n = args.samples
    try:
        data = load_dataset(DataConfig(name="mnist", validation_size=10000, data_dir=args.data_dir))
        sets = {"real_training_images": data.train[:n].reshape(n, -1).float()}
        result: dict = {}
        if args.run:
            run = load_run(args.run, args.checkpoint, ema=not args.raw)
            if run.config.data.name != "mnist":
                raise GannetError(f"run {args.run!r} was trained on {run.config.data.name}")
            sets["samples"] = run.sample(n, seed=0).reshape(n, -1).float()
            result.update(run=str(args.run), epoch=run.epoch, uses_ema=run.uses_ema)
    except GannetError as e:
        print(f"parzen_smoothing: {e}", file=sys.stderr)
        return 2
    assert data.validation is not None and data.test is not None
    validation, test = data.validation[:1000], data.test
    rows = []
    print(f"{'a':>5}  {'set':22s} {'mean |change|':>13}  {'Parzen (nats)':>15}  sigma")
    for a in args.weights:
        for name, points in sets.items():
            filtered = smooth(points, a)
            r = parzen_evaluate(filtered, validation, test, dataset="mnist")
            change = float((filtered - points).abs().mean())
            rows.append(
                {
                    "a": a,
                    "set": name,
                    "mean_abs_pixel_change": change,
                    "test_ll": r.test_ll,
                    "test_se": r.test_se,
                    "sigma": r.sigma,
                }
            )
            score = f"{r.test_ll:7.1f} ± {r.test_se:4.1f}"
            print(f"{a:5.2f}  {name:22s} {change:13.4f}  {score}  {r.sigma:.3f}")
    result["results"] = rows
    out = write_results(args.out, result, script=__file__, argv=argv)
    print(f"JSON: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
