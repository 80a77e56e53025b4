"""metrics.jsonl: one JSON line per logging interval."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gannet.files.rundir import METRICS, MetricsLog
from gannet.training.hooks.base import Hook

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


class MetricsFile(Hook):
    """Appends every logging record to ``RUN/metrics.jsonl``; on resume, drops the lines
    written after the checkpoint, so the file reads as one uninterrupted run."""

    def __init__(self, run_dir: Path) -> None:
        self.log = MetricsLog(Path(run_dir) / METRICS)

    def on_resume(self, trainer: TrainerView) -> None:
        self.log.truncate_after(trainer.progress.step)

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        self.log.append(record)
