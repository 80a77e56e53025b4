"""gannet doctor on longer runs (slow): the shipped grid-r1 config and the paper's MNIST
model with EMA are healthy; an MNIST run on 20 images is named for memorisation and for D
overfitting. The recipes
are benchmarks/doctor.py's (its confusion table repeats them over seeds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gannet.config import Config
from gannet.config.presets import find_config
from gannet.doctor import doctor
from gannet.training import run_hooks, start_run
from gannet.training.hooks import Curves, SampleGrids

pytestmark = pytest.mark.slow

MNIST = [
    "data.name='mnist'",
    "model.g_hidden=[256, 256]",
    "model.d_hidden=[128, 128]",
    "model.d_pieces=2",
    "optim.name='adam'",
    "optim.lr=2e-4",
    "optim.betas=[0.5, 0.999]",
    "train.batch_size=50",
    "train.epochs=1000",
    "train.checkpoint_every=100",
    "train.progress='none'",
    "train.threads=1",
    "train.n_fixed_samples=4",
]


def trained(path: Path, config: Config) -> Path:
    """Train with gannet train's hooks but the per-epoch grids and curves (the small-data
    runs end an epoch every step or two)."""
    hooks = [h for h in run_hooks(path) if not isinstance(h, Curves | SampleGrids)]
    start_run(config, path, hooks=hooks).fit()
    return path


def test_grid_r1_is_healthy(tmp_path: Path) -> None:
    config = Config.load(find_config("grid-r1"), ["train.max_steps=2000", "train.threads=1"])
    report = doctor(trained(tmp_path / "run", config))
    assert not report.failing, report.text()
    assert report.finding("mode-collapse").judged


def test_paper_mnist_with_ema_is_healthy(tmp_path: Path, mnist_path: Path) -> None:
    config = Config.load(
        find_config("mnist-paper"),
        [
            f"data.data_dir='{mnist_path}'",
            "data.subset=2000",
            "train.ema=0.999",
            "train.ema_rampup=0.05",
            "train.max_steps=200",
            "train.log_every=10",
            "train.threads=1",
            "train.progress='none'",
        ],
    )
    report = doctor(trained(tmp_path / "run", config))
    assert not report.failing, report.text()
    assert report.finding("memorisation").judged and report.finding("d-overfits").judged


def test_tiny_data_is_memorised(tmp_path: Path, mnist_path: Path) -> None:
    config = Config().with_overrides(
        [
            *MNIST,
            f"data.data_dir='{mnist_path}'",
            "data.subset=20",
            "train.batch_size=20",
            "optim.lr=1e-3",
            "train.max_steps=600",
            "train.log_every=50",
        ]
    )
    report = doctor(trained(tmp_path / "run", config))
    # benchmarks/doctor.py's memorise-mnist-20, seed 0: both failing there
    assert {"memorisation", "d-overfits"} <= {f.name for f in report.failing}, report.text()
