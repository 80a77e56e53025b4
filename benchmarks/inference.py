"""Sampling speed of a generator: eager PyTorch vs. the ``gannet export`` formats.

Run from the repository root::

    python benchmarks/inference.py                     # the three generators, 2 threads
    python benchmarks/inference.py --quick             # fewer repeats (a smoke test)
    python benchmarks/inference.py --run RUN           # a trained run's G instead
    python benchmarks/inference.py --threads 1 --generator dcgan-mnist --out /tmp/i.json

Generators (``--run`` absent): fresh, randomly initialised G of the shapes of the bundled
configs (speed does not depend on the weights): the paper's MLP (``mnist-paper``: z 100 ->
1200 -> 1200 -> 784, ReLU, sigmoid), DCGAN's G for MNIST (``mnist-dcgan``: z 100 -> 7x7x128
-> 14x14x64 -> 28x28x1) and for CIFAR-10 (``cifar10-dcgan``: z 100 -> 4x4x256 -> ... ->
32x32x3), in eval mode (BatchNorm with running statistics).

Backends: ``eager`` (the ``nn.Module`` under ``torch.inference_mode``), ``torchscript`` (the
file ``gannet export --format torchscript`` writes, loaded by ``gannet.exporting
.load_exported``), ``onnxruntime`` (the ``--format onnx`` file in ONNX Runtime's CPU provider,
``intra_op_num_threads`` = ``--threads``; skipped with the reason when ``pip install
"gannet[onnx]"`` has not been run).

Figures (contenders interleaved round by round, so other jobs on the machine slow each
alike):

* ``samples/s @1024``: batches of 1,024 noise vectors; the best of ``--repeats`` rounds, each
  round ``--batches`` calls.
* ``latency @1`` (ms): one noise vector per call; the median and 90th percentile over all
  calls of all rounds (``--calls`` per round).
* ``max |diff|``: the largest difference of the backend's samples from eager's on the same z.

Printed, and written as JSON to ``--out`` (default ``benchmarks/results/inference.json``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common import print_machine, write_results
from gannet.config import Config
from gannet.configfiles import find_config
from gannet.exporting import export_generator, load_exported, onnx_missing
from gannet.models import build_generator
from gannet.run import Run, load_run

HERE = Path(__file__).resolve().parent

CONFIGS = {
    "paper-mlp": "mnist-paper",
    "dcgan-mnist": "mnist-dcgan",
    "dcgan-cifar10": "cifar10-dcgan",
}
SHAPES = {"cifar10": (3, 32, 32)}
"""Sample shapes of the configs' datasets other than MNIST's (1, 28, 28)."""

Generate = Callable[[torch.Tensor], torch.Tensor]


def fresh_run(name: str) -> Run:
    """A randomly initialised G of the config's shape, as a Run that export_generator takes."""
    config = Config.load(find_config(CONFIGS[name]))
    shape = SHAPES.get(config.data.name, (1, 28, 28))
    torch.manual_seed(0)
    g = build_generator(config.model, shape).eval()
    return Run(Path(f"<random {name}>"), config, g, nn.Identity())


def backends(run: Run, folder: Path, threads: int) -> tuple[dict[str, Generate], dict[str, str]]:
    """Each available backend's G(z), and why any other was skipped."""
    g = run.generator

    def eager(z: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            out: torch.Tensor = g(z)
        return out

    found: dict[str, Generate] = {"eager": eager}
    skipped: dict[str, str] = {}
    export_generator(run, folder / "g.pt")
    found["torchscript"] = load_exported(folder / "g.pt")
    if reason := onnx_missing():
        skipped["onnxruntime"] = reason
    else:
        export_generator(run, folder / "g.onnx")
        found["onnxruntime"] = load_exported(folder / "g.onnx", threads=threads)
    return found, skipped


def throughput(fn: Generate, z: torch.Tensor, batches: int) -> float:
    start = time.perf_counter()
    for _ in range(batches):
        fn(z)
    return batches * z.shape[0] / (time.perf_counter() - start)


def latencies(fn: Generate, z: torch.Tensor, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn(z)
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(name: str, run: Run, args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="gannet-inference-") as tmp:
        fns, skipped = backends(run, Path(tmp), args.threads)
        z_dim = run.config.model.z_dim
        big = torch.rand(1024, z_dim, generator=torch.Generator().manual_seed(1)) * 2 - 1
        one = big[:1].clone()
        reference = fns["eager"](big)
        diffs = {b: float((fn(big) - reference).abs().max()) for b, fn in fns.items()}
        for fn in fns.values():  # warm-up: first calls allocate and pick kernels
            fn(big)
            latencies(fn, one, 5)
        rates: dict[str, list[float]] = {b: [] for b in fns}
        times: dict[str, list[float]] = {b: [] for b in fns}
        for _ in range(args.repeats):
            for b, fn in fns.items():
                rates[b].append(throughput(fn, big, args.batches))
                times[b].extend(latencies(fn, one, args.calls))
    rows = []
    for b in fns:
        ms = sorted(times[b])
        rows.append(
            {
                "generator": name,
                "backend": b,
                "samples_per_s_1024": max(rates[b]),
                "latency_ms_1_median": statistics.median(ms),
                "latency_ms_1_p90": ms[int(0.9 * (len(ms) - 1))],
                "max_abs_diff": diffs[b],
            }
        )
    rows += [{"generator": name, "backend": b, "skipped": why} for b, why in skipped.items()]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a trained run's G instead of the fresh generators")
    parser.add_argument(
        "--generator",
        action="append",
        choices=sorted(CONFIGS),
        help="time only this generator (repeatable; default: all three)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch and ORT threads")
    parser.add_argument("--repeats", type=int, default=5, help="rounds per backend")
    parser.add_argument("--batches", type=int, default=3, help="1,024-batches per round")
    parser.add_argument("--calls", type=int, default=100, help="batch-1 calls per round")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 batches, 20 calls")
    parser.add_argument("--out", default=str(HERE / "results" / "inference.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.batches, args.calls = 2, 2, 20
    torch.set_num_threads(args.threads)
    print_machine()
    runs = {Path(args.run).name: load_run(args.run)} if args.run else {}
    if not runs:
        runs = {name: fresh_run(name) for name in args.generator or CONFIGS}
        print("generators: fresh, randomly initialised (speed does not depend on the weights)")
    rows: list[dict[str, Any]] = []
    print(
        f"{'generator':<14} {'backend':<12} {'samples/s @1024':>16} {'ms @1 median':>13} "
        f"{'p90':>7} {'max |diff|':>11}"
    )
    for name, run in runs.items():
        for row in measure(name, run, args):
            rows.append(row)
            if "skipped" in row:
                print(f"{name:<14} {row['backend']:<12} skipped: {row['skipped']}")
                continue
            print(
                f"{name:<14} {row['backend']:<12} {row['samples_per_s_1024']:>16,.0f} "
                f"{row['latency_ms_1_median']:>13.3f} {row['latency_ms_1_p90']:>7.3f} "
                f"{row['max_abs_diff']:>11.1e}"
            )
    settings = {k: getattr(args, k) for k in ("threads", "repeats", "batches", "calls")}
    out = write_results(
        args.out, {"settings": settings, "results": rows}, script=__file__, argv=argv
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
