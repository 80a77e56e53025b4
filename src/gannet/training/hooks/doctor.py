"""The doctor, live: the record-based detectors of :mod:`gannet.doctor` (divergence, D
wins, mode collapse, oscillation, progress) run on the records so far at every logging
interval, with the same code as ``gannet doctor`` runs on metrics.jsonl afterwards.

When a finding turns warning or failing (from ok) it prints one line with what to try
(the saturation warning and the mode-coverage warning that came before this hook are two of
them), and the findings that are not ok go into the interval's record (``doctor``, in
metrics.jsonl). With ``train.on_divergence = "rollback"`` a collapsed FID/KID (the progress
finding failing) rolls the run back like a NaN does. It reads records only: no RNG, no
weights, so training and exact resume are untouched; on resume the records are replayed
from metrics.jsonl so the lines come as in an uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gannet.doctor.history import Context, History, read_history
from gannet.doctor.report import RANK
from gannet.files.rundir import METRICS
from gannet.training.hooks.base import Hook

if TYPE_CHECKING:  # pragma: no cover
    from gannet.doctor.report import Finding
    from gannet.training.view import TrainerView

LIVE_WINDOW = 2000
"""The most recent records the hook judges (older ones are dropped, on resume too): keeps a
long run's per-interval cost bounded (the detectors are linear in the records)."""
QUIET = frozenset({"divergence"})
"""Findings the hook does not print: the health hook's stop (or rollback) line says it."""


class LiveDoctor(Hook):
    """Runs the doctor's record-based detectors at every logging interval (train.doctor)."""

    def __init__(self, run_dir: Path | None = None) -> None:
        self.run_dir = run_dir
        self.history = History()
        self.context = Context()
        self.severity: dict[str, str] = {}
        """Each finding's severity at the last interval ("ok" when not yet seen)."""
        self.on = True

    def on_attach(self, trainer: TrainerView) -> None:
        self.on = trainer.config.train.doctor
        self.context = Context(
            loss=trainer.config.loss.name,
            probabilistic=trainer.loss.probabilistic,
            log_every=trainer.config.train.log_every,
        )

    def on_resume(self, trainer: TrainerView) -> None:
        """Replay the records up to the checkpoint, without printing."""
        self.history, self.severity = History(), {}
        if self.run_dir is None:
            return
        past, _ = read_history(Path(self.run_dir) / METRICS)
        step = trainer.progress.step
        for record in past.records:
            if int(record.get("step", 0)) <= step:
                self.add(record)
        self.history.events = [e for e in past.events if int(e.get("step", 0)) <= step]
        if self.history.records:
            self.judge()  # the severities as they stood at the checkpoint (they need only it)

    def add(self, record: dict[str, Any]) -> None:
        self.history.add(record)
        del self.history.records[:-LIVE_WINDOW]

    def judge(self) -> list[tuple[Finding, bool]]:
        """The findings now, each with whether it just turned from ok to warning/failing."""
        from gannet.doctor.diagnose import record_findings

        out = []
        for f in record_findings(self.history, self.context):
            was = self.severity.get(f.name, "ok")
            out.append((f, RANK[f.severity] > 0 and RANK[was] == 0))
            self.severity[f.name] = f.severity
        return out

    def on_measure(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if not self.on:
            return
        self.add(dict(record))
        findings = self.judge()
        bad = {f.name: f.severity for f, _ in findings if f.severity != "ok"}
        if bad:
            record["doctor"] = bad
        for f, turned in findings:
            if turned and f.name not in QUIET:
                trainer.say(f.advice())

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if not self.on or self.severity.get("progress") != "failing":
            return
        if trainer.config.train.on_divergence != "rollback":
            return
        from gannet.training.hooks.health import Health

        health = trainer.hooks.find(Health)
        if health is not None:
            health.stop(trainer, "the logged metric collapsed to 3x its best or worse")
