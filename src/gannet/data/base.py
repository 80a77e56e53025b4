"""The dataset interface and its registry.

A dataset is loaded whole into memory (images shape (N, C, H, W); vectors shape (N, D)), so
the training loop indexes one tensor and never runs per-sample Python. Splits are float32
(images in [0, 1]) or, for image folders, uint8 (0..255, a quarter of the memory): code that
needs floats calls :meth:`Dataset.as_float` (a whole split) or :func:`as_float` (a batch; also
``gannet.data.as_float``), which give the same values the float path held before
(``uint8 / 255``, bit for bit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, overload

import torch

from gannet.config import DataConfig
from gannet.registry import Registry

Split = Literal["train", "validation", "test"]


def as_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images (0..255) as float32 in [0, 1] (``x.float() / 255``); any other tensor
    unchanged (no copy)."""
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    return x


def float_mean(x: torch.Tensor) -> torch.Tensor:
    """The mean over the first dimension as float32; for uint8 images the exact mean of
    ``x / 255`` (integer sums, no float copy of the whole set), else ``x.mean(0)``."""
    if x.dtype == torch.uint8:
        total = x.sum(0, dtype=torch.int64).double()
        return (total / (255.0 * max(len(x), 1))).float()
    return x.mean(0)


@dataclass
class Dataset:
    """Splits of one dataset, each a float32 or uint8 tensor (labels int64 or None); use
    :meth:`as_float` for floats."""

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

    @overload
    def as_float(self, split: Literal["train"] = "train") -> torch.Tensor: ...

    @overload
    def as_float(self, split: Split) -> torch.Tensor | None: ...

    def as_float(self, split: Split = "train") -> torch.Tensor | None:
        """The split ``split`` (train, validation or test) as float32 (images in [0, 1]), or
        None when the dataset has no such split. A float split is returned as is; a uint8
        split is converted (a new tensor four times its size)."""
        if split not in ("train", "validation", "test"):
            raise ValueError(f"unknown split {split!r}; choose train, validation or test")
        rows: torch.Tensor | None = getattr(self, split)
        return None if rows is None else as_float(rows)


@dataclass
class DatasetEntry:
    """What the registry holds for one dataset name."""

    load: Callable[[DataConfig], Dataset]
    """Read (or generate) the dataset; raises GannetError with a one-line fix when it cannot."""
    locate: Callable[[DataConfig], str | None]
    """Where the files are found locally (None when missing); synthetic data returns 'synthetic'."""
    description: str = ""


DATASETS: Registry[DatasetEntry] = Registry("dataset")


@dataclass(frozen=True)
class LoadOptions:
    """How a loader that takes long (an image folder) reports and parallelises its work."""

    progress: str = "auto"
    """train.progress: auto (a bar on a terminal, a few lines otherwise), bar, lines, none."""
    threads: int = 0
    """Worker threads (0 = the CPU cores this process may use)."""


_OPTIONS: ContextVar[LoadOptions | None] = ContextVar("gannet_load_options", default=None)


def load_options() -> LoadOptions:
    """The options of the :func:`load_dataset` call in progress (defaults outside one)."""
    return _OPTIONS.get() or LoadOptions()


@contextmanager
def _options(options: LoadOptions | None) -> Iterator[None]:
    token = _OPTIONS.set(options)
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def load_dataset(cfg: DataConfig, *, progress: str = "auto", threads: int = 0) -> Dataset:
    """Load the dataset ``cfg.name`` from the registry. ``progress`` and ``threads`` (as
    ``train.progress`` and ``train.threads``) matter to the loaders that decode files."""
    with _options(LoadOptions(progress=progress, threads=threads)):
        return DATASETS.get(cfg.name).load(cfg)
