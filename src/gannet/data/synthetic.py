"""Synthetic low-dimensional data with known densities.

* ``gaussian-1d``: ``n_samples`` points from N(mean, std^2), shape (N, 1) (the 1-D
  illustration of figure 1 of the paper).
* ``mixture-2d``: a mixture of equal-weight isotropic Gaussians, shape (N, 2), label =
  mode index. ``ring``: 8 modes equally spaced on a circle of radius 2, std 0.02;
  ``grid``: 25 modes at {-4, -2, 0, 2, 4}^2, std 0.05 (the settings of unrolled GANs,
  VEEGAN and PacGAN).

Every split is drawn from its own fixed-seed ``torch.Generator`` (train 0, validation 1,
test 2), so the data is identical across runs and independent of the training seed.
Validation and test splits have :data:`EVAL_SIZE` points each.
"""

from __future__ import annotations

import math

import torch

from gannet.config import DataConfig
from gannet.data.base import DATASETS, Dataset, DatasetEntry
from gannet.data.locate import apply_subset
from gannet.errors import GannetError

EVAL_SIZE = 10000
"""Points in each of the validation and test splits."""

SEEDS = {"train": 0, "validation": 1, "test": 2}

MIXTURES = {"ring": (8, 2.0, 0.02), "grid": (25, 2.0, 0.05)}
"""kind -> (number of modes, radius or grid spacing, std of each mode)."""


def _generator(split: str) -> torch.Generator:
    return torch.Generator().manual_seed(SEEDS[split])


def _check_n(cfg: DataConfig) -> None:
    if cfg.n_samples <= 0:
        raise GannetError(f"data.n_samples must be a positive integer, got {cfg.n_samples}")


# -- gaussian-1d ---------------------------------------------------------------------


def gaussian_1d_pdf(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """The true data density N(x; mean, std^2), elementwise."""
    z = (x - mean) / std
    return torch.exp(-0.5 * z * z) / (std * math.sqrt(2.0 * math.pi))


def gaussian_1d_sample(n: int, mean: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """(n, 1) float32 points from N(mean, std^2)."""
    return torch.randn(n, 1, generator=generator) * std + mean


def load_gaussian_1d(cfg: DataConfig) -> Dataset:
    _check_n(cfg)
    if not (cfg.std > 0 and math.isfinite(cfg.std)) or not math.isfinite(cfg.mean):
        raise GannetError(
            f"gaussian-1d needs a finite data.mean and data.std > 0, got mean={cfg.mean}, "
            f"std={cfg.std}"
        )
    train = gaussian_1d_sample(cfg.n_samples, cfg.mean, cfg.std, _generator("train"))
    train, _ = apply_subset(train, None, cfg.subset, "gaussian-1d")
    return Dataset(
        name="gaussian-1d",
        train=train,
        validation=gaussian_1d_sample(EVAL_SIZE, cfg.mean, cfg.std, _generator("validation")),
        test=gaussian_1d_sample(EVAL_SIZE, cfg.mean, cfg.std, _generator("test")),
        source="synthetic",
    )


# -- mixture-2d ----------------------------------------------------------------------


def mixture_2d_modes(kind: str) -> tuple[torch.Tensor, float]:
    """(M, 2) float32 mode centres and the per-mode std of the ``ring`` or ``grid`` mixture."""
    if kind not in MIXTURES:
        raise GannetError(f"unknown data.mixture {kind!r}; choose one of: ring, grid")
    n_modes, scale, std = MIXTURES[kind]
    if kind == "ring":
        angles = torch.arange(n_modes, dtype=torch.float64) * (2.0 * math.pi / n_modes)
        centres = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) * scale
    else:
        side = round(math.sqrt(n_modes))
        axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * scale
        centres = torch.cartesian_prod(axis, axis)
    return centres.float(), std


def mixture_2d_sample(
    n: int, kind: str, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(points (n, 2) float32, mode index (n,) int64), modes equally likely."""
    centres, std = mixture_2d_modes(kind)
    modes = torch.randint(len(centres), (n,), generator=generator)
    points = centres[modes] + std * torch.randn(n, 2, generator=generator)
    return points, modes


def load_mixture_2d(cfg: DataConfig) -> Dataset:
    _check_n(cfg)
    train, train_labels = mixture_2d_sample(cfg.n_samples, cfg.mixture, _generator("train"))
    train, train_labels_kept = apply_subset(train, train_labels, cfg.subset, "mixture-2d")
    val, val_labels = mixture_2d_sample(EVAL_SIZE, cfg.mixture, _generator("validation"))
    test, test_labels = mixture_2d_sample(EVAL_SIZE, cfg.mixture, _generator("test"))
    return Dataset(
        name="mixture-2d",
        train=train,
        validation=val,
        test=test,
        train_labels=train_labels_kept,
        validation_labels=val_labels,
        test_labels=test_labels,
        num_classes=MIXTURES[cfg.mixture][0],
        source="synthetic",
    )


def locate_synthetic(cfg: DataConfig) -> str | None:
    return "synthetic"


DATASETS.register("gaussian-1d")(
    DatasetEntry(
        load=load_gaussian_1d,
        locate=locate_synthetic,
        description="1-D Gaussian N(data.mean, data.std^2), generated (no files)",
    )
)
DATASETS.register("mixture-2d")(
    DatasetEntry(
        load=load_mixture_2d,
        locate=locate_synthetic,
        description="2-D Gaussian mixture: 8 on a ring or 25 on a grid (data.mixture)",
    )
)
