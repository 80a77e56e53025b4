"""Epoch-end work (checkpoint, sample grid, curves.png) bounded by steps and seconds as well
as epochs (gannet.training.hooks.schedule): a one-step epoch does not pay it every step, and
exact resume is unchanged."""

from __future__ import annotations

import torch

from gannet.training import Hook, resume_run, run_hooks, start_run
from gannet.training.hooks import Checkpoints
from tests.conftest import mixture_config


def one_step_epochs(*extra: str):
    """50 points, batch 50: every epoch is one step."""
    return mixture_config(
        "data.n_samples=50",
        "train.epochs=20",
        "train.log_every=5",
        "train.mode_check=false",
        "train.epoch_end_steps=10",
        "train.checkpoint_every=1000",
        *extra,
    )


class CountCheckpoints(Hook):
    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_checkpoint(self, trainer) -> None:
        self.steps.append(trainer.progress.step)


def test_one_step_epochs_do_the_work_every_epoch_end_steps(tmp_path) -> None:
    counter = CountCheckpoints()
    run = tmp_path / "run"
    trainer = start_run(one_step_epochs(), run, hooks=[*run_hooks(run), counter])
    assert trainer.iterations_per_epoch == 1
    trainer.fit()
    assert counter.steps == [10, 20]  # not 20 checkpoints
    grids = sorted(p.name for p in (run / "samples").iterdir())
    assert grids == ["epoch-0010.png", "epoch-0020.png"]
    assert (run / "curves.png").is_file()


def test_long_epochs_keep_their_per_epoch_work(tmp_path) -> None:
    counter = CountCheckpoints()
    run = tmp_path / "run"
    # 400 points, batch 50: 8 steps an epoch, epoch_end_steps 8: every epoch end is due.
    cfg = mixture_config("train.epochs=3", "train.epoch_end_steps=8", "train.mode_check=false")
    start_run(cfg, run, hooks=[*run_hooks(run), counter]).fit()
    assert counter.steps == [8, 16, 24]


def test_a_run_stopped_between_due_epoch_ends_resumes_exactly(tmp_path) -> None:
    reference = start_run(one_step_epochs(), tmp_path / "a", hooks=[])  # no files needed
    reference.fit()
    run = tmp_path / "b"
    start_run(one_step_epochs("train.max_steps=15"), run, hooks=[Checkpoints(run)]).fit()
    resumed = resume_run(tmp_path / "b", ["train.max_steps=0"])
    assert resumed.progress.step == 15
    resumed.fit()
    for a, b in zip(reference.G.parameters(), resumed.G.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(reference.D.parameters(), resumed.D.parameters(), strict=True):
        assert torch.equal(a, b)
