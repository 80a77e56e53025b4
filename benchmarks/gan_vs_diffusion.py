"""GANs' lasting edge, measured: quality against sampling speed, GANs vs. a small DDPM.

Run from the repository root, on trained runs (see docs/diffusion.md for how they were
trained and at which budgets)::

    OMP_NUM_THREADS=1 python benchmarks/gan_vs_diffusion.py \\
        --gan paper-ema=/tmp/runs/paper-ema --gan dcgan=/tmp/runs/dcgan \\
        --ddpm /tmp/runs/ddpm --steps 10 25 100 1000 --n 1000 --n-slow 100

Each contender draws samples from its run (the EMA generator where the run kept one):

* a GAN: one forward pass of G per batch;
* the DDPM: DDIM (eta = 0) with each of ``--steps`` reverse steps, and ancestral sampling
  (Ho et al.'s Algorithm 2) with ``--ancestral-steps``; rows of at least ``--slow-from``
  steps draw only ``--n-slow`` samples (a 1,000-step sample costs 1,000 U-Net passes).

Figures per row:

* ``fid_mnist-classifier``: the Fréchet distance of gannet's MNIST classifier's features
  (``gannet classifier train mnist``; its SHA-256 is in the JSON) between the row's samples
  and the whole ``mnist:test`` split (10,000 images). FID is biased upward at small sample
  sizes, so every row is also scored on its first ``--n-slow`` samples
  (``fid_at_n_slow``), and ``real`` rows score the same number of MNIST training images
  against the test split: the floor a perfect model would reach at that sample size.
* ``samples_per_s``: samples drawn / seconds drawing them, in batches of ``--batch``, on
  ``--threads`` threads; the best of up to ``--repeats`` draws, repeated until 10 s were
  spent (so a GAN's few-millisecond draws are timed many times, a 1,000-step draw once).

Two phases: each row's samples are drawn and timed into ``--samples-dir`` (NAME.npz and
NAME.json; rows already there are kept, so an interrupted run continues, and ``--only
NAME...`` lets several processes share the rows), then every drawn row is scored
(``--draw-only`` stops before, e.g. while the classifier is still training). ``--plot`` draws
FID against samples/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from common import print_machine, write_results
from gannet.data.base import as_float
from gannet.metrics.features import as_images, make_extractor
from gannet.metrics.reference import load_split, reference_features
from gannet.metrics.scores import named_scores
from gannet.models.ddpm import set_sampling
from gannet.trained.run import Run, load_run

HERE = Path(__file__).resolve().parent
FID = "fid_mnist-classifier"
FAST_DRAW_S = 10.0
"""Draws are repeated (up to ``--repeats``) until they took this many seconds in all, and the
best time kept: fast rows get many tries, a slow row one."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gan", action="append", default=[], metavar="NAME=RUN", help="a GAN run")
    p.add_argument(
        "--gan-raw",
        action="append",
        default=[],
        metavar="NAME=RUN",
        help="a GAN run's own G weights, not their moving average",
    )
    p.add_argument("--ddpm", required=True, help="the diffusion run (loss.name = 'ddpm')")
    p.add_argument("--steps", type=int, nargs="+", default=[10, 25, 100, 1000])
    p.add_argument("--ancestral-steps", type=int, nargs="*", default=[1000])
    p.add_argument("--n", type=int, default=1000, help="samples per row (default 1,000)")
    p.add_argument("--n-slow", type=int, default=100, help="samples of the slow rows")
    p.add_argument("--slow-from", type=int, default=1000, help="steps that make a row slow")
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=str(HERE / "results" / "gan_vs_diffusion.json"))
    p.add_argument("--plot", default="", help="write the FID-vs-samples/s plot here (PNG)")
    p.add_argument("--only", nargs="*", default=None, metavar="NAME", help="draw these rows")
    p.add_argument("--samples-dir", default="gan_vs_diffusion-samples", help="drawn samples")
    p.add_argument("--draw-only", action="store_true", help="draw and time, score nothing")
    return p.parse_args(argv)


def draw(run: Run, n: int, batch: int, seed: int, repeats: int) -> tuple[torch.Tensor, float]:
    """(n samples, samples/s): the best of ``repeats`` timed draws, repeated only while the
    draws so far took under FAST_DRAW_S in all. The seed fixes the noise (and the ancestral
    sampler's steps, which draw from the global RNG)."""
    best, spent, samples = float("inf"), 0.0, torch.empty(0)
    for _ in range(repeats):
        torch.manual_seed(seed)
        start = time.perf_counter()
        samples = run.sample(n, seed=seed, batch_size=batch)
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
        if spent >= FAST_DRAW_S:
            break
    return samples, n / best


def uptime() -> str:
    """The load averages (1, 5, 15 min), as ``uptime`` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def contenders(args: argparse.Namespace) -> list[tuple[str, str, str, int, str, bool]]:
    """(row name, kind, run path, steps, sampler, EMA) in the order they are measured."""
    gans = [(g, True) for g in args.gan] + [(g, False) for g in args.gan_raw]
    rows = [
        (n, "gan", path, 1, "", ema)
        for (n, _, path), ema in ((g.partition("="), e) for g, e in gans)
    ]
    rows += [(f"ddpm-ddim-{s}", "ddpm", args.ddpm, s, "ddim", True) for s in args.steps]
    rows += [
        (f"ddpm-ancestral-{s}", "ddpm", args.ddpm, s, "ancestral", True)
        for s in args.ancestral_steps
    ]
    return rows


def load(path: str, ema: bool) -> Run:
    """A run folder, or a checkpoint file inside one (e.g. a copy kept at a time budget)."""
    p = Path(path)
    return load_run(p.parent, checkpoint=p, ema=ema) if p.is_file() else load_run(p, ema=ema)


def draw_rows(args: argparse.Namespace) -> None:
    """Draw each row's samples (timed) into ``--samples-dir``: NAME.npz and NAME.json; rows
    already there are kept."""
    folder = Path(args.samples_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name, kind, path, steps, sampler, ema in contenders(args):
        if args.only is not None and name not in args.only:
            continue
        if (folder / f"{name}.json").is_file():
            continue
        run = load(path, ema)
        if kind == "ddpm":
            set_sampling(run.generator, steps, sampler)  # type: ignore[arg-type]
        n = args.n_slow if kind == "ddpm" and steps >= args.slow_from else args.n
        samples, rate = draw(run, n, args.batch, args.seed, args.repeats)
        row = {
            "name": name,
            "kind": kind,
            "run": path,
            "run_step": run.step,
            "steps": steps,
            "sampler": sampler or "generator",
            "uses_ema": run.uses_ema,
            "n": n,
            "batch": args.batch,
            "samples_per_s": rate,
            "load": uptime(),
        }
        np.savez_compressed(folder / f"{name}.npz", samples=samples.numpy())
        (folder / f"{name}.json").write_text(json.dumps(row))
        print(f"{name:22s} n={n:5d} {rate:12.2f} samples/s  {row['load']}", flush=True)


def score_rows(args: argparse.Namespace) -> dict[str, Any]:
    """Classifier FID of every drawn row (and of real images at the same sizes)."""
    extractor = make_extractor("mnist-classifier")
    print(f"classifier sha256 {extractor.weights_sha256}", flush=True)
    real, _ = reference_features("mnist", "test", extractor)

    def fid(x: torch.Tensor) -> float:
        feats = extractor.features(as_images(x, (1, 28, 28)))
        return named_scores(["fid"], extractor.name, real, feats)[FID]

    rows: list[dict[str, Any]] = []
    train, _ = load_split("mnist", "train")
    for n in sorted({args.n, args.n_slow}):  # the floor: real images at the same n
        images = as_float(train[:n])
        row = {"name": f"real-{n}", "kind": "real", "sampler": "", "n": n, FID: fid(images),
               "fid_at_n_slow": fid(images[: args.n_slow])}  # fmt: skip
        rows.append(row)
        print(f"{row['name']:22s} FID {row[FID]:8.3f}", flush=True)
    folder = Path(args.samples_dir)
    for name, *_ in contenders(args):
        if not (folder / f"{name}.json").is_file():
            print(f"{name:22s} not drawn yet", flush=True)
            continue
        row = json.loads((folder / f"{name}.json").read_text())
        with np.load(folder / f"{name}.npz") as f:
            samples = torch.from_numpy(f["samples"])
        row[FID], row["fid_at_n_slow"] = fid(samples), fid(samples[: args.n_slow])
        rows.append(row)
        print(
            f"{name:22s} FID {row[FID]:8.3f} (n={row['n']}; at n={args.n_slow}: "
            f"{row['fid_at_n_slow']:.3f})  {row['samples_per_s']:12.2f} samples/s",
            flush=True,
        )
    results = {"classifier_sha256": extractor.weights_sha256, "rows": rows}
    write_results(args.out, results, script=__file__)
    return results


def plot(rows: list[dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    real = [r for r in rows if r["kind"] == "real"]
    for r in real:
        ax.axhline(r[FID], color="grey", ls=":", lw=1)
        ax.annotate(
            f"real MNIST, n={r['n']}",
            (1, r[FID]),
            fontsize=7,
            color="grey",
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
        )
    for kind, marker in (("gan", "o"), ("ddpm", "s")):
        for sampler in ("generator", "ddim", "ancestral"):
            pts = [r for r in rows if r["kind"] == kind and r["sampler"] == sampler]
            if not pts:
                continue
            pts.sort(key=lambda r: r["samples_per_s"])
            label = {"generator": "GAN", "ddim": "DDPM, DDIM", "ancestral": "DDPM, ancestral"}
            ax.plot(
                [r["samples_per_s"] for r in pts],
                [r[FID] for r in pts],
                marker=marker,
                ls="-" if kind == "ddpm" else "",
                label=label[sampler],
            )
            for r in pts:
                text = r["name"] if kind == "gan" else f"{r['steps']} steps (n={r['n']})"
                ax.annotate(
                    text,
                    (r["samples_per_s"], r[FID]),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords="offset points",
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples / s (1 CPU thread, loaded machine)")
    ax.set_ylabel("classifier FID vs mnist:test (lower is better)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    print_machine()
    print(uptime(), flush=True)
    draw_rows(args)
    if args.draw_only:
        return 0
    result = score_rows(args)
    if args.plot:
        plot(result["rows"], args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
