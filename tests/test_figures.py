"""The paper's figures: the maths under them (exact nearest neighbours, interpolation paths),
the pictures' layout and content on tiny real runs, and the ``gannet figure`` commands."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gannet
from gannet.cli import main
from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.figures import (
    NEIGHBOUR_COLOUR,
    PAD,
    interpolate,
    interpolation_grid,
    nearest_neighbours,
    neighbour_layout,
    samples_with_neighbours,
)
from gannet.trained.run import Run

TINY = [
    "model.g_hidden=[16]",
    "model.d_hidden=[8]",
    "model.d_pieces=2",
    "train.epochs=1",
    "train.progress='none'",
]


def _train(tmp: Path, data: Dataset, extra: list[str] | None = None) -> Run:
    config = Config().with_overrides(TINY + (extra or []))
    return gannet.train(config, out=tmp / "run", dataset=data)


@pytest.fixture(scope="module")
def gray_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, torch.Tensor]:
    """The paper's models, one epoch on 400 random 1x8x8 images."""
    x = torch.rand(400, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    return _train(tmp_path_factory.mktemp("gray"), Dataset("tiny", x)), x


def _uint8(images: torch.Tensor) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] as image_grid writes them: (N, H, W, C) uint8."""
    return (images.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)


def _brute_force(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    d = ((a.reshape(len(a), 1, -1).double() - b.reshape(1, len(b), -1).double()) ** 2).sum(-1)
    dist, index = d.min(1)
    return index, dist.sqrt()


# --------------------------------------------------------------------------- nearest neighbours


@pytest.mark.parametrize(("n", "batch"), [(23, 3), (23, 7), (23, 4096), (300, 64)])
def test_nearest_neighbours_match_brute_force(n: int, batch: int) -> None:
    gen = torch.Generator().manual_seed(1)
    train = torch.rand(300, 1, 5, 5, generator=gen)
    samples = torch.rand(n, 1, 5, 5, generator=gen)  # 300 > SAMPLE_BLOCK: blocks both ways
    samples[3] = train[211]  # an exact copy is found, at distance 0
    index, dist = nearest_neighbours(samples, train, batch=batch)
    want_index, want_dist = _brute_force(samples, train)
    assert torch.equal(index, want_index)
    torch.testing.assert_close(dist, want_dist, rtol=0, atol=1e-9)
    assert index[3] == 211 and dist[3] == 0


def test_nearest_neighbours_take_numpy_and_check_shapes() -> None:
    train = np.eye(4, dtype=np.float32)
    index, dist = nearest_neighbours(np.array([[0.1, 0.9, 0, 0]], np.float32), train)
    assert index.tolist() == [1] and math.isclose(float(dist[0]), math.sqrt(0.02), rel_tol=1e-6)
    with pytest.raises(GannetError, match="not from the same space"):
        nearest_neighbours(torch.zeros(2, 3), torch.zeros(5, 4))
    with pytest.raises(GannetError, match="empty"):
        nearest_neighbours(torch.zeros(2, 3), torch.zeros(0, 3))


# --------------------------------------------------------------------------- interpolation


def test_linear_interpolation() -> None:
    gen = torch.Generator().manual_seed(2)
    z0, z1 = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    path = interpolate(z0, z1, 5)
    assert path.shape == (4, 5, 6)
    assert torch.equal(path[:, 0], z0) and torch.equal(path[:, -1], z1)
    torch.testing.assert_close(path[:, 2], (z0 + z1) / 2)
    # Evenly spaced: equal steps along the segment.
    steps = torch.linalg.vector_norm(path.diff(dim=1), dim=-1)
    torch.testing.assert_close(steps, steps[:, :1].expand_as(steps))
    assert interpolate(z0[0], z1[0], 3).shape == (3, 6)
    with pytest.raises(GannetError, match="at least 2"):
        interpolate(z0, z1, 1)


def test_slerp_keeps_the_norm_and_the_endpoints() -> None:
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(2, 3, 50, generator=gen)
    z0 = z[0] / torch.linalg.vector_norm(z[0], dim=-1, keepdim=True) * 7.0
    z1 = z[1] / torch.linalg.vector_norm(z[1], dim=-1, keepdim=True) * 7.0
    path = interpolate(z0, z1, 9, spherical=True)
    assert torch.equal(path[:, 0], z0) and torch.equal(path[:, -1], z1)
    norms = torch.linalg.vector_norm(path, dim=-1)
    torch.testing.assert_close(norms, torch.full_like(norms, 7.0))
    # Equal angles between consecutive points: constant speed along the great circle.
    unit = path / norms.unsqueeze(-1)
    cos = (unit[:, 1:] * unit[:, :-1]).sum(-1)
    torch.testing.assert_close(cos, cos[:, :1].expand_as(cos))
    # The linear midpoint cuts inside the sphere; slerp's does not.
    assert (torch.linalg.vector_norm(interpolate(z0, z1, 9)[:, 4], dim=-1) < 6.9).all()
    # Parallel vectors have no plane to turn in: the path falls back to the segment.
    same = interpolate(z0[0], 2 * z0[0], 3, spherical=True)
    torch.testing.assert_close(same[1], 1.5 * z0[0])


# --------------------------------------------------------------------------- Figure 2


def _check_neighbour_picture(
    picture: np.ndarray, run: Run, train: torch.Tensor, rows: int, cols: int, seed: int
) -> None:
    c, h, w = train.shape[1:]
    layout = neighbour_layout(run, rows, cols)
    assert picture.shape == (*layout.shape, 3) and picture.dtype == np.uint8
    samples = run.sample(rows * (cols - 1), seed=seed).clamp(0, 1)
    last = samples.view(rows, cols - 1, c, h, w)[:, -1]
    index, _ = _brute_force(last, train)
    shown, nearest = _uint8(samples), _uint8(train[index])
    for r in range(rows):
        for col in range(cols - 1):
            y, x = layout.cell(r, col)
            want = shown[r * (cols - 1) + col]
            assert np.array_equal(picture[y : y + h, x : x + w], np.broadcast_to(want, (h, w, 3)))
        y, x = layout.cell(r, cols - 1)
        cell = picture[y : y + h, x : x + w]
        assert np.array_equal(cell, np.broadcast_to(nearest[r], (h, w, 3)))
        # The outline: the pixels just around the neighbour are the highlight colour.
        assert (picture[y - 1, x : x + w] == NEIGHBOUR_COLOUR).all()
        assert (picture[y : y + h, x - 1] == NEIGHBOUR_COLOUR).all()
        assert (picture[y : y + h, x + w] == NEIGHBOUR_COLOUR).all()
        # ... and nowhere among the samples.
        assert not (picture[:, : layout.cell(0, cols - 2)[1] + w] == NEIGHBOUR_COLOUR).all(-1).any()


def test_samples_with_neighbours_grayscale(gray_run: tuple[Run, torch.Tensor]) -> None:
    run, train = gray_run
    picture = samples_with_neighbours(run, rows=3, cols=4, seed=5, train=train, batch=50)
    _check_neighbour_picture(picture, run, train, rows=3, cols=4, seed=5)


def test_samples_with_neighbours_rgb(tmp_path: Path) -> None:
    x = torch.rand(300, 3, 8, 6, generator=torch.Generator().manual_seed(4))
    run = _train(tmp_path, Dataset("tiny-rgb", x), ["model.generator='mlp-g'"])
    picture = samples_with_neighbours(run, rows=2, cols=3, seed=0, train=x)
    _check_neighbour_picture(picture, run, x, rows=2, cols=3, seed=0)
    grid = interpolation_grid(run, rows=2, steps=3, seed=0)
    assert grid.shape == (2 * (8 + PAD) + PAD, 3 * (6 + PAD) + PAD, 3)


def test_in_memory_run_needs_train(gray_run: tuple[Run, torch.Tensor], mnist_path: Path) -> None:
    run, _ = gray_run
    # Its config still names mnist: reloading that is refused, not silently searched.
    with pytest.raises(GannetError, match="in-memory"):
        samples_with_neighbours(run, rows=1, cols=2, data_dir=str(mnist_path))


def test_bad_figure_arguments(gray_run: tuple[Run, torch.Tensor]) -> None:
    run, train = gray_run
    with pytest.raises(GannetError, match="shape"):
        samples_with_neighbours(run, rows=1, cols=2, train=train[:, :, :4])
    with pytest.raises(GannetError, match="2 columns"):
        samples_with_neighbours(run, rows=1, cols=1, train=train)


# --------------------------------------------------------------------------- Figure 3


def test_interpolation_grid(gray_run: tuple[Run, torch.Tensor]) -> None:
    run, _ = gray_run
    rows, steps = 3, 4
    grid = interpolation_grid(run, rows=rows, steps=steps, seed=9)
    assert grid.shape == (rows * (8 + PAD) + PAD, steps * (8 + PAD) + PAD, 1)
    # Each row starts at G(z0), where z0 is the run's prior drawn with the seed, as in
    # Run.sample; rows differ, columns change gradually.
    start = _uint8(run.sample(rows, seed=9))
    for r in range(rows):
        y = PAD + r * (8 + PAD)
        assert np.array_equal(grid[y : y + 8, PAD : PAD + 8], start[r])
    slerp = interpolation_grid(run, rows=rows, steps=steps, seed=9, spherical=True)
    assert slerp.shape == grid.shape
    assert np.array_equal(slerp[:, : PAD + 8], grid[:, : PAD + 8])  # same endpoints


def test_vector_runs_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(5))
    run = _train(
        tmp_path, Dataset("points", x), ["model.generator='mlp-g'", "model.discriminator='mlp-d'"]
    )
    with pytest.raises(GannetError, match="not images"):
        samples_with_neighbours(run, train=x)
    with pytest.raises(GannetError, match="not images"):
        interpolation_grid(run)
    for figure in ("samples", "interpolate"):
        out = tmp_path / f"{figure}.png"
        assert main(["figure", figure, str(run.path), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("gannet: error: ") and "not images" in err[0]
        assert not out.exists()


# --------------------------------------------------------------------------- the commands


def test_figure_help() -> None:
    for args in (
        ["figure", "--help"],
        ["figure", "samples", "--help"],
        ["figure", "interpolate", "--help"],
        ["figure", "toy1d", "--help"],
    ):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 0


def test_not_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for figure in ("samples", "interpolate"):
        assert main(["figure", figure, str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is not a gannet run directory" in err[0]
    assert main(["figure", "toy1d", "--out", str(tmp_path / "x.jpg")]) == 2
    assert "must end in .png" in capsys.readouterr().err


def test_commands_on_an_mnist_run(
    mnist_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gannet.data import load_dataset

    config = Config().with_overrides(
        [
            f"data.data_dir={json.dumps(str(mnist_path))}",
            "data.subset=500",
            "model.g_hidden=[32]",
            "model.d_hidden=[16]",
            "model.d_pieces=2",
            "train.max_steps=5",
            "train.progress='none'",
        ]
    )
    run = gannet.train(config, out=tmp_path / "run")
    out = tmp_path / "fig2.png"
    argv = ["figure", "samples", str(run.path), "--out", str(out), "--n", "2", "--cols", "3"]
    assert main([*argv, "--seed", "1", "--data-dir", str(mnist_path)]) == 0
    assert "nearest neighbours" in capsys.readouterr().out
    layout = neighbour_layout(run, 2, 3)
    with Image.open(out) as img:
        assert img.size == (2 * layout.shape[1], 2 * layout.shape[0])  # 28 px: shown 2x
        picture = np.asarray(img.convert("RGB"))[::2, ::2]
    train = load_dataset(config.data).train
    assert len(train) == 500  # the rows the run was trained on
    _check_neighbour_picture(picture, run, train, rows=2, cols=3, seed=1)

    out3 = tmp_path / "fig3.png"
    argv = ["figure", "interpolate", str(run.path), "--out", str(out3), "--rows", "2"]
    assert main([*argv, "--steps", "5", "--slerp"]) == 0
    assert "slerp is meant for a Gaussian prior" in capsys.readouterr().out
    with Image.open(out3) as img:
        assert img.size == (2 * (5 * 30 + PAD), 2 * (2 * 30 + PAD))


def test_toy1d(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png, gif, run_dir = tmp_path / "toy.png", tmp_path / "toy.gif", tmp_path / "run"
    argv = ["figure", "toy1d", "--out", str(png), "--steps", "20", "--seed", "1"]
    assert main([*argv, "--animate", str(gif), "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "final JSD" in out and "frames" in out
    assert 10_000 < png.stat().st_size < 200_000
    with Image.open(png) as img:
        assert img.width > 2 * img.height  # four panels side by side
    with Image.open(gif) as anim:
        assert anim.n_frames > 10
    # The run is a real gannet run folder.
    run = gannet.load_run(run_dir)
    assert run.config.data.name == "gaussian-1d" and run.step >= 20
    assert run.sample(5).shape == (5, 1)
    # Animation formats are checked before training.
    assert main([*argv, "--animate", str(tmp_path / "toy.avi")]) == 2
    assert "must name a .gif or .mp4" in capsys.readouterr().err


def test_toy1d_mp4_needs_ffmpeg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from matplotlib import animation

    if animation.writers.is_available("ffmpeg"):
        pytest.skip("ffmpeg is installed")
    argv = ["figure", "toy1d", "--out", str(tmp_path / "t.png"), "--animate", "t.mp4"]
    assert main(argv) == 2
    assert "needs ffmpeg" in capsys.readouterr().err
    assert not (tmp_path / "t.png").exists()
