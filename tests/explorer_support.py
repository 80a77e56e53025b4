"""Tiny trained runs for the latent explorer's tests (a few seconds in all): the paper's MNIST
model on a subset, a conditional run, a StyleGAN run and a 2-D toy run, in one runs folder."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gannet.config import Config
from gannet.data import Dataset, load_dataset
from gannet.playground import PlaygroundServer, serve
from gannet.training import start_run
from gannet.training.hooks import Checkpoints, MetricsFile, StatusFile
from tests.conftest import mixture_config, mnist_dir, tiny_labelled
from tests.test_stylegan import run_config as stylegan_config

QUIET = ["train.progress='none'", "train.n_fixed_samples=4"]


def _train(config: Config, out: Path, data: Dataset) -> None:
    """A short run with only the files the explorer reads (no sample grids or curves:
    faster): metrics.jsonl, checkpoint.pt, run.json."""
    hooks = [MetricsFile(out), Checkpoints(out), StatusFile(out)]
    start_run(config.with_overrides(["train.log_every=1"]), out, data, hooks).fit()


def mnist_run(out: Path) -> None:
    """The paper's MNIST model, 5 steps on 500 images (random 28x28 images if MNIST is absent:
    the same model and shapes)."""
    small = ["model.g_hidden=[32]", "model.d_hidden=[16]", "model.d_pieces=2"]
    path = mnist_dir()
    if path is not None:
        config = Config().with_overrides(
            [
                f"data.data_dir={json.dumps(str(path))}",
                "data.subset=500",
                *small,
                "train.max_steps=5",
                *QUIET,
            ]
        )
        _train(config, out, load_dataset(config.data))
        return
    x = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    config = Config().with_overrides([*small, "train.max_steps=5", *QUIET])
    _train(config, out, Dataset("mnist-like", x))


def conditional_run(out: Path) -> None:
    config = Config().with_overrides(
        [
            "model.g_hidden=[32]",
            "model.d_hidden=[16]",
            "model.z_dim=8",
            "model.conditional=true",
            "train.batch_size=20",
            "train.max_steps=4",
            *QUIET,
        ]
    )
    _train(config, out, tiny_labelled())


def stylegan_run(out: Path) -> None:
    config = stylegan_config("train.max_steps=2")
    data = Dataset("rgb", torch.rand(64, 3, 8, 8, generator=torch.Generator().manual_seed(1)))
    _train(config, out, data)


def toy_run(out: Path) -> None:
    config = mixture_config("train.max_steps=2")
    _train(config, out, load_dataset(config.data))


def make_runs(root: Path, browser_only: bool = False) -> Path:
    """``root``/runs with mnist, cond, group/style, toy (or mnist and cond only), an evaluation
    file, a damaged one and a folder that is not a run."""
    runs = root / "runs"
    mnist_run(runs / "mnist")
    conditional_run(runs / "cond")
    if not browser_only:
        stylegan_run(runs / "group" / "style")
        toy_run(runs / "toy")
    (runs / "mnist" / "eval").mkdir(exist_ok=True)
    (runs / "mnist" / "eval" / "parzen.json").write_text('{"mean": 123.5, "sem": 2.25}')
    (runs / "mnist" / "eval" / "broken.json").write_text('{"mean": ')
    (runs / "not-a-run").mkdir()
    (runs / "not-a-run" / "notes.txt").write_text("hello")
    return runs


def explorer_server(runs: Path) -> Iterator[PlaygroundServer]:
    """A playground server with the latent explorer on ``runs``, in a background thread."""
    srv = serve("127.0.0.1", 0, runs=runs)
    srv.start()
    yield srv
    srv.close()


def tree_digest(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: its SHA-256 and modification time (ns)."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def decode(data_url: str) -> np.ndarray:
    """A frame's PNG (a data: URL) as a uint8 (H, W, C) array."""
    prefix = "data:image/png;base64,"
    assert data_url.startswith(prefix)
    with Image.open(io.BytesIO(base64.b64decode(data_url[len(prefix) :]))) as img:
        array = np.asarray(img)
    return array[..., None] if array.ndim == 2 else array
