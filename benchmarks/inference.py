"""Sampling speed of a generator per export format and precision, and its quality cost.

Run from the repository root::

    python benchmarks/inference.py                     # the three generators, 2 threads
    python benchmarks/inference.py --quick             # fewer repeats (a smoke test)
    python benchmarks/inference.py --run RUN           # a trained run's G instead
    python benchmarks/inference.py --run RUN --parzen  # + Parzen of each backend's samples
    python benchmarks/inference.py --run RUN --fid     # + classifier FID (colour models)
    python benchmarks/inference.py --threads 1 --generator dcgan-mnist --out /tmp/i.json

Generators (``--run`` absent): fresh, randomly initialised G of the shapes of the bundled
configs (speed does not depend on the weights): the paper's MLP (``mnist-paper``: z 100 ->
1200 -> 1200 -> 784, ReLU, sigmoid), DCGAN's G for MNIST (``mnist-dcgan``: z 100 -> 7x7x128
-> 14x14x64 -> 28x28x1) and for CIFAR-10 (``cifar10-dcgan``: z 100 -> 4x4x256 -> ... ->
32x32x3), in eval mode (BatchNorm with running statistics).

Backends (``--backend``, repeatable; default all that this machine can run):

* ``eager-fp32``, ``eager-bf16``: the ``nn.Module`` under ``torch.inference_mode`` (bf16: the
  module ``gannet export --precision bf16`` exports, a bfloat16 copy behind float32 edges);
* ``pt2-fp32``, ``pt2-bf16``: the torch.export ExportedProgram (``--format pt2``), loaded by
  ``gannet.trained.exporting.load_exported``;
* ``aoti-fp32``: the AOTInductor package (``--format aoti``; compiled here, which takes
  minutes: ``--no-aoti`` leaves it out; skipped with the reason where no C++ compiler exists);
* ``onnx-fp32``, ``onnx-int8``: ONNX Runtime's CPU provider (``--format onnx``, int8: ONNX
  Runtime's dynamic quantisation), ``intra_op_num_threads`` = ``--threads``;
* ``torchscript-fp32``: the legacy format, for comparison with earlier figures.

Figures (contenders interleaved round by round, so other jobs on the machine slow each
alike):

* ``samples/s @1024``: batches of 1,024 noise vectors; the best of ``--repeats`` rounds, each
  round ``--batches`` calls (a round stops early after ``--round-seconds``, at least one call:
  bf16 is emulated on CPUs without native bf16 and takes seconds a batch).
* ``latency @1`` (ms): one noise vector per call; the median and 90th percentile over all
  calls of all rounds (``--calls`` per round, the same time cap).
* ``max |diff|``: the largest difference of the backend's samples from eager fp32's.
* ``--parzen`` (with ``--run`` of an MNIST run): the paper's Parzen log-likelihood of 10,000
  samples (the same z) by ``gannet eval parzen --samples-file``, once per precision (the
  formats of one precision give the same samples to 1e-5): the quality each precision costs.
* ``--fid`` (with ``--run``; for the colour models): the Fréchet distance of 10,000 samples'
  features under the run dataset's shipped classifier against its test split (``gannet eval
  fid --samples-file``; for an image-folder run of CIFAR-10 the held-out 10,000 images of the
  run's own folder), once per precision, the same way.

The machine's load (``uptime``) is printed before and after and stored with the results.
Printed, and written as JSON to ``--out`` (default ``benchmarks/results/inference.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common import print_machine, write_results
from gannet.cli import main as gannet_main
from gannet.config import Config
from gannet.config.presets import find_config
from gannet.errors import GannetError
from gannet.files.samplefile import write_samples_npz
from gannet.models import build_generator
from gannet.trained.exporting import export_generator, load_exported, missing_for
from gannet.trained.exporting.precision import InBFloat16
from gannet.trained.run import Run, load_run

HERE = Path(__file__).resolve().parent

CONFIGS = {
    "paper-mlp": "mnist-paper",
    "dcgan-mnist": "mnist-dcgan",
    "dcgan-cifar10": "cifar10-dcgan",
}
SHAPES = {"cifar10": (3, 32, 32)}
"""Sample shapes of the configs' datasets other than MNIST's (1, 28, 28)."""
BACKENDS = {
    "eager-fp32": ("eager", "fp32"),
    "eager-bf16": ("eager", "bf16"),
    "pt2-fp32": ("pt2", "fp32"),
    "pt2-bf16": ("pt2", "bf16"),
    "aoti-fp32": ("aoti", "fp32"),
    "onnx-fp32": ("onnx", "fp32"),
    "onnx-int8": ("onnx", "int8"),
    "torchscript-fp32": ("torchscript", "fp32"),
}

Generate = Callable[[torch.Tensor], torch.Tensor]


def uptime() -> str:
    """``uptime``'s line (the load averages), or the load averages alone."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def fresh_run(name: str) -> Run:
    """A randomly initialised G of the config's shape, as a Run that export_generator takes."""
    config = Config.load(find_config(CONFIGS[name]))
    shape = SHAPES.get(config.data.name, (1, 28, 28))
    torch.manual_seed(0)
    g = build_generator(config.model, shape).eval()
    return Run(Path(f"<random {name}>"), config, g, nn.Identity())


def eager(g: nn.Module) -> Generate:
    def generate(z: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            out: torch.Tensor = g(z)
        return out

    return generate


def backends(
    run: Run, folder: Path, args: argparse.Namespace
) -> tuple[dict[str, Generate], dict[str, str], dict[str, float]]:
    """Each asked-for backend's G(z) that this machine can run, why any other was skipped,
    and the seconds each export took."""
    found: dict[str, Generate] = {}
    skipped: dict[str, str] = {}
    export_s: dict[str, float] = {}
    g = run.generator.eval()
    for name in args.backend or BACKENDS:
        fmt, precision = BACKENDS[name]
        if fmt == "eager":
            found[name] = eager(g if precision == "fp32" else InBFloat16(g).eval())
            continue
        if fmt == "aoti" and args.no_aoti:
            skipped[name] = "left out (--no-aoti)"
            continue
        if reason := missing_for(fmt, precision):
            skipped[name] = reason
            continue
        path = folder / f"{name}.bin"
        start = time.perf_counter()
        try:
            export_generator(run, path, fmt, precision=precision)
        except GannetError as e:  # e.g. int8 for a G with no layer ONNX Runtime quantises
            skipped[name] = str(e)
            continue
        export_s[name] = time.perf_counter() - start
        found[name] = load_exported(path, threads=args.threads)
    return found, skipped, export_s


def throughput(fn: Generate, z: torch.Tensor, batches: int, cap: float) -> float:
    start = time.perf_counter()
    done = 0
    while done < batches and (done == 0 or time.perf_counter() - start < cap):
        fn(z)
        done += 1
    return done * z.shape[0] / (time.perf_counter() - start)


def latencies(fn: Generate, z: torch.Tensor, calls: int, cap: float) -> list[float]:
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < calls and (not times or time.perf_counter() - start < cap):
        t = time.perf_counter()
        fn(z)
        times.append((time.perf_counter() - t) * 1000)
    return times


def parzen(fn: Generate, z: torch.Tensor, folder: Path, name: str) -> dict[str, float]:
    """The Parzen log-likelihood on MNIST's test set of fn's samples of z (gannet eval parzen
    --samples-file: the paper's protocol, sigma chosen on validation rows)."""
    samples = torch.cat([fn(chunk) for chunk in z.split(1000)]).numpy()
    npz, out = folder / f"{name}.npz", folder / f"{name}-parzen.json"
    write_samples_npz(npz, samples)
    args = ["eval", "parzen", "--samples-file", str(npz), "--data", "mnist", "--out", str(out)]
    if gannet_main(args) != 0:
        raise SystemExit(f"gannet eval parzen failed for {name}")
    result = json.loads(out.read_text())
    return {"parzen_ll": result["test_ll"], "parzen_se": result["test_se"]}


def fid(fn: Generate, z: torch.Tensor, folder: Path, name: str, run: Run) -> dict[str, float]:
    """The classifier FID of fn's samples of z against the run's test images (gannet eval fid
    on a samples file, the dataset's shipped classifier as the feature extractor)."""
    samples = torch.cat([fn(chunk) for chunk in z.split(500)]).numpy()
    npz, out = folder / f"{name}.npz", folder / f"{name}-fid.json"
    write_samples_npz(npz, samples)
    data = run.config.data
    dataset = "cifar10" if data.name == "folder" else data.name
    args = ["eval", "fid", str(npz), "--against", f"{dataset}:test", "--out", str(out)]
    if data.data_dir:
        args += ["--data-dir", str(data.data_dir)]
    if gannet_main(args) != 0:
        raise SystemExit(f"gannet eval fid failed for {name}")
    result = json.loads(out.read_text())
    key = next(k for k in result if k.startswith("fid_"))
    return {"fid": float(result[key]), "fid_extractor": key.removeprefix("fid_")}


def measure(name: str, run: Run, args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="gannet-inference-") as tmp:
        fns, skipped, export_s = backends(run, Path(tmp), args)
        z_dim = run.config.model.z_dim
        big = torch.rand(1024, z_dim, generator=torch.Generator().manual_seed(1)) * 2 - 1
        one = big[:1].clone()
        reference = eager(run.generator)(big)
        diffs = {b: float((fn(big) - reference).abs().max()) for b, fn in fns.items()}
        for fn in fns.values():  # warm-up: first calls allocate and pick kernels
            fn(big)
            latencies(fn, one, 5, args.round_seconds)
        rates: dict[str, list[float]] = {b: [] for b in fns}
        times: dict[str, list[float]] = {b: [] for b in fns}
        for _ in range(args.repeats):
            for b, fn in fns.items():
                rates[b].append(throughput(fn, big, args.batches, args.round_seconds))
                times[b].extend(latencies(fn, one, args.calls, args.round_seconds))
        quality: dict[str, dict[str, Any]] = {}
        scorers = {"parzen": args.parzen, "fid": args.fid}
        for metric in [m for m, on in scorers.items() if on]:
            n = args.parzen_samples if metric == "parzen" else args.fid_samples
            z = prior_noise(run, n)
            scored: dict[str, str] = {}  # precision -> the backend scored for it
            for b, fn in fns.items():
                precision = BACKENDS[b][1]
                if precision in scored:  # the same samples to 1e-5 (tests/test_export.py)
                    first = scored[precision]
                    quality[b] = {**quality.get(b, {}), **quality[first], f"{metric}_of": first}
                    continue
                scored[precision] = b
                if metric == "parzen":
                    q = parzen(fn, z, Path(tmp), b)
                    print(f"  parzen {b}: {q['parzen_ll']:.1f} ± {q['parzen_se']:.1f}")
                else:
                    q = fid(fn, z, Path(tmp), b, run)
                    print(f"  fid {b}: {q['fid']:.2f} ({q['fid_extractor']})")
                quality[b] = {**quality.get(b, {}), **q}
    rows = []
    for b in fns:
        ms = sorted(times[b])
        fmt, precision = BACKENDS[b]
        rows.append(
            {
                "generator": name,
                "backend": b,
                "format": fmt,
                "precision": precision,
                "samples_per_s_1024": max(rates[b]),
                "latency_ms_1_median": statistics.median(ms),
                "latency_ms_1_p90": ms[int(0.9 * (len(ms) - 1))],
                "latency_calls": len(ms),
                "max_abs_diff": diffs[b],
                "export_s": export_s.get(b),
                **quality.get(b, {}),
            }
        )
    rows += [{"generator": name, "backend": b, "skipped": why} for b, why in skipped.items()]
    return rows


def prior_noise(run: Run, n: int) -> torch.Tensor:
    """n noise vectors from the run's prior (seed 0), the same for every backend."""
    from gannet.models import sample_noise

    gen = torch.Generator().manual_seed(0)
    return sample_noise(n, run.config.model.z_dim, run.config.model.noise, "cpu", gen)


def print_row(row: dict[str, Any]) -> None:
    name, b = row["generator"], row["backend"]
    if "skipped" in row:
        print(f"{name:<14} {b:<17} skipped: {row['skipped']}")
        return
    quality = f" {row['parzen_ll']:>9.1f}" if "parzen_ll" in row else ""
    quality += f" {row['fid']:>9.2f}" if "fid" in row else ""
    print(
        f"{name:<14} {b:<17} {row['samples_per_s_1024']:>16,.0f} "
        f"{row['latency_ms_1_median']:>13.3f} {row['latency_ms_1_p90']:>8.3f} "
        f"{row['max_abs_diff']:>11.1e}{quality}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a trained run's G instead of the fresh generators")
    parser.add_argument("--checkpoint", help="with --run: a snapshot instead of the latest")
    parser.add_argument(
        "--generator",
        action="append",
        choices=sorted(CONFIGS),
        help="time only this generator (repeatable; default: all three)",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=list(BACKENDS),
        help="time only this backend (repeatable; default: all)",
    )
    parser.add_argument("--no-aoti", action="store_true", help="leave out the AOTInductor build")
    parser.add_argument("--threads", type=int, default=2, help="torch and ORT threads")
    parser.add_argument("--repeats", type=int, default=5, help="rounds per backend")
    parser.add_argument("--batches", type=int, default=3, help="1,024-batches per round")
    parser.add_argument("--calls", type=int, default=100, help="batch-1 calls per round")
    parser.add_argument(
        "--round-seconds", type=float, default=10.0, help="cap on one backend's round"
    )
    parser.add_argument("--parzen", action="store_true", help="Parzen of each backend (MNIST)")
    parser.add_argument("--parzen-samples", type=int, default=10_000, help="samples for Parzen")
    parser.add_argument("--fid", action="store_true", help="classifier FID of each backend")
    parser.add_argument("--fid-samples", type=int, default=10_000, help="samples for FID")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 batches, 20 calls")
    parser.add_argument("--out", default=str(HERE / "results" / "inference.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.batches, args.calls = 2, 2, 20
    if args.parzen and not args.run:
        parser.error("--parzen needs --run (a trained MNIST run)")
    if args.fid and not args.run:
        parser.error("--fid needs --run (a trained run)")
    torch.set_num_threads(args.threads)
    print_machine()
    load_before = uptime()
    print(f"uptime: {load_before}")
    runs = {Path(args.run).name: load_run(args.run, args.checkpoint)} if args.run else {}
    if not runs:
        runs = {name: fresh_run(name) for name in args.generator or CONFIGS}
        print("generators: fresh, randomly initialised (speed does not depend on the weights)")
    rows: list[dict[str, Any]] = []
    print(
        f"{'generator':<14} {'backend':<17} {'samples/s @1024':>16} {'ms @1 median':>13} "
        f"{'p90':>8} {'max |diff|':>11}{' parzen' if args.parzen else ''}"
        f"{'      fid' if args.fid else ''}"
    )
    for name, run in runs.items():
        for row in measure(name, run, args):
            rows.append(row)
            print_row(row)
    load_after = uptime()
    print(f"uptime: {load_after}")
    settings = {
        k: getattr(args, k)
        for k in (
            "threads",
            "repeats",
            "batches",
            "calls",
            "round_seconds",
            "parzen_samples",
            "fid_samples",
        )
    }
    settings["run"], settings["checkpoint"] = args.run, args.checkpoint
    payload = {
        "settings": settings,
        "uptime_before": load_before,
        "uptime_after": load_after,
        "results": rows,
    }
    out = write_results(args.out, payload, script=__file__, argv=argv)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
