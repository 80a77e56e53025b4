"""The dataset interface and its registry.

A dataset is loaded whole into memory as float tensors (images in [0, 1], shape
(N, C, H, W); vectors shape (N, D)), so the training loop indexes one tensor and never
runs per-sample Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from gannet.config import DataConfig
from gannet.registry import Registry


@dataclass
class Dataset:
    """Splits of one dataset, each a float32 tensor (labels int64 or None)."""

    name: str
    train: torch.Tensor
    validation: torch.Tensor | None = None
    test: torch.Tensor | None = None
    train_labels: torch.Tensor | None = None
    validation_labels: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    num_classes: int = 0
    source: str = ""
    """Where the data was read from (a folder), or 'synthetic'."""

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.train.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.train.dim() == 4


@dataclass
class DatasetEntry:
    """What the registry holds for one dataset name."""

    load: Callable[[DataConfig], Dataset]
    """Read (or generate) the dataset; raises GannetError with a one-line fix when it cannot."""
    locate: Callable[[DataConfig], str | None]
    """Where the files are found locally (None when missing); synthetic data returns 'synthetic'."""
    description: str = ""


DATASETS: Registry[DatasetEntry] = Registry("dataset")


def load_dataset(cfg: DataConfig) -> Dataset:
    """Load the dataset ``cfg.name`` from the registry."""
    return DATASETS.get(cfg.name).load(cfg)
