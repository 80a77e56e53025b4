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
    parser.add_argument(
        "--casts", action="store_true", help="count dtype casts per step for each policy"
    )
    parser.add_argument(
        "--sites", action="store_true", help="D's gradient error from each bf16 rounding site"
    )
    args = parser.parse_args(argv)
    if args.table is not None:
        print(markdown_table([json.loads(Path(p).read_text()) for p in args.table]))
        return 0
    if args.casts:
        return count_policy_casts(args)
    if args.sites:
        return rounding_sites(args)
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


CAST_POLICIES = ("fp32:fp32", "bf16:fp32", "fp32:bf16", "bf16:bf16")


def count_policy_casts(args: argparse.Namespace) -> int:
    """Dtype casts per ``Trainer.step()`` of the paper's MNIST model, per policy, counted by
    ``torch.profiler`` with real autocast (emulated bf16 where the CPU lacks it: the casts
    are the same, only slower)."""
    from gannet.training import Trainer
    from gannet.training.precision import count_casts

    torch.set_num_threads(args.threads)
    print_machine()
    os.environ["GANNET_ALLOW_EMULATED_PRECISION"] = "1"
    counts: dict[str, dict[str, float]] = {}
    for policy in CAST_POLICIES:
        g, d = policy.split(":")
        overrides = [
            f"train.threads={args.threads}",
            'train.progress="none"',
            f'train.precision_g="{g}"',
            f'train.precision_d="{d}"',
            *args.set,
        ]
        trainer = Trainer(Config.load(HERE.parent / "configs" / "mnist-paper.toml", overrides))
        counts[policy] = count_casts(trainer.step, steps=2)
        print(
            f"{policy}: {counts[policy]['casts']:.0f} casts, "
            f"{counts[policy]['copies']:.0f} copies per step",
            flush=True,
        )
    out = Path(args.out or HERE / "results" / "precision-casts.json")
    write_results(out, {"casts_per_step": counts}, script=__file__, argv=sys.argv[1:])
    return 0


SITES = ("input", "weights", "matmul output", "dropout product", "logit")


def rounding_sites(args: argparse.Namespace) -> int:
    """Where a bf16 D loses precision: the paper's maxout D (784 -> 240x5 -> 240x5 -> 1,
    dropout 0.8 / 0.5) on 200 MNIST images, its cost's gradient (non-saturating, real side)
    computed in fp32 with bf16 rounding at one site at a time, and at all of them, as
    relative error ||g - g_fp32|| / ||g_fp32|| per parameter and for the input (the gradient
    G receives). Weights U(-s, s) for the paper's init s = 0.005 and larger s (the logits of a
    trained D)."""
    import torch.nn.functional as F

    from gannet.data import load_dataset

    torch.set_num_threads(args.threads)
    print_machine()
    config = Config.load(HERE.parent / "configs" / "mnist-paper.toml")
    x = load_dataset(config.data, progress="none").as_float("train")[:200].reshape(200, -1)

    def r(t: torch.Tensor) -> torch.Tensor:
        return t.bfloat16().float()

    def forward(
        P: list[torch.Tensor], x: torch.Tensor, at: set[str], masks: Any, select: bool
    ) -> Any:
        def R(t: torch.Tensor, site: str) -> torch.Tensor:
            return r(t) if site in at else t

        h = R(x * masks[0], "input")
        for layer in range(2):
            w, b = P[2 * layer], P[2 * layer + 1]
            y = R(F.linear(h, R(w, "weights"), R(b, "weights")), "matmul output")
            y = y.view(len(x), 5, 240)
            y = y.amax(1) if select else y[:, 0]
            h = R(R(y * masks[layer + 1], "dropout product"), "input")
        return R(F.linear(h, R(P[4], "weights"), R(P[5], "weights")), "logit").view(-1)

    results: dict[str, Any] = {}
    names = ["W1", "b1", "W2", "b2", "W3", "b3", "x (to G)"]
    for scale in (0.005, 0.05, 0.2):
        gen = torch.Generator().manual_seed(0)
        shapes = [(1200, 784), (1200,), (1200, 240), (1200,), (1, 240), (1,)]
        P0 = [(torch.rand(s, generator=gen) * 2 - 1) * scale for s in shapes]
        masks = [
            (torch.rand(200, n, generator=gen) < keep).float() / keep
            for n, keep in ((784, 0.8), (240, 0.5), (240, 0.5))
        ]

        def grads(
            at: set[str], P0: list[torch.Tensor], masks: list[torch.Tensor], select: bool = True
        ) -> tuple[list[torch.Tensor], torch.Tensor]:
            P = [p.clone().requires_grad_() for p in P0]
            xx = x.clone().requires_grad_()
            out = forward(P, xx, at, masks, select)
            F.softplus(-out).mean().backward()
            found = [t.grad for t in [*P, xx]]
            return [g if g is not None else torch.zeros(()) for g in found], out.detach()

        ref, logits = grads(set(), P0, masks)
        rows: dict[str, dict[str, float]] = {}
        for at in [*({s} for s in SITES), set(SITES)]:
            got, _ = grads(at, P0, masks)
            label = "all" if len(at) > 1 else next(iter(at))
            rows[label] = {
                n: float((a - b).norm() / b.norm()) for n, a, b in zip(names, got, ref, strict=True)
            }
        # Control: the same D with its first piece instead of the max over pieces (no
        # selection): every rounding at once then costs what bf16's 8 bits predict.
        plain, _ = grads(set(), P0, masks, select=False)
        got, _ = grads(set(SITES), P0, masks, select=False)
        rows["all, no max (control)"] = {
            n: float((a - b).norm() / b.norm()) for n, a, b in zip(names, got, plain, strict=True)
        }
        first = F.linear(r(x * masks[0]), r(P0[0]), r(P0[1]))
        pieces = r(first).view(200, 5, 240)
        ties = (pieces == pieces.amax(1, keepdim=True)).sum(1) > 1
        results[str(scale)] = {
            "mean_abs_logit": float(logits.abs().mean()),
            "relative_gradient_error": rows,
            "maxout_tie_rate_layer1": float(ties.float().mean()),
        }
        print(f"\nweights U(+-{scale}): mean |logit| {float(logits.abs().mean()):.3g}")
        print("| rounded at | " + " | ".join(names) + " |")
        for label, row in rows.items():
            print(f"| {label} | " + " | ".join(f"{row[n]:.1e}" for n in names) + " |")
    out = Path(args.out or HERE / "results" / "precision-sites.json")
    write_results(out, {"sites": results}, script=__file__, argv=sys.argv[1:])
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
        bf16 = r["bf16"] if "bf16" in r["policy"].values() else "-"
        lines.append(
            f"| {r['policy']['g']} | {r['policy']['d']} | {bf16} | "
            + " | ".join(cells)
            + f" | {ms} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
