"""Nothing lost, nothing corrupt: a diverged run keeps only finite weights, a resume never
silently retrains a run that had trained, failed writes are one line and leave the run as it
was, stale temporary files go, and a metrics interval that spans a kill is recomputed."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from gannet.cli import main
from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.files.atomic import remove_stale_temporaries
from gannet.training import Hook, read_checkpoint, resume_run, run_hooks, start_run
from tests.conftest import mixture_config


def small(*extra: str) -> Config:
    return mixture_config(
        "optim.lr=0.001",
        "train.epochs=3",
        "train.log_every=3",
        "train.checkpoint_every=5",
        "train.threads=1",
        "train.epoch_end_steps=1",  # every (8-step) epoch end writes, as these tests assume
        *extra,
    )


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by its SHA-256."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def all_finite(state: dict[str, torch.Tensor]) -> bool:
    return all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())


# ---------------------------------------------------------------------------- divergence


def explode_after(trainer, step: int) -> None:
    """Make G's weights NaN once ``step`` generator steps are done (losses stay finite
    until the next logging interval)."""
    original = trainer.g_step

    def g_step():
        cost = original()
        if trainer.progress.step + 1 >= step:
            with torch.no_grad():
                for p in trainer.G.parameters():
                    p.fill_(float("nan"))
        return cost

    trainer.g_step = g_step


def test_a_diverged_run_keeps_only_finite_weights(tmp_path: Path) -> None:
    """Weights go NaN at step 10 (an epoch is 8 steps, checkpoints every 5): the checkpoint
    at step 8 is kept, nothing after it is written, and the message names step 8."""
    trainer = start_run(small("train.log_every=100"), tmp_path / "run")
    explode_after(trainer, 10)
    with pytest.raises(GannetError, match=r"diverged at step 10 .*step 8\) is kept") as err:
        trainer.fit()
    assert "non-finite weights" in str(err.value)
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert ckpt.step == 8 and all_finite(ckpt.generator) and all_finite(ckpt.discriminator)
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == ["epoch-0001.png"]
    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["status"] == "diverged"


def test_divergence_before_any_checkpoint_claims_none(tmp_path: Path) -> None:
    trainer = start_run(small("train.log_every=1"), tmp_path / "run")
    explode_after(trainer, 2)  # the loss of step 2 is NaN: caught at its logging interval
    with pytest.raises(GannetError, match="no checkpoint was written"):
        trainer.fit()
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
    assert not list((tmp_path / "run" / "samples").iterdir())


def test_sample_and_eval_refuse_non_finite_weights(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    start_run(small("train.max_steps=4"), run).fit()
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    for v in ckpt["generator"].values():
        v.fill_(float("inf"))
    torch.save(ckpt, run / "checkpoint.pt")
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.npz")]) == 2
    err = capsys.readouterr().err
    assert "non-finite" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.npz").exists()
    assert main(["eval", "modes", str(run)]) == 2
    assert "non-finite" in capsys.readouterr().err


# ---------------------------------------------------------------------------- resume


def test_resume_without_the_checkpoint_of_a_trained_run_touches_nothing(
    tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    start_run(small("train.max_steps=12"), run).fit()
    (run / "checkpoint.pt").unlink()
    before = digest(run)
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "had trained to step 12" in err and len(err.strip().splitlines()) == 1
    assert digest(run) == before


def test_a_checkpoint_that_is_a_folder_is_one_line_and_keeps_the_metrics(
    tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    start_run(small("train.max_steps=12"), run).fit()
    (run / "checkpoint.pt").unlink()
    (run / "checkpoint.pt").mkdir()
    before = digest(run)
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "is not a file" in err and len(err.strip().splitlines()) == 1
    assert digest(run) == before


def test_a_run_killed_before_its_first_checkpoint_restarts_from_zero(tmp_path: Path) -> None:
    """Only metrics of steps before the first checkpoint (step 5): resuming starts over and
    ends as an uninterrupted run."""
    reference = start_run(small("train.max_steps=12"), tmp_path / "ref")
    reference.fit()
    run = tmp_path / "run"
    start_run(small("train.max_steps=12"), run)  # created; "killed" before training
    (run / "metrics.jsonl").write_text(json.dumps({"step": 3, "d_loss": 1.0}) + "\n")
    trainer = resume_run(run)
    assert trainer.progress.step == 0
    trainer.fit()
    for a, b in zip(
        reference.G.state_dict().values(), trainer.G.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


def test_stale_temporaries_are_removed_on_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    start_run(small("train.max_steps=5"), run).fit()
    stale = [run / ".checkpoint.pt.abc123xy.tmp", run / "snapshots" / ".epoch-0001.pt.q1w2e3r4.tmp"]
    for p in stale:
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"half a checkpoint")
    keep = run / ".hidden-note.txt"
    keep.write_text("not ours")
    resume_run(run, ["train.max_steps=7"]).fit()
    assert not any(p.exists() for p in stale) and keep.exists()
    assert remove_stale_temporaries(run) == []


def test_the_interval_spanning_a_kill_is_recomputed_exactly(tmp_path: Path) -> None:
    """Checkpoint at step 5 (mid-interval: log_every 3), killed at step 7: the resume writes
    the same metrics lines as the uninterrupted run (timing fields aside)."""
    reference = tmp_path / "ref"
    start_run(small("train.max_steps=12"), reference).fit()

    class Killed(BaseException):
        pass

    class KillAt7(Hook):
        def on_step_end(self, trainer, result) -> None:
            if trainer.progress.step == 7:
                raise Killed

    run = tmp_path / "run"
    with pytest.raises(Killed):
        start_run(small("train.max_steps=12"), run, hooks=[*run_hooks(run), KillAt7()]).fit()
    resume_run(run).fit()

    def lines(folder: Path) -> list[dict]:
        records = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]
        for r in records:
            del r["images_per_s"], r["wall_time"]
        return records

    assert [r["step"] for r in lines(run)] == [3, 6, 9, 12]
    assert lines(run) == lines(reference)


# ---------------------------------------------------------------------------- write failures


def test_an_output_that_is_a_file_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "taken").write_text("x")
    config = tmp_path / "c.toml"
    small().save(config)
    assert main(["train", str(config), "--out", str(tmp_path / "taken")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "x"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_an_unwritable_output_is_one_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "c.toml"
    small().save(config)
    assert main(["train", str(config), "--out", "/proc/gannet-run"]) == 2
    err = capsys.readouterr().err
    assert "cannot write '/proc/gannet-run'" in err and len(err.strip().splitlines()) == 1


def test_a_full_disk_mid_run_keeps_the_checkpoint_and_says_failed(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """The checkpoint write at step 10 fails (disk full): one line, exit 2, the step-8
    checkpoint intact, run.json not left saying "running"."""
    config = tmp_path / "c.toml"
    small("train.checkpoint_every=100").save(config)
    run = tmp_path / "run"
    import gannet.files.atomic

    real_replace = os.replace
    calls = {"n": 0}

    def replace(src, dst):
        if str(dst).endswith("checkpoint.pt"):
            calls["n"] += 1
            if calls["n"] == 2:  # the second checkpoint (end of epoch 2, step 16)
                raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(gannet.files.atomic.os, "replace", replace)
    assert main(["train", str(config), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "checkpoint.pt" in err
    assert len(err.strip().splitlines()) == 1
    assert read_checkpoint(run / "checkpoint.pt").step == 8
    assert json.loads((run / "run.json").read_text())["status"] == "failed"
    assert not list(run.glob(".*.tmp"))


@pytest.mark.parametrize("command", ["sample", "average"])
def test_other_commands_report_a_failed_write_in_one_line(
    tmp_path: Path, capsys, command: str
) -> None:
    run = tmp_path / "run"
    start_run(small("train.snapshot_every=1"), run).fit()
    (tmp_path / "dir.npz").mkdir()
    args = {
        "sample": ["sample", str(run), "--n", "4", "--out", str(tmp_path / "dir.npz")],
        "average": ["average", str(run), "--from", "1", "--out", str(tmp_path / "dir.npz")],
    }[command]
    before = digest(run)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "dir.npz" in err and len(err.strip().splitlines()) == 1
    assert digest(run) == before


def test_dataset_in_memory_runs_are_unaffected(tmp_path: Path) -> None:
    """A run on a Dataset passed in memory still trains and resumes (the integrity checks
    read only the run folder)."""
    data = Dataset("mixture-2d", torch.randn(400, 2), source="memory")
    start_run(small("train.max_steps=5"), tmp_path / "run", data).fit()
    trainer = resume_run(tmp_path / "run", ["train.max_steps=9"], data)
    trainer.fit()
    assert trainer.progress.step == 9
