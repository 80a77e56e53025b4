"""train.eval_every: feature metrics of G_eval in metrics.jsonl and on curves.png, without
disturbing the run: the global RNG is left alone and a resumed run is bit-identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gannet.config import Config
from gannet.errors import GannetError
from gannet.training import resume_run, start_run
from gannet.training.hooks import Evaluation
from gannet.training.validate import validate_config
from tests.test_feature_metrics import write_standin


def small(overrides: list[str]) -> Config:
    return Config().with_overrides(
        [
            "model.g_hidden=[32, 32]",
            "model.d_hidden=[16, 16]",
            "train.batch_size=50",
            "train.epochs=3",
            "train.log_every=2",
            "train.checkpoint_every=4",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.eval_every=4",
            "train.eval_metrics=['fid_inception', 'kid_inception']",
            *overrides,
        ]
    )


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANNET_INCEPTION", raising=False)
    path = tmp_path / "cache" / "inception" / "inception-2015-12-05.pt"
    monkeypatch.setenv("GANNET_INCEPTION_SHA256", write_standin(path))


def records(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_eval_every_logs_metrics_and_resumes_bit_exactly(tiny_images, tmp_path, standin):
    config = small(["train.max_steps=8"])
    whole = tmp_path / "whole"
    start_run(config, whole, tiny_images).fit()
    logged = {r["step"]: r for r in records(whole)}
    measured = sorted(s for s, r in logged.items() if "fid_inception" in r)
    assert measured == [4, 8]
    assert all("kid_inception" in logged[s] and logged[s]["fid_inception"] > 0 for s in measured)
    assert (whole / "curves.png").is_file()

    part = tmp_path / "part"
    start_run(small(["train.max_steps=6"]), part, tiny_images).fit()
    resume_run(part, ["train.max_steps=8"], tiny_images).fit()
    a = torch.load(whole / "checkpoint.pt", weights_only=True)
    b = torch.load(part / "checkpoint.pt", weights_only=True)
    for key in ("generator", "discriminator"):
        for name, value in a[key].items():
            assert torch.equal(value, b[key][name]), (key, name)
    again = {r["step"]: r for r in records(part)}
    for step in measured:  # the same samples of the same G: the same numbers
        assert again[step]["fid_inception"] == logged[step]["fid_inception"]


def test_evaluation_leaves_the_global_rng_alone(tiny_images, tmp_path, standin):
    trainer = start_run(small(["train.max_steps=2"]), tmp_path / "run", tiny_images)
    hook = trainer.hooks.find(Evaluation)
    state = torch.get_rng_state()
    first = hook.measure(trainer)
    assert torch.equal(state, torch.get_rng_state())
    assert hook.measure(trainer) == first  # fixed noise, fixed G: the same values


def test_bad_eval_metric_names_are_one_line() -> None:
    with pytest.raises(GannetError, match="unknown feature metric 'fid_nope'"):
        validate_config(small(["train.eval_metrics=['fid_nope']"]))
    with pytest.raises(GannetError, match=r"train\.eval_every"):
        small(["train.eval_every=-1"])
    # The names are checked even while evaluation is off (eval_every = 0), so a typo is
    # found before the run it was meant for; an empty list is fine while it is off.
    with pytest.raises(GannetError, match="unknown feature metric 'nope'"):
        validate_config(small(["train.eval_every=0", "train.eval_metrics=['nope']"]))
    validate_config(small(["train.eval_every=0", "train.eval_metrics=[]"]))
