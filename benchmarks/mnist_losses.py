"""The losses on MNIST: the paper's MLP and DCGAN, each loss, the same generator-step budget.

For each model (``paper``: the paper's ReLU/sigmoid G and maxout D with dropout, trained with
its own SGD; ``dcgan``: configs/mnist-dcgan.toml) and each loss of the registry, train for the
SAME number of generator steps, then score 10,000 samples two ways:

* **classes covered** and KL(class histogram || uniform), with gannet's own MNIST classifier
  (the shipped ``mnist-classifier-v1``; earlier results used a classifier trained here);
* the paper's **Parzen-window** log-likelihood (sigma chosen on 1,000 validation rows, mean
  ± standard error over the 10,000 test images).

Run from the repository root::

    python benchmarks/mnist_losses.py                       # both models, every loss, 2,000 steps
    python benchmarks/mnist_losses.py --quick               # smoke run: 20 steps, 1,000 samples
    python benchmarks/mnist_losses.py --models dcgan --losses hinge,wgan-gp --steps 500

The per-loss recipes (the optimizer each loss's paper used; the model keeps its own
optimizer for the other losses):

* minimax, non-saturating, hinge, least-squares: the model's optimizer (paper: paper-sgd lr
  0.1 with momentum; dcgan: Adam 2e-4, betas (0.5, 0.999)), k = 1;
* wasserstein: weight clipping c = 0.01, RMSProp lr 5e-5, k = 5 critic steps;
* wgan-gp: lambda = 10, Adam lr 1e-4, betas (0.5, 0.9), k = 5 critic steps.

Output: a Markdown table on stdout and every run's numbers in ``--out`` (default
``benchmarks/results/mnist_losses.json``, rewritten after every run). Run folders go to a
temporary directory that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from common import print_machine, write_results

REPO = Path(__file__).resolve().parents[1]
ALL_MODELS = ("paper", "dcgan")
ALL_LOSSES = ("minimax", "non-saturating", "wasserstein", "wgan-gp", "hinge", "least-squares")
MODEL_CONFIG = {"paper": None, "dcgan": REPO / "configs/mnist-dcgan.toml"}
RECIPES: dict[str, list[str]] = {
    "wasserstein": ["optim.name='rmsprop'", "optim.lr=5e-5", "loss.clip=0.0", "train.k=5"],
    "wgan-gp": [
        "optim.name='adam'",
        "optim.lr=1e-4",
        "optim.betas=[0.5, 0.9]",
        "loss.gp_weight=10.0",
        "train.k=5",
    ],
}
"""Overrides per loss on top of the model's config; losses not listed keep the model's."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=None, help="generator steps per run (2000)")
    p.add_argument("--models", default=",".join(ALL_MODELS), help="paper, dcgan or both")
    p.add_argument("--losses", default=",".join(ALL_LOSSES), help="comma-separated losses")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--samples", type=int, default=None, help="samples scored per run (10000)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--data-dir", default=None, help="folder holding the MNIST files")
    p.add_argument("--out", default=str(REPO / "benchmarks/results/mnist_losses.json"))
    p.add_argument("--quick", action="store_true", help="smoke run: 20 steps, 1,000 samples")
    args = p.parse_args(argv)
    if args.steps is None:
        args.steps = 20 if args.quick else 2000
    if args.samples is None:
        args.samples = 1000 if args.quick else 10000
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.losses = [s.strip() for s in args.losses.split(",") if s.strip()]
    for m in args.models:
        if m not in ALL_MODELS:
            p.error(f"unknown model {m!r}; choose from {', '.join(ALL_MODELS)}")
    for loss in args.losses:
        if loss not in ALL_LOSSES:
            p.error(f"unknown loss {loss!r}; choose from {', '.join(ALL_LOSSES)}")
    if args.steps < 1 or args.samples < 100:
        p.error("--steps must be >= 1 and --samples >= 100")
    return args


def config_for(args: argparse.Namespace, model: str, loss: str) -> Any:
    from gannet.config import Config

    path = MODEL_CONFIG[model]
    base = Config() if path is None else Config.load(path)
    overrides = [
        f"loss.name='{loss}'",
        *RECIPES.get(loss, []),
        f"train.seed={args.seed}",
        f"train.max_steps={args.steps}",
        "train.epochs=1000000",
        "train.progress='none'",
        f"train.threads={args.threads}",
        "train.checkpoint_every=1000000",
        "train.snapshot_every=0",
    ]
    if args.data_dir:
        overrides.append(f"data.data_dir={json.dumps(args.data_dir)}")
    return base.with_overrides(overrides)


def one_run(args: argparse.Namespace, model: str, loss: str, tmp: Path) -> dict[str, Any]:
    import gannet
    from gannet.data import load_dataset
    from gannet.metrics.classifier import dataset_classifier
    from gannet.metrics.modes import classifier_mode_stats
    from gannet.metrics.parzen import parzen_evaluate

    config = config_for(args, model, loss)
    name = f"{model}-{loss}"
    t0 = time.perf_counter()
    run = gannet.train(config, out=tmp / name)
    seconds = time.perf_counter() - t0
    status = json.loads((tmp / name / "run.json").read_text()).get("status")
    if status not in ("finished", "diverged"):
        raise SystemExit(f"run {name} ended with status {status!r}; stopping")
    record: dict[str, Any] = {
        "model": model,
        "loss": loss,
        "steps": args.steps,
        "k": config.train.k,
        "optimizer": config.optim.name,
        "lr": config.optim.lr,
        "train_seconds": round(seconds, 1),
        "status": status,
    }
    if status == "diverged":
        return record
    samples = run.sample(args.samples, seed=0).float().clamp(0, 1)
    data = load_dataset(config.data)
    classifier = dataset_classifier("mnist").model  # the shipped mnist-classifier-v1
    classes = classifier_mode_stats(samples, classifier)
    parzen = parzen_evaluate(samples, data.validation[:1000], data.test, seed=0)
    record.update(
        classes_covered=classes.classes_covered,
        n_classes=classes.n_classes,
        kl_uniform=classes.kl_uniform,
        parzen_ll=parzen.test_ll,
        parzen_se=parzen.test_se,
        parzen_sigma=parzen.sigma,
    )
    return record


def markdown_table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| model | loss | k | optimizer | classes covered | KL (nats) | Parzen (nats) | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if r["status"] == "diverged":
            scores = "diverged | - | -"
        else:
            scores = (
                f"{r['classes_covered']} / {r['n_classes']} | {r['kl_uniform']:.3f} | "
                f"{r['parzen_ll']:.1f} ± {r['parzen_se']:.1f}"
            )
        lines.append(
            f"| {r['model']} | {r['loss']} | {r['k']} | {r['optimizer']} {r['lr']:g} | "
            f"{scores} | {r['train_seconds']:.0f} |"
        )
    return "\n".join(lines)


def write_json(path: Path, argv: list[str], runs: list[dict[str, Any]], finished: bool) -> None:
    write_results(path, {"finished": finished, "runs": runs}, script=__file__, argv=argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print_machine()
    out = Path(args.out)
    runs: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gannet-mnist-losses-") as tmp:
        for model in args.models:
            for loss in args.losses:
                record = one_run(args, model, loss, Path(tmp))
                runs.append(record)
                write_json(out, argv, runs, finished=False)
                print(json.dumps(record), flush=True)
    write_json(out, argv, runs, finished=True)
    print()
    print(markdown_table(runs))
    print(f"\nwall time {time.perf_counter() - started:.0f} s; JSON: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
