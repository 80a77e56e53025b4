"""Shared fixtures: the real MNIST files beside the repo, tiny in-memory datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from gannet.data import Dataset

REPO = Path(__file__).resolve().parents[1]


def mnist_dir() -> Path | None:
    """../shared/data/mnist beside the repo, or $GANNET_DATA/mnist."""
    candidates = [REPO.parent / "shared" / "data" / "mnist"]
    if os.environ.get("GANNET_DATA"):
        candidates.insert(0, Path(os.environ["GANNET_DATA"]) / "mnist")
    for c in candidates:
        if (c / "train-images-idx3-ubyte.gz").is_file():
            return c
    return None


@pytest.fixture
def mnist_path() -> Path:
    path = mnist_dir()
    if path is None:
        pytest.skip("MNIST files not found (../shared/data/mnist or $GANNET_DATA/mnist)")
    return path


@pytest.fixture
def tiny_images() -> Dataset:
    """400 random 1x8x8 'images' in [0, 1]: fast enough for many short runs."""
    gen = torch.Generator().manual_seed(0)
    return Dataset("tiny", torch.rand(400, 1, 8, 8, generator=gen), source="memory")
