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
  ``--threads`` threads (best of ``--repeats`` draws for rows whose draw takes < 10 s).

Rows already in ``--out`` (same name) are kept and skipped, so an interrupted run continues;
the JSON is rewritten after every row. ``--only NAME...`` measures some rows (several
processes can share the rows, each with its own ``--out``); ``--merge FILE...`` then copies
their rows into one ``--out``. ``--plot`` draws FID against samples/s.
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
from gannet.run import Run, load_run

HERE = Path(__file__).resolve().parent
FID = "fid_mnist-classifier"
FAST_DRAW_S = 10.0
"""Draws shorter than this are repeated (``--repeats``) and the best time kept."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gan", action="append", default=[], metavar="NAME=RUN", help="a GAN run")
    p.add_argument("--ddpm", required=True, help="the diffusion run (loss.name = 'ddpm')")
    p.add_argument("--steps", type=int, nargs="+", default=[10, 25, 100, 1000])
    p.add_argument("--ancestral-steps", type=int, nargs="*", default=[1000])
    p.add_argument("--n", type=int, default=1000, help="samples per row (default 1,000)")
    p.add_argument("--n-slow", type=int, default=100, help="samples of the slow rows")
    p.add_argument("--slow-from", type=int, default=1000, help="steps that make a row slow")
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=str(HERE / "results" / "gan_vs_diffusion.json"))
    p.add_argument("--plot", default="", help="write the FID-vs-samples/s plot here (PNG)")
    p.add_argument("--only", nargs="*", default=None, metavar="NAME", help="measure these rows")
    p.add_argument(
        "--merge",
        nargs="*",
        default=[],
        metavar="FILE",
        help="rows measured in these JSON files "
        "(other processes' --out) count as done and are copied into --out",
    )
    return p.parse_args(argv)


def draw(run: Run, n: int, batch: int, seed: int, repeats: int) -> tuple[torch.Tensor, float]:
    """(n samples, samples/s): the seed fixes the noise (and the ancestral sampler's steps,
    which draw from the global RNG)."""
    best, samples = float("inf"), torch.empty(0)
    for _ in range(repeats):
        torch.manual_seed(seed)
        start = time.perf_counter()
        samples = run.sample(n, seed=seed, batch_size=batch)
        best = min(best, time.perf_counter() - start)
        if best >= FAST_DRAW_S:
            break
    return samples, n / best


def uptime() -> str:
    """The load averages (1, 5, 15 min), as ``uptime`` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def contenders(args: argparse.Namespace) -> list[tuple[str, str, str, int, str]]:
    """(row name, kind, run path, steps, sampler) in the order they are measured."""
    rows = [(name, "gan", path, 1, "") for name, _, path in (g.partition("=") for g in args.gan)]
    rows += [(f"ddpm-ddim-{s}", "ddpm", args.ddpm, s, "ddim") for s in args.steps]
    rows += [
        (f"ddpm-ancestral-{s}", "ddpm", args.ddpm, s, "ancestral") for s in args.ancestral_steps
    ]
    return rows


def measure(args: argparse.Namespace, extractor: Any, real: np.ndarray) -> dict[str, Any]:
    out = Path(args.out)
    done: dict[str, Any] = {}
    for path in [*args.merge, *([out] if out.is_file() else [])]:
        done.update({r["name"]: r for r in json.loads(Path(path).read_text()).get("rows", [])})
    rows: list[dict[str, Any]] = []

    def save() -> None:
        write_results(
            out, {"classifier_sha256": extractor.weights_sha256, "rows": rows}, script=__file__
        )

    def fid(x: torch.Tensor) -> float:
        feats = extractor.features(as_images(x, (1, 28, 28)))
        return named_scores(["fid"], extractor.name, real, feats)[FID]

    train, _ = load_split("mnist", "train")
    for n in sorted({args.n, args.n_slow}):  # the floor: real images at the same n
        name = f"real-{n}"
        if name not in done:
            done[name] = {
                "name": name,
                "kind": "real",
                "n": n,
                FID: fid(as_float(train[:n])),
                "fid_at_n_slow": fid(as_float(train[: args.n_slow])),
            }
        rows.append(done[name])
        print(f"{name:20s} FID {done[name][FID]:8.3f}", flush=True)
    for name, kind, path, steps, sampler in contenders(args):
        if args.only is not None and name not in args.only and name not in done:
            continue
        if name in done:
            rows.append(done[name])
            continue
        run = load_run(path)
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
            FID: fid(samples),
            "fid_at_n_slow": fid(samples[: args.n_slow]),
            "samples_per_s": rate,
            "load": uptime(),
        }
        rows.append(row)
        print(
            f"{name:20s} FID {row[FID]:8.3f} (n={n}; at n={args.n_slow}: "
            f"{row['fid_at_n_slow']:.3f})  {rate:10.1f} samples/s  {row['load']}",
            flush=True,
        )
        save()
    save()
    return {"rows": rows}


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
    extractor = make_extractor("mnist-classifier")
    print(f"classifier sha256 {extractor.weights_sha256}", flush=True)
    real, _ = reference_features("mnist", "test", extractor)
    result = measure(args, extractor, real)
    if args.plot:
        plot(result["rows"], args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
