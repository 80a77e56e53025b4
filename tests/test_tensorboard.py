"""train.tensorboard: the run's scalars and sample grids as TensorBoard events, read back."""

from __future__ import annotations

import builtins
import math

import pytest

import gannet
from gannet.errors import GannetError
from gannet.files.rundir import METRICS, read_metrics
from gannet.training import resume_run, start_run
from gannet.training.hooks.tensorboard import FOLDER, scalar_tag, scalars
from tests.test_train import small

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def events(run_dir):
    acc = event_accumulator.EventAccumulator(
        str(run_dir / FOLDER), size_guidance={event_accumulator.IMAGES: 0}
    )
    acc.Reload()
    return acc


def test_scalars_are_the_finite_numbers_of_a_record_by_group():
    record = {
        "epoch": 1,
        "step": 4,
        "d_loss": 1.2,
        "d_real": 0.6,
        "grad_norm_g": 0.1,
        "fid_mnist-classifier": 3.0,
        "modes_covered": 8,
        "lr": 0.1,
        "nan_field": math.nan,
        "flag": True,
        "text": "x",
    }
    assert scalars(record) == {
        "loss/d_loss": 1.2,
        "D/d_real": 0.6,
        "grad/grad_norm_g": 0.1,
        "eval/fid_mnist-classifier": 3.0,
        "modes/modes_covered": 8.0,
        "optim/lr": 0.1,
    }
    assert scalar_tag("something_new") == "other/something_new"


def test_events_hold_every_metrics_line_and_each_epoch_grid(tiny_images, tmp_path):
    run = tmp_path / "r"
    config = small(["train.tensorboard=true", "train.epoch_end_steps=1"])  # a grid per epoch
    gannet.train(config, out=run, dataset=tiny_images)
    lines = read_metrics(run / METRICS)
    acc = events(run)
    d_loss = acc.Scalars("loss/d_loss")
    assert [e.step for e in d_loss] == [line["step"] for line in lines]
    assert [e.value for e in d_loss] == pytest.approx([line["d_loss"] for line in lines])
    images = acc.Images("samples")
    assert len(images) == 2  # train.epochs = 2: one grid per epoch
    assert images[0].width > 0 and images[0].encoded_image_string.startswith(b"\x89PNG")


def test_off_by_default_writes_no_events(tiny_images, tmp_path):
    gannet.train(small(["train.max_steps=2"]), out=tmp_path / "r", dataset=tiny_images)
    assert not (tmp_path / "r" / FOLDER).exists()


def test_resume_purges_events_after_the_checkpoint(tiny_images, tmp_path):
    run = tmp_path / "r"
    config = small(["train.tensorboard=true", "train.max_steps=4", "train.log_every=1"])
    start_run(config, run, tiny_images).fit()
    at_step_4 = (run / "checkpoint.pt").read_bytes()
    resume_run(run, ["train.max_steps=6"], dataset=tiny_images).fit()
    # A crash after step 6 lost its checkpoint: the run goes on from step 4 again, and
    # the events of steps 5 and 6 written before the crash are dropped, not doubled.
    (run / "checkpoint.pt").write_bytes(at_step_4)
    resume_run(run, ["train.max_steps=6"], dataset=tiny_images).fit()
    steps = [e.step for e in events(run).Scalars("loss/d_loss")]
    assert steps == [line["step"] for line in read_metrics(run / METRICS)] == [1, 2, 3, 4, 5, 6]


def test_missing_tensorboard_is_one_line_before_training(tiny_images, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(GannetError, match=r"pip install 'gannet\[tensorboard\]'"):
        start_run(small(["train.tensorboard=true"]), tmp_path / "r", tiny_images)
    assert not (tmp_path / "r").exists()
