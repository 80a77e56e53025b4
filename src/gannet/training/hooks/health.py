"""Health checks: stop on NaN/Inf before anything bad is written, warn on a saturated D.

Placed before the hooks that write weights (sample grids, snapshots, the checkpoint), the
check of G's, D's and the EMA's weights at every epoch end and checkpoint means a non-finite
model is never saved, drawn or snapshotted: the checkpoint a diverged run keeps is the last
finite one, and the message names its step (or says there is none).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gannet.errors import GannetError
from gannet.training.hooks.base import Hook
from gannet.training.hooks.status import Diverged
from gannet.training.stats import ACCUMULATED

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.loop import Trainer

SATURATION_LEVEL = 0.01
"""Mean D(G(z)) below this counts as saturated."""
SATURATION_INTERVALS = 10
"""Warn after this many saturated logging intervals in a row."""


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
    warns once when mean D(G(z)) stays near 0 (the saturating-gradient regime, for losses
    whose D output is a probability's logit)."""

    def __init__(self) -> None:
        self.low_intervals = 0
        self.warned: set[str] = set()
        self.last_good: int | None = None
        """The step of the last checkpoint found finite (None: no checkpoint yet)."""

    def on_resume(self, trainer: Trainer) -> None:
        if trainer.progress.step > 0:  # resumed from a checkpoint, which was checked
            self.last_good = trainer.progress.step

    def on_log(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if not all(math.isfinite(record[k]) for k in ACCUMULATED if k in record):
            self.stop(trainer, "a loss is NaN or Inf")
        self.check_saturation(trainer, record)

    def on_epoch_end(self, trainer: Trainer, epoch: int) -> None:
        self.check_weights(trainer)

    def on_checkpoint(self, trainer: Trainer) -> None:
        self.check_weights(trainer)
        self.last_good = trainer.progress.step

    def check_weights(self, trainer: Trainer) -> None:
        """Stop when G, D or G's EMA holds a NaN or Inf."""
        bad = non_finite({"G": trainer.G, "D": trainer.D, "G's EMA": trainer.G_ema})
        if bad:
            self.stop(
                trainer,
                f"{' and '.join(bad)} {'has' if len(bad) == 1 else 'have'} non-finite weights",
            )

    def stop(self, trainer: Trainer, what: str) -> None:
        """Raise the divergence error, naming the checkpoint the run keeps."""
        if self.last_good is None:
            kept = "no checkpoint was written (none would have been finite)"
        else:
            kept = f"the last finite checkpoint (step {self.last_good}) is kept"
        raise GannetError(
            f"training diverged at step {trainer.progress.step} ({what}); {kept} in "
            f"{trainer.run_dir}; lower optim.lr or change the loss"
        ) from Diverged()

    def check_saturation(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """Count saturated intervals; warn once when there are SATURATION_INTERVALS in a row."""
        if not trainer.loss.probabilistic:
            return
        low = record["d_fake"] < SATURATION_LEVEL
        self.low_intervals = self.low_intervals + 1 if low else 0
        if self.low_intervals >= SATURATION_INTERVALS and "saturated" not in self.warned:
            self.warned.add("saturated")
            trainer.say(
                f"gannet: warning: mean D(G(z)) has stayed below 0.01 for "
                f"{self.low_intervals} logging intervals (step {trainer.progress.step}): D "
                "rejects every sample and G's gradient may vanish; consider "
                "loss.name='non-saturating'"
            )
