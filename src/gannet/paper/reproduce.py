"""Table 1 of the paper, reproduced: train, score with the Parzen protocol along the way,
and tabulate beside the paper's rows.

``reproduce_table1`` trains one run per (dataset, schedule) in ``out/`` and, every
``eval_every`` epochs, scores the current generator with the paper's protocol
(:func:`gannet.metrics.parzen.parzen_evaluate`). Every score is appended to
``out/scores.jsonl`` as soon as it exists, and the runs are ordinary gannet runs with exact
resume, so the same command, run again after an interruption, continues where it stopped.
``out/table1.md`` / ``table1.json`` / ``table1.png`` are rewritten after every score.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
import torch

from gannet.config import Config, DataConfig
from gannet.data import Dataset, load_dataset
from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes
from gannet.metrics.parzen import ParzenResult, parzen_evaluate
from gannet.metrics.scores import classifier_fid
from gannet.trained.averaging import average_snapshots
from gannet.trained.run import CONFIG, Run, is_run_dir, load_run, read_status

# Table 1 of the paper: (model, MNIST mean, MNIST s.e., TFD mean, TFD s.e.).
PAPER_TABLE1: list[tuple[str, float, float, float, float]] = [
    ("DBN", 138, 2, 1909, 66),
    ("Stacked CAE", 121, 1.6, 2110, 50),
    ("Deep GSN", 214, 1.1, 1890, 29),
    ("Adversarial nets", 225, 2, 2057, 26),
]
PAPER_MNIST_TARGET = 225.0
SCORES = "scores.jsonl"

Log = Callable[[str], None]


@dataclass
class Table1Settings:
    """What ``gannet reproduce table1`` does; every field has a CLI flag."""

    out: Path
    datasets: list[str] = field(default_factory=lambda: ["mnist"])
    schedules: list[str] = field(default_factory=lambda: ["alternating", "simultaneous"])
    config: Config = field(default_factory=Config)
    """Base config (default: the paper's MNIST setup); dataset and schedule are set per run."""
    name: str = "paper"
    """Label of this recipe: runs are out/<name>-<dataset>-<schedule>."""
    epochs: int = 100
    eval_every: int = 5
    minutes: float = 0.0
    """Stop a run once its training time passes this many minutes (0 = no limit)."""
    samples: int = 10000
    data_dir: str = ""
    target: float = PAPER_MNIST_TARGET
    average: list[int] = field(default_factory=list)
    """Also score G averaged uniformly over the snapshots of the last N epochs, for each N
    (:mod:`gannet.trained.averaging`); the runs then keep a snapshot every epoch."""


AUTHORS_D_COST_SCALE = 0.5
"""The authors' released code (the simultaneous schedule) halves D's cost."""


def schedule_overrides(config: Config, schedule: str) -> list[str]:
    """The simultaneous run follows the authors' code: D's cost is halved, unless the base
    config already sets loss.d_cost_scale to something other than the default 1.0."""
    if schedule == "simultaneous" and config.loss.d_cost_scale == 1.0:
        return [f"loss.d_cost_scale={AUTHORS_D_COST_SCALE}"]
    return []


def run_config(settings: Table1Settings, dataset: str, schedule: str) -> Config:
    """The config of the (dataset, schedule) run, before its epoch target is set."""
    config = settings.config.with_overrides(
        [
            f'data.name="{dataset}"',
            f'train.schedule="{schedule}"',
            *schedule_overrides(settings.config, schedule),
        ]
    )
    if settings.data_dir:
        config.data.data_dir = settings.data_dir
    if settings.average:
        config.train.snapshot_every = 1
    return config


# Set per run by reproduce_table1 itself (the epoch target) or free to differ (where the files are).
_NOT_COMPARED = {"train.epochs", "data.data_dir"}


def resume_overrides(wanted: Config, run_dir: Path) -> list[str]:
    """The overrides that bring the run in ``run_dir`` to ``wanted`` on resume.

    Settings that may change on resume (``train.snapshot_every``, ``train.progress``, ...)
    are passed on; any other difference would silently train something else than asked for,
    so it is refused with a GannetError."""
    from gannet.training import RESUMABLE_OVERRIDES

    saved = Config.load(run_dir / CONFIG).to_dict()
    overrides = []
    for section, values in wanted.to_dict().items():
        for key, value in values.items():
            dotted = f"{section}.{key}"
            old = saved[section][key]
            if dotted in _NOT_COMPARED or old == value:
                continue
            if dotted not in RESUMABLE_OVERRIDES:
                raise GannetError(
                    f"run {str(run_dir)!r} was trained with {dotted} = {old!r}, not {value!r}, "
                    "and resuming cannot change it; drop that --set, or give another --name "
                    "or --out for a new run"
                )
            overrides.append(f"{dotted}={tomli_w.dumps({'v': value})[4:].strip()}")
    return overrides


def run_name(settings: Table1Settings, dataset: str, schedule: str) -> str:
    return f"{settings.name}-{dataset}-{schedule}"


def read_scores(out: Path) -> list[dict[str, Any]]:
    path = out / SCORES
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a kill; it is re-scored
    return rows


def _append_score(out: Path, row: dict[str, Any]) -> None:
    with open(out / SCORES, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()


def _data(settings: Table1Settings, dataset: str, cache: dict[str, Dataset]) -> Dataset:
    """The dataset with the base config's data settings (e.g. ``data.subset``)."""
    if dataset not in cache:
        base = settings.config.data.__dict__
        data_dir = settings.data_dir or base["data_dir"]
        cache[dataset] = load_dataset(DataConfig(**{**base, "name": dataset, "data_dir": data_dir}))
    return cache[dataset]


def _score(samples: torch.Tensor, data: Dataset) -> ParzenResult:
    if data.validation is None or data.test is None:
        raise GannetError(f"dataset {data.name!r} needs validation and test splits for Table 1")
    return parzen_evaluate(samples, data.validation[:1000], data.test, dataset=data.name)


def score_real_data(settings: Table1Settings, dataset: str, data: Dataset, log: Log) -> None:
    """Score ``samples`` real training images as if they were samples (once per dataset)."""
    label = f"real-{dataset}"
    if any(r["run"] == label for r in read_scores(settings.out)):
        return
    n = min(settings.samples, len(data.train))
    result = _score(data.train[:n], data)
    _append_score(
        settings.out,
        {
            "run": label,
            "dataset": dataset,
            "schedule": None,
            "epoch": None,
            "step": None,
            "train_seconds": None,
            "test_ll": result.test_ll,
            "test_se": result.test_se,
            "sigma": result.sigma,
            "samples": n,
            **classifier_fid(data.train[:n], data.test, dataset),
        },
    )
    log(
        f"{label}: {n} real training images as samples: {result.test_ll:.1f} ± {result.test_se:.1f}"
    )


def reproduce_table1(settings: Table1Settings, log: Log = print) -> list[dict[str, Any]]:
    """Train and score every (dataset, schedule); returns all score rows."""
    from gannet.training import resume_run, start_run

    if settings.eval_every < 1 or settings.epochs < 1:
        raise GannetError("--epochs and --eval-every must be at least 1")
    if any(n < 2 for n in settings.average):
        raise GannetError("--average takes windows of at least 2 epochs (e.g. --average 30)")
    cache: dict[str, Dataset] = {}
    for dataset in settings.datasets:  # missing or corrupt data: refused before any write
        _data(settings, dataset, cache)
    settings.out.mkdir(parents=True, exist_ok=True)
    for dataset in settings.datasets:
        data = _data(settings, dataset, cache)
        score_real_data(settings, dataset, data, log)
        write_table(settings.out, settings.target)
        for schedule in settings.schedules:
            name = run_name(settings, dataset, schedule)
            run_dir = settings.out / name
            scored = {r["epoch"] for r in read_scores(settings.out) if r["run"] == name}
            while True:
                done = _epochs_done(run_dir)
                seconds = _train_seconds(run_dir)
                if done >= settings.epochs:
                    break
                if settings.minutes and seconds >= settings.minutes * 60:
                    log(f"{name}: training time budget of {settings.minutes} min reached")
                    break
                target = min(
                    (done // settings.eval_every + 1) * settings.eval_every, settings.epochs
                )
                wanted = run_config(settings, dataset, schedule)
                if not is_run_dir(run_dir):
                    config = wanted.with_overrides([f"train.epochs={target}"])
                    start_run(config, run_dir, dataset=data).fit()
                else:
                    overrides = [f"train.epochs={target}", *resume_overrides(wanted, run_dir)]
                    resume_run(run_dir, overrides, dataset=data).fit()
                if read_status(run_dir).get("status") == "interrupted":
                    log(f"{name}: interrupted; run the same command again to continue")
                    return read_scores(settings.out)
                epoch = _epochs_done(run_dir)
                if epoch in scored:
                    continue
                run = load_run(run_dir)
                _score_and_log(settings, name, dataset, schedule, run, data, log)
                for n in settings.average:
                    window = average_snapshots(run_dir, max(1, epoch - n + 1), epoch)
                    run.generator.load_state_dict(window.generator_weights(run.uses_ema)[0])
                    label = f"{name}-avg{n}"
                    _score_and_log(
                        settings, label, dataset, schedule, run, data, log, window.averaged
                    )
                scored.add(epoch)
                write_table(settings.out, settings.target)
    return read_scores(settings.out)


def _score_and_log(
    settings: Table1Settings,
    name: str,
    dataset: str,
    schedule: str,
    run: Run,
    data: Dataset,
    log: Log,
    averaged: dict[str, int] | None = None,
) -> None:
    """Score the run's generator as it is now and append the row to scores.jsonl."""
    started = time.perf_counter()
    samples = run.sample(settings.samples, seed=0)
    result = _score(samples, data)
    seconds = _train_seconds(run.path)
    row: dict[str, Any] = {
        "run": name,
        "dataset": dataset,
        "schedule": schedule,
        "epoch": run.epoch,
        "step": run.step,
        "train_seconds": round(seconds, 1),
        "test_ll": result.test_ll,
        "test_se": result.test_se,
        "sigma": result.sigma,
        "validation_ll": result.validation_ll,
        "samples": settings.samples,
        "ema": run.uses_ema,
        **classifier_fid(samples, data.test, dataset),
        "eval_seconds": round(time.perf_counter() - started, 1),
    }
    if averaged is not None:
        row["averaged"] = averaged
    _append_score(settings.out, row)
    log(
        f"{name}: epoch {run.epoch:4d}  {seconds / 60:7.1f} min  "
        f"Parzen {result.test_ll:7.1f} ± {result.test_se:.1f} (sigma {result.sigma:.3g})"
    )


def _epochs_done(run_dir: Path) -> int:
    if not is_run_dir(run_dir):
        return 0
    return int(read_status(run_dir).get("epoch", 0))


def _train_seconds(run_dir: Path) -> float:
    if not is_run_dir(run_dir):
        return 0.0
    return float(read_status(run_dir).get("elapsed_seconds", 0.0))


# ---------------------------------------------------------------------- the table


def summarize(rows: list[dict[str, Any]], target: float) -> list[dict[str, Any]]:
    """One line per run: its best score (the evaluation with the highest validation
    log-likelihood, so the test rows do not choose the checkpoint), where it got there,
    and when it first reached ``target`` (None if never)."""
    lines = []
    for name in dict.fromkeys(r["run"] for r in rows):
        mine = [r for r in rows if r["run"] == name and r.get("test_ll") is not None]
        if not mine:
            continue
        # The reported checkpoint is chosen on validation rows (as sigma is), not on the
        # test score, among the evaluations that recorded validation_ll; a run with none
        # (all written before validation_ll was recorded) falls back to test_ll.
        validated = [r for r in mine if r.get("validation_ll") is not None]
        best = (
            max(validated, key=lambda r: r["validation_ll"])
            if validated
            else max(mine, key=lambda r: r["test_ll"])
        )
        reached = next((r for r in sorted(mine, key=_epoch_key) if r["test_ll"] >= target), None)
        lines.append(
            {
                "run": name,
                "dataset": best["dataset"],
                "schedule": best.get("schedule"),
                "best": best,
                "first_at_target": reached,
                "evaluations": len(mine),
            }
        )
    return lines


def _epoch_key(row: dict[str, Any]) -> int:
    return int(row.get("epoch") or 0)


def _fmt(value: float | None, se: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.0f} ± {se:.1f}" if se is not None else f"{value:.0f}"


def render_table(rows: list[dict[str, Any]], target: float) -> str:
    """Markdown: the paper's rows, then ours (best score per run) per dataset column."""
    summary = summarize(rows, target)
    datasets = list(dict.fromkeys(s["dataset"] for s in summary)) or ["mnist"]
    head = "| model | " + " | ".join(datasets) + " | TFD | classifier FID | reached at |"
    lines = [head, "|" + "---|" * (len(datasets) + 4)]
    for model, mnist, mnist_se, tfd, tfd_se in PAPER_TABLE1:
        cells = [_fmt(mnist, mnist_se) if d == "mnist" else "" for d in datasets]
        lines.append(f"| {model} (paper) | " + " | ".join(cells) + f" | {_fmt(tfd, tfd_se)} | | |")
    for s in summary:
        b = s["best"]
        cells = [_fmt(b["test_ll"], b["test_se"]) if d == s["dataset"] else "" for d in datasets]
        if s["schedule"] is None:
            model, when = "real training images as samples", ""
        else:
            model = f"gannet {s['run']}"
            when = f"epoch {b['epoch']}, {b['train_seconds'] / 60:.1f} min of training"
            if b.get("averaged"):
                a = b["averaged"]
                when += f" (G averaged over epochs {a['first']}..{a['last']})"
        fid = ", ".join(f"{v:.2f} ({k})" for k, v in b.items() if k.startswith("fid_"))
        lines.append(f"| {model} | " + " | ".join(cells) + f" | n/a | {fid or 'n/a'} | {when} |")
    lines.append("")
    lines.append(
        "TFD is not publicly distributed, so its column cannot be reproduced; the second "
        "column, when present, is Fashion-MNIST with the same protocol."
    )
    for s in summary:
        if s["schedule"] is None or s["dataset"] != "mnist":
            continue
        first = s["first_at_target"]
        if first is None:
            lines.append(
                f"- {s['run']}: did not reach {target:g} (best {s['best']['test_ll']:.1f})."
            )
        else:
            lines.append(
                f"- {s['run']}: first reached {target:g} at epoch {first['epoch']} after "
                f"{first['train_seconds'] / 60:.1f} min of training ({first['test_ll']:.1f})."
            )
    return "\n".join(lines) + "\n"


def write_table(out: Path, target: float = PAPER_MNIST_TARGET) -> None:
    rows = read_scores(out)
    atomic_write_bytes(out / "table1.md", render_table(rows, target).encode())
    payload = {
        "paper": PAPER_TABLE1,
        "target": target,
        "runs": summarize(rows, target),
        "scores": rows,
    }
    atomic_write_bytes(out / "table1.json", (json.dumps(payload, indent=2) + "\n").encode())
    if any(r.get("epoch") for r in rows):
        plot_scores(rows, out / "table1.png", target)


def plot_scores(rows: list[dict[str, Any]], path: Path, target: float) -> None:
    """Parzen score against training minutes, one line per run, the paper's 225 dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for name in dict.fromkeys(r["run"] for r in rows):
        mine = sorted((r for r in rows if r["run"] == name), key=_epoch_key)
        if mine[0].get("epoch") is None:
            ax.axhline(mine[0]["test_ll"], color="grey", lw=1, ls=":", label=f"{name} (10k images)")
            continue
        ax.plot(
            [r["train_seconds"] / 60 for r in mine],
            [r["test_ll"] for r in mine],
            marker="o",
            ms=3,
            label=name,
        )
    ax.axhline(target, color="black", lw=1, ls="--", label=f"paper: {target:g}")
    ax.set_xlabel("training time (minutes, 2 CPU cores)")
    ax.set_ylabel("Parzen log-likelihood (nats)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
