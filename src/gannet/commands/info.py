"""``gannet info``: status, config, last metrics and evaluations of a run."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info", help="describe a run", description="Status, config and last metrics of a run."
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=_info)


def _info(args: argparse.Namespace) -> int:
    from gannet.config import Config
    from gannet.run import CONFIG, METRICS, read_metrics, read_status, require_run_dir

    run_dir = require_run_dir(args.run)
    status = read_status(run_dir)
    config = Config.load(run_dir / CONFIG)
    metrics = read_metrics(run_dir / METRICS)
    last = metrics[-1] if metrics else {}
    evals = {p.stem: json.loads(p.read_text()) for p in sorted((run_dir / "eval").glob("*.json"))}
    if args.json:
        print(
            json.dumps(
                {"status": status, "config": config.to_dict(), "last_metrics": last, "eval": evals},
                indent=2,
            )
        )
        return 0
    c = config
    print(f"run          {run_dir}")
    print(f"status       {status.get('status')} (updated {status.get('updated')})")
    print(
        f"progress     epoch {status.get('epoch')}, step {status.get('step')}, "
        f"{status.get('elapsed_seconds', 0):.0f} s of training on {status.get('device')}"
    )
    print(
        f"data         {c.data.name} ({status.get('train_examples')} examples from "
        f"{status.get('data_source')})"
    )
    print(
        f"models       G {c.model.generator}, D {c.model.discriminator}, z {c.model.z_dim} "
        f"{c.model.noise}"
        + (f", conditional (D by {c.model.d_conditioning})" if c.model.conditional else "")
    )
    print(
        f"training     {c.train.schedule}, k={c.train.k}, batch {c.train.batch_size}, loss "
        f"{c.loss.name}, {c.optim.name} lr {c.optim.lr}, seed {c.train.seed}"
    )
    if last:
        print(
            f"last metrics D {last['d_loss']:.4f}  G {last['g_loss']:.4f}  V {last['value']:.4f}"
            f"  D(x) {last['d_real']:.3f}  D(G(z)) {last['d_fake']:.3f}  "
            f"{last['images_per_s']:.0f} img/s"
        )
    for name, result in evals.items():
        summary = ", ".join(f"{k}={v}" for k, v in result.items() if isinstance(v, int | float))
        print(f"eval {name:12s} {summary}")
    return 0
