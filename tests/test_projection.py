"""gannet project (z and StyleGAN w+ projection) and latent-walk animations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.figures.walk import loop_path
from gannet.models.stylegan_layers import NoiseInput
from gannet.trained.projection import Settings, load_target, project, read_latent
from gannet.trained.projection.optimise import noise_regularizer
from gannet.trained.run import load_run
from gannet.trained.video import count_frames, video_available
from gannet.training import start_run
from gannet.training.hooks.checkpoints import Checkpoints
from gannet.training.hooks.status import StatusFile
from tests.conftest import TINY_STYLEGAN
from tests.conftest import tiny_labelled as labelled
from tests.door_support import assert_one_error_line, run_main


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: one thread is fastest (and fair on a loaded machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def mlp_config(*extra: str) -> Config:
    return Config().with_overrides(
        [
            "model.g_hidden=[64]",  # paper-mlp: sigmoid output, pixels in [0, 1]
            "model.g_init_range=1.0",  # so different z make visibly different images
            "model.discriminator='mlp-d'",
            "model.d_hidden=[16]",
            "model.z_dim=4",
            "model.noise='normal'",
            "optim.name='adam'",
            "train.batch_size=20",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.max_steps=2",
            *extra,
        ]
    )


def style_config() -> Config:
    return Config().with_overrides(
        [
            *TINY_STYLEGAN,
            "optim.name='adam'",
            "train.batch_size=16",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.max_steps=2",
        ]
    )


def images(channels: int, n: int = 40) -> Dataset:
    gen = torch.Generator().manual_seed(3)
    return Dataset("tiny", torch.rand(n, channels, 8, 8, generator=gen), source="memory")


def make_run(folder: Path, config: Config, data: Dataset) -> Path:
    start_run(config, folder, data, [Checkpoints(folder), StatusFile(folder)]).fit()
    return folder


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("proj") / "mlp", mlp_config(), images(1))


@pytest.fixture(scope="module")
def style_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("proj") / "style", style_config(), images(3))


def save_image(x: torch.Tensor, path: Path) -> Path:
    arr = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)).save(path)
    return path


def test_projection_recovers_an_image_g_made(mlp_run: Path) -> None:
    """Bound: the reconstruction of G's own image (z from the prior, another seed) has a
    mean squared pixel error below 1e-4 (PSNR > 40 dB), and the loss falls by 10x or more
    from the best of 64 starting draws."""
    run = load_run(mlp_run)
    target = run.sample(1, seed=99)[0]
    result = project(run, target, Settings(steps=200, seed=1))
    assert result.kind == "z" and result.latent.shape == (4,)
    assert result.mse < 1e-4, result.mse
    assert result.losses[-1] < result.losses[0] / 10
    with torch.no_grad():
        again = run.generator(result.latent[None]).reshape(target.shape)
    assert torch.allclose(again.clamp(0, 1), result.image, atol=1e-5)


def test_conditional_projection_picks_the_class_or_keeps_the_given_one(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path / "cond", mlp_config("model.conditional=true"), labelled()))
    target = run.sample(1, seed=99, labels=2)[0]
    found = project(run, target, Settings(steps=100, seed=1))
    assert found.label == 2 and found.mse < 1e-4
    forced = project(run, target, Settings(steps=100, seed=1), label=1)
    assert forced.label == 1 and forced.mse > 100 * found.mse


def test_stylegan_projection_in_w_plus_with_noise_regularisation(style_run: Path) -> None:
    run = load_run(style_run)
    g = run.generator
    before = [m.fixed.clone() for m in g.modules() if isinstance(m, NoiseInput)]
    target = run.sample(1, seed=5)[0]
    result = project(run, target, Settings(steps=120, seed=1))
    assert result.kind == "ws" and result.latent.shape == (g.num_ws, 8)
    assert len(result.noise) == len(before)
    assert result.mse < 2e-3, result.mse
    assert result.losses[-1] < result.losses[0] / 10
    for n in result.noise:  # renormalised after every step
        assert abs(float(n.mean())) < 1e-4 and abs(float(n.std()) - 1) < 1e-3
    after = [m.fixed for m in g.modules() if isinstance(m, NoiseInput)]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))  # put back


def test_noise_regulariser_penalises_correlated_noise() -> None:
    gen = torch.Generator().manual_seed(0)
    white = torch.randn(1, 1, 16, 16, generator=gen)
    smooth = torch.nn.functional.interpolate(white[..., ::4, ::4], scale_factor=4.0)
    assert float(noise_regularizer([smooth])) > 20 * float(noise_regularizer([white]))


def test_targets_wrong_mode_or_size_are_one_line_resize_is_a_centre_crop(tmp_path: Path) -> None:
    rgb = tmp_path / "rgb.png"
    Image.new("RGB", (8, 8), (10, 20, 30)).save(rgb)
    with pytest.raises(GannetError, match=r"mode 'RGB'.*convert"):
        load_target(rgb, (1, 8, 8))
    wide = tmp_path / "wide.png"
    arr = np.zeros((16, 32), np.uint8)
    arr[:, 8:24] = 200  # the centre square is bright, the sides dark
    Image.fromarray(arr).save(wide)
    with pytest.raises(GannetError, match=r"32x16 .* 8x8.*--resize"):
        load_target(wide, (1, 8, 8))
    x = load_target(wide, (1, 8, 8), resize=True)
    assert x.shape == (1, 8, 8) and float(x.min()) > 0.7
    with pytest.raises(GannetError, match="not found"):
        load_target(tmp_path / "missing.png", (1, 8, 8))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(GannetError, match="cannot read image"):
        load_target(tmp_path / "bad.png", (1, 8, 8))


def test_cli_project_writes_latent_pictures_and_walks(
    mlp_run: Path, tmp_path: Path, capsys
) -> None:
    run = load_run(mlp_run)
    a = save_image(run.sample(1, seed=7)[0], tmp_path / "a.png")
    b = save_image(run.sample(1, seed=8)[0], tmp_path / "b.png")
    out = tmp_path / "proj"
    argv = ["project", str(mlp_run), str(a), str(b), "--out", str(out), "--steps", "60"]
    code, stdout, err = run_main(argv, capsys)
    assert code == 0, err
    assert "a: reconstruction MSE" in stdout and "pixel loss only" in stdout
    for name in ("a", "b"):
        for suffix in (".npz", "-reconstruction.png", "-progress.png"):
            assert (out / f"{name}{suffix}").is_file()
    latent = read_latent(out / "a.npz")
    assert latent.kind == "z" and latent.value.shape == (4,) and latent.label is None
    with Image.open(out / "a-progress.png") as strip:  # target + 8 snapshots, 16 px each x2
        assert strip.width > 9 * 16
    # an existing output is never replaced
    before = (out / "a.npz").read_bytes()
    code, _, err = run_main(argv, capsys)
    assert_one_error_line(code, err, "exists")
    assert (out / "a.npz").read_bytes() == before
    # a walk through the projected latents: 2 keys x 5 frames
    gif = tmp_path / "walk.gif"
    walk = ["figure", "interpolate", str(mlp_run), "--animate", str(gif), "--steps", "5"]
    code, stdout, err = run_main(
        [*walk, "--through", str(out / "a.npz"), str(out / "b.npz")], capsys
    )
    assert code == 0, err
    assert count_frames(gif) == 10 and "10-frame" in stdout


def test_cli_refusals_are_one_line(mlp_run: Path, tmp_path: Path, capsys) -> None:
    rgb = tmp_path / "rgb.png"
    Image.new("RGB", (8, 8)).save(rgb)
    out = tmp_path / "o"
    code, _, err = run_main(["project", str(mlp_run), str(rgb), "--out", str(out)], capsys)
    assert_one_error_line(code, err, "mode 'RGB'")
    assert not out.exists()
    code, _, err = run_main(
        ["figure", "interpolate", str(mlp_run), "--animate", str(tmp_path / "w.avi")], capsys
    )
    assert_one_error_line(code, err, ".gif or .mp4")
    code, _, err = run_main(["figure", "interpolate", str(mlp_run)], capsys)
    assert_one_error_line(code, err, "--animate")


def test_seed_walk_gif_has_keys_times_steps_frames(style_run: Path, tmp_path: Path, capsys) -> None:
    gif = tmp_path / "walk.gif"
    argv = ["figure", "interpolate", str(style_run), "--animate", str(gif)]
    code, _, err = run_main([*argv, "--keys", "3", "--steps", "4"], capsys)
    assert code == 0, err
    assert count_frames(gif) == 12
    with Image.open(gif) as im:
        assert im.info.get("loop") == 0 and im.size == (128, 128)  # 8 px x 16


def test_loop_path_returns_to_its_start() -> None:
    keys = torch.randn(3, 5)
    path = loop_path(keys, 4, spherical=True)
    assert path.shape == (12, 5)
    assert torch.equal(path[0], keys[0]) and torch.equal(path[4], keys[1])
    assert torch.equal(path[8], keys[2])  # and the last leg heads back to keys[0]
    assert float((path[11] - keys[0]).norm()) < float((path[8] - keys[0]).norm())


@pytest.mark.skipif(not video_available(), reason="the video extra (imageio-ffmpeg) is absent")
def test_mp4_walk_opens_with_the_stated_frames(style_run: Path, tmp_path: Path, capsys) -> None:
    mp4 = tmp_path / "walk.mp4"
    argv = ["figure", "interpolate", str(style_run), "--animate", str(mp4)]
    code, stdout, err = run_main([*argv, "--keys", "2", "--steps", "6"], capsys)
    assert code == 0, err
    assert count_frames(mp4) == 12 and "12-frame" in stdout
