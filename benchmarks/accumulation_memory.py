"""Peak memory and time of training iterations with and without train.batch_gpu.

Gradient accumulation exists to fit a recipe's batch in less memory (issue 28). For each
micro-batch size, a fresh child process builds a trainer on random 3 x 64 x 64 images
(dcgan-g / dcgan-d, the global batch fixed), runs one warm-up iteration, then ``--steps``
timed iterations, and reports its peak resident memory (``ru_maxrss``) minus what it held
after building the trainer: what the iterations themselves added (activations, gradients,
optimizer state). The CPU seconds are printed beside the wall seconds: on a shared machine
the wall time depends on the other processes.

Run from the repository root::

    python benchmarks/accumulation_memory.py
    python benchmarks/accumulation_memory.py --batch 64 --micro 0,16,8 --steps 3 --out /tmp/a.json

Writes ``benchmarks/results/accumulation_memory.json`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(batch: int, micro: int, steps: int, size: int) -> None:
    """One measurement in this process; prints one JSON line."""
    import torch

    from gannet.config import Config
    from gannet.data import Dataset
    from gannet.training import Trainer

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    data = Dataset("random", torch.rand(batch * 2, 3, size, size, generator=gen))
    config = Config().with_overrides(
        [
            "model.generator='dcgan-g'",
            "model.discriminator='dcgan-d'",
            "model.d_norm='layer'",  # no batch statistics: the update is the whole batch's
            "optim.name='adam'",
            "optim.lr=0.0002",
            f"train.batch_size={batch}",
            f"train.batch_gpu={micro}",
            "train.progress='none'",
            "train.threads=1",
        ]
    )
    trainer = Trainer(config, data)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    trainer.step()  # warm-up: the optimizer states are created here
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        trainer.step()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "batch": batch,
                "batch_gpu": micro,
                "micro_batches": trainer.micro,
                "added_peak_mib": round((peak - base) / 1024, 1),
                "s_per_iteration_wall": round(wall / steps, 3),
                "s_per_iteration_cpu": round(cpu / steps, 3),
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--micro", default="0,16,8", help="batch_gpu values, comma-separated")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", default=str(HERE / "results" / "accumulation_memory.json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.batch, args.one, args.steps, args.size)
        return
    sys.path.insert(0, str(HERE))
    from common import print_machine, write_results

    print_machine()
    rows = []
    for micro in (int(m) for m in args.micro.split(",")):
        cmd = [sys.executable, __file__, "--child", "--one", str(micro)]
        cmd += ["--batch", str(args.batch), "--steps", str(args.steps), "--size", str(args.size)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"batch {row['batch']:4d}  batch_gpu {row['batch_gpu']:3d} ({row['micro_batches']} "
            f"passes): +{row['added_peak_mib']:7.1f} MiB peak, "
            f"{row['s_per_iteration_wall']:.2f} s/it wall, "
            f"{row['s_per_iteration_cpu']:.2f} s/it CPU"
        )
    write_results(args.out, {"size": args.size, "results": rows}, script=__file__, argv=argv)


if __name__ == "__main__":
    main()
