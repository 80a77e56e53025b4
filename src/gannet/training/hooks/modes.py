"""The mode-coverage monitor: how many modes (2-D mixtures) or classes (MNIST-like images,
with gannet's cached classifier) G covers, logged for the doctor's mode-collapse finding
(which warns when it falls: :mod:`gannet.doctor.collapse`, live in :mod:`.doctor`).

The definitions are :mod:`gannet.metrics.modes`' (the same as ``gannet eval modes``). The
check draws G on a fixed noise batch of its own, from a private generator, so it is the
same at every call and never advances the global RNG that training depends on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gannet.errors import GannetError
from gannet.models import sample_noise
from gannet.training.hooks.base import Hook
from gannet.training.stats import ACCUMULATED

if TYPE_CHECKING:  # pragma: no cover
    from gannet.metrics.modes import ClassStats, ModeStats
    from gannet.training.view import TrainerView

MODE_CHECK_SAMPLES = 2500
"""Samples drawn by the mode-coverage check (the 2,500 of VEEGAN and PacGAN)."""
MODE_CHECK_MIN_STEPS = 25
"""The check runs at the logging steps that are multiples of the first multiple of
train.log_every >= this (every interval for log_every >= 25): a check costs ~5 ms on a
3x128 MLP generator, about 1 % of 25 steps of the ring configs on one loaded core."""
MODE_CHECK_IMAGE_SAMPLES = 1000
"""Samples the class-coverage check of image runs labels with gannet's classifier."""
MODE_CHECK_IMAGE_MIN_STEPS = 1000
"""Image runs are checked at most this often (two epochs of the paper's MNIST model): a
classifier pass over 1,000 images took 1.9 s on one loaded core, 2-4 % of 1,000 steps of
the paper's model there."""
MODE_CHECK_SEED_OFFSET = 2
"""The check's fixed noise comes from seed + this (the sample grid's noise uses seed + 1)."""


class ModeMonitor(Hook):
    """Adds ``modes_covered``, ``high_quality`` (or ``class_kl``) and ``n_modes`` to the
    logging records every :attr:`every` steps (``train.mode_check``)."""

    def __init__(self, run_dir: Path | None = None) -> None:
        self.run_dir = run_dir
        self.kind: str | None = None
        """"ring", "grid", "classes", or None when the check is off for this run."""
        self.z: Tensor | None = None
        self.y: Tensor | None = None
        """The check's fixed labels (conditional runs: every class equally often)."""
        self.every = 0
        """Steps between checks: log_every, or its first multiple >= 25 (mixtures) or
        >= 1,000 (image classes)."""
        self.classifier: Any = None

    def on_attach(self, trainer: TrainerView) -> None:
        cfg, data = trainer.config, trainer.data
        if not cfg.train.mode_check:
            return
        n = MODE_CHECK_SAMPLES
        if (
            data.name == "mixture-2d"
            and cfg.data.mixture in ("ring", "grid")
            and tuple(data.sample_shape) == (2,)
        ):
            self.kind = cfg.data.mixture
        elif image_classifier_cached(data.name, tuple(data.sample_shape)):
            self.kind, n = "classes", MODE_CHECK_IMAGE_SAMPLES
        else:
            return
        mc = cfg.model
        gen = torch.Generator(device="cpu").manual_seed(cfg.train.seed + MODE_CHECK_SEED_OFFSET)
        self.z = sample_noise(n, mc.z_dim, mc.noise, "cpu", gen).to(trainer.device)
        if trainer.num_classes:
            self.y = (torch.arange(n) % trainer.num_classes).to(trainer.device)
        least = MODE_CHECK_IMAGE_MIN_STEPS if self.kind == "classes" else MODE_CHECK_MIN_STEPS
        every = cfg.train.log_every
        self.every = every * math.ceil(least / every)

    def check(self, trainer: TrainerView) -> ModeStats | ClassStats | None:
        """Coverage of ``G_eval`` on the fixed noise (eval mode, no gradients): ModeStats
        for ring and grid runs, ClassStats for image runs, None when the check is off."""
        if self.kind is None or self.z is None:
            return None
        from gannet.metrics.modes import classifier_mode_stats, mixture_mode_stats

        G = trainer.G_eval
        was_training = G.training
        G.eval()
        try:
            with torch.no_grad():
                samples = G(self.z) if self.y is None else G(self.z, self.y)
        finally:
            G.train(was_training)
        if self.kind != "classes":
            return mixture_mode_stats(samples.float(), self.kind)
        if self.classifier is None:
            from gannet.metrics.classifier import cached_classifier

            try:
                self.classifier, _ = cached_classifier(trainer.data.name)
            except GannetError as e:  # a corrupt cache must not stop training
                trainer.say(f"gannet: warning: class-coverage check off: {e}")
                self.kind = None
                return None
        x = samples.float().cpu().reshape(-1, 1, 28, 28)
        return classifier_mode_stats(x, self.classifier)

    def on_measure(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if self.kind is None or trainer.progress.step % self.every:
            return
        if not all(math.isfinite(record[k]) for k in ACCUMULATED if k in record):
            return  # diverged: the health check stops the run
        from gannet.metrics.modes import ClassStats

        stats = self.check(trainer)
        if stats is None:
            return
        if isinstance(stats, ClassStats):
            record.update(
                modes_covered=stats.classes_covered,
                class_kl=stats.kl_uniform,
                n_modes=stats.n_classes,
            )
        else:
            record.update(
                modes_covered=stats.modes_covered,
                high_quality=stats.high_quality_fraction,
                n_modes=stats.n_modes,
            )


def image_classifier_cached(dataset: str, sample_shape: tuple[int, ...]) -> bool:
    """An MNIST-like dataset with a cached gannet classifier (``gannet classifier train
    DATASET``); image runs are checked only then."""
    from gannet.metrics.classifier import SUPPORTED, classifier_path

    return (
        dataset in SUPPORTED
        and sample_shape in ((1, 28, 28), (784,))
        and classifier_path(dataset).is_file()
    )
