"""The GAN paper's own idea, measured: are a trained discriminator's features good for
classification when few labels are available? A linear probe (logistic regression,
``gannet.metrics.probe``) on a trained paper-maxout D's last hidden layer, with 100, 1,000
and all 50,000 labelled training rows, against the same probe on raw pixels and on a randomly
initialised D of the same architecture.

Protocol: the labelled rows are balanced (n / 10 per class) and chosen by a seed
(``gannet.data.balanced``); features are standardised with the statistics of all training
rows (unlabelled data, which a semi-supervised learner may use);
the L2 weight is chosen per fit from ``--l2`` on the first ``--validation`` rows of the
validation split (the last 10,000 rows of the training file, never trained on); the test
error is on the whole MNIST test split. 100 and 1,000 labels: one fit per seed (mean ± sd
over ``--seeds``); all labels: one fit.

Run from the repository root::

    GANNET_DATA=/work/shared/data python benchmarks/linear_probe.py \\
        --run /work/runs/table1-short --threads 1

Prints one line per (representation, labels) and writes JSON to ``--out`` (default
benchmarks/results/linear_probe.json).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from common import print_machine, write_results
from gannet.config import DataConfig
from gannet.data import load_dataset
from gannet.data.balanced import balanced_indices
from gannet.metrics.probe import features_of, fit_probe, hidden_features
from gannet.models import build_discriminator
from gannet.trained.run import load_run

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="a trained paper-maxout run (its D is probed)")
    p.add_argument("--checkpoint", help="a snapshot of the run instead of its checkpoint.pt")
    p.add_argument("--labels", type=int, nargs="+", default=[100, 1000, 0], help="0 = all")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--l2", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2])
    p.add_argument("--validation", type=int, default=5000, help="validation rows for l2")
    p.add_argument("--max-iter", type=int, default=200, help="L-BFGS iterations per fit")
    p.add_argument("--train-rows", type=int, default=0, help="use only the first N (0 = all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default="")
    p.add_argument("--out", default=str(HERE / "results" / "linear_probe.json"))
    return p.parse_args(argv)


def representations(args: argparse.Namespace, x: torch.Tensor) -> dict[str, Any]:
    """name -> feature extractor: pixels, the trained D, a randomly initialised D."""
    run = load_run(args.run, checkpoint=args.checkpoint)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        random_d = build_discriminator(run.config.model, tuple(x.shape[1:]))
    trained = f"trained D ({run.config.model.discriminator}, epoch {run.epoch})"
    return {
        "pixels": lambda b: b,
        trained: hidden_features(run.discriminator),
        "random D (same architecture, seed 0)": hidden_features(random_d),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print_machine()
    data = load_dataset(DataConfig(name="mnist", data_dir=args.data_dir))
    assert data.train_labels is not None and data.validation is not None
    assert data.validation_labels is not None and data.test is not None
    assert data.test_labels is not None
    rows = args.train_rows or len(data.train)
    x_train, y_train = data.train[:rows], data.train_labels[:rows]
    x_val, y_val = data.validation[: args.validation], data.validation_labels[: args.validation]
    results: list[dict[str, Any]] = []
    for name, extract in representations(args, x_train).items():
        t0 = time.perf_counter()
        f_train, f_val, f_test = (features_of(extract, x) for x in (x_train, x_val, data.test))
        print(f"{name}: {f_train.shape[1]} features ({time.perf_counter() - t0:.0f} s)", flush=True)
        for n in args.labels:
            errors, chosen, seconds = [], [], []
            for seed in args.seeds if n else args.seeds[:1]:
                t0 = time.perf_counter()
                idx = balanced_indices(y_train, n // 10, seed) if n else torch.arange(rows)
                fits = [
                    (fit_probe(f_train[idx], y_train[idx], 10, l2, args.max_iter, f_train), l2)
                    for l2 in args.l2
                ]
                probe, l2 = min(fits, key=lambda f: f[0].error(f_val, y_val))
                errors.append(probe.error(f_test, data.test_labels))
                chosen.append(l2)
                seconds.append(time.perf_counter() - t0)
            mean = statistics.mean(errors)
            sd = statistics.stdev(errors) if len(errors) > 1 else 0.0
            label = n or rows
            print(
                f"  {label:6d} labels: test error {100 * mean:.2f} % ± {100 * sd:.2f} "
                f"({len(errors)} seeds; l2 {chosen}; {sum(seconds):.0f} s)",
                flush=True,
            )
            results.append(
                {
                    "representation": name,
                    "features": int(f_train.shape[1]),
                    "labels": label,
                    "test_errors": errors,
                    "mean_test_error": mean,
                    "sd_test_error": sd,
                    "l2_chosen": chosen,
                    "seconds": seconds,
                }
            )
    write_results(
        args.out,
        {
            "run": str(args.run),
            "checkpoint": args.checkpoint,
            "validation_rows": args.validation,
            "l2_grid": args.l2,
            "max_iter": args.max_iter,
            "threads": args.threads,
            "results": results,
        },
        script=__file__,
        argv=argv,
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
