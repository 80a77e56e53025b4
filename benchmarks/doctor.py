"""gannet doctor's confusion table: runs made to fail each way, and healthy runs, x seeds.

Run from the repository root (1 thread; minutes per seed on a loaded 2-core machine)::

    OMP_NUM_THREADS=1 python benchmarks/doctor.py                      # every kind, seeds 0-2
    python benchmarks/doctor.py --seeds 1 --out /tmp/s1.json --keep /tmp/runs   # one seed
    python benchmarks/doctor.py --merge /tmp/s0.json,/tmp/s1.json --keep /tmp/runs \
        --figures docs/img
    python benchmarks/doctor.py --kinds d-wins-ring-minimax,healthy-ring-r1 --seeds 0

Each kind is a small run (toy 2-D mixtures, or MNIST subsets from $GANNET_DATA) with a few
config overrides that make it fail one way, or train it well. Every run is trained with
``gannet.train``'s machinery (the live doctor on), then diagnosed by ``gannet.doctor`` (the
sample-based checks included). Rows: what the run was made to do; columns: the findings
doctor called failing ("healthy": none). A run counts once in every column it was named
in, so a row can sum to more than its seeds. The runs skip the per-epoch sample grids and
curves.png (the small-data runs end an epoch every step or two); everything else is
``gannet train``'s set of hooks.

Output: the table (also Markdown), every run's verdict and evidence in ``--out`` (default
benchmarks/results/doctor.json), and with ``--figures DIR`` one picture per finding (a run
made to fail beside a healthy one) for docs/doctor.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from common import print_machine, write_results
from gannet.config import Config
from gannet.data.synthetic import mixture_2d_modes
from gannet.doctor import Report, doctor
from gannet.doctor.collapse import collapse_onto_one_mode
from gannet.errors import GannetError
from gannet.training import run_hooks, start_run
from gannet.training.hooks import Curves, SampleGrids

REPO = Path(__file__).resolve().parents[1]
FINDINGS = (
    "divergence", "d-wins", "mode-collapse", "oscillation", "d-overfits", "memorisation",
    "progress",
)  # fmt: skip

TOY = [
    "data.name='mixture-2d'", "data.mixture='ring'", "data.n_samples=50000",
    "model.generator='mlp-g'", "model.discriminator='mlp-d'", "model.z_dim=2",
    "model.noise='normal'", "model.g_hidden=[32, 32]", "model.d_hidden=[32, 32]",
    "optim.name='adam'", "optim.lr=1e-3", "optim.betas=[0.5, 0.99]",
    "loss.name='non-saturating'", "train.batch_size=64", "train.epochs=1000",
    "train.log_every=25", "train.checkpoint_every=100", "train.progress='none'",
    "train.n_fixed_samples=4", "train.max_steps=400",
]  # fmt: skip
"""The toy base: the 8-Gaussian ring, small MLPs, Adam (tests/test_doctor.py's RING)."""
MNIST = [
    "data.name='mnist'", "data.subset=2000", "model.g_hidden=[256, 256]",
    "model.d_hidden=[128, 128]", "model.d_pieces=2", "optim.name='adam'", "optim.lr=2e-4",
    "optim.betas=[0.5, 0.999]", "train.batch_size=50", "train.epochs=1000",
    "train.log_every=10", "train.checkpoint_every=100", "train.progress='none'",
    "train.n_fixed_samples=4", "train.max_steps=300",
]  # fmt: skip
"""The MNIST base: a smaller paper MLP G and maxout D on a 2,000-image subset, Adam."""

KINDS: dict[str, tuple[str, list[str], list[str]]] = {
    # name: (expected finding or "healthy", base, overrides)
    "healthy-ring-r1": ("healthy", TOY, ["loss.r1_gamma=0.1"]),
    "healthy-ring-lsgan": ("healthy", TOY, ["loss.name='least-squares'"]),
    "healthy-ring-hinge-sn": ("healthy", TOY, ["loss.name='hinge'", "loss.spectral_norm=true"]),
    "healthy-mnist-paper-ema": (
        "healthy",
        [],
        [
            "data.subset=2000",
            "train.ema=0.999",
            "train.ema_rampup=0.05",
            "train.batch_size=100",
            "train.max_steps=200",
            "train.log_every=10",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.checkpoint_every=100",
        ],
    ),
    "d-wins-ring-minimax": (
        "d-wins",
        TOY,
        [
            "loss.name='minimax'",
            "train.k=5",
            "optim.g_lr_scale=0.01",
            "train.log_every=5",
            "train.max_steps=150",
        ],
    ),
    "d-wins-mnist-minimax": (
        "d-wins",
        MNIST,
        ["loss.name='minimax'", "train.k=5", "optim.g_lr_scale=0.01"],
    ),
    "collapse-ring-start": ("mode-collapse", TOY, ["optim.g_lr_scale=0.01"]),
    "collapse-grid-start": ("mode-collapse", TOY, ["data.mixture='grid'", "optim.g_lr_scale=0.01"]),
    "oscillation-ring-adam": (
        "oscillation",
        TOY,
        [
            "train.schedule='simultaneous'",
            "optim.lr=1e-2",
            "optim.betas=[0.9, 0.999]",
            "train.log_every=10",
        ],
    ),
    "oscillation-ring-minimax": (
        "oscillation",
        TOY,
        ["loss.name='minimax'", "optim.lr=1e-2", "optim.betas=[0.9, 0.999]", "train.log_every=10"],
    ),
    "divergence-ring-sgd": (
        "divergence",
        TOY,
        ["optim.name='paper-sgd'", "optim.lr=50", "train.log_every=5", "train.max_steps=100"],
    ),
    "divergence-mnist-sgd": (
        "divergence",
        MNIST,
        ["optim.name='paper-sgd'", "optim.lr=20", "train.max_steps=100"],
    ),
    "overfit-mnist-100": (
        "d-overfits",
        MNIST,
        ["data.subset=100", "train.max_steps=600", "train.log_every=25"],
    ),
    "memorise-mnist-20": (
        "memorisation",
        MNIST,
        [
            "data.subset=20",
            "train.batch_size=20",
            "train.max_steps=600",
            "train.log_every=50",
            "optim.lr=1e-3",
        ],
    ),
}


def run_kind(name: str, seed: int, root: Path) -> dict[str, Any]:
    """Train one kind at one seed and diagnose it; the run folder is left in ``root``."""
    expected, base, overrides = KINDS[name]
    config = Config().with_overrides([*base, *overrides, f"train.seed={seed}", "train.threads=1"])
    path = root / f"{name}-s{seed}"
    started = time.perf_counter()
    stopped = ""
    try:
        hooks = [h for h in run_hooks(path) if not isinstance(h, Curves | SampleGrids)]
        trainer = start_run(config, path, hooks=hooks)
        if name.startswith("collapse-"):  # G starts on one mode; at 1/100 of D's lr it stays
            mixture = trainer.config.data.mixture
            collapse_onto_one_mode(trainer.G, mixture_2d_modes(mixture)[0][0])
        trainer.fit()
    except GannetError as e:
        stopped = str(e)
    trained = time.perf_counter() - started
    report = doctor(path)
    return {
        "kind": name,
        "seed": seed,
        "expected": expected,
        "stopped": stopped,
        "train_s": round(trained, 1),
        "doctor_s": round(time.perf_counter() - started - trained, 1),
        **diagnosis(report),
    }


def diagnosis(report: Report) -> dict[str, Any]:
    """A report's columns of a row."""
    return {
        "failing": [f.name for f in report.failing],
        "warnings": [f.name for f in report.warnings],
        "verdict": report.verdict,
        "report": report.to_dict(),
    }


def rediagnose(row: dict[str, Any], roots: list[Path]) -> dict[str, Any]:
    """``row`` with its run diagnosed again by the current detectors, when its folder is
    kept under one of ``roots``."""
    for root in roots:
        path = root / f"{row['kind']}-s{row['seed']}"
        if path.is_dir():
            return {**row, **diagnosis(doctor(path))}
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The confusion table as Markdown: kinds x (healthy, findings)."""
    columns = ["healthy", *FINDINGS]
    lines = [
        "| made to | runs | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for kind in dict.fromkeys(r["kind"] for r in rows):
        mine = [r for r in rows if r["kind"] == kind]
        counts = {c: 0 for c in columns}
        for r in mine:
            for name in r["failing"] or ["healthy"]:
                counts[name] += 1
        expected = mine[0]["expected"]
        cells = [f"**{counts[c]}**" if c == expected else str(counts[c] or "") for c in columns]
        lines.append(f"| {kind} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failing(report: Report) -> set[str]:
    return {f.name for f in report.failing}


def figures(roots: list[Path], out_dir: Path) -> None:
    """docs/doctor.md's pictures: for each finding, seed 0 of the first kind made to fail
    that way and named for it (else the first kind named for it, else the first made to fail
    that way) beside the healthy-ring-r1 run (healthy-mnist-paper-ema for the image
    checks)."""
    from gannet.doctor.figures import pair

    reports: dict[str, Report] = {}

    def report(kind: str) -> Report | None:
        for root in roots:
            if kind not in reports and (root / f"{kind}-s0").is_dir():
                reports[kind] = doctor(root / f"{kind}-s0")
        return reports.get(kind)

    out_dir.mkdir(parents=True, exist_ok=True)
    for finding in FINDINGS:
        named = [k for k in KINDS if (r := report(k)) is not None and finding in failing(r)]
        expected = [k for k, (e, _, _) in KINDS.items() if e == finding and report(k) is not None]
        broken = next(iter([k for k in expected if k in named] or named or expected), None)
        image = finding in ("d-overfits", "memorisation")
        healthy = report("healthy-mnist-paper-ema" if image else "healthy-ring-r1")
        if broken is None or healthy is None:
            continue
        bad = report(broken)
        assert bad is not None
        pair(bad.finding(finding), healthy.finding(finding), out_dir / f"doctor-{finding}.png")
        print(f"figure: {out_dir / f'doctor-{finding}.png'} ({broken} vs healthy)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "doctor.json"))
    p.add_argument("--figures", default="", help="write docs/doctor.md's pictures here")
    p.add_argument(
        "--keep",
        default="",
        help="keep the run folders under this folder (--merge: the folders, comma-separated, "
        "whose runs are diagnosed again with the current detectors)",
    )
    p.add_argument(
        "--merge",
        default="",
        help="comma-separated result files of earlier runs (e.g. one per seed, run side by "
        "side): print their combined table, write it to --out, train nothing",
    )
    args = p.parse_args(argv)
    if args.merge:
        import json

        merged = {
            (r["kind"], r["seed"]): r  # a later file's row replaces an earlier one's
            for f in args.merge.split(",")
            for r in json.loads(Path(f).read_text())["runs"]
        }
        rows = [r for r in merged.values() if r["kind"] in KINDS]  # kinds since renamed: out
        rows.sort(key=lambda r: (list(KINDS).index(r["kind"]), r["seed"]))
        roots = [Path(k) for k in args.keep.split(",") if k]
        rows = [rediagnose(r, roots) for r in rows]
        seeds = sorted({r["seed"] for r in rows})
        write_results(
            args.out,
            {"seeds": seeds, "runs": rows, "table": table(rows)},
            script=__file__,
            argv=argv,
        )
        print(table(rows))
        if args.figures and roots:
            figures(roots, Path(args.figures))
        return 0
    torch.set_num_threads(1)
    print_machine()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        print(f"unknown kinds: {unknown}; known: {', '.join(KINDS)}", file=sys.stderr)
        return 2
    seeds = [int(s) for s in args.seeds.split(",") if s]
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gannet-doctor-"))
    root.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    try:
        for seed in seeds:
            for kind in kinds:
                row = run_kind(kind, seed, root)
                rows.append(row)
                print(
                    f"{kind:26s} seed {seed}: {row['verdict']:40s} "
                    f"({row['train_s']:.0f} s + {row['doctor_s']:.0f} s)",
                    flush=True,
                )
                results = {"seeds": seeds, "runs": rows, "table": table(rows)}
                write_results(args.out, results, script=__file__, argv=argv)
        print(table(rows))
        if args.figures:
            figures([root], Path(args.figures))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
