"""data.resize: how the folder dataset makes a non-square photo square (crop, pad, stretch),
the decoded-image cache keyed by the rule, and the rule in the run's data report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gannet.data.folder as folder_mod
from gannet.cli import main
from gannet.config import Config, DataConfig
from gannet.data import load_dataset
from gannet.data.decode import decode_image
from gannet.data.imagecache import CACHE_NAME
from gannet.errors import GannetError

RED, BLUE = (255, 0, 0), (0, 0, 255)


@pytest.fixture(autouse=True)
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GANNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(folder_mod, "CACHE_FROM", 1)
    return tmp_path / "cache" / CACHE_NAME


def wide_photo(path: Path, fmt: str = "PNG") -> Path:
    """A 16 x 8 image: its left and right quarters blue, its centre 8 x 8 red."""
    img = Image.new("RGB", (16, 8), BLUE)
    img.paste(Image.new("RGB", (8, 8), RED), (4, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt)
    return path


def test_the_three_rules_on_a_wide_image(tmp_path: Path) -> None:
    path = wide_photo(tmp_path / "wide.png")
    crop, _ = decode_image(path, 8, "crop")  # the centred 8 x 8 square: all red
    assert crop.shape == (8, 8, 3) and (crop == RED).all()
    pad, _ = decode_image(path, 8, "pad")  # 16 x 8 -> 8 x 4, centred on black
    assert pad.shape == (8, 8, 3)
    assert (pad[:2] == 0).all() and (pad[6:] == 0).all()  # letterbox rows above and below
    assert (pad[2:6, 3:5] == RED).all() and (pad[2:6, 0] == BLUE).all()
    stretch, _ = decode_image(path, 8, "stretch")  # 16 x 8 squeezed to 8 x 8: every row alike
    assert stretch.shape == (8, 8, 3) and (stretch == stretch[:1]).all()
    assert (stretch[:, 0] == BLUE).all() and (stretch[:, 3:5] == RED).all()
    # a tall image pads at the sides, and gray stays one channel
    tall = Image.new("L", (4, 12), 200)
    tall.save(tmp_path / "tall.png")
    a, gray = decode_image(tmp_path / "tall.png", 6, "pad")
    assert gray and a.shape == (6, 6, 1)
    assert (a[:, :2] == 0).all() and (a[:, 2:4] == 200).all() and (a[:, 4:] == 0).all()
    # a square image is the same under every rule
    Image.new("RGB", (8, 8), RED).save(tmp_path / "sq.png")
    same = [decode_image(tmp_path / "sq.png", 4, r)[0] for r in ("crop", "pad", "stretch")]
    assert all(np.array_equal(same[0], s) for s in same[1:])
    with pytest.raises(ValueError, match="resize rule"):
        decode_image(path, 8, "zoom")  # type: ignore[arg-type]


def test_big_jpeg_draft_keeps_the_whole_width_for_pad(tmp_path: Path) -> None:
    """pad resizes the longer side: the reduced-scale JPEG decode must keep it >= 2 * size."""
    img = Image.new("RGB", (800, 200), BLUE)
    img.paste(Image.new("RGB", (200, 200), RED), (300, 0))
    img.save(tmp_path / "big.jpg", quality=95)
    pad, _ = decode_image(tmp_path / "big.jpg", 16, "pad")  # 800 x 200 -> 16 x 4
    assert (pad[:6] == 0).all() and (pad[10:] == 0).all()
    assert pad[6:10, 7:9, 0].min() > 200 and pad[6:10, 0, 2].min() > 200


def test_folder_rule_is_cached_separately_and_refused_when_unknown(
    tmp_path: Path, cache: Path
) -> None:
    root = tmp_path / "imgs"
    for i in range(3):
        wide_photo(root / f"{i}.png")
    cfg = DataConfig(name="folder", data_dir=str(root), image_size=8, validation_size=0)
    crop = load_dataset(cfg)
    pad = load_dataset(dataclasses.replace(cfg, resize="pad"))
    assert len(list(cache.glob("*.npz"))) == 2  # one cache entry per rule
    assert (crop.train[:, 0] == 255).all() and (pad.train[:, :, :2] == 0).all()
    again = load_dataset(dataclasses.replace(cfg, resize="pad"))  # from the cache
    assert (again.train == pad.train).all()
    with pytest.raises(GannetError, match=r"data\.resize"):
        Config().with_overrides(["data.resize='zoom'"])


def test_the_rule_is_in_the_run_data_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "imgs"
    for i in range(12):
        wide_photo(root / f"{i:02d}.png")
    out = tmp_path / "run"
    config = Config().with_overrides(
        [
            "data.name='folder'",
            f"data.data_dir='{root}'",
            "data.image_size=4",
            "data.resize='stretch'",
            "data.validation_size=0",
            "model.g_hidden=[8]",
            "model.d_hidden=[8]",
            "train.batch_size=4",
            "train.max_steps=1",
            "train.progress='none'",
            "train.n_fixed_samples=4",
        ]
    )
    from gannet.training import start_run
    from gannet.training.hooks import StatusFile

    start_run(config, out, hooks=[StatusFile(out)]).fit()
    assert 'resize = "stretch"' in (out / "config.toml").read_text()
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert "stretch to 4x4" in capsys.readouterr().out
