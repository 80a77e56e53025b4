"""RUN/snapshots/epoch-NNNN.pt: weights kept along the way, for evaluation at several epochs
(``train.snapshot_every``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gannet.training.hooks.base import Hook
from gannet.training.state import capture, write_checkpoint

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView

SNAPSHOTS = "snapshots"
"""The run's folder of snapshots."""


def snapshot_path(run_dir: Path, epoch: int) -> Path:
    """Where the snapshot of ``epoch`` goes."""
    return Path(run_dir) / SNAPSHOTS / f"epoch-{epoch:04d}.pt"


class Snapshots(Hook):
    """After every ``train.snapshot_every``-th epoch, keep G and D (weights only)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        every = trainer.config.train.snapshot_every
        if every and epoch % every == 0:
            ckpt = capture(trainer).weights_only()
            write_checkpoint(snapshot_path(self.run_dir, epoch), ckpt)
