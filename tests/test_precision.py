"""train.precision on the hardware at hand: refused where it would only be emulated, and
the fp16 path (autocast plus a gradient scaler per network) right in its logic, on CPU."""

from __future__ import annotations

import pytest
import torch

import gannet
from gannet.config import Config
from gannet.errors import GannetError
from gannet.training import read_checkpoint, resume_run, start_run
from gannet.training.networks import prefers_channels_last
from gannet.training.precision import ALLOW_EMULATED, Precision, check_precision, native_bf16_cpu
from tests.conftest import mixture_config


def small(*extra: str) -> Config:
    return mixture_config("train.epochs=2", "train.log_every=2", "train.checkpoint_every=3", *extra)


def test_emulated_bf16_and_cpu_fp16_are_refused_in_one_line(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(ALLOW_EMULATED, raising=False)
    with pytest.raises(GannetError, match="needs a CUDA GPU"):
        check_precision("fp16", torch.device("cpu"))
    check_precision("fp16", torch.device("cuda"))  # the decision needs no GPU
    check_precision("fp32", torch.device("cpu"))
    if native_bf16_cpu():
        check_precision("bf16", torch.device("cpu"))
    else:
        with pytest.raises(GannetError, match="no native bf16") as err:
            gannet.train(small("train.precision='bf16'"), out=tmp_path / "r")
        assert "\n" not in str(err.value)
        assert not (tmp_path / "r").exists()  # refused before anything was written


def test_fp16_scales_the_loss_and_skips_a_non_finite_step(monkeypatch) -> None:
    monkeypatch.setenv(ALLOW_EMULATED, "1")
    amp = Precision("fp16", torch.device("cpu"))
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    scale = amp.scalers["d"].get_scale()
    assert scale > 1 and float(amp.scale(torch.tensor(2.0), "d")) == 2.0 * scale
    amp.scale((w * 2).sum(), "d").backward()
    amp.step(opt, "d")
    assert torch.allclose(w.detach(), torch.full((3,), 0.8))  # the unscaled gradient, 2
    opt.zero_grad()
    amp.scale((w * float("inf")).sum(), "d").backward()
    amp.step(opt, "d")  # skipped, and the scale backs off
    assert torch.allclose(w.detach(), torch.full((3,), 0.8))
    assert amp.scalers["d"].get_scale() < scale
    assert Precision("fp32", torch.device("cpu")).state_dict() is None


def test_fp16_run_checkpoints_its_scalers_and_resumes_exactly(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(ALLOW_EMULATED, "1")
    reference = start_run(small("train.precision='fp16'", "train.max_steps=10"), tmp_path / "a")
    reference.fit()
    start_run(small("train.precision='fp16'", "train.max_steps=5"), tmp_path / "b").fit()
    ckpt = read_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert ckpt.amp is not None and set(ckpt.amp) == {"d", "g"}
    resumed = resume_run(tmp_path / "b", ["train.max_steps=10"])
    resumed.fit()
    for a, b in zip(
        reference.G.state_dict().values(), resumed.G.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


def test_channels_last_only_for_convolutional_models_on_cuda() -> None:
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3))
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert prefers_channels_last(conv, torch.device("cuda"))
    assert not prefers_channels_last(mlp, torch.device("cuda"))
    assert not prefers_channels_last(conv, torch.device("cpu"))


def test_sync_bn_on_a_cpu_world_is_refused(tmp_path) -> None:
    from gannet.training import Trainer
    from gannet.training.distributed import World

    world = World(rank=0, size=2)  # the decision happens before any collective
    with pytest.raises(GannetError, match=r"train\.sync_bn needs CUDA"):
        Trainer(small("train.sync_bn=true"), world=world)
