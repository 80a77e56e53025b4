"""Vanishing generator gradients: the minimax loss vs. the non-saturating heuristic.

Goodfellow et al. (2014), section 3: "Early in learning, when G is poor, D can reject
samples with high confidence ... log(1 - D(G(z))) saturates. Rather than training G to
minimize log(1 - D(G(z))) we can train G to maximize log D(G(z)) ... [which] provides much
stronger gradients early in learning." This benchmark measures that.

Run from the repository root::

    python benchmarks/vanishing_gradients.py                   # MNIST from $GANNET_DATA
    python benchmarks/vanishing_gradients.py --data-dir /work/shared/data/mnist --steps 400

Setup (the same for both losses, same seed, so both runs start from identical G and D):

* the paper's MNIST model and optimizer (``gannet.Config()`` defaults: G 100-1200-1200-784,
  maxout D 240x5-240x5-1 with dropout, paper-sgd lr 0.1, momentum 0.5, batch 100, k = 1),
  trained on the first ``--subset`` training images;
* a deliberately strong early discriminator: before the first G step, D is trained alone
  for ``--pretrain-d`` steps against the freshly initialised G (random minibatches; D's
  cost is the same for both losses, so this phase is identical in the two runs);
* then ``--steps`` iterations of Algorithm 1 with ``Trainer.fit()``, logging every step
  (``train.log_every = 1``), once with ``loss.name = "minimax"`` and once with
  ``"non-saturating"``.

Recorded per generator step (from the trainer's metrics.jsonl): ``grad_norm_g`` (the L2
norm of the gradient of G's cost w.r.t. all of G's parameters, at that step's G update)
and ``d_fake`` (mean D(G(z)) over the step's D update). Also, at the very start (after D's
pre-training, before any G update), both losses' G-gradient norms on one identical noise
batch.

Output: the figures printed, JSON in ``--out`` (default
``benchmarks/results/vanishing_gradients.json``) and a plot in ``--plot`` (default
``docs/img/vanishing-gradients.png``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from common import print_machine, write_results
from gannet.config import Config
from gannet.files.rundir import METRICS, read_metrics
from gannet.training import Trainer, start_run
from gannet.training.networks import grad_norm

LOSSES = ("minimax", "non-saturating")
REPO = Path(__file__).resolve().parents[1]


def make_config(args: argparse.Namespace, loss: str) -> Config:
    overrides = [
        f"data.subset={args.subset}",
        "data.download=false",
        f"loss.name='{loss}'",
        f"train.max_steps={args.steps}",
        "train.epochs=1000",
        "train.log_every=1",
        "train.checkpoint_every=100000",
        "train.progress='none'",
        "train.n_fixed_samples=16",
        f"train.seed={args.seed}",
        f"train.threads={args.threads}",
    ]
    if args.data_dir:
        overrides.append(f"data.data_dir={json.dumps(args.data_dir)}")
    return Config().with_overrides(overrides)


def pretrain_discriminator(tr: Trainer, steps: int, seed: int) -> None:
    """D alone against the initial G, on random minibatches (same in both runs)."""
    gen = torch.Generator().manual_seed(seed + 7)
    m = tr.m
    for _ in range(steps):
        idx = torch.randint(tr.x_train.shape[0], (m,), generator=gen).to(tr.device)
        tr.d_step(tr.x_train.index_select(0, idx))  # fresh noise from the run's RNG


def start_state(tr: Trainer, seed: int) -> dict[str, float]:
    """Mean D(x), D(G(z)) (D in eval mode) and both losses' G-gradient norms on one fixed
    noise batch, at the current G and D; leaves the global RNG untouched."""
    from gannet.game.losses import make_loss
    from gannet.models import sample_noise

    mc = tr.config.model
    gen = torch.Generator().manual_seed(seed + 11)
    z = sample_noise(1000, mc.z_dim, mc.noise, "cpu", gen).to(tr.device)
    x = tr.x_train[:1000]
    out: dict[str, float] = {}
    tr.D.eval()
    with torch.no_grad():
        out["d_real"] = float(torch.sigmoid(tr.D(x)).mean())
        out["d_fake"] = float(torch.sigmoid(tr.D(tr.G(z))).mean())
    tr.D.requires_grad_(False)
    for name in LOSSES:
        tr.G.zero_grad(set_to_none=True)
        make_loss(name).g_cost(tr.D(tr.G(z[:100])).float()).backward()
        out[f"grad_norm_g_{name}"] = grad_norm(tr.G)
    tr.G.zero_grad(set_to_none=True)
    tr.D.requires_grad_(True)
    tr.D.train()
    return out


def run(args: argparse.Namespace, loss: str, workdir: Path) -> dict[str, Any]:
    config = make_config(args, loss)
    tr = start_run(config, workdir / loss)
    t0 = time.perf_counter()
    pretrain_discriminator(tr, args.pretrain_d, args.seed)
    start = start_state(tr, args.seed)
    tr.fit()
    seconds = time.perf_counter() - t0
    metrics = read_metrics(workdir / loss / METRICS)
    return {
        "loss": loss,
        "start": start,
        "step": [m["step"] for m in metrics],
        "grad_norm_g": [m["grad_norm_g"] for m in metrics],
        "d_fake": [m["d_fake"] for m in metrics],
        "d_real": [m["d_real"] for m in metrics],
        "g_loss": [m["g_loss"] for m in metrics],
        "seconds": round(seconds, 1),
    }


def window(values: list[float], lo: int, hi: int) -> float:
    """Median of values[lo:hi] (steps lo+1 .. hi)."""
    return statistics.median(values[lo:hi])


def summarise(runs: dict[str, dict[str, Any]], steps: int) -> dict[str, Any]:
    windows = [(0, min(10, steps)), (0, min(100, steps)), (max(steps - 100, 0), steps)]
    summary: dict[str, Any] = {}
    for lo, hi in windows:
        key = f"steps_{lo + 1}_{hi}"
        mm = window(runs["minimax"]["grad_norm_g"], lo, hi)
        ns = window(runs["non-saturating"]["grad_norm_g"], lo, hi)
        summary[key] = {
            "median_grad_norm_g_minimax": mm,
            "median_grad_norm_g_non_saturating": ns,
            "ratio_non_saturating_over_minimax": ns / mm if mm > 0 else float("inf"),
            "median_d_fake_minimax": window(runs["minimax"]["d_fake"], lo, hi),
            "median_d_fake_non_saturating": window(runs["non-saturating"]["d_fake"], lo, hi),
        }
    return summary


def plot(runs: dict[str, dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
    colours = {"minimax": "tab:red", "non-saturating": "tab:blue"}
    labels = {
        "minimax": "minimax: G descends log(1 - D(G(z)))",
        "non-saturating": "non-saturating: G descends -log D(G(z))",
    }
    for name, r in runs.items():
        a.semilogy(r["step"], r["grad_norm_g"], color=colours[name], lw=1, label=labels[name])
        b.semilogy(r["step"], r["d_fake"], color=colours[name], lw=1, label=name)
    a.set_title("|grad of G's cost w.r.t. G's parameters|")
    b.set_title("mean D(G(z)) during D's update")
    for ax in (a, b):
        ax.set_xlabel("generator step")
        ax.grid(True, which="major", alpha=0.3)
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    fig.suptitle(
        f"Paper MNIST model, {args.subset} images, D pre-trained {args.pretrain_d} steps, "
        f"seed {args.seed}",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="", help="MNIST folder (default: search GANNET_DATA)")
    p.add_argument("--subset", type=int, default=10000, help="training images used")
    p.add_argument("--pretrain-d", type=int, default=200, help="D-only steps before G moves")
    p.add_argument("--steps", type=int, default=400, help="generator steps per loss")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(REPO / "benchmarks/results/vanishing_gradients.json"))
    p.add_argument("--plot", default=str(REPO / "docs/img/vanishing-gradients.png"))
    args = p.parse_args(argv)
    print_machine()

    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for loss in LOSSES:
            runs[loss] = run(args, loss, Path(tmp))
            s = runs[loss]["start"]
            print(
                f"{loss:15s} after D pre-training: D(x) {s['d_real']:.4f}  "
                f"D(G(z)) {s['d_fake']:.2e}; {runs[loss]['seconds']:.0f} s",
                flush=True,
            )
    start = runs["minimax"]["start"]
    print(
        "G-gradient norm at the start (same G, D and noise): "
        f"minimax {start['grad_norm_g_minimax']:.3e}, "
        f"non-saturating {start['grad_norm_g_non-saturating']:.3e} "
        f"(ratio {start['grad_norm_g_non-saturating'] / start['grad_norm_g_minimax']:.0f}x)"
    )
    summary = summarise(runs, args.steps)
    print(
        f"{'steps':>10s} {'|grad G| minimax':>17s} {'non-saturating':>15s} {'ratio':>8s} "
        f"{'D(G(z)) mm':>11s} {'D(G(z)) ns':>11s}"
    )
    for key, v in summary.items():
        print(
            f"{key[6:].replace('_', '-'):>10s} {v['median_grad_norm_g_minimax']:17.3e} "
            f"{v['median_grad_norm_g_non_saturating']:15.3e} "
            f"{v['ratio_non_saturating_over_minimax']:8.1f} "
            f"{v['median_d_fake_minimax']:11.2e} {v['median_d_fake_non_saturating']:11.2e}"
        )

    result = {
        "setup": {
            "model": "paper-mlp G, paper-maxout D (gannet.Config() defaults)",
            "optimizer": "paper-sgd lr 0.1, momentum 0.5, batch 100, k 1",
            "subset": args.subset,
            "pretrain_d_steps": args.pretrain_d,
            "generator_steps": args.steps,
            "seed": args.seed,
            "threads": args.threads,
        },
        "start": start,
        "summary": summary,
        "runs": runs,
        "notes": "Medians over the generator steps named by each key (1-based, inclusive). "
        "grad_norm_g is the trainer's metric: the L2 norm over all of G's parameters of the "
        "gradient of G's cost at that step's update. d_fake is mean sigmoid(D(G(z))) in "
        "D's update of the same iteration (D in training mode, dropout on).",
    }
    out = write_results(args.out, result, script=__file__, argv=argv, indent=1)
    plot(runs, args, Path(args.plot))
    print(f"wrote {out} and {args.plot} ({Path(args.plot).stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
