"""Train gannet's own classifiers and report their test accuracy and training time.

The classifier (``gannet.metrics.classifier``: 2 conv + 2 fc layers with BatchNorm and dropout,
Adam with a one-cycle schedule, 3 epochs on the 50,000 training rows) is what
``gannet eval modes`` uses to count the classes a generator produces. Target: MNIST test
accuracy >= 99 % in a few minutes on 2 CPU cores.

Run from the repository root (MNIST from ``$GANNET_DATA`` or the cache; Fashion-MNIST also
from Debian's ``dataset-fashion-mnist`` package)::

    GANNET_DATA=/work/shared/data python benchmarks/classifier_accuracy.py
    python benchmarks/classifier_accuracy.py --datasets mnist --threads 1 --no-save

Prints per-epoch progress, then the test accuracy and training time per dataset, and writes
them (with the per-epoch history, threads, versions and the machine's load average, since
other processes on a shared machine slow training down) as JSON to ``--out`` (default
``benchmarks/results/classifier_accuracy.json``). The trained classifiers are saved to the
gannet cache, exactly as ``gannet classifier train DATASET --force`` would, unless
``--no-save`` is given. Exits with status 1 when MNIST stays below 99 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from common import print_machine, write_results
from gannet.config import DataConfig
from gannet.data import DATASETS
from gannet.errors import GannetError
from gannet.metrics.classifier import DEFAULT_EPOCHS, SUPPORTED, save_classifier, train_classifier

HERE = Path(__file__).resolve().parent
TARGET = {"mnist": 0.99}


def _available(name: str, data_dir: str) -> str | None:
    try:
        return DATASETS.get(name).locate(DataConfig(name=name, data_dir=data_dir))
    except GannetError:
        return None


def _bench(name: str, args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    t0 = time.perf_counter()

    def progress(r: dict[str, Any]) -> None:
        val = r["validation_accuracy"]
        print(
            f"  {name} epoch {r['epoch']}/{r['epochs']}: loss {r['loss']:.4f}, validation "
            f"{100 * val:.2f} % ({r['seconds']:.0f} s wall, {r['cpu_seconds']:.0f} s CPU)",
            flush=True,
        )

    model, info = train_classifier(
        name,
        epochs=args.epochs,
        data_dir=args.data_dir or "",
        seed=args.seed,
        threads=args.threads,
        progress=progress,
    )
    wall = time.perf_counter() - t0
    saved = None if args.no_save else str(save_classifier(model, info))
    target = TARGET.get(name)
    print(
        f"{name:14s} test accuracy {100 * info.test_accuracy:.2f} %  training {info.seconds:.0f} s"
        f" wall, {info.cpu_seconds:.0f} s CPU ({info.threads} threads; whole run {wall:.0f} s)"
        + ("" if target is None else f"  target >= {100 * target:.0f} %")
    )
    if saved:
        print(f"{'':14s} saved to {saved}")
    return {
        "test_accuracy": info.test_accuracy,
        "validation_accuracy": info.validation_accuracy,
        "training_seconds": info.seconds,
        "training_cpu_seconds": info.cpu_seconds,
        "wall_seconds_with_data_and_test": wall,
        "epochs": info.epochs,
        "n_train": info.n_train,
        "n_test": info.n_test,
        "threads": info.threads,
        "seed": info.seed,
        "data_source": info.data_source,
        "target_test_accuracy": target,
        "meets_target": None if target is None else info.test_accuracy >= target,
        "history": info.history,
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "saved_to": saved,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=SUPPORTED, default=list(SUPPORTED))
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="0 = PyTorch's default")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--no-save", action="store_true", help="do not update the gannet cache")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "classifier_accuracy.json")
    args = parser.parse_args(argv)
    print_machine()

    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in args.datasets:
        where = _available(name, args.data_dir)
        if where is None:
            print(f"{name:14s} skipped: files not found")
            skipped[name] = "files not found"
            continue
        print(f"{name}: training for {args.epochs} epochs (data in {where}) ...", flush=True)
        results[name] = _bench(name, args)
    report = {"results": results, "skipped": skipped}
    write_results(args.out, report, script=__file__, argv=argv)
    print(f"wrote {args.out}")
    failed = [n for n, r in results.items() if r["meets_target"] is False]
    if failed:
        print(f"below target: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
