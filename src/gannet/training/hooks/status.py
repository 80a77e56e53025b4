"""RUN/run.json: what the run is doing (created, running, interrupted, finished, diverged,
failed), with versions, device, data source and progress."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from gannet.errors import GannetError
from gannet.files.rundir import STATUS, read_status, write_status
from gannet.training.hooks.base import Hook
from gannet.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


class Diverged(Exception):
    """Raised (as the cause of a GannetError) when a loss became NaN or Inf."""


class StatusFile(Hook):
    """Keeps run.json up to date: "running" at the start and at every checkpoint, then
    "finished" or "interrupted"; "diverged" when training diverged, "failed" on any other
    error (so a dead run never claims to be running)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.checkpoint_step = 0
        """The step of the run's last checkpoint (0: none yet)."""

    def write(self, trainer: TrainerView, status: str) -> None:
        """Write run.json with ``status`` and the trainer's progress."""
        path = self.run_dir / STATUS
        previous = read_status(self.run_dir) if path.is_file() else {}
        now = datetime.now(UTC).isoformat(timespec="seconds")
        p = trainer.progress
        init = trainer.initialised_from or previous.get("init_from")  # kept over resumes
        write_status(
            self.run_dir,
            {
                **({"init_from": init} if init else {}),
                "status": status,
                "created": previous.get("created", now),
                "updated": now,
                "gannet_version": __version__,
                "torch_version": torch.__version__,
                "device": str(trainer.device),
                "data_source": trainer.data.source,
                "train_examples": len(trainer.batches),
                "step": p.step,
                "epoch": p.epoch - (1 if p.iteration_in_epoch == 0 else 0),
                "iterations_per_epoch": trainer.iterations_per_epoch,
                "elapsed_seconds": round(p.elapsed, 3),
                "checkpoint_step": self.checkpoint_step,
                **({"rollbacks": previous["rollbacks"]} if "rollbacks" in previous else {}),
            },
        )

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.write(trainer, "running")

    def on_resume(self, trainer: TrainerView) -> None:
        self.checkpoint_step = trainer.progress.step

    def on_checkpoint(self, trainer: TrainerView) -> None:
        self.checkpoint_step = trainer.progress.step
        self.write(trainer, "running")

    def on_fit_end(self, trainer: TrainerView, status: str) -> None:
        self.write(trainer, status)

    def on_error(self, trainer: TrainerView, error: BaseException) -> None:
        if isinstance(error, KeyboardInterrupt):
            status = "interrupted"
        else:
            status = "diverged" if isinstance(error.__cause__, Diverged) else "failed"
        # Best effort: the error may be that this folder cannot be written.
        with contextlib.suppress(GannetError, OSError):
            self.write(trainer, status)
