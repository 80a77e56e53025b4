"""RUN/tensorboard/: the run as TensorBoard event files (``train.tensorboard = true``).

Every metrics.jsonl record becomes scalars at its generator step (the losses, D's outputs,
gradient norms, mode coverage, the feature metrics of ``train.eval_every``), grouped by what
they measure; every sample grid written in ``RUN/samples/`` becomes an image at the epoch's
step. The events come from :mod:`torch.utils.tensorboard`, which needs the ``tensorboard``
package (``pip install 'gannet[tensorboard]'``); :func:`check_tensorboard` refuses the
option in one line before training when it is missing.

On resume the writer purges the events written after the checkpoint's step, so the event
files read as one uninterrupted run, like metrics.jsonl. The hook reads what other hooks
measured and touches no training state: exact resume is unchanged.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gannet.errors import GannetError
from gannet.training.hooks.base import Hook

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView

FOLDER = "tensorboard"
"""The event files' folder inside the run directory (``tensorboard --logdir RUN``)."""

NOT_SCALARS = frozenset({"step", "epoch", "iteration"})
"""Record fields that are the x axis, not a curve."""

GROUPS = (
    ("loss", ("d_loss", "g_loss", "value", "d_penalty")),
    ("D", ("d_real", "d_fake")),
    ("grad", ("grad_norm",)),
    ("optim", ("lr", "momentum")),
    ("modes", ("modes_", "high_quality", "classes_", "class_")),
    ("eval", ("fid", "kid", "precision", "recall")),
    ("speed", ("images_per_s", "wall_time")),
)
"""A record field goes under the first group one of whose prefixes it starts with."""


def check_tensorboard() -> None:
    """Refuse ``train.tensorboard`` in one line when the ``tensorboard`` package is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise GannetError(
            "train.tensorboard = true needs the tensorboard package: "
            "pip install 'gannet[tensorboard]' (or set train.tensorboard = false)"
        ) from None


def scalar_tag(name: str) -> str:
    """The TensorBoard tag of a metrics.jsonl field: ``group/name``."""
    for group, prefixes in GROUPS:
        if name.startswith(prefixes):
            return f"{group}/{name}"
    return f"other/{name}"


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of a record, by tag (booleans, strings, lists and NaN left out)."""
    out: dict[str, float] = {}
    for key, value in record.items():
        if key in NOT_SCALARS or isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value):
            out[scalar_tag(key)] = float(value)
    return out


class TensorBoardEvents(Hook):
    """Writes metrics.jsonl's records and the sample grids as TensorBoard events."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.writer: Any = None
        self.purge_step: int | None = None

    def open(self, trainer: TrainerView) -> Any:
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(
                log_dir=str(self.run_dir / FOLDER), purge_step=self.purge_step
            )
        return self.writer

    def on_attach(self, trainer: TrainerView) -> None:
        if trainer.config.train.tensorboard:
            check_tensorboard()

    def on_resume(self, trainer: TrainerView) -> None:
        self.purge_step = trainer.progress.step + 1

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if not trainer.config.train.tensorboard:
            return
        writer = self.open(trainer)
        step = int(record.get("step", trainer.progress.step))
        for tag, value in scalars(record).items():
            writer.add_scalar(tag, value, step)
        writer.flush()

    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        if not trainer.config.train.tensorboard:
            return
        grid = self.run_dir / "samples" / f"epoch-{epoch:04d}.png"
        if not grid.is_file():  # no grid this epoch
            return
        from PIL import Image

        with Image.open(grid) as im:
            pixels = np.asarray(im.convert("RGB"))
        writer = self.open(trainer)
        writer.add_image("samples", pixels, trainer.progress.step, dataformats="HWC")
        writer.flush()

    def on_fit_end(self, trainer: TrainerView, status: str) -> None:
        self.close()

    def on_error(self, trainer: TrainerView, error: BaseException) -> None:
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
