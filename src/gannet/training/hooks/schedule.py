"""When an epoch's end does the epoch-end work (checkpoint, sample grid, curves.png).

With a small training set an epoch can be one step (``data.subset=64``, batch 64): writing
the checkpoint, a sample grid and curves.png after every epoch would then cost far more than
training. So an epoch end does that work only when it is **due**:

* the epoch is the run's last (``train.epochs``), or
* at least ``train.epoch_end_steps`` generator steps ran since the work was last done, or
* at least ``train.epoch_end_seconds`` seconds of training ran since then.

A data set with epochs of ``epoch_end_steps`` steps or more (MNIST at batch 100: 500 steps)
keeps its per-epoch grids and checkpoints; a few-shot set gets them every
``epoch_end_steps`` steps (or every ``epoch_end_seconds`` seconds for slow steps), so the work
stays a small share of the time whatever the data size. Snapshots (``train.snapshot_every``
epochs) are not affected: they are asked for by epoch. Training itself does not depend on
this schedule, so exact resume is unchanged (a resumed run does the work at its first epoch
end, then counts from there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


class EpochEndSchedule:
    """Decides, at each epoch end, whether the epoch-end work is due (module docs)."""

    def __init__(self) -> None:
        self.last_step = 0
        """The generator step at which the work was last done (or the run was resumed)."""
        self.last_seconds = 0.0
        """``progress.elapsed`` then."""
        self.due = False
        """Whether the epoch end being handled now does the work (read by the hooks)."""

    def restart(self, trainer: TrainerView) -> None:
        """Count from the trainer's current position (a fresh or resumed run)."""
        self.last_step, self.last_seconds = trainer.progress.step, trainer.progress.elapsed

    def decide(self, trainer: TrainerView, epoch: int) -> bool:
        """Whether the end of ``epoch`` (just finished) does the epoch-end work; sets
        :attr:`due` and, when due, counts from here."""
        tc, p = trainer.config.train, trainer.progress
        self.due = (
            epoch >= tc.epochs
            or p.step - self.last_step >= tc.epoch_end_steps
            or p.elapsed - self.last_seconds >= tc.epoch_end_seconds
        )
        if self.due:
            self.restart(trainer)
        return self.due
