"""RUN/samples/epoch-NNNN.png: G's samples from one fixed noise batch after every epoch whose
end does the epoch-end work (:mod:`gannet.training.hooks.schedule`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from gannet.files.pictures import save_samples
from gannet.models import sample_noise
from gannet.training.hooks.base import Hook

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView

FIXED_SEED_OFFSET = 1
"""The grid's fixed noise comes from a private generator seeded with seed + this."""


class SampleGrids(Hook):
    """Draws ``G_eval`` on a fixed noise batch (``train.n_fixed_samples``; for a conditional
        run, one row per class with the same noise in every row) after every epoch whose end is
    due (:class:`~gannet.training.hooks.schedule.EpochEndSchedule`). The noise
        comes from a private generator: the global RNG that training depends on is untouched."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = Path(run_dir) / "samples"
        self.z: Tensor | None = None
        self.y: Tensor | None = None

    def on_attach(self, trainer: TrainerView) -> None:
        tc, mc, k = trainer.config.train, trainer.config.model, trainer.num_classes
        fixed = torch.Generator(device="cpu").manual_seed(tc.seed + FIXED_SEED_OFFSET)
        if k:
            per_class = max(1, tc.n_fixed_samples // k)
            z = sample_noise(per_class, mc.z_dim, mc.noise, "cpu", fixed)
            self.z = z.repeat(k, 1).to(trainer.device)
            self.y = torch.arange(k).repeat_interleave(per_class).to(trainer.device)
        else:
            z = sample_noise(tc.n_fixed_samples, mc.z_dim, mc.noise, "cpu", fixed)
            self.z = z.to(trainer.device)

    def save(self, trainer: TrainerView, path: Path) -> None:
        """Write the grid of ``G_eval`` on the fixed noise to ``path``."""
        assert self.z is not None, "SampleGrids.save before on_attach"
        G = trainer.G_eval
        G.eval()
        with torch.no_grad():
            samples = (G(self.z) if self.y is None else G(self.z, self.y)).float()
        G.train()
        if self.y is None:
            save_samples(samples, path)
        else:  # one row per class
            per_class = self.z.shape[0] // trainer.num_classes
            save_samples(samples, path, nrow=per_class, labels=self.y)

    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        if trainer.epoch_end.due:  # hooks/schedule.py: not after every short epoch
            self.save(trainer, self.folder / f"epoch-{epoch:04d}.png")
