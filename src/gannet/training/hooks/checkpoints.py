"""RUN/checkpoint.pt: the full checkpoint, written atomically at every checkpoint event."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gannet.files.rundir import CHECKPOINT
from gannet.training.hooks.base import Hook
from gannet.training.state import capture, write_checkpoint

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


class Checkpoints(Hook):
    """Writes the trainer's full state (:func:`gannet.training.state.capture`)."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / CHECKPOINT

    def on_checkpoint(self, trainer: TrainerView) -> None:
        write_checkpoint(self.path, capture(trainer))
