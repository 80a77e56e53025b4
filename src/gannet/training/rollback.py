"""``train.on_divergence = "rollback"``: a diverged run goes back to its last checkpoint,
halves its learning rate and continues, instead of being lost.

The health hook raises :class:`RollbackRequested` (on a NaN/Inf loss or weight, or the
doctor's hook on a collapsed FID/KID) while rollbacks are left; :meth:`Trainer.fit` catches
it between iterations and calls :func:`roll_back`. Everything it does is a function of the
run's own files and state, so a run that rolled back is deterministic: the same config gives
the same rollbacks, and a resumed run continues bit for bit (the checkpoint is rewritten
right after the remedy, with the lowered lr in its optimizer state and config).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gannet.errors import GannetError
from gannet.files.rundir import (
    CHECKPOINT,
    CONFIG,
    METRICS,
    STATUS,
    MetricsLog,
    read_metrics,
    read_status,
    write_status,
)

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView

LR_FACTOR = 0.5
"""The remedy: optim.lr (D's and G's current lr alike) is multiplied by this at each
rollback. Halving is the usual first response to a diverged run (the StyleGAN2-ADA
maintainers' advice in stylegan2-ada-pytorch #159 is a lower lr or a stronger R1) and
three halvings (train.max_rollbacks' default) span a factor of 8."""
EVENT = "rollback"
"""The ``event`` of the metrics.jsonl line a rollback writes."""


class RollbackRequested(GannetError):
    """Raised by a hook mid-iteration: the run must go back to its last checkpoint. Raised
    where the loop does not catch it (the run's very last log or checkpoint), it is the
    divergence's one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"training diverged ({reason}) at the end of the run; resume it with a lower "
            "optim.lr from its last checkpoint"
        )
        self.reason = reason


def count_rollbacks(trainer: TrainerView) -> int:
    """Rollbacks recorded in the run's metrics.jsonl up to the trainer's step."""
    if trainer.run_dir is None:
        return 0
    return sum(
        1
        for r in read_metrics(Path(trainer.run_dir) / METRICS)
        if r.get("event") == EVENT and int(r.get("step", 0)) <= trainer.progress.step
    )


def roll_back(trainer: TrainerView, reason: str) -> None:
    """Restore the last checkpoint, multiply the lr by :data:`LR_FACTOR`, record it (a
    metrics.jsonl line, run.json's ``rollbacks``, a message) and checkpoint again."""
    from gannet.training.state import read_checkpoint, restore

    run_dir = trainer.run_dir
    if run_dir is None or not (Path(run_dir) / CHECKPOINT).is_file() or trainer.world.distributed:
        raise GannetError(
            f"training diverged ({reason}) and cannot roll back (no run folder with a "
            "checkpoint, or a multi-process run); lower optim.lr"
        )
    run_dir = Path(run_dir)
    restore(trainer, read_checkpoint(run_dir / CHECKPOINT, map_location=trainer.device))
    optim = trainer.config.optim
    old, new = optim.lr, optim.lr * LR_FACTOR
    optim.lr = new
    for opt in (trainer.opt_d, trainer.opt_g):
        for group in opt.param_groups:
            group["lr"] *= LR_FACTOR
    trainer.config.save(run_dir / CONFIG)
    trainer.hooks.on_resume(trainer)  # metrics after the checkpoint dropped, monitors replayed
    done = count_rollbacks(trainer) + 1
    step = trainer.progress.step
    event = {
        "event": EVENT,
        "step": step,
        "reason": reason,
        "remedy": f"optim.lr {old:.6g} -> {new:.6g}",
        "rollback": done,
        "of": trainer.config.train.max_rollbacks,
    }
    MetricsLog(run_dir / METRICS).append(event)  # what count_rollbacks reads from now on
    if (run_dir / STATUS).is_file():
        status = read_status(run_dir)
        status["rollbacks"] = [*status.get("rollbacks", []), event]
        write_status(run_dir, status)
    trainer.say(
        f"gannet: warning: training diverged ({reason}); rolled back to the checkpoint of "
        f"step {step} and lowered optim.lr from {old:.6g} to {new:.6g} (rollback {done} of "
        f"{trainer.config.train.max_rollbacks})"
    )
    trainer.checkpoint()
