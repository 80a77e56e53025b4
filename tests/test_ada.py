"""Adaptive discriminator augmentation (gannet.game.ada): the controller, the strength p in
diff_augment, the config, p rising on a run built to overfit and not on one that is not,
p in metrics.jsonl, and exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.game.ada import AdaptiveAugment
from gannet.game.augment import diff_augment
from gannet.training import Trainer, resume_run, start_run
from gannet.training.hooks.checkpoints import Checkpoints
from gannet.training.hooks.metrics import MetricsFile
from gannet.training.hooks.status import StatusFile
from gannet.training.validate import validate_config


def test_controller_moves_p_by_the_papers_rule() -> None:
    """N = 4 minibatches of 10, all D(x) > 0: r_t = 1 > 0.6, p += 40 / (kimg x 1000) once,
    after the 4th; all D(x) < 0: p falls, clamped at 0; never above 1."""
    ada = AdaptiveAugment(target=0.6, interval=4, kimg=1.0)
    for i in range(4):
        assert ada.p == 0.0, i
        ada.observe(torch.full((10, 1), 2.0))
    assert ada.p == pytest.approx(0.04) and ada.last_rt == 1.0
    for _ in range(8):
        ada.observe(-torch.ones(10))
    assert ada.p == 0.0 and ada.last_rt == -1.0
    # r_t exactly at the target leaves p; half positive (0) is below 0.6
    ada.p = 0.5
    for _ in range(4):
        ada.observe(torch.tensor([1.0] * 8 + [-1.0] * 2))  # r_t = 0.6
    assert ada.p == 0.5
    for _ in range(4):
        ada.observe(torch.tensor([1.0, -1.0]))
    assert ada.p == pytest.approx(0.5 - 8 / 1000)
    # counted in images: minibatches of 10 seen as 8 D passes of 5 make one interval of 4
    split = AdaptiveAugment(target=0.6, interval=4, kimg=1.0, batch=10)
    for i in range(8):
        assert split.adjustments == 0, i
        split.observe(torch.ones(5))
    assert split.adjustments == 1 and split.p == pytest.approx(0.04)
    fast = AdaptiveAugment(interval=1, kimg=0.001)
    fast.observe(torch.ones(5))
    assert fast.p == 1.0  # clamped
    state = fast.state_dict()
    again = AdaptiveAugment()
    again.load_state_dict(state)
    assert again.state_dict() == state
    with pytest.raises(GannetError, match="ADA state"):
        again.load_state_dict({"p": 0.1})


def test_strength_p_applies_each_policy_to_a_share_of_images() -> None:
    x = torch.rand(400, 1, 8, 8) + 0.5  # never 0: cutout's zeros show
    torch.manual_seed(0)
    full = diff_augment(x, "cutout")
    torch.manual_seed(0)
    assert torch.equal(diff_augment(x, "cutout", 1.0), full)  # p = 1 is DiffAugment, bitwise
    assert diff_augment(x, "cutout", 0.0) is x
    torch.manual_seed(0)
    half = diff_augment(x, "cutout", 0.3)
    cut = ((half == 0).flatten(1).sum(1) > 0).float().mean().item()
    assert 0.22 < cut < 0.38
    untouched = (half == x).flatten(1).all(1)
    assert torch.equal(untouched, (half != 0).flatten(1).all(1))  # the rest are x itself
    y = x.clone().requires_grad_(True)
    diff_augment(y, "color,translation,cutout", 0.5).sum().backward()
    assert y.grad is not None and torch.isfinite(y.grad).all()


@pytest.fixture(autouse=True)
def keep_threads():
    """train.threads=1 (these runs are tiny) sets torch's threads; put them back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def image_config(*extra: str) -> Config:
    return Config().with_overrides(
        [
            "model.g_hidden=[32]",
            "model.d_hidden=[32]",
            "model.z_dim=8",
            "optim.name='adam'",
            "optim.lr=0.003",
            "train.batch_size=16",
            "train.threads=1",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.log_every=4",
            "train.checkpoint_every=4",
            "train.mode_check=false",
            "train.augment='translation,cutout'",
            "train.augment_p='ada'",
            "train.ada_interval=2",
            "train.ada_kimg=0.5",
            *extra,
        ]
    )


def test_config_accepts_ada_or_a_probability_and_refuses_the_rest() -> None:
    assert image_config().train.augment_p == "ada"
    assert image_config("train.augment_p=0.25").train.augment_p == 0.25
    assert Config().train.augment_p == 1.0
    back = Config.from_dict(image_config().to_dict())  # TOML round trip keeps "ada"
    assert back.train.augment_p == "ada"
    with pytest.raises(GannetError, match="augment_p"):
        image_config("train.augment_p='often'")
    with pytest.raises(GannetError, match=r"augment_p must be a finite number in \[0, 1\]"):
        image_config("train.augment_p=1.5")
    with pytest.raises(GannetError, match=r"train\.augment is empty"):
        validate_config(image_config("train.augment=''"))
    with pytest.raises(GannetError, match="sign of D's output"):
        validate_config(image_config("loss.name='wasserstein'"))


def blobs(n: int, seed: int = 0) -> Dataset:
    gen = torch.Generator().manual_seed(seed)
    return Dataset("blobs", torch.rand(n, 1, 8, 8, generator=gen) * 0.8 + 0.1, source="memory")


def p_after(config: Config, data: Dataset, steps: int) -> list[float]:
    trainer = Trainer(
        config.with_overrides([f"train.max_steps={steps}", "train.epochs=1000"]), data
    )
    ps = []
    while not trainer.done:
        trainer.step()
        assert trainer.ada is not None
        ps.append(trainer.ada.p)
    return ps


def test_p_rises_when_d_overfits_and_stays_near_zero_when_it_cannot() -> None:
    """16 training images, a dropout-free D (mlp-d) and a G 30x slower: D calls every
    training image real (r_t = 1) and p climbs by 32 / 500 every 2 minibatches. The paper's
    maxout D with dropout on 800 images: r_t falls below 0.6 after the first interval and p
    goes back to 0 and stays there."""
    mlp = ["model.generator='mlp-g'", "model.discriminator='mlp-d'"]
    overfit = p_after(image_config("optim.g_lr_scale=0.03", *mlp), blobs(16), 24)
    assert overfit[-1] > 0.5 and overfit == sorted(overfit)
    calm = p_after(image_config("optim.g_lr_scale=0.03"), blobs(800), 24)
    assert max(calm) <= 0.07 and calm[-8:] == [0.0] * 8


def run(config: Config, folder: Path, data: Dataset, steps: int) -> Trainer:
    hooks = [Checkpoints(folder), StatusFile(folder), MetricsFile(folder)]
    limits = [f"train.max_steps={steps}", "train.epochs=100"]
    trainer = start_run(config.with_overrides(limits), folder, data, hooks)
    trainer.fit()
    return trainer


def test_ada_run_logs_p_and_resumes_bit_exactly(tmp_path: Path) -> None:
    data = blobs(32)  # 2 iterations an epoch
    mlp = ["model.generator='mlp-g'", "model.discriminator='mlp-d'"]
    config = image_config("optim.g_lr_scale=0.03", *mlp)
    whole = run(config, tmp_path / "whole", data, 12)
    run(config, tmp_path / "part", data, 6)
    part = tmp_path / "part"
    hooks = [Checkpoints(part), StatusFile(part), MetricsFile(part)]
    again = resume_run(part, ["train.max_steps=12"], data, hooks)
    again.fit()
    assert whole.ada is not None and again.ada is not None
    assert 0 < whole.ada.p < 1  # p moved, so resuming it mattered
    assert again.ada.state_dict() == whole.ada.state_dict()
    for a, b in zip(whole.D.state_dict().values(), again.D.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(whole.G.state_dict().values(), again.G.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    lines = read_jsonl(tmp_path / "whole" / "metrics.jsonl")
    assert lines[0]["step"] == 4 and lines[-1]["step"] == 12
    assert all(0 <= r["augment_p"] <= 1 and "ada_rt" in r for r in lines)
    assert lines[-1]["augment_p"] == whole.ada.p
    resumed = {r["step"]: r["augment_p"] for r in read_jsonl(part / "metrics.jsonl")}
    assert all(resumed[r["step"]] == r["augment_p"] for r in lines)  # (and a line at 6)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]
