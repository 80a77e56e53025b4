"""Mixed-precision policies on the paper's MNIST model: Parzen of the EMA weights at chosen
epochs and ms per ``Trainer.step()``, one policy per run.

A policy is ``G:D`` (each fp32 or bf16): ``fp32:fp32``, ``bf16:bf16`` (``train.precision =
"bf16"`` before issue 26: both networks autocast), ``bf16:fp32`` (G in bf16, D in fp32). On a
CPU with native bf16 (AVX-512-BF16 or AMX) the runs use real autocast; elsewhere bf16 is
**simulated** (``bf16sim.py``: fp32 maths on bf16-rounded operands, the numbers native bf16
gives, at fp32 speed), so the quality columns are meaningful anywhere but the speed column is
a bf16 speed only where the features line says ``native``.

    python benchmarks/precision.py --policy bf16:fp32 --epochs 10,30 --threads 1 \\
        --out benchmarks/results/precision-bf16-fp32.json

Each run writes its JSON after every evaluation, so a run stopped early keeps the epochs it
reached. ``--table A.json B.json ...`` prints the Markdown table of finished files.
Config: ``configs/mnist-paper.toml --set train.ema=0.999`` (``--set`` adds overrides).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bf16sim import simulate_trainer  # noqa: E402
from common import print_machine, write_results  # noqa: E402

from gannet.config import Config  # noqa: E402


def cpu_bf16_features() -> dict[str, Any]:
    """What this CPU offers for bf16 and how this benchmark will run bf16 on it."""
    from gannet.training.precision import native_bf16_cpu

    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    native = native_bf16_cpu()
    return {
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "avx2": "avx2" in flags,
        "native_bf16": native,
        "bf16_mode": "native" if native else "simulated",
    }


def parzen_of(trainer: Any, n: int) -> dict[str, float]:
    """Parzen log-likelihood (paper protocol: sigma on 1,000 validation rows, 10,000 test
    rows) of n samples of the EMA generator, evaluated in fp32 from fixed noise."""
    from gannet.metrics.parzen import parzen_evaluate
    from gannet.models import sample_noise

    mc = trainer.config.model
    gen = torch.Generator().manual_seed(0)
    G = trainer.G_eval
    G.eval()
    with torch.no_grad():
        z = sample_noise(n, mc.z_dim, mc.noise, "cpu", generator=gen)
        samples = torch.cat([G(c) for c in z.split(1000)]).float().clamp(0, 1)
    G.train()
    data = trainer.data
    result = parzen_evaluate(samples, data.validation[:1000], data.test, seed=0)
    return {"parzen": result.test_ll, "parzen_se": result.test_se, "sigma": result.sigma}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default="fp32:fp32", help="G:D precisions (fp32, bf16)")
    parser.add_argument("--epochs", default="10,30", help="epochs to evaluate at")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mode", choices=["auto", "native", "simulated"], default="auto")
    parser.add_argument("--set", action="append", default=[], help="extra config overrides")
    parser.add_argument("--out", default="")
    parser.add_argument("--table", nargs="*", help="print the table of these result files")
    args = parser.parse_args(argv)
    if args.table is not None:
        print(markdown_table([json.loads(Path(p).read_text()) for p in args.table]))
        return 0
    torch.set_num_threads(args.threads)
    features = cpu_bf16_features()
    print_machine()
    print(
        "bf16 features: "
        + ", ".join(f"{k}={v}" for k, v in features.items())
        + f"; load average {os.getloadavg()[0]:.1f}"
    )
    mode = features["bf16_mode"] if args.mode == "auto" else args.mode
    g, d = args.policy.split(":")
    epochs = sorted(int(e) for e in args.epochs.split(","))
    overrides = [
        "train.ema=0.999",
        f"train.epochs={epochs[-1]}",
        f"train.threads={args.threads}",
        'train.progress="none"',
        f'train.precision="{"bf16" if "bf16" in (g, d) else "fp32"}"',
        f'train.precision_g="{g}"',
        f'train.precision_d="{d}"',
        *args.set,
    ]
    config = Config.load(HERE.parent / "configs" / "mnist-paper.toml", overrides)
    if mode == "simulated":
        os.environ["GANNET_ALLOW_EMULATED_PRECISION"] = "1"  # nothing is emulated: see below
    from gannet.training import Trainer

    trainer = Trainer(config)
    out = Path(args.out or HERE / "results" / f"precision-{g}-{d}.json")
    record: dict[str, Any] = {
        "policy": {"g": g, "d": d},
        "bf16": mode,
        "features": features,
        "overrides": overrides,
        "evaluations": [],
        "finished": False,
    }
    train_seconds, steps = 0.0, 0
    import contextlib

    sim = simulate_trainer(trainer) if mode == "simulated" else contextlib.nullcontext()
    with sim:
        for epoch in range(1, epochs[-1] + 1):
            t0 = time.perf_counter()
            for _ in range(trainer.iterations_per_epoch):
                trainer.step()
            train_seconds += time.perf_counter() - t0
            steps += trainer.iterations_per_epoch
            if epoch not in epochs:
                continue
            score = parzen_of(trainer, args.samples)
            entry = {
                "epoch": epoch,
                **score,
                "ms_per_step": 1000 * train_seconds / steps,
                "load_average": os.getloadavg()[0],
            }
            record["evaluations"].append(entry)
            record["finished"] = epoch == epochs[-1]
            print(
                f"{args.policy} epoch {epoch}: Parzen {score['parzen']:.1f} ± "
                f"{score['parzen_se']:.1f}, {entry['ms_per_step']:.1f} ms/step ({mode})",
                flush=True,
            )
            write_results(out, record, script=__file__, argv=sys.argv[1:])
    return 0


def markdown_table(results: list[dict[str, Any]]) -> str:
    epochs = sorted({e["epoch"] for r in results for e in r["evaluations"]})
    head = "| G | D | bf16 | " + " | ".join(f"Parzen, epoch {e}" for e in epochs)
    lines = [head + " | ms/step |", "|---|---|---|" + "---|" * (len(epochs) + 1)]
    for r in results:
        by_epoch = {e["epoch"]: e for e in r["evaluations"]}
        cells = [
            f"{by_epoch[e]['parzen']:.1f} ± {by_epoch[e]['parzen_se']:.1f}"
            if e in by_epoch
            else "-"
            for e in epochs
        ]
        last = r["evaluations"][-1] if r["evaluations"] else {}
        ms = f"{last['ms_per_step']:.1f}" if last else "-"
        lines.append(
            f"| {r['policy']['g']} | {r['policy']['d']} | {r['bf16']} | "
            + " | ".join(cells)
            + f" | {ms} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
