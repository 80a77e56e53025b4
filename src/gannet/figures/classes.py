"""Conditional runs: one row of samples per class, the same noise in every row (the paper's
future work #1, p(x | c))."""

from __future__ import annotations

import numpy as np
import torch

from gannet.errors import GannetError
from gannet.figures.common import PAD, generate, image_shape, noise_generator
from gannet.files.pictures import image_grid
from gannet.models import sample_noise
from gannet.trained.run import Run


def class_samples(
    run: Run, per_class: int = 10, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(samples, labels) of a conditional run, class-major: ``per_class`` samples of class 0,
    then of class 1, ...; sample j of every class uses the same noise z_j (drawn from the
    run's prior with ``seed``, default the run's seed + 12345), so a column shows what the
    class alone changes."""
    if not run.config.model.conditional:
        raise GannetError(
            f"run {str(run.path)!r} is not conditional (model.conditional = false); per-class "
            "samples need a run trained with model.conditional = true"
        )
    if per_class < 1:
        raise GannetError(f"per_class must be at least 1, got {per_class}")
    mc = run.config.model
    gen = noise_generator(run, seed)
    z = sample_noise(per_class, mc.z_dim, mc.noise, "cpu", gen).repeat(run.num_classes, 1)
    labels = torch.arange(run.num_classes).repeat_interleave(per_class)
    return generate(run, z, labels=labels), labels


def class_grid(run: Run, per_class: int = 10, seed: int | None = None) -> np.ndarray:
    """A uint8 (H, W, C) grid of an image run's :func:`class_samples`: row c holds class c."""
    image_shape(run)
    samples, _ = class_samples(run, per_class, seed)
    return image_grid(samples, nrow=per_class, pad=PAD)
