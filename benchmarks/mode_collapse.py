"""Mode collapse on the 2-D mixtures: every loss, with and without spectral norm.

For each loss x spectral norm (off, on) x mixture (ring: 8 modes, grid: 25 modes) x seed,
train the toy MLPs with ``gannet.train`` for the SAME number of generator steps, draw
2,500 samples (the protocol of VEEGAN and PacGAN) and score them with
:func:`gannet.metrics.modes.mixture_mode_stats`: modes covered, high-quality fraction
(within 3 std of the nearest mode) and KL(mode histogram || uniform). See
docs/evaluation.md for the metrics and docs/beyond-2014.md for the results.

Run from the repository root::

    python benchmarks/mode_collapse.py                         # the full grid, 200 G steps a run
    python benchmarks/mode_collapse.py --quick                 # smoke run, a few seconds a run
    python benchmarks/mode_collapse.py --losses wgan-gp,hinge --mixtures grid --sn on \\
        --steps 4000 --out /tmp/mc.json --no-plots
    python benchmarks/mode_collapse.py --set optim.lr=1e-3     # extra overrides, every run

Setup, shared by every run: ``mlp-g`` (2 -> 128 ReLU x3 -> 2) and ``mlp-d``
(2 -> 128 LeakyReLU(0.2) x3 -> 1, raw output), 2-D standard normal noise, 50,000 training
points, alternating updates, ``train.max_steps = --steps`` generator steps. Per loss, the
recipe of its paper (as in configs/ring-*.toml):

* minimax, non-saturating, hinge, least-squares: Adam lr 2e-4, betas (0.5, 0.999), k = 1,
  batch 256;
* wasserstein: weight clipping c = 0.01, RMSProp lr 1e-4, k = 5 critic steps, batch 64;
* wgan-gp: lambda = 10, Adam lr 1e-4, betas (0.5, 0.9), k = 5 critic steps, batch 256;
* non-saturating-r1 (configs/grid-r1.toml): the non-saturating loss with the R1 penalty
  (gamma 0.1), Adam lr 1e-3, betas (0.5, 0.99), the lr falling linearly to 0 over the
  budget, k = 1, batch 512;
* wgan-gp-toy: wgan-gp with lambda = 0.1, the value of the WGAN-GP authors' own toy-data
  script (gan_toy.py: "smaller lambda makes things faster for toy tasks"); otherwise as
  wgan-gp.

Spectral norm is skipped for ``wasserstein``: weight clipping already bounds the critic's
Lipschitz constant, and clipping the raw weights of a spectrally normalised layer to
[-0.01, 0.01] mixes two constraints that neither paper uses (the combination is reported as
skipped, not run).

Output: a table on stdout (also Markdown), every run's numbers in ``--out`` (default
``benchmarks/results/mode_collapse.json``, rewritten after every run so a long run can be
watched), and one scatter figure per mixture (seed 0, one panel per configuration) in
``--plot-dir`` (default docs/img, ``mode-collapse-<mixture>.png``). Runs are written to a
temporary directory that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from common import print_machine, utc_now, write_results

REPO = Path(__file__).resolve().parents[1]
ALL_LOSSES = ("minimax", "non-saturating", "wasserstein", "wgan-gp", "hinge", "least-squares")
EXTRA_RECIPES = ("non-saturating-r1", "wgan-gp-toy")
"""Configurations beyond one-paper-recipe-per-loss, run when named in --losses."""
RECIPE_LOSS = {"non-saturating-r1": "non-saturating", "wgan-gp-toy": "wgan-gp"}
"""Recipe name -> the loss it trains with (a recipe not listed is named after its loss)."""
ALL_MIXTURES = ("ring", "grid")
N_SAMPLES = 2500
"""Samples drawn per run, as in VEEGAN and PacGAN."""
SAMPLE_SEED = 0
"""Noise seed of the 2,500 evaluation samples (gannet eval's default)."""
STARTED_AT = utc_now()
BAR_HQ = 0.90
"""The issue's bar: all modes covered with at least 90 % high-quality samples, every seed."""

ADAM_2E4 = ["optim.name='adam'", "optim.lr=2e-4", "optim.betas=[0.5, 0.999]"]
RECIPES: dict[str, list[str]] = {
    "minimax": [*ADAM_2E4, "train.k=1", "train.batch_size=256"],
    "non-saturating": [*ADAM_2E4, "train.k=1", "train.batch_size=256"],
    "hinge": [*ADAM_2E4, "train.k=1", "train.batch_size=256"],
    "least-squares": [*ADAM_2E4, "train.k=1", "train.batch_size=256"],
    "wasserstein": [
        "optim.name='rmsprop'",
        "optim.lr=1e-4",
        "loss.clip=0.0",  # the loss's default, c = 0.01
        "train.k=5",
        "train.batch_size=64",
    ],
    "wgan-gp": [
        "optim.name='adam'",
        "optim.lr=1e-4",
        "optim.betas=[0.5, 0.9]",
        "loss.gp_weight=10.0",
        "train.k=5",
        "train.batch_size=256",
    ],
    # configs/grid-r1.toml: R1 (Mescheder et al., 2018) and an lr falling linearly to 0
    # over the step budget, the combination that covered the grid with sharp modes.
    "non-saturating-r1": [
        "optim.name='adam'",
        "optim.lr=1e-3",
        "optim.betas=[0.5, 0.99]",
        "optim.lr_schedule='linear'",
        "loss.r1_gamma=0.1",
        "train.k=1",
        "train.batch_size=512",
    ],
    # The WGAN-GP authors' toy script (gan_toy.py) uses lambda = 0.1 on the 2-D mixtures.
    "wgan-gp-toy": [
        "optim.name='adam'",
        "optim.lr=1e-4",
        "optim.betas=[0.5, 0.9]",
        "loss.gp_weight=0.1",
        "train.k=5",
        "train.batch_size=256",
    ],
}
RECIPE_TEXT = {
    "minimax": "Adam 2e-4 (0.5, 0.999), k=1, batch 256",
    "non-saturating": "Adam 2e-4 (0.5, 0.999), k=1, batch 256",
    "hinge": "Adam 2e-4 (0.5, 0.999), k=1, batch 256",
    "least-squares": "Adam 2e-4 (0.5, 0.999), k=1, batch 256",
    "wasserstein": "clip 0.01, RMSProp 1e-4, k=5, batch 64",
    "wgan-gp": "lambda 10, Adam 1e-4 (0.5, 0.9), k=5, batch 256",
    "non-saturating-r1": "R1 0.1, Adam 1e-3 (0.5, 0.99) decaying linearly to 0, k=1, batch 512",
    "wgan-gp-toy": "lambda 0.1 (gan_toy.py), Adam 1e-4 (0.5, 0.9), k=5, batch 256",
}
SKIP_SN = {
    "wasserstein": "weight clipping already bounds the critic; clipping the raw weights of "
    "spectrally normalised layers mixes two Lipschitz constraints no paper uses",
}
MODEL = [
    "data.name='mixture-2d'",
    "data.n_samples=50000",
    "data.download=false",
    "model.generator='mlp-g'",
    "model.discriminator='mlp-d'",
    "model.z_dim=2",
    "model.noise='normal'",
    "model.g_hidden=[128, 128, 128]",
    "model.d_hidden=[128, 128, 128]",
    "train.schedule='alternating'",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=None, help="generator steps per run")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    p.add_argument(
        "--losses",
        default=",".join(ALL_LOSSES + EXTRA_RECIPES),
        help="comma-separated losses (and recipes such as non-saturating-r1)",
    )
    p.add_argument("--mixtures", default=",".join(ALL_MIXTURES), help="ring, grid or both")
    p.add_argument("--sn", default="off,on", help="spectral norm settings: off, on or both")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra config override for every run (repeatable)",
    )
    p.add_argument("--out", default=str(REPO / "benchmarks/results/mode_collapse.json"))
    p.add_argument("--plot-dir", default=str(REPO / "docs/img"))
    p.add_argument("--no-plots", action="store_true", help="do not draw the scatter figures")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 50 steps, seed 0, unless --steps/--seeds are given",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="train nothing: merge the results files of several invocations (e.g. "
        "one per mixture, run in parallel) into --out and print the table",
    )
    args = p.parse_args(argv)
    if args.steps is None:
        args.steps = 50 if args.quick else 200
    if args.quick and args.seeds == "0,1,2":
        args.seeds = "0"
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.losses = [s.strip() for s in args.losses.split(",") if s.strip()]
    args.mixtures = [s.strip() for s in args.mixtures.split(",") if s.strip()]
    args.sn = [s.strip() == "on" for s in args.sn.split(",") if s.strip()]
    for loss in args.losses:
        if loss not in RECIPES:
            p.error(f"unknown loss {loss!r}; choose from {', '.join(ALL_LOSSES + EXTRA_RECIPES)}")
    for mix in args.mixtures:
        if mix not in ALL_MIXTURES:
            p.error(f"unknown mixture {mix!r}; choose ring or grid")
    if args.steps < 1 or not args.seeds:
        p.error("--steps must be >= 1 and --seeds must name at least one seed")
    return args


def configurations(args: argparse.Namespace) -> tuple[list[tuple[str, bool]], list[dict[str, str]]]:
    """(loss, sn) pairs to run, and the skipped ones with the reason."""
    run, skipped = [], []
    for loss in args.losses:
        for sn in args.sn:
            if sn and loss in SKIP_SN:
                skipped.append({"loss": loss, "spectral_norm": "on", "reason": SKIP_SN[loss]})
            else:
                run.append((loss, sn))
    return run, skipped


def overrides_for(
    args: argparse.Namespace, loss: str, sn: bool, mixture: str, seed: int
) -> list[str]:
    return [
        *MODEL,
        f"data.mixture='{mixture}'",
        f"loss.name='{RECIPE_LOSS.get(loss, loss)}'",
        f"loss.spectral_norm={'true' if sn else 'false'}",
        *RECIPES[loss],
        f"train.seed={seed}",
        f"train.max_steps={args.steps}",
        "train.epochs=1000000",
        "train.progress='none'",
        f"train.threads={args.threads}",
        "train.log_every=100",
        "train.checkpoint_every=1000000",
        "train.n_fixed_samples=16",
        *args.set,
    ]


def one_run(
    args: argparse.Namespace, loss: str, sn: bool, mixture: str, seed: int, tmp: Path
) -> tuple[dict[str, Any], torch.Tensor]:
    import gannet
    from gannet.config import Config
    from gannet.metrics.modes import mixture_mode_stats
    from gannet.training import run_hooks, start_run
    from gannet.training.hooks import Curves, SampleGrids

    overrides = overrides_for(args, loss, sn, mixture, seed)
    config = Config().with_overrides(overrides)
    name = f"{loss}-sn{int(sn)}-{mixture}-s{seed}"
    t0 = time.perf_counter()
    # No per-epoch sample grids or curves.png: the run folders are temporary and deleted
    # unseen, and on a shared 2-core machine matplotlib is a large part of a short run's time.
    hooks = [h for h in run_hooks(tmp / name) if not isinstance(h, (Curves, SampleGrids))]
    start_run(config, tmp / name, hooks=hooks).fit()
    run = gannet.load_run(tmp / name)
    seconds = time.perf_counter() - t0
    status = json.loads((tmp / name / "run.json").read_text()).get("status")
    if status != "finished":
        # The trainer turns SIGINT/SIGTERM into a clean stop of the current run; stop the
        # whole benchmark too instead of scoring a half-trained run and going on.
        raise SystemExit(f"run {name} ended with status {status!r}; stopping")
    samples = run.sample(N_SAMPLES, seed=SAMPLE_SEED)
    stats = mixture_mode_stats(samples, mixture)
    record = {
        "loss": loss,
        "spectral_norm": sn,
        "mixture": mixture,
        "seed": seed,
        "steps": args.steps,
        "seconds": round(seconds, 2),
        "non_finite_samples": int((~torch.isfinite(samples).all(dim=1)).sum()),
        **stats.to_dict(),
        "overrides": overrides,
    }
    return record, samples


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (loss, sn, mixture), in the order first seen."""
    groups: dict[tuple[str, bool, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["loss"], r["spectral_norm"], r["mixture"]), []).append(r)
    rows = []
    for (loss, sn, mixture), rs in groups.items():
        covered = [r["modes_covered"] for r in rs]
        hq = [r["high_quality_fraction"] for r in rs]
        kls = [r["kl_uniform"] for r in rs if r["kl_uniform"] is not None]
        rows.append(
            {
                "loss": loss,
                "spectral_norm": sn,
                "mixture": mixture,
                "n_modes": rs[0]["n_modes"],
                "seeds": [r["seed"] for r in rs],
                "modes_covered_mean": statistics.fmean(covered),
                "modes_covered_min": min(covered),
                "high_quality_mean": statistics.fmean(hq),
                "high_quality_sd": statistics.stdev(hq) if len(hq) > 1 else 0.0,
                "kl_uniform_mean": statistics.fmean(kls) if kls else None,
                "kl_uniform_missing": len(rs) - len(kls),
                "seconds_mean": statistics.fmean(r["seconds"] for r in rs),
                "meets_bar": all(
                    r["modes_covered"] == r["n_modes"] and r["high_quality_fraction"] >= BAR_HQ
                    for r in rs
                ),
            }
        )
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| loss | SN | mixture | modes covered, mean (min) / M | high quality, mean ± sd | "
        "KL (nats) | s / run | bar |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        kl = "n/a" if r["kl_uniform_mean"] is None else f"{r['kl_uniform_mean']:.3f}"
        if r["kl_uniform_missing"]:
            kl += f" ({r['kl_uniform_missing']} n/a)"
        lines.append(
            f"| {r['loss']} | {'on' if r['spectral_norm'] else 'off'} | {r['mixture']} | "
            f"{r['modes_covered_mean']:.1f} ({r['modes_covered_min']}) / {r['n_modes']} | "
            f"{100 * r['high_quality_mean']:.1f} ± {100 * r['high_quality_sd']:.1f} % | {kl} | "
            f"{r['seconds_mean']:.0f} | {'yes' if r['meets_bar'] else 'no'} |"
        )
    return "\n".join(lines)


def write_json(
    path: Path,
    args: argparse.Namespace,
    argv: list[str],
    runs: list[dict[str, Any]],
    skipped: list[dict[str, str]],
    started: float,
    finished: bool,
) -> None:
    payload = {
        "finished": finished,
        "started": STARTED_AT,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "steps": args.steps,
        "seeds": args.seeds,
        "samples_per_run": N_SAMPLES,
        "sample_seed": SAMPLE_SEED,
        "recipes": {loss: RECIPE_TEXT[loss] for loss in args.losses},
        "extra_overrides": args.set,
        "skipped": skipped,
        "summary": summarise(runs) if runs else [],
        "runs": runs,
    }
    write_results(path, payload, script=__file__, argv=argv, indent=1)


def plot(
    mixture: str, panels: list[tuple[str, torch.Tensor, dict[str, Any]]], path: Path, steps: int
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    from gannet.data.synthetic import mixture_2d_modes

    centres, std = mixture_2d_modes(mixture)
    lim = 3.0 if mixture == "ring" else 6.0
    ncol = 4
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.3 * ncol, 2.45 * nrow), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, (title, samples, rec) in zip(axes.flat, panels, strict=False):
        ax.set_axis_on()
        for c in centres.tolist():
            ax.add_patch(Circle(c, 3 * std, fill=False, color="tab:red", lw=0.6))
        x = samples.numpy()
        ax.scatter(
            x[:, 0], x[:, 1], s=1.0, alpha=0.35, color="tab:blue", linewidths=0, rasterized=True
        )
        ax.scatter(centres[:, 0], centres[:, 1], s=6, marker="x", color="tab:red", linewidths=0.6)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(
            f"{title}\n{rec['modes_covered']}/{rec['n_modes']} modes, "
            f"HQ {100 * rec['high_quality_fraction']:.0f} %",
            fontsize=7,
        )
    fig.suptitle(
        f"{mixture}: 2,500 samples after {steps} G steps (seed 0); red = modes, 3 std circles",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72)
    plt.close(fig)


def merge(args: argparse.Namespace, argv: list[str]) -> int:
    """Combine results files written by several invocations into one (``--merge``)."""
    parts = [json.loads(Path(f).read_text()) for f in args.merge]
    runs = [r for part in parts for r in part["runs"]]
    skipped = {json.dumps(s, sort_keys=True): s for part in parts for s in part["skipped"]}
    rows = summarise(runs)
    payload = {
        "finished": all(part["finished"] for part in parts),
        "merged_from": [
            {
                "file": f,
                "command": part["command"],
                "wall_seconds": part["wall_seconds"],
                "finished": part["finished"],
                "started": part.get("started"),
                # files written before benchmarks/common.py: "date", "versions", "torch_threads"
                "ended": part.get("created", part.get("date")),
                "machine": part.get("machine")
                or {**part.get("versions", {}), "torch_threads": part.get("torch_threads")},
            }
            for f, part in zip(args.merge, parts, strict=True)
        ],
        "wall_seconds": max(part["wall_seconds"] for part in parts),
        "wall_note": "wall_seconds is the longest single invocation; merged_from says when "
        "each started and ended (some may have run in parallel, some one after another)",
        "steps": sorted({part["steps"] for part in parts}),
        "seeds": sorted({s for part in parts for s in part["seeds"]}),
        "samples_per_run": N_SAMPLES,
        "sample_seed": SAMPLE_SEED,
        "recipes": {k: v for part in parts for k, v in part["recipes"].items()},
        "extra_overrides": sorted({o for part in parts for o in part["extra_overrides"]}),
        "skipped": list(skipped.values()),
        "summary": rows,
        "runs": runs,
    }
    out = write_results(args.out, payload, script=__file__, argv=argv, indent=1)
    print(markdown_table(rows))
    print(f"\nmerged {len(runs)} runs into {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.merge:
        return merge(args, argv)
    torch.set_num_threads(args.threads)
    print_machine()
    started = time.perf_counter()
    configs, skipped = configurations(args)
    out = Path(args.out)
    for s in skipped:
        print(f"skipped: {s['loss']} + spectral norm ({s['reason']})", flush=True)
    total = len(configs) * len(args.mixtures) * len(args.seeds)
    print(f"{total} runs of {args.steps} generator steps each", flush=True)
    runs: list[dict[str, Any]] = []
    panels: dict[str, list[tuple[str, torch.Tensor, dict[str, Any]]]] = {
        m: [] for m in args.mixtures
    }
    plot_seed = args.seeds[0]
    with tempfile.TemporaryDirectory(prefix="gannet-mode-collapse-") as tmpdir:
        tmp = Path(tmpdir)
        i = 0
        for mixture in args.mixtures:
            for loss, sn in configs:
                for seed in args.seeds:
                    i += 1
                    record, samples = one_run(args, loss, sn, mixture, seed, tmp)
                    runs.append(record)
                    if seed == plot_seed:
                        panels[mixture].append((f"{loss}{' + SN' if sn else ''}", samples, record))
                    kl = record["kl_uniform"]
                    print(
                        f"[{i}/{total}] {loss:15s} SN {'on ' if sn else 'off'} {mixture} "
                        f"seed {seed}: {record['modes_covered']}/{record['n_modes']} modes, "
                        f"HQ {100 * record['high_quality_fraction']:.1f} %, KL "
                        f"{'n/a' if kl is None else f'{kl:.3f}'}, {record['seconds']:.1f} s",
                        flush=True,
                    )
                    write_json(out, args, argv, runs, skipped, started, finished=False)
    rows = summarise(runs)
    print()
    print(markdown_table(rows))
    wall = time.perf_counter() - started
    print(f"\nwall time {wall:.0f} s ({wall / 60:.1f} min); JSON: {out}")
    good = [r for r in rows if r["meets_bar"] and r["mixture"] == "grid"]
    print(
        "bar (grid: 25/25 modes and >= 90 % high quality on every seed): "
        + (
            ", ".join(f"{r['loss']}{' + SN' if r['spectral_norm'] else ''}" for r in good)
            if good
            else "met by no configuration"
        )
    )
    write_json(out, args, argv, runs, skipped, started, finished=True)
    if not args.no_plots:
        for mixture in args.mixtures:
            path = Path(args.plot_dir) / f"mode-collapse-{mixture}.png"
            plot(mixture, panels[mixture], path, args.steps)
            print(f"figure: {path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
