"""DiffAugment (train.augment): each policy is differentiable, draws from the global torch RNG
and does what it says; the trainer augments every image D sees (real, fake, G's step, the
penalties); a run with augmentation resumes bit for bit; bad policy names are one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.game.augment import POLICIES, color, cutout, diff_augment, parse_policy, translation
from gannet.training import Trainer, resume_run, start_run
from gannet.training.hooks.checkpoints import Checkpoints
from gannet.training.hooks.status import StatusFile
from tests.conftest import tiny_labelled
from tests.door_support import assert_one_error_line, run_main, tiny_config


def seeded(policy, seed: int = 0):
    """The policy with a fixed draw: calling it twice gives the same function of x."""

    def f(x: torch.Tensor) -> torch.Tensor:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return policy(x)

    return f


@pytest.mark.parametrize("name", list(POLICIES))
@pytest.mark.parametrize("channels", [1, 3])
def test_policy_is_differentiable(name: str, channels: int) -> None:
    x = torch.rand(2, channels, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(seeded(POLICIES[name]), (x,))
    x32 = torch.rand(4, channels, 8, 8, requires_grad=True)
    (grad,) = torch.autograd.grad((seeded(POLICIES[name])(x32) ** 2).sum(), x32)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[i, j] = x[i + dy, j + dx] inside the image, 0 elsewhere (by slicing)."""
    _, h, w = x.shape
    out = torch.zeros_like(x)
    out[:, max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = x[
        :, max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)
    ]
    return out


def test_translation_shifts_by_at_most_an_eighth_with_zeros_coming_in() -> None:
    torch.manual_seed(1)
    x = torch.rand(64, 3, 16, 24) + 0.1  # no zeros of its own
    out = translation(x)
    assert out.shape == x.shape
    seen = set()
    for n in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)  # 16 / 8 = 2
            for dx in range(-3, 4)  # 24 / 8 = 3
            if torch.equal(out[n], shifted(x[n], dy, dx))
        ]
        assert len(matches) == 1, n
        dy, dx = matches[0]
        zeros = int((out[n] == 0).sum())
        assert zeros == 3 * (16 * 24 - (16 - abs(dy)) * (24 - abs(dx)))
        seen.add(matches[0])
    assert len(seen) > 15  # each sample its own shift, over the whole range


def test_cutout_zeroes_one_clipped_half_size_square() -> None:
    torch.manual_seed(2)
    n = 4000
    out = cutout(torch.ones(n, 2, 8, 8))
    assert out.shape == (n, 2, 8, 8)
    assert torch.equal(out[:, 0], out[:, 1])  # the same square in every channel
    zero = out[:, 0] == 0
    rows, cols = zero.any(2), zero.any(1)
    # the zeros are exactly a rectangle (rows x cols), contiguous, 2 to 4 pixels a side
    assert torch.equal(zero, rows[:, :, None] & cols[:, None, :])
    for side in (rows, cols):
        length = side.sum(1)
        assert length.min() >= 2 and length.max() <= 4
        first = side.float().argmax(1)
        span = torch.arange(8)[None] - first[:, None]
        assert torch.equal(side, (span >= 0) & (span < length[:, None]))
    # centre uniform over 0..8: 2,3,4,4,4,4,4,3,2 rows zeroed, so E[fraction] = (30/9/8)^2
    expected = (30 / 9 / 8) ** 2
    assert abs(zero.float().mean().item() - expected) < 0.01
    # an odd side: 9 -> a 5-pixel square, centre uniform over 0..8
    odd = cutout(torch.ones(200, 1, 9, 9))[:, 0] == 0
    assert odd.any(2).sum(1).max() == 5 and odd.any(2).sum(1).min() == 3


def test_color_keeps_shape_and_range_of_change() -> None:
    torch.manual_seed(3)
    for channels in (1, 3):
        x = torch.rand(32, channels, 8, 8)
        out = color(x)
        assert out.shape == x.shape
        assert not torch.allclose(out, x)
        # brightness: the mean of each image moves by at most 0.25 (saturation and contrast
        # keep the image mean)
        assert (out.mean((1, 2, 3)) - x.mean((1, 2, 3))).abs().max() <= 0.25 + 1e-6


def test_color_on_one_channel_has_no_saturation_change() -> None:
    """A gray image stays gray after color (saturation needs 2+ channels); with 3 equal
    channels the result is the same as with one."""
    x = torch.rand(5, 1, 6, 6)
    one = seeded(color)(x)
    three = seeded(color)(x.expand(5, 3, 6, 6).contiguous())
    for c in range(3):
        torch.testing.assert_close(three[:, c : c + 1], one)


def test_empty_policy_is_identity_and_same_seed_same_augmentation() -> None:
    x = torch.rand(4, 3, 8, 8)
    assert diff_augment(x, "") is x
    assert diff_augment(x, " , ") is x
    every = "color,translation,cutout"
    torch.manual_seed(5)
    a = diff_augment(x, every)
    torch.manual_seed(5)
    b = diff_augment(x, every)
    assert torch.equal(a, b)
    assert not torch.equal(a, diff_augment(x, every))  # the RNG moved on: a new draw
    assert parse_policy(" cutout , color") == ("cutout", "color")


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [("colour", "unknown policy 'colour'"), ("color,color", "names a policy twice")],
)
def test_bad_policy_is_one_line(policy: str, fragment: str) -> None:
    with pytest.raises(GannetError, match=fragment) as e:
        parse_policy(policy)
    assert "\n" not in str(e.value)
    assert "color, translation, cutout" in str(e.value)


def test_cli_refuses_unknown_policy_and_points(tmp_path: Path, capsys) -> None:
    config = tiny_config(tmp_path)
    for value, fragment in [("colour", "unknown policy"), ("color", "1-D or 2-D points")]:
        out = tmp_path / f"run-{value}"
        argv = ["train", str(config), "--set", f"train.augment='{value}'", "--out", str(out)]
        code, _, err = run_main(argv, capsys)
        assert_one_error_line(code, err, "train.augment", fragment)
        assert not out.exists()


def test_in_memory_points_are_refused_at_the_first_d_pass() -> None:
    config = tiny_config_of("train.augment='cutout'")
    data = Dataset("points", torch.randn(200, 2), source="memory")
    trainer = Trainer(config, data)
    with pytest.raises(GannetError, match="needs images"):
        trainer.step()


def tiny_config_of(*extra: str) -> Config:
    """A small image run: the paper's MLPs, narrow; Adam; quiet."""
    return Config().with_overrides(
        [
            "model.g_hidden=[32]",
            "model.d_hidden=[16]",
            "model.z_dim=8",
            "optim.name='adam'",
            "optim.lr=0.001",
            "train.batch_size=20",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.log_every=2",
            "train.checkpoint_every=2",
            "train.mode_check=false",
            *extra,
        ]
    )


def positive_images(n: int = 200, channels: int = 3) -> Dataset:
    gen = torch.Generator().manual_seed(0)
    return Dataset("tiny-rgb", torch.rand(n, channels, 8, 8, generator=gen) * 0.9 + 0.05)


def record_d_inputs(trainer: Trainer) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    trainer.D.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    return seen


def zeros_per_sample(x: torch.Tensor) -> torch.Tensor:
    return (x.detach() == 0).flatten(1).sum(1)


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
def test_trainer_augments_real_and_fake_and_penalty_inputs(schedule: str) -> None:
    """cutout on data and G outputs that are never 0: every image D sees in a D step (both
    halves), in the R1 pass and in G's step has a zeroed square; G's step keeps the graph."""
    data = positive_images()
    trainer = Trainer(
        tiny_config_of(
            "train.augment='cutout'", "loss.r1_gamma=1.0", f"train.schedule='{schedule}'"
        ),
        data,
    )
    seen = record_d_inputs(trainer)
    trainer.begin_iteration()
    x, _ = trainer.batches.get(0)
    trainer.d_step(x) if schedule == "alternating" else trainer.step()
    assert len(seen) == 2  # the real+fake pass, the R1 pass
    both, r1 = seen
    assert both.shape[0] == 2 * len(x) and r1.shape[0] == len(x)
    assert (zeros_per_sample(both) >= 4).all()  # at least a 2 x 2 square, every sample
    assert (zeros_per_sample(r1) >= 4).all()
    assert r1.requires_grad  # R1 differentiates through the augmentation
    if schedule == "alternating":
        seen.clear()
        trainer.g_step()
        (fake,) = seen
        assert (zeros_per_sample(fake) >= 4).all() and fake.requires_grad
    # without augmentation D sees the data itself
    plain = Trainer(tiny_config_of("loss.r1_gamma=1.0"), data)
    seen = record_d_inputs(plain)
    plain.begin_iteration()
    x, _ = plain.batches.get(0)
    plain.d_step(x)
    assert torch.equal(seen[0][: len(x)], x) and (zeros_per_sample(seen[0]) == 0).all()


def test_g_gradient_flows_through_augmentation() -> None:
    trainer = Trainer(tiny_config_of("train.augment='color,translation,cutout'"), positive_images())
    before = [p.detach().clone() for p in trainer.G.parameters()]
    trainer.g_step()
    assert all(torch.isfinite(p.grad).all() for p in trainer.G.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))


def test_conditional_run_with_augmentation_trains() -> None:
    """Labels reach D unchanged beside the augmented images, concatenated or projected."""
    for conditioning in ("concat", "projection"):
        config = tiny_config_of(
            "model.conditional=true",
            f"model.d_conditioning='{conditioning}'",
            "train.augment='color,translation,cutout'",
            "loss.r1_gamma=1.0",
            "train.max_steps=3",
        )
        trainer = Trainer(config, tiny_labelled())
        trainer.fit()
        assert trainer.progress.step == 3
        assert all(torch.isfinite(p).all() for p in trainer.D.parameters())


def weights(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    return {
        f"{net}.{k}": v for net in ("generator", "discriminator") for k, v in state[net].items()
    }


def run(config: Config, folder: Path, data: Dataset, steps: int) -> None:
    """A run to ``steps`` with only the hooks resuming needs (checkpoint, status)."""
    hooks = [Checkpoints(folder), StatusFile(folder)]
    start_run(config.with_overrides([f"train.max_steps={steps}"]), folder, data, hooks).fit()


def test_run_with_augmentation_resumes_bit_exactly(tmp_path: Path) -> None:
    data = positive_images(120)  # 6 iterations an epoch
    config = tiny_config_of("train.augment='color,translation,cutout'", "loss.r1_gamma=0.5")
    run(config, tmp_path / "whole", data, 9)
    run(config, tmp_path / "part", data, 4)
    part = tmp_path / "part"
    resume_run(part, ["train.max_steps=9"], data, [Checkpoints(part), StatusFile(part)]).fit()
    a, b = weights(tmp_path / "whole"), weights(part)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # and the augmentation mattered: without it the weights differ
    run(tiny_config_of("loss.r1_gamma=0.5"), tmp_path / "off", data, 9)
    off = weights(tmp_path / "off")
    assert any(not torch.equal(a[k], off[k]) for k in a)
