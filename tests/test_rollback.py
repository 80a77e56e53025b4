"""train.on_divergence = "rollback": back to the last checkpoint with the lr halved,
recorded in metrics.jsonl and run.json, bounded, deterministic and exactly resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gannet.config import Config
from gannet.doctor import doctor
from gannet.errors import GannetError
from gannet.training import Hook, Trainer, resume_run, run_hooks, start_run
from tests.conftest import mixture_config

LR = 0.001


def small(*extra: str) -> Config:
    """8 steps an epoch, 3 epochs, a checkpoint at every epoch end."""
    return mixture_config(
        f"optim.lr={LR}",
        "train.epochs=3",
        "train.log_every=3",
        "train.checkpoint_every=1000",
        "train.epoch_end_steps=1",  # every (8-step) epoch end is due
        "train.threads=1",
        "train.on_divergence='rollback'",
        *extra,
    )


def explode(trainer: Trainer, step: int = 10, above: float = 0.0) -> Trainer:
    """G's weights turn NaN at generator step ``step`` and after, while G's lr is above
    ``above`` (a stand-in for a learning rate too large for the run)."""
    original = trainer.g_step

    def g_step():
        cost = original()
        lr = trainer.opt_g.param_groups[0]["lr"]
        if trainer.progress.step + 1 >= step and lr > above:
            with torch.no_grad():
                for p in trainer.G.parameters():
                    p.fill_(float("nan"))
        return cost

    trainer.g_step = g_step
    return trainer


def weights(trainer: Trainer) -> list[torch.Tensor]:
    return [*trainer.G.state_dict().values(), *trainer.D.state_dict().values()]


def lines(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_rollback_restores_lowers_the_lr_records_and_is_exact(tmp_path: Path, capsys) -> None:
    a = explode(start_run(small("train.progress='lines'"), tmp_path / "a"), above=0.75 * LR)
    a.fit()  # diverges at step 10, goes back to the checkpoint of step 8, lr halved
    out = capsys.readouterr().out
    assert "rolled back to the checkpoint of step 8" in out and "rollback 1 of 3" in out
    events = [r for r in lines(tmp_path / "a") if r.get("event") == "rollback"]
    assert len(events) == 1 and events[0]["step"] == 8
    assert events[0]["remedy"] == f"optim.lr {LR:g} -> {LR / 2:g}"
    assert "non-finite" in events[0]["reason"] or "NaN" in events[0]["reason"]
    status = json.loads((tmp_path / "a" / "run.json").read_text())
    assert status["status"] == "finished" and status["step"] == 24
    assert [r["step"] for r in status["rollbacks"]] == [8]
    assert Config.load(tmp_path / "a" / "config.toml").optim.lr == LR / 2
    steps = [r["step"] for r in lines(tmp_path / "a") if "event" not in r]
    assert steps == sorted(steps) and steps[-1] == 24  # the lost interval was dropped
    report = doctor(tmp_path / "a", samples=False)
    assert report.finding("divergence").evidence["rollbacks"] == 1

    b = explode(start_run(small(), tmp_path / "b"), above=0.75 * LR)
    b.fit()  # the same config: the same rollback, the same weights
    cut = explode(start_run(small("train.max_steps=12"), tmp_path / "c"), above=0.75 * LR)
    cut.fit()  # killed after the rollback, then resumed
    resumed = explode(resume_run(tmp_path / "c", ["train.max_steps=0"]), above=0.75 * LR)
    resumed.fit()
    for other in (b, resumed):
        for x, y in zip(weights(a), weights(other), strict=True):
            assert torch.equal(x, y)
    assert [r for r in lines(tmp_path / "c") if "event" in r] == events


def test_rollbacks_are_bounded_then_the_run_stops(tmp_path: Path) -> None:
    trainer = explode(start_run(small("train.max_rollbacks=2"), tmp_path / "run"))
    with pytest.raises(GannetError, match=r"diverged .*2 rollback\(s\) did not cure it"):
        trainer.fit()
    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["status"] == "diverged" and len(status["rollbacks"]) == 2
    assert Config.load(tmp_path / "run" / "config.toml").optim.lr == LR / 4


def test_stop_is_the_default(tmp_path: Path) -> None:
    trainer = explode(start_run(small("train.on_divergence='stop'"), tmp_path / "run"))
    with pytest.raises(GannetError, match="diverged at step 12"):
        trainer.fit()
    assert not any("event" in r for r in lines(tmp_path / "run"))


class FakeDistance(Hook):
    """Logs a distance of 1 until step 10, then 10 while G's lr is still the first one (a
    late collapse of the metric that a lower lr cures)."""

    def on_measure(self, trainer: Trainer, record: dict) -> None:
        lr = trainer.opt_g.param_groups[0]["lr"]
        record["fid_fake"] = 10.0 if trainer.progress.step >= 10 and lr > 0.75 * LR else 1.0


def test_a_collapsed_metric_rolls_back_too(tmp_path: Path) -> None:
    hooks = run_hooks(tmp_path / "run")
    hooks.insert(1, FakeDistance())  # before the live doctor, as the Evaluation hook is
    start_run(small(), tmp_path / "run", hooks=hooks).fit()
    events = [r for r in lines(tmp_path / "run") if r.get("event") == "rollback"]
    assert len(events) == 1 and "metric collapsed" in events[0]["reason"]
    assert events[0]["step"] == 8
    records = [r for r in lines(tmp_path / "run") if "event" not in r]
    assert records[-1]["step"] == 24 and all(r["fid_fake"] == 1.0 for r in records)
