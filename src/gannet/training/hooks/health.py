"""Health checks on every logging record: stop on NaN/Inf, warn on a saturated D."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

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


class Health(Hook):
    """Stops training (GannetError) when a loss is NaN or Inf, and warns once when mean
    D(G(z)) stays near 0 (the saturating-gradient regime; for losses whose D output is a
    probability's logit only). Put it after the metrics file, so the bad record is kept."""

    def __init__(self) -> None:
        self.low_intervals = 0
        self.warned: set[str] = set()

    def on_log(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if not all(math.isfinite(record[k]) for k in ACCUMULATED if k in record):
            raise GannetError(
                f"training diverged at step {trainer.progress.step} (a loss is NaN or Inf); "
                f"the last good checkpoint is kept in {trainer.run_dir}; lower optim.lr or "
                "change the loss"
            ) from Diverged()
        self.check_saturation(trainer, record)

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
