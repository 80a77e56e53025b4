"""Health checks: stop (or roll back) on NaN/Inf before anything bad is written.

Placed before the hooks that write weights (sample grids, snapshots, the checkpoint), the
check of G's, D's and the EMA's weights at every epoch end and checkpoint means a non-finite
model is never saved, drawn or snapshotted: the checkpoint a diverged run keeps is the last
finite one, and the message names its step (or says there is none). With
``train.on_divergence = "rollback"`` the run goes back to that checkpoint instead
(:mod:`gannet.training.rollback`), at most ``train.max_rollbacks`` times. The saturation
warning that lived here is the doctor's D-wins finding now (:mod:`.doctor`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gannet.errors import GannetError
from gannet.training.hooks.base import Hook
from gannet.training.hooks.status import Diverged
from gannet.training.rollback import RollbackRequested, count_rollbacks
from gannet.training.stats import ACCUMULATED

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


def non_finite(modules: dict[str, nn.Module | None]) -> list[str]:
    """The names of the modules with a NaN or Inf in a parameter or floating buffer."""
    bad = []
    with torch.no_grad():
        for name, module in modules.items():
            if module is None:
                continue
            tensors = [
                *module.parameters(),
                *(b for b in module.buffers() if b.is_floating_point()),
            ]
            if tensors and not all(bool(torch.isfinite(t).all()) for t in tensors):
                bad.append(name)
    return bad


class Health(Hook):
    """Stops training (GannetError) when a logged loss is NaN or Inf, or when G, D or G's
    EMA has a non-finite weight at an epoch end or checkpoint (before anything is written);
    with train.on_divergence = "rollback", asks the loop to roll back instead."""

    def __init__(self) -> None:
        self.last_good: int | None = None
        """The step of the last checkpoint found finite (None: no checkpoint yet)."""

    def on_resume(self, trainer: TrainerView) -> None:
        if trainer.progress.step > 0:  # resumed from a checkpoint, which was checked
            self.last_good = trainer.progress.step

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if not all(math.isfinite(record[k]) for k in ACCUMULATED if k in record):
            self.stop(trainer, "a loss is NaN or Inf")

    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        self.check_weights(trainer)

    def on_checkpoint(self, trainer: TrainerView) -> None:
        self.check_weights(trainer)
        self.last_good = trainer.progress.step

    def check_weights(self, trainer: TrainerView) -> None:
        """Stop when G, D or G's EMA holds a NaN or Inf."""
        bad = non_finite({"G": trainer.G, "D": trainer.D, "G's EMA": trainer.G_ema})
        if bad:
            self.stop(
                trainer,
                f"{' and '.join(bad)} {'has' if len(bad) == 1 else 'have'} non-finite weights",
            )

    def stop(self, trainer: TrainerView, what: str) -> None:
        """Raise the divergence error, naming the checkpoint the run keeps; or, with
        train.on_divergence = "rollback" and rollbacks left, :class:`RollbackRequested`."""
        tc = trainer.config.train
        rolling = tc.on_divergence == "rollback"
        done = count_rollbacks(trainer) if rolling else 0  # metrics.jsonl's rollback lines
        if rolling and self.last_good is not None and done < tc.max_rollbacks:
            raise RollbackRequested(f"step {trainer.progress.step}: {what}") from Diverged()
        if rolling and self.last_good is not None:
            what += f"; {done} rollback(s) did not cure it"
        if self.last_good is None:
            kept = "no checkpoint was written (none would have been finite)"
        else:
            kept = f"the last finite checkpoint (step {self.last_good}) is kept"
        raise GannetError(
            f"training diverged at step {trainer.progress.step} ({what}); {kept} in "
            f"{trainer.run_dir}; lower optim.lr or change the loss"
        ) from Diverged()
