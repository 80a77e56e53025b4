"""Shared fixtures: the real MNIST files beside the repo, tiny in-memory datasets."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from gannet.data import Dataset

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default="cpu",
        help="device for the tests marked 'device' (cpu; scripts/gpu-check.sh passes cuda)",
    )


@pytest.fixture
def device(request: pytest.FixtureRequest) -> torch.device:
    """The device of a device-agnostic test (``-m device --device cuda`` runs them on a GPU)."""
    return torch.device(request.config.getoption("--device"))


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


def tiny_labelled(n: int = 240, classes: int = 4) -> Dataset:
    """1x8x8 images whose brightness encodes their label: label c has pixels (c + 1) / 8."""
    labels = torch.arange(n) % classes
    images = ((labels.float() + 1) / 8).view(n, 1, 1, 1).expand(n, 1, 8, 8).clone()
    return Dataset("tiny-labelled", images, train_labels=labels, num_classes=classes)


TINY_STYLEGAN = [
    "model.generator='stylegan-g'",
    "model.discriminator='stylegan-d'",
    "model.z_dim=8",
    "model.noise='normal'",
    "model.style_dim=8",
    "model.g_channels=4",
    "model.d_channels=4",
    "model.max_channels=8",
]
"""Overrides for a StyleGAN pair small enough for tests (3 x 8 x 8 images, CPU seconds)."""


def mixture_config(*extra: str):
    """A tiny run on the 8-Gaussian ring: small MLPs, Adam, 8 steps an epoch, quiet."""
    from gannet.config import Config

    return Config().with_overrides(
        [
            "data.name='mixture-2d'",
            "data.n_samples=400",
            "model.generator='mlp-g'",
            "model.discriminator='mlp-d'",
            "model.z_dim=4",
            "model.g_hidden=[16]",
            "model.d_hidden=[16]",
            "optim.name='adam'",
            "train.batch_size=50",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            *extra,
        ]
    )


@contextlib.contextmanager
def benchmark_module(name: str) -> Iterator[types.ModuleType]:
    """benchmarks/<name>.py imported as a module (benchmarks/ is not a package), removed
    from sys.modules afterwards."""
    path = REPO / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]
