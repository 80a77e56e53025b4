"""The DDPM (Ho et al., 2020): the schedules' alpha-bar at known steps, q(x_t | x_0)'s
statistics, the loss on an oracle, the samplers (shapes, determinism, exact recovery of a
point mass), a tiny training run that lowers its loss and resumes bit for bit, ``gannet
sample --steps``, and bad configs refused in one line."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from gannet.cli import main
from gannet.config import Config
from gannet.data import Dataset
from gannet.diffusion import (
    NoiseSchedule,
    UNet,
    ancestral_sample,
    ddim_sample,
    epsilon_loss,
    make_betas,
    timestep_embedding,
    timesteps,
)
from gannet.errors import GannetError
from gannet.models.ddpm import DiffusionGenerator
from gannet.training import DiffusionTrainer, resume_run, start_run, trainer_class
from gannet.training.validate import validate_config


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread (small convolutions gain nothing from more), restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_linear_schedule_alpha_bar_at_known_steps() -> None:
    s = NoiseSchedule("linear", 1000)
    b = make_betas("linear", 1000)
    assert float(b[0]) == pytest.approx(1e-4) and float(b[-1]) == pytest.approx(0.02)
    beta_1 = 1e-4 + (0.02 - 1e-4) / 999  # the second step of the linear ramp
    assert float(s.alpha_bar[0]) == pytest.approx(1 - 1e-4, rel=1e-7)
    assert float(s.alpha_bar[1]) == pytest.approx((1 - 1e-4) * (1 - beta_1), rel=1e-7)
    # log alpha_bar_T = sum log(1 - beta_t), the ramp's sum in closed form to first order:
    # about -(1e-4 + 0.02) / 2 * 1000 = -10.05, so alpha_bar_T is about 4e-5 (x_T ~ pure noise).
    assert 3.5e-5 < float(s.alpha_bar[-1]) < 4.5e-5
    assert bool((s.alpha_bar[1:] < s.alpha_bar[:-1]).all())
    # Another T: both ends scaled by 1000 / T, so x_T is still almost pure noise.
    short = make_betas("linear", 100)
    assert float(short[0]) == pytest.approx(1e-3) and float(short[-1]) == pytest.approx(0.2)
    assert float(NoiseSchedule("linear", 100).alpha_bar[-1]) < 1e-4


def test_cosine_schedule_alpha_bar_at_half_time() -> None:
    s = NoiseSchedule("cosine", 1000)
    f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    # 0-based step 499 is the paper's t = 500 = T / 2.
    assert float(s.alpha_bar[499]) == pytest.approx(f(0.5) / f(0.0), rel=1e-5)
    assert float(make_betas("cosine", 1000).max()) == pytest.approx(0.999)  # capped
    assert float(s.alpha_bar[-1]) < 1e-6


def test_q_sample_formula_and_statistics() -> None:
    s = NoiseSchedule("linear", 1000)
    x0, noise = torch.full((4, 1, 2, 2), 0.5), torch.randn(4, 1, 2, 2)
    t = torch.tensor([0, 10, 500, 999])
    ab = s.alpha_bar[t].view(-1, 1, 1, 1)
    assert torch.allclose(s.q_sample(x0, t, noise), ab.sqrt() * 0.5 + (1 - ab).sqrt() * noise)
    # Many draws at one step: mean sqrt(ab) x0, variance 1 - ab.
    gen = torch.Generator().manual_seed(0)
    n, step = 200_000, 300
    x0 = torch.full((n, 1), 0.8)
    xt = s.q_sample(x0, torch.full((n,), step), torch.randn(n, 1, generator=gen))
    a = float(s.alpha_bar[step])
    assert float(xt.mean()) == pytest.approx(math.sqrt(a) * 0.8, abs=0.01)
    assert float(xt.var()) == pytest.approx(1 - a, rel=0.02)


def test_loss_is_zero_for_the_true_noise_and_one_for_predicting_none() -> None:
    s = NoiseSchedule("linear", 1000)
    gen = torch.Generator().manual_seed(1)
    x0 = torch.rand(64, 1, 4, 4, generator=gen) * 2 - 1
    noise = torch.randn(64, 1, 4, 4, generator=gen)
    t = torch.randint(1000, (64,), generator=gen)
    xt = s.q_sample(x0, t, noise)
    ab = s.alpha_bar[t].view(-1, 1, 1, 1)
    oracle = (xt - ab.sqrt() * x0) / (1 - ab).sqrt()  # the noise, recovered from x_t and x_0
    assert float(epsilon_loss(oracle, noise)) < 1e-8
    assert float(epsilon_loss(torch.zeros_like(noise), noise)) == pytest.approx(
        float(noise.square().mean())
    )


def test_timesteps_and_embedding() -> None:
    assert timesteps(1000, 1000) == list(range(1000))
    seq = timesteps(1000, 10)
    assert seq[0] == 0 and seq[-1] == 999 and len(set(seq)) == 10 and seq == sorted(seq)
    assert timesteps(1000, 1) == [999]
    with pytest.raises(ValueError):
        timesteps(10, 11)
    emb = timestep_embedding(torch.tensor([0, 5]), 8)
    assert emb.shape == (2, 8)
    assert torch.equal(emb[0], torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0]))  # cos 0, sin 0


def point_mass_predictor(s: NoiseSchedule, x_star: torch.Tensor):
    """The exact noise predictor of data that is the single point x_star."""

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = s.alpha_bar[t].view(-1, 1, 1, 1)
        return (x - ab.sqrt() * x_star) / (1 - ab).sqrt()

    return eps


@pytest.mark.parametrize("steps", [1000, 25, 1])
def test_samplers_recover_a_point_mass_exactly(steps: int) -> None:
    s = NoiseSchedule("linear", 1000)
    x_star = torch.linspace(-0.9, 0.9, 16).view(1, 1, 4, 4)
    x_T = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    eps = point_mass_predictor(s, x_star)
    for out in (
        ddim_sample(eps, s, x_T, steps),
        ddim_sample(eps, s, x_T, steps, eta=1.0),
        ancestral_sample(eps, s, x_T, steps),
    ):
        assert out.shape == x_T.shape
        assert torch.allclose(out, x_star.expand_as(out), atol=1e-4)


def test_ddim_is_deterministic_given_the_noise_and_ancestral_is_not() -> None:
    torch.manual_seed(0)
    s = NoiseSchedule("linear", 50)
    net = UNet(1, 8).eval()
    for p in net.head.parameters():  # a random head, so the output depends on x_t
        torch.nn.init.normal_(p, 0, 0.1)
    x_T = torch.randn(2, 1, 8, 8)
    a = ddim_sample(net, s, x_T, 10)
    torch.randn(5)  # move the global RNG on: DDIM (eta = 0) draws nothing from it
    assert torch.equal(a, ddim_sample(net, s, x_T, 10))
    assert not torch.equal(a, ddim_sample(net, s, x_T, 5))
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    b = ancestral_sample(net, s, x_T, 10, generator=g1)
    assert torch.equal(b, ancestral_sample(net, s, x_T, 10, generator=g2))
    assert not torch.equal(b, ancestral_sample(net, s, x_T, 10))


def test_unet_and_generator_shapes() -> None:
    net = UNet(1, 8)
    assert net(torch.randn(3, 1, 28, 28), torch.tensor([0, 1, 999])).shape == (3, 1, 28, 28)
    g = DiffusionGenerator((1, 8, 8), 8, diffusion_steps=20, sample_steps=4)
    out = g(torch.randn(5, 64))
    assert out.shape == (5, 1, 8, 8) and float(out.min()) >= 0 and float(out.max()) <= 1
    with pytest.raises(GannetError, match="from 1 to 20"):
        g.set_sampling(steps=21)


def ddpm_config(*extra: str) -> Config:
    return Config().with_overrides(
        [
            "model.generator='ddpm-unet'",
            "model.discriminator='none'",
            "model.z_dim=64",
            "model.noise='normal'",
            "model.g_channels=8",
            "model.diffusion_steps=100",
            "model.sample_steps=4",
            "loss.name='ddpm'",
            "optim.name='adam'",
            "optim.lr=0.003",
            "optim.betas=[0.9, 0.999]",
            "train.batch_size=20",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.mode_check=false",
            "train.ema=0.9",
            "train.threads=1",
            *extra,
        ]
    )


def smooth_images() -> Dataset:
    """200 1x8x8 images: horizontal ramps of random brightness (a learnable structure)."""
    gen = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0, 1, 8).view(1, 1, 1, 8).expand(200, 1, 8, 8)
    return Dataset("ramps", ramp * torch.rand(200, 1, 1, 1, generator=gen), source="memory")


def test_tiny_training_lowers_the_loss() -> None:
    trainer = DiffusionTrainer(ddpm_config("train.max_steps=40"), smooth_images())
    costs = [float(trainer.step().g_cost) for _ in range(40)]
    assert costs[0] == pytest.approx(1.0, abs=0.25)  # the zero-initialised head predicts 0
    assert np.mean(costs[-10:]) < 0.6 * np.mean(costs[:5])


def test_trainer_class_and_exact_resume(tmp_path: Path) -> None:
    config = ddpm_config("train.max_steps=14", "train.log_every=4", "train.checkpoint_every=100")
    assert trainer_class(config) is DiffusionTrainer
    start_run(config, tmp_path / "whole", smooth_images()).fit()
    half = config.with_overrides(["train.max_steps=5"])  # stops mid-epoch (10 per epoch)
    start_run(half, tmp_path / "split", smooth_images()).fit()
    resume_run(tmp_path / "split", ["train.max_steps=14"], smooth_images()).fit()
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    assert a["step"] == b["step"] == 14
    for part in ("generator", "generator_ema"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)

    # gannet sample on the run: --steps changes the sampler's step count; a GAN run refuses it.
    out = tmp_path / "s.npz"
    assert (
        main(["sample", str(tmp_path / "whole"), "--n", "3", "--out", str(out), "--steps", "2"])
        == 0
    )
    with np.load(out) as f:
        assert f["samples"].shape == (3, 1, 8, 8)
    assert (
        main(["sample", str(tmp_path / "whole"), "--n", "3", "--out", str(out), "--steps", "101"])
        == 2
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.noise='uniform'", "model.noise"),
        ("model.discriminator='paper-maxout'", "discriminator"),
        ("loss.name='non-saturating'", "go together"),
        ("model.sample_steps=200", "sample_steps"),
        ("train.k=2", "train.k"),
    ],
)
def test_bad_ddpm_configs_get_one_line(override: str, message: str) -> None:
    with pytest.raises(GannetError, match=message):
        validate_config(ddpm_config(override))


def test_wrong_z_dim_is_refused(tiny_images: Dataset) -> None:
    with pytest.raises(GannetError, match="z_dim = 64"):
        DiffusionTrainer(ddpm_config("model.z_dim=10"), tiny_images)
