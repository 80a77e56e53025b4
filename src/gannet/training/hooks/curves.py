"""RUN/curves.png: the training curves, redrawn at the epoch ends that do the epoch-end work
(:mod:`gannet.training.hooks.schedule`) and at the end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gannet.files.pictures import plot_curves
from gannet.files.rundir import METRICS, read_metrics
from gannet.training.hooks.base import Hook

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


class Curves(Hook):
    """Plots metrics.jsonl to curves.png."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def draw(self, trainer: TrainerView) -> None:
        records = [r for r in read_metrics(self.run_dir / METRICS) if "event" not in r]
        plot_curves(records, self.run_dir / "curves.png", trainer.loss.probabilistic)

    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        if trainer.epoch_end.due:  # hooks/schedule.py: not after every short epoch
            self.draw(trainer)

    def on_fit_end(self, trainer: TrainerView, status: str) -> None:
        if status == "finished":
            self.draw(trainer)
