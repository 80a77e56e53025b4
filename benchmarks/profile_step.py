"""Where one ``Trainer.step()`` of a config spends its time: ``torch.profiler``'s operators.

Run from the repository root::

    python benchmarks/profile_step.py                        # the paper's MNIST model, fp32
    python benchmarks/profile_step.py --steps 50 --threads 2 --set train.precision="'bf16'"

Prints the operators by self CPU time (and the share of the matrix products, the part gannet
cannot make cheaper in eager PyTorch) and writes them as JSON to ``--out`` (default
``benchmarks/results/profile_step.json``). The figures are shares of the step, so they mean
something on a loaded machine too; the absolute times do not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import print_machine, write_results  # noqa: E402

MATMULS = ("aten::addmm", "aten::mm", "aten::bmm", "aten::convolution", "mkldnn_convolution")


def main(argv: list[str] | None = None) -> int:
    from torch.profiler import ProfilerActivity, profile

    from gannet.config import Config
    from gannet.config.presets import find_config
    from gannet.training import Trainer

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="mnist-paper", help="a bundled config or a TOML file")
    p.add_argument("--steps", type=int, default=20, help="profiled steps (default 20)")
    p.add_argument("--warmup", type=int, default=5, help="steps before profiling (default 5)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--set", action="append", default=[], help="config override KEY=VALUE")
    p.add_argument("--rows", type=int, default=15, help="operators printed (default 15)")
    p.add_argument("--out", default=str(HERE / "results" / "profile_step.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_machine()
    overrides = ["train.progress='none'", f"train.threads={args.threads}", *args.set]
    trainer = Trainer(Config.load(find_config(args.config)).with_overrides(overrides))
    for _ in range(args.warmup):
        trainer.step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            trainer.step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    ops: list[dict[str, Any]] = [
        {
            "name": e.key,
            "self_share": e.self_cpu_time_total / total,
            "self_ms_per_step": e.self_cpu_time_total / 1e3 / args.steps,
            "calls_per_step": e.count / args.steps,
        }
        for e in events
    ]
    matmul = sum(op["self_share"] for op in ops if op["name"] in MATMULS)
    print(f"{'operator':<48} {'self %':>7} {'ms/step':>8} {'calls/step':>10}")
    for op in ops[: args.rows]:
        print(
            f"{op['name'][:48]:<48} {100 * op['self_share']:>6.1f}% "
            f"{op['self_ms_per_step']:>8.2f} {op['calls_per_step']:>10.1f}"
        )
    print(f"matrix products: {100 * matmul:.1f} % of the step's self CPU time")
    payload = {
        "config": args.config,
        "overrides": overrides,
        "steps": args.steps,
        "matmul_share": matmul,
        "operators": ops[:40],
    }
    out = write_results(args.out, payload, script=__file__, argv=argv)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
