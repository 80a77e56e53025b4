"""train.init_from and train.freeze_d: a run that starts from a trained run's weights (fresh
optimizers), refuses models that do not fit in one line, keeps FreezeD's blocks bit for bit,
records both in config.toml and run.json, and resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import gannet
from gannet.cli import main
from gannet.config import Config, ModelConfig
from gannet.errors import GannetError
from gannet.models import build_discriminator
from gannet.training import resume_run, start_run
from gannet.training.finetune import d_blocks
from gannet.training.hooks import Checkpoints, StatusFile
from tests.conftest import mixture_config


def quiet(out: Path) -> list:
    return [Checkpoints(out), StatusFile(out)]


def fit(config: Config, out: Path) -> None:
    start_run(config, out, hooks=quiet(out)).fit()


def checkpoint(run: Path) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained 2-D run with an EMA: the weights the tests fine-tune from."""
    out = tmp_path_factory.mktemp("finetune") / "source"
    fit(mixture_config("train.max_steps=6", "train.ema=0.9", "model.d_hidden=[16, 16]"), out)
    return out


def tuned(*extra: str) -> Config:
    return mixture_config("model.d_hidden=[16, 16]", "train.seed=5", *extra)


def test_weights_and_ema_are_the_source_and_optimizers_fresh(source: Path, tmp_path: Path):
    out = tmp_path / "tuned"
    trainer = start_run(tuned("train.ema=0.9", f"train.init_from='{source}'"), out, hooks=[])
    ckpt = checkpoint(source)
    for net, key in ((trainer.G, "generator"), (trainer.D, "discriminator")):
        mine = net.state_dict()
        assert all(torch.equal(mine[k], v) for k, v in ckpt[key].items())
    assert trainer.G_ema is not None
    ema = trainer.G_ema.state_dict()
    assert all(torch.equal(ema[k], v) for k, v in ckpt["generator_ema"].items())
    assert not any(torch.equal(ema[k], ckpt["generator"][k]) for k in ema)  # the EMA, not G
    assert trainer.opt_g.state_dict()["state"] == {} and trainer.opt_d.state_dict()["state"] == {}
    assert trainer.progress.step == 0
    # a snapshot-like file works too, and the Python API takes the same keyword
    run = gannet.train(
        tuned("train.max_steps=2"), tmp_path / "api", init_from=source / "checkpoint.pt"
    )
    status = json.loads((run.path / "run.json").read_text())
    assert status["init_from"]["source"] == str((source / "checkpoint.pt").resolve())
    assert status["init_from"]["step"] == 6


def test_a_model_that_does_not_fit_is_one_line(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(
        GannetError, match=r"'net\.3\.weight' has shape \[16, 16\] in the source, \[1, 16\] here"
    ):
        start_run(tuned("model.d_hidden=[16]", f"train.init_from='{source}'"), tmp_path / "a")
    with pytest.raises(GannetError, match=r"discriminator = 'mlp-d', this run 'paper-maxout'"):
        start_run(
            tuned("model.discriminator='paper-maxout'", f"train.init_from='{source}'"),
            tmp_path / "b",
        )
    with pytest.raises(GannetError, match="neither a run folder nor a checkpoint"):
        start_run(tuned(f"train.init_from='{tmp_path / 'nothing'}'"), tmp_path / "c")
    with pytest.raises(GannetError, match=r"set train\.init_from"):
        start_run(tuned("train.freeze_d=1"), tmp_path / "d")
    with pytest.raises(GannetError, match="has 2 blocks to freeze"):
        start_run(tuned(f"train.init_from='{source}'", "train.freeze_d=3"), tmp_path / "e")
    # the command line: exit code 2, one line, nothing written
    capsys.readouterr()
    cfg = tmp_path / "c.toml"
    tuned("model.d_hidden=[8, 16]").save(cfg)
    code = main(["train", str(cfg), "--out", str(tmp_path / "f"), "--init-from", str(source)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "'net.1.weight'" in err[0]
    assert not (tmp_path / "f" / "config.toml").exists()
    code = main(["train", "--resume", str(source), "--init-from", str(source)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "takes no --init-from" in err[0]


def test_frozen_blocks_stay_bit_identical_and_the_run_resumes_exactly(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = (f"train.init_from='{source}'", "train.freeze_d=1", "train.checkpoint_every=3")
    fit(tuned("train.max_steps=6", *extra), tmp_path / "full")
    before, after = checkpoint(source)["discriminator"], checkpoint(tmp_path / "full")
    d = after["discriminator"]
    assert torch.equal(d["net.1.weight"], before["net.1.weight"])  # block 1: frozen
    assert torch.equal(d["net.1.bias"], before["net.1.bias"])
    assert not torch.equal(d["net.3.weight"], before["net.3.weight"])  # block 2 trains
    g0 = checkpoint(source)["generator"]["net.0.weight"]
    assert not torch.equal(after["generator"]["net.0.weight"], g0)  # G trains
    text = (tmp_path / "full" / "config.toml").read_text()
    assert "freeze_d = 1" in text and f'init_from = "{source}"' in text
    # stopped at step 3 and resumed: the same weights as the run that went through
    cut = tmp_path / "cut"
    fit(tuned("train.max_steps=3", *extra), cut)
    resume_run(cut, ["train.max_steps=6"], hooks=quiet(cut)).fit()
    a, b = checkpoint(tmp_path / "full"), checkpoint(cut)
    for key in ("generator", "discriminator"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    status = json.loads((cut / "run.json").read_text())
    assert status["init_from"]["freeze_d"] == 1 and status["step"] == 6
    capsys.readouterr()
    assert main(["info", str(cut)]) == 0
    assert "checkpoint.pt (step 6), D's first 1 blocks frozen" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "shape", "blocks"),
    [
        ("paper-maxout", (1, 28, 28), [["Maxout"], ["Maxout"]]),
        (
            "dcgan-d",
            (3, 32, 32),
            [["Conv2d"], ["Conv2d", "BatchNorm2d"], ["Conv2d", "BatchNorm2d"]],
        ),
        (
            "stylegan-d",
            (3, 16, 16),
            [["EqualConv2d"], ["ResBlock"], ["ResBlock"], ["EqualConv2d"], ["EqualLinear"]],
        ),
    ],
)
def test_blocks_per_architecture(name: str, shape: tuple[int, ...], blocks: list) -> None:
    cfg = ModelConfig(discriminator=name, d_hidden=[32, 32], d_channels=8, max_channels=16)
    D = build_discriminator(cfg, shape)
    assert [[type(m).__name__ for m in block] for block in d_blocks(D)] == blocks
