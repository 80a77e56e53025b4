"""``gannet.doctor(run)``: every detector on one run, post hoc.

The record-based detectors (D wins, mode collapse, oscillation, divergence, progress) read
metrics.jsonl; they are the same functions the live hook runs during training
(:data:`RECORD_DETECTORS`). The sample-based ones (D overfits, memorisation, and the
diversity form of mode collapse) load the latest checkpoint and the data.
"""

from __future__ import annotations

import json
from pathlib import Path

from gannet.doctor import collapse, divergence, dwins, memorisation, oscillation, overfit, progress
from gannet.doctor.history import Context, History, read_history
from gannet.doctor.report import Finding, Report
from gannet.errors import GannetError

JSON_NAME = "doctor.json"
"""The report's file under RUN/eval/."""
PNG_NAME = "doctor.png"
"""The panels' file in RUN/ (and RUN/doctor.html shows them with the text)."""


def context_of(config: object) -> Context:
    """The detectors' :class:`Context` of a run's config."""
    from gannet.game.losses import make_loss

    loss = config.loss.name  # type: ignore[attr-defined]
    log_every = config.train.log_every  # type: ignore[attr-defined]
    return Context(loss=loss, probabilistic=make_loss(loss).probabilistic, log_every=log_every)


def record_findings(history: History, context: Context, status: str = "") -> list[Finding]:
    """The record-based detectors, in report order (the live hook calls this too)."""
    return [
        divergence.detect(history, context, status),
        dwins.detect(history, context),
        collapse.detect(history, context),
        oscillation.detect(history, context),
        progress.detect(history),
    ]


def sample_findings(run_dir: Path, have_coverage: bool) -> tuple[list[Finding], str | None]:
    """The sample-based findings and, when they could not be judged, why."""
    from gannet.doctor.samples import gather, mean_pairwise, nearest_distances

    try:
        ev = gather(run_dir)
    except GannetError as e:
        return [], f"samples and D not judged: {e}"
    found = []
    if not have_coverage:
        real = ev.held_out if ev.held_out is not None else ev.train[: len(ev.samples)]
        sharp = None
        if ev.image:
            sharp = float(ev.samples.std(dim=1).mean() / real.std(dim=1).mean().clamp_min(1e-12))
        spread = mean_pairwise(ev.samples), mean_pairwise(real)
        found.append(collapse.from_diversity(*spread, sharp))
    found.append(overfit.detect(ev.d_train, ev.d_held_out))
    held_nn = sample_nn = None
    if ev.image and ev.held_out is not None:
        sample_nn = nearest_distances(ev.samples, ev.train)
        held_nn = nearest_distances(ev.held_out, ev.train)
    found.append(memorisation.detect(sample_nn, held_nn, ev.image))
    return found, None


def doctor(run: str | Path, samples: bool = True) -> Report:
    """Diagnose the run in folder ``run``: a :class:`Report` with one finding per detector.
    ``samples=False`` skips the checks that load the checkpoint and the data."""
    from gannet.config import Config
    from gannet.files.rundir import CONFIG, METRICS, read_status, require_run_dir

    run_dir = require_run_dir(run)
    status = read_status(run_dir)
    config = Config.load(run_dir / CONFIG)
    history, bad = read_history(run_dir / METRICS)
    state = str(status.get("status", "unknown"))
    report = Report(str(run_dir), history.steps[-1] if history.records else 0, state)
    if bad:
        report.notes.append(f"{bad} damaged line(s) of {METRICS} skipped")
    if not history.records:
        report.notes.append(
            f"no metrics lines yet (the first comes at step {config.train.log_every}): the "
            "record-based findings are not judged"
        )
    if state in ("running", "created"):
        report.notes.append(
            f"the run is still training (run.json: {state}, updated {status.get('updated')}): "
            "judged on its records so far"
        )
    report.findings = record_findings(history, context_of(config), state)
    if samples:
        coverage = report.finding("mode-collapse").judged
        found, why = sample_findings(run_dir, coverage)
        for f in found:
            if f.name == "mode-collapse":
                report.findings[[g.name for g in report.findings].index(f.name)] = f
            else:
                report.findings.insert(-1, f)
        if why:
            report.notes.append(why)
    return report


def write_report(report: Report) -> list[Path]:
    """Write RUN/eval/doctor.json, RUN/doctor.png and RUN/doctor.html; returns the paths."""
    from gannet.doctor.figures import draw, html
    from gannet.files.atomic import atomic_write_bytes, write_error

    run_dir = Path(report.run)
    out = run_dir / "eval" / JSON_NAME
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, (json.dumps(report.to_dict(), indent=2) + "\n").encode())
        draw(report, run_dir / PNG_NAME)
        atomic_write_bytes(run_dir / "doctor.html", html(report, PNG_NAME).encode())
    except OSError as e:
        raise GannetError(write_error(run_dir, e)) from None
    return [out, run_dir / PNG_NAME, run_dir / "doctor.html"]
