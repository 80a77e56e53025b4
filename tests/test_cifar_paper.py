"""The paper's CIFAR-10 figure (issue 16): the two bundled configs read a colour image folder
and build models of the right shape; ``gannet figure samples`` on a run trained on a folder of
colour images shows the samples and their nearest training neighbours in colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gannet.config import Config
from gannet.config.presets import find_config
from gannet.data import Dataset
from gannet.figures import neighbour_layout, png_scale
from gannet.trained.run import load_run
from gannet.training import Trainer
from tests.door_support import run_main

COLOURS = [(230, 30, 30), (30, 200, 40), (40, 60, 220)]
"""Three classes of nearly solid colour (red, green, blue), 4 images each."""


def colour_folder(root: Path, size: int = 8) -> torch.Tensor:
    """PNGs (lossless) in class sub-folders; returns them as the folder loader orders them
    (sorted by path): (12, 3, size, size) in [0, 1]."""
    gen = np.random.default_rng(0)
    images = []
    for name, colour in zip(("a-red", "b-green", "c-blue"), COLOURS, strict=True):
        (root / name).mkdir(parents=True)
        for i in range(4):
            noise = gen.integers(-20, 21, (size, size, 3))
            pixels = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
            images.append(torch.from_numpy(pixels).permute(2, 0, 1).float() / 255)
    return torch.stack(images)


@pytest.mark.parametrize("name", ["cifar10-paper-mlp", "cifar10-paper-conv"])
def test_configs_read_a_32px_colour_folder(name: str) -> None:
    config = Config.load(find_config(name))
    assert config.data.name == "folder" and config.data.image_size == 32
    assert config.data.data_dir == ""  # the user's folder comes with --data-dir
    if name == "cifar10-paper-mlp":  # the authors' sizes and learning rate
        assert config.model.g_hidden == [8000, 8000] and config.model.d_hidden == [1600, 1600]
        assert config.model.d_pieces == 5 and config.optim.lr == 0.025
        config = config.with_overrides(["model.g_hidden=[16, 16]", "model.d_hidden=[8, 8]"])
    else:
        assert config.model.generator == "dcgan-g" and config.model.discriminator == "dcgan-d"
    data = Dataset("cifar-like", torch.rand(config.train.batch_size, 3, 32, 32))
    trainer = Trainer(config.with_overrides(["train.progress='none'"]), data)
    z = trainer.noise(2)
    assert trainer.G(z).shape == (2, 3, 32, 32)
    trainer.D.eval()
    assert trainer.D(trainer.G(z)).shape == (2,)


def test_figure_samples_shows_colour_neighbours(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANNET_CACHE", str(tmp_path / "cache"))  # any decoded-image cache
    train = colour_folder(tmp_path / "images")
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
[data]
name = "folder"
data_dir = "{tmp_path / "images"}"
image_size = 8
validation_size = 0
[model]
generator = "mlp-g"
discriminator = "mlp-d"
z_dim = 4
g_hidden = [16]
d_hidden = [8]
[optim]
name = "adam"
[train]
batch_size = 4
max_steps = 2
progress = "none"
n_fixed_samples = 4
augment = "color,translation,cutout"
"""
    )
    run = tmp_path / "run"
    code, _, err = run_main(["train", str(config), "--out", str(run)], capsys)
    assert code == 0, err
    out = tmp_path / "fig.png"
    argv = ["figure", "samples", str(run), "--out", str(out), "--n", "3", "--cols", "3"]
    argv += ["--seed", "1"]
    code, _, err = run_main(argv, capsys)
    assert code == 0, err
    picture = np.asarray(Image.open(out).convert("RGB"))
    scale = png_scale(8)
    layout = neighbour_layout((3, 8, 8), 3, 3)
    assert picture.shape[:2] == (layout.shape[0] * scale, layout.shape[1] * scale)
    loaded = load_run(run)
    samples = loaded.sample(3 * 2, seed=1).clamp(0, 1).view(3, 2, 3, 8, 8)[:, -1]
    distances = torch.cdist(samples.flatten(1).double(), train.flatten(1).double())
    nearest = (train[distances.argmin(1)] * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    for r in range(3):
        y, x = layout.cell(r, 2)
        cell = picture[y * scale : (y + 8) * scale : scale, x * scale : (x + 8) * scale : scale]
        assert np.array_equal(cell, nearest[r].numpy())  # the training image, in colour
        assert np.ptp(cell.astype(int), axis=2).mean() > 100  # not a gray picture
