"""Do the Parzen score and the classifier FID rank a run's checkpoints the same way?

For every ``RUN/snapshots/epoch-*.pt`` of an MNIST run: the Table 1 Parzen protocol
(sigma chosen on validation rows, mean test log-likelihood) and the Fréchet distance in
gannet's MNIST classifier's features (``fid_mnist-classifier``) against the test split, both
on samples drawn with the same seed; then Kendall's tau between the two rankings (higher
Parzen is better, lower FID is better, so agreement is a tau near -1 between the raw values;
the table reports tau of Parzen against -FID so that +1 means the same ranking).

Run from the repository root::

    GANNET_DATA=/work/shared/data python benchmarks/fid_vs_parzen.py RUN
    python benchmarks/fid_vs_parzen.py RUN --samples 2000 --test 2000 --out /tmp/tau.json

Prints a markdown table and writes it with the figures to ``--out`` (default
``benchmarks/results/fid_vs_parzen.json``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import scipy.stats

from common import print_machine, write_results
from gannet.config import DataConfig
from gannet.data import load_dataset
from gannet.metrics.parzen import parzen_evaluate
from gannet.metrics.scores import classifier_fid
from gannet.trained.run import load_run

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--samples", type=int, default=10000, help="samples per checkpoint")
    p.add_argument("--test", type=int, default=10000, help="test rows scored (Parzen, FID)")
    p.add_argument("--validation", type=int, default=1000, help="validation rows for sigma")
    p.add_argument("--out", default=str(HERE / "results" / "fid_vs_parzen.json"))
    args = p.parse_args(argv)
    print_machine()
    run_dir = Path(args.run)
    snapshots = sorted((run_dir / "snapshots").glob("epoch-*.pt"))
    if len(snapshots) < 2:
        raise SystemExit(f"{run_dir}/snapshots holds {len(snapshots)} epoch-*.pt; need 2 or more")
    first = load_run(run_dir, checkpoint=str(snapshots[0]))
    data = load_dataset(DataConfig(**{**first.config.data.__dict__, "subset": 0}))
    assert data.validation is not None and data.test is not None
    validation, test = data.validation[: args.validation], data.test[: args.test]
    rows = []
    for snap in snapshots:
        t = time.perf_counter()
        run = load_run(run_dir, checkpoint=str(snap))
        samples = run.sample(args.samples, seed=0)
        parzen = parzen_evaluate(samples, validation, test, dataset=data.name)
        fid = classifier_fid(samples, test, data.name)
        if not fid:
            raise SystemExit("no cached mnist classifier: run 'gannet classifier train mnist'")
        ((key, value),) = fid.items()
        rows.append({"snapshot": snap.name, "epoch": run.epoch, "parzen": parzen.test_ll,
                     "parzen_se": parzen.test_se, key: value,
                     "seconds": time.perf_counter() - t})  # fmt: skip
        print(f"{snap.name}: Parzen {parzen.test_ll:.1f} ± {parzen.test_se:.1f}, "
              f"{key} {value:.3f}", flush=True)  # fmt: skip
    key = next(k for k in rows[0] if k.startswith("fid_"))
    tau = scipy.stats.kendalltau([r["parzen"] for r in rows], [-r[key] for r in rows])
    lines = [f"| snapshot | epoch | Parzen (nats) | {key} |", "|---|---|---|---|"]
    lines += [f"| {r['snapshot']} | {r['epoch']} | {r['parzen']:.1f} ± {r['parzen_se']:.1f} | "
              f"{r[key]:.3f} |" for r in rows]  # fmt: skip
    lines.append(f"\nKendall tau (Parzen vs -{key}): {tau.statistic:.3f} (p = {tau.pvalue:.3g}, "
                 f"{len(rows)} checkpoints)")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    report = {"run": str(run_dir), "rows": rows, "kendall_tau": tau.statistic,
              "p_value": tau.pvalue, "samples": args.samples, "test_rows": args.test,
              "validation_rows": args.validation, "table": table}  # fmt: skip
    write_results(args.out, report, script=__file__, argv=argv)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
