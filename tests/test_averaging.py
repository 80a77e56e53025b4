"""``gannet average``: G's weights averaged uniformly over a run's snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import gannet
from gannet.cli import main
from gannet.config import Config
from gannet.data import Dataset
from gannet.trained.averaging import average_snapshots, snapshot_epochs
from gannet.trained.run import load_run
from gannet.training import read_checkpoint, start_run


def small(*extra: str) -> Config:
    return Config().with_overrides(
        [
            "model.g_hidden=[16]",
            "model.d_hidden=[8]",
            "model.z_dim=4",
            "train.batch_size=50",
            "train.epochs=4",
            "train.ema=0.9",
            "train.snapshot_every=1",
            "train.progress='none'",
            *extra,
        ]
    )


@pytest.fixture
def run_dir(tiny_images: Dataset, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    start_run(small(), out, tiny_images).fit()
    return out


def test_average_is_the_mean_of_the_window_raw_and_ema(run_dir: Path) -> None:
    snaps = snapshot_epochs(run_dir)
    assert list(snaps) == [1, 2, 3, 4]
    states = [read_checkpoint(snaps[e]).to_dict() for e in (2, 3, 4)]
    avg = average_snapshots(run_dir, 2, 4).to_dict()
    assert avg["averaged"] == {"first": 2, "last": 4, "snapshots": 3}
    for key in ("generator", "generator_ema"):
        for name, value in avg[key].items():
            expected = sum(s[key][name].double() for s in states) / 3
            assert value.dtype == states[0][key][name].dtype
            torch.testing.assert_close(value.double(), expected, rtol=0, atol=1e-6)
    # The window changes the weights: not just the last snapshot.
    first = next(iter(avg["generator"]))
    assert not torch.equal(avg["generator"][first], states[-1]["generator"][first])
    # D and the counters come from the last snapshot of the window.
    for name, value in avg["discriminator"].items():
        assert torch.equal(value, states[-1]["discriminator"][name])
    assert avg["epochs_completed"] == 4
    # A one-snapshot window is that snapshot's G.
    one = average_snapshots(run_dir, 3, 3).to_dict()
    for name, value in one["generator_ema"].items():
        assert torch.equal(value, states[1]["generator_ema"][name])


def test_python_api_mirrors_the_command(run_dir: Path) -> None:
    path = gannet.average(run_dir, 3, out=run_dir / "avg.pt")
    assert path == run_dir / "avg.pt"
    assert read_checkpoint(path).averaged == {"first": 3, "last": 4, "snapshots": 2}


def test_cli_writes_a_checkpoint_the_other_commands_load(run_dir: Path, capsys) -> None:
    assert main(["average", str(run_dir), "--from", "2"]) == 0
    path = run_dir / "snapshots" / "average-0002-0004.pt"
    assert "averaged 3 snapshots (epochs 2..4)" in capsys.readouterr().out
    expected = average_snapshots(run_dir, 2).to_dict()
    run = load_run(run_dir, checkpoint=path)
    assert run.uses_ema and run.epoch == 4
    for name, value in run.generator.state_dict().items():
        assert torch.equal(value, expected["generator_ema"][name])
    raw = load_run(run_dir, checkpoint=path, ema=False)
    for name, value in raw.generator.state_dict().items():
        assert torch.equal(value, expected["generator"][name])
    out = run_dir / "x.npz"
    assert (
        main(["sample", str(run_dir), "--checkpoint", str(path), "--n", "5", "--out", str(out)])
        == 0
    )
    assert out.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "7"], "no snapshots from epoch 7 (it has epochs 1..4)"),
        (["--from", "3", "--to", "2"], "the first epoch (3) is after the last (2)"),
    ],
)
def test_bad_window_is_one_line(run_dir: Path, capsys, args: list[str], message: str) -> None:
    assert main(["average", str(run_dir), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not any(p.name.startswith("average") for p in (run_dir / "snapshots").iterdir())


@pytest.mark.parametrize("target", ["checkpoint.pt", "snapshots/epoch-0004.pt"])
def test_refuses_to_overwrite_the_runs_own_checkpoints(run_dir: Path, capsys, target: str):
    path = run_dir / target
    before = path.read_bytes()
    assert main(["average", str(run_dir), "--from", "2", "--out", str(path)]) == 2
    err = capsys.readouterr().err
    assert "one of the run's own files" in err and len(err.strip().splitlines()) == 1
    assert path.read_bytes() == before


def test_run_without_snapshots_says_how_to_keep_them(
    tiny_images: Dataset, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "plain"
    start_run(small("train.snapshot_every=0", "train.epochs=1"), out, tiny_images).fit()
    assert main(["average", str(out), "--from", "1"]) == 2
    err = capsys.readouterr().err
    assert "(it has none)" in err and "train.snapshot_every=1" in err
