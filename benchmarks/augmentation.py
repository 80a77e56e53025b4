"""Do GAN samples help a classifier trained on few labels? (issue 17)

For each dataset (MNIST, Fashion-MNIST), number n of labelled real images (n / 10 of each
class, chosen from the training split by the seed with ``gannet.data.balanced``) and seed,
gannet's classifier (the CNN of ``gannet.metrics.classifier``, Adam one-cycle, the same
number of steps in every arm) is trained on

  (a) the n real images;
  (b) the n real images and ``--ratio`` x n classically augmented copies of them (a random
      shift of up to 2 pixels each way and a rotation of up to 15 degrees, bilinear);
  (c) the n real images and ``--ratio`` x n samples of a conditional DCGAN trained only on
      those n images (``--gan-steps`` updates, its EMA weights), n / 10 x ratio per class;
  (d) (b) and (c) together;

and its accuracy on the 10,000 real test images is reported with the training time of each
arm (the classifier's, and for (c) and (d) the cGAN's on top). The cGAN is trained once per
cell and shared by (c) and (d).

The full grid (2 datasets x n in {100, 1000, 5000} x 3 seeds, 18 cells) at the defaults
took 5-7 minutes a cell on one idle AVX2 core, 1 h 57 min in all (docs/augmentation.md);
run it, or a part of it::

    GANNET_DATA=/work/shared/data python benchmarks/augmentation.py --threads 1
    GANNET_DATA=/work/shared/data python benchmarks/augmentation.py \\
        --datasets mnist --n 100 --seeds 0 1 2 --threads 1

Every finished cell is written at once to ``--out`` (default
``benchmarks/results/augmentation.json``), and a rerun of the same command skips the cells
already there (``--fresh`` starts over), so a killed run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from common import print_machine, write_results
from gannet.config import Config, DataConfig
from gannet.data import Dataset, load_dataset
from gannet.data.balanced import balanced_indices
from gannet.metrics.classifier import evaluate_accuracy, fit_classifier
from gannet.models import sample_noise
from gannet.training import Trainer

HERE = Path(__file__).resolve().parent
ARMS = ("a", "b", "c", "d")
ARM_NAMES = {
    "a": "n real",
    "b": "n real + classical augmentation",
    "c": "n real + cGAN samples",
    "d": "n real + classical + cGAN",
}


def classical_copies(x: torch.Tensor, copies: int, seed: int) -> torch.Tensor:
    """``copies`` randomly shifted (up to 2 px) and rotated (up to 15 degrees) versions of
    every image of ``x`` (N, C, H, W), seeded; the uncovered border is 0 (black)."""
    gen = torch.Generator().manual_seed(seed + 2_000_003)
    xs = x.repeat(copies, 1, 1, 1)
    n, _, h, w = xs.shape
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(15)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 2  # pixels
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos, -sin, shift[:, 0] * 2 / w], 1),
            torch.stack([sin, cos, shift[:, 1] * 2 / h], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(xs.shape), align_corners=False)
    return F.grid_sample(xs, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def gan_config(n: int, steps: int, seed: int, threads: int) -> Config:
    """A small conditional DCGAN for n labelled 28x28 images."""
    return Config().with_overrides(
        [
            "model.generator='dcgan-g'",
            "model.discriminator='dcgan-d'",
            "model.z_dim=64",
            "model.noise='uniform'",
            "model.g_channels=32",
            "model.d_channels=32",
            "model.d_norm='batch'",
            "model.conditional=true",
            "model.label_embedding=10",
            "loss.name='non-saturating'",
            "optim.name='adam'",
            "optim.lr=0.0002",
            "optim.betas=[0.5, 0.999]",
            f"train.batch_size={min(64, n // 2)}",
            f"train.max_steps={steps}",
            "train.epochs=100000",
            "train.ema=0.999",
            f"train.seed={seed}",
            f"train.threads={threads}",
            "train.progress='none'",
        ]
    )


def gan_samples(
    x: torch.Tensor, y: torch.Tensor, per_class: int, args: argparse.Namespace, seed: int
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(samples, labels, seconds): a cGAN trained on (x, y) only, then per_class samples of
    every class from its EMA generator."""
    config = gan_config(len(x), args.gan_steps, seed, args.threads)
    data = Dataset("subset", x, train_labels=y, num_classes=10, source="balanced subset")
    t0 = time.perf_counter()
    trainer = Trainer(config, dataset=data)
    trainer.fit()
    seconds = time.perf_counter() - t0
    g = trainer.G_eval
    g.eval()
    labels = torch.arange(10).repeat_interleave(per_class)
    gen = torch.Generator().manual_seed(seed + 4_000_037)
    out = []
    with torch.no_grad():
        for start in range(0, len(labels), 1000):
            yb = labels[start : start + 1000]
            z = sample_noise(len(yb), config.model.z_dim, config.model.noise, "cpu", gen)
            out.append(g(z.to(trainer.device), yb.to(trainer.device)).float().cpu())
    return torch.cat(out), labels, seconds


def train_arm(
    x: torch.Tensor, y: torch.Tensor, test: Dataset, args: argparse.Namespace, seed: int
) -> tuple[float, float]:
    """(test accuracy, seconds) of the classifier trained for ``--clf-steps`` steps."""
    batch = min(128, len(x))
    epochs = math.ceil(args.clf_steps / math.ceil(len(x) / batch))
    t0 = time.perf_counter()
    model, _ = fit_classifier(
        x, y, epochs=epochs, batch_size=batch, seed=seed, max_steps=args.clf_steps,
        threads=args.threads,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    assert test.test is not None and test.test_labels is not None
    return evaluate_accuracy(model, test.test, test.test_labels), seconds


def run_cell(data: Dataset, n: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    assert data.train_labels is not None
    idx = balanced_indices(data.train_labels, n // 10, seed)
    x, y = data.train[idx], data.train_labels[idx]
    cell: dict[str, Any] = {"dataset": data.name, "n": n, "seed": seed, "arms": {}}
    extra_n = args.ratio * n
    classical = classical_copies(x, args.ratio, seed)
    classical_y = y.repeat(args.ratio)
    fake = fake_y = None
    gan_seconds = 0.0
    if {"c", "d"} & set(args.arms):
        fake, fake_y, gan_seconds = gan_samples(x, y, extra_n // 10, args, seed)
        cell["gan_seconds"] = gan_seconds
        print(f"    cGAN: {args.gan_steps} steps in {gan_seconds:.0f} s", flush=True)
    sets = {
        "a": (x, y),
        "b": (torch.cat([x, classical]), torch.cat([y, classical_y])),
    }
    if fake is not None and fake_y is not None:
        sets["c"] = (torch.cat([x, fake]), torch.cat([y, fake_y]))
        sets["d"] = (torch.cat([x, classical, fake]), torch.cat([y, classical_y, fake_y]))
    for arm in args.arms:
        xa, ya = sets[arm]
        acc, seconds = train_arm(xa, ya, data, args, seed)
        total = seconds + (gan_seconds if arm in ("c", "d") else 0.0)
        cell["arms"][arm] = {
            "accuracy": acc,
            "classifier_seconds": seconds,
            "seconds": total,
            "train_images": len(xa),
        }
        print(
            f"    ({arm}) {ARM_NAMES[arm]:32s} {100 * acc:6.2f} %  ({len(xa)} images, "
            f"{seconds:.0f} s classifier, {total:.0f} s in all)",
            flush=True,
        )
    return cell


def summarise(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sd (over seeds) of every (dataset, n, arm)."""
    rows = []
    keys = sorted({(c["dataset"], c["n"]) for c in cells})
    for dataset, n in keys:
        group = [c for c in cells if c["dataset"] == dataset and c["n"] == n]
        for arm in ARMS:
            runs = [c["arms"][arm] for c in group if arm in c["arms"]]
            if not runs:
                continue
            acc = [r["accuracy"] for r in runs]
            sec = [r["seconds"] for r in runs]
            rows.append(
                {
                    "dataset": dataset,
                    "n": n,
                    "arm": arm,
                    "what": ARM_NAMES[arm],
                    "seeds": len(runs),
                    "accuracy_mean": statistics.fmean(acc),
                    "accuracy_sd": statistics.stdev(acc) if len(acc) > 1 else None,
                    "seconds_mean": statistics.fmean(sec),
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'dataset':14s} {'n':>5s}  arm  {'accuracy (mean ± sd)':>22s}  seeds  time/arm")
    for r in rows:
        sd = f" ± {100 * r['accuracy_sd']:.2f}" if r["accuracy_sd"] is not None else ""
        acc = f"{100 * r['accuracy_mean']:.2f}{sd} %"
        print(
            f"{r['dataset']:14s} {r['n']:5d}  ({r['arm']})  {acc:>22s}  {r['seeds']:5d}  "
            f"{r['seconds_mean']:.0f} s"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--n", nargs="+", type=int, default=[100, 1000, 5000])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    p.add_argument("--gan-steps", type=int, default=1000, help="cGAN updates (default 1000)")
    p.add_argument("--clf-steps", type=int, default=300, help="classifier steps per arm")
    p.add_argument("--ratio", type=int, default=4, help="extra images per real one in b, c")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default="")
    p.add_argument("--out", default=str(HERE / "results" / "augmentation.json"))
    p.add_argument("--fresh", action="store_true", help="ignore the cells already in --out")
    p.add_argument(
        "--stop-after",
        type=float,
        default=0.0,
        metavar="MIN",
        help="start no new cell after MIN minutes (0 = no limit); rerun to continue",
    )
    args = p.parse_args(argv)
    if any(n < 20 or n % 10 for n in args.n):
        p.error("every --n must be a multiple of 10, at least 20")
    if args.gan_steps < 1 or args.clf_steps < 1 or args.ratio < 1 or args.threads < 1:
        p.error("--gan-steps, --clf-steps, --ratio and --threads must be at least 1")
    torch.set_num_threads(args.threads)
    print_machine()
    out = Path(args.out)
    cells: list[dict[str, Any]] = []
    if out.is_file() and not args.fresh:
        previous = json.loads(out.read_text())
        same = previous.get("settings", {}) == settings_of(args)
        cells = previous.get("cells", []) if same else []
    started = time.perf_counter()
    for name in args.datasets:
        data = load_dataset(DataConfig(name=name, data_dir=args.data_dir))
        for n in args.n:
            for seed in args.seeds:
                if any(
                    c["dataset"] == name and c["n"] == n and c["seed"] == seed
                    and set(args.arms) <= set(c["arms"])
                    for c in cells
                ):  # fmt: skip
                    print(f"{name} n={n} seed={seed}: already measured", flush=True)
                    continue
                minutes = (time.perf_counter() - started) / 60
                if args.stop_after and minutes >= args.stop_after:
                    print(f"{name} n={n} seed={seed}: not started (--stop-after)", flush=True)
                    continue
                print(f"{name} n={n} seed={seed}:", flush=True)
                cell = run_cell(data, n, seed, args)
                cells = [c for c in cells if (c["dataset"], c["n"], c["seed"]) != (name, n, seed)]
                cells.append(cell)
                results = {"settings": settings_of(args), "cells": cells, "table": summarise(cells)}
                write_results(out, results, script=__file__, argv=argv)
    rows = summarise(cells)
    print_table(rows)
    print(f"wrote {out}")
    return 0


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """What makes cells comparable: a rerun with other settings starts over."""
    return {
        "gan_steps": args.gan_steps,
        "clf_steps": args.clf_steps,
        "ratio": args.ratio,
        "threads": args.threads,
    }


if __name__ == "__main__":
    sys.exit(main())
