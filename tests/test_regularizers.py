"""Regularizers of D: gradient penalty, R1, spectral norm, weight clipping; their config
checks and their place in training (checkpoints, exact resume)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

import gannet
from gannet.config import Config, LossConfig
from gannet.errors import GannetError
from gannet.game.regularizers import (
    apply_spectral_norm,
    clip_value,
    clip_weights_,
    gradient_penalty,
    r1_penalty,
    spectral_layers,
)
from gannet.training import Trainer, resume_run, start_run
from gannet.training.hooks import Console


def critic() -> nn.Module:
    """A small D on (1, 4, 4) samples with no cross-sample interaction and a curved output
    (so input gradients depend on the input)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0)
    ).double()


def batches(m: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(m, 1, 4, 4, generator=gen, dtype=torch.float64)
    fake = torch.randn(m, 1, 4, 4, generator=gen, dtype=torch.float64) * 2 + 1
    return real, fake


def sample_gradient(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """grad_x D(x) for ONE sample x (1, 4, 4), computed on its own."""
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x[None]).sum(), x, create_graph=True)
    return g


def assert_same_parameter_gradients(D: nn.Module, got: torch.Tensor, want: torch.Tensor) -> None:
    """d got / d theta == d want / d theta for D's weights (the output bias has no effect on
    input gradients, so it gets none)."""
    params = [p for name, p in D.named_parameters() if name != "3.bias"]
    g_got = torch.autograd.grad(got, params, retain_graph=True)
    g_want = torch.autograd.grad(want, params, retain_graph=True)
    for a, b in zip(g_got, g_want, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
        assert a.abs().sum() > 0


# -- gradient penalty ---------------------------------------------------------------------


def test_gradient_penalty_matches_a_per_sample_autograd_computation():
    D = critic()
    real, fake = batches()
    alpha = torch.tensor([0.0, 0.1, 0.3, 0.5, 0.9, 1.0], dtype=torch.float64)
    got = gradient_penalty(D, real, fake, weight=7.0, alpha=alpha)
    terms = []
    for i in range(real.shape[0]):  # one interpolation weight per sample, norm over (1, 4, 4)
        xhat = alpha[i] * real[i] + (1 - alpha[i]) * fake[i]
        norm = sample_gradient(D, xhat).pow(2).sum().sqrt()
        terms.append((norm - 1) ** 2)
    want = 7.0 * torch.stack(terms).mean()
    assert abs(got.item() - want.item()) < 1e-6
    # D's parameter gradients agree too (the penalty is descended through create_graph).
    assert_same_parameter_gradients(D, got, want)


def test_gradient_penalty_draws_one_alpha_per_sample_from_the_global_rng():
    D = critic()
    real, fake = batches()
    torch.manual_seed(123)
    drawn = gradient_penalty(D, real, fake)
    torch.manual_seed(123)
    alpha = torch.rand(real.shape[0], dtype=real.dtype)
    assert drawn.item() == gradient_penalty(D, real, fake, alpha=alpha).item()
    with pytest.raises(ValueError, match="alpha"):
        gradient_penalty(D, real, fake, alpha=torch.rand(1, 16, dtype=real.dtype))


def test_gradient_penalty_does_not_reach_the_generator():
    D = critic()
    real, fake = batches()
    fake = fake.requires_grad_(True)
    penalty = gradient_penalty(D, real, fake)
    assert torch.autograd.grad(penalty, fake, allow_unused=True)[0] is None


# -- R1 ----------------------------------------------------------------------------------


def test_r1_matches_a_per_sample_autograd_computation():
    D = critic()
    real, _ = batches()
    got = r1_penalty(D, real, gamma=3.0)
    sq = [sample_gradient(D, real[i]).pow(2).sum() for i in range(real.shape[0])]
    want = 3.0 / 2 * torch.stack(sq).mean()
    assert abs(got.item() - want.item()) < 1e-6
    assert_same_parameter_gradients(D, got, want)


def test_r1_of_a_linear_critic_is_its_squared_weight_norm():
    lin = nn.Linear(3, 1).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    got = r1_penalty(lambda v: lin(v).view(-1), x, gamma=2.0)
    assert abs(got.item() - lin.weight.pow(2).sum().item()) < 1e-12


# -- spectral norm ------------------------------------------------------------------------


def test_spectral_norm_makes_each_largest_singular_value_one():
    torch.manual_seed(0)
    D = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1),
        nn.Flatten(),
        nn.Linear(3 * 8 * 8, 16),
        nn.LeakyReLU(0.2),
        nn.Linear(16, 1),
    )
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(10)  # far from norm 1 before normalisation
    apply_spectral_norm(D)
    apply_spectral_norm(D)  # idempotent: already wrapped layers are left alone
    layers = spectral_layers(D)
    assert len(layers) == 4
    x = torch.randn(8, 1, 4, 4)
    for _ in range(5):  # a few power iterations (one per training-mode forward pass)
        D(x)
    for layer in layers:
        w = layer.weight
        if isinstance(layer, nn.ConvTranspose2d):
            w = w.transpose(0, 1)  # output channels first, as spectral_norm reshapes it
        sigma = torch.linalg.matrix_norm(w.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=2e-3), type(layer).__name__


def test_spectral_norm_needs_a_layer_to_wrap():
    with pytest.raises(GannetError, match="spectral_norm"):
        apply_spectral_norm(nn.Sequential(nn.Tanh()))


# -- weight clipping ----------------------------------------------------------------------


def test_clip_weights_bounds_every_parameter():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for p in D.parameters():
            p.normal_(0, 1)
    inside = D[0].weight.detach().abs() < 0.05
    before = D[0].weight.detach().clone()
    clip_weights_(D, 0.05)
    for p in D.parameters():
        assert (p.abs() <= 0.05).all()  # 0.05 as a float32
    assert torch.equal(D[0].weight[inside], before[inside])  # small weights untouched
    with pytest.raises(ValueError):
        clip_weights_(D, 0.0)


def test_clip_value_defaults():
    assert clip_value(LossConfig(name="wasserstein")) == 0.01
    assert clip_value(LossConfig(name="wasserstein", clip=-1)) == 0.0
    assert clip_value(LossConfig(name="wasserstein", clip=0.1)) == 0.1
    assert clip_value(LossConfig(name="hinge", clip=0.02)) == 0.02
    for name in ("non-saturating", "minimax", "wgan-gp", "hinge", "least-squares"):
        assert clip_value(LossConfig(name=name)) == 0.0


# -- in training ----------------------------------------------------------------------------


def toy(extra: list[str]) -> Config:
    """mixture-2d with the toy MLPs, small enough for many short runs."""
    return Config().with_overrides(
        [
            "data.name='mixture-2d'",
            "data.n_samples=4000",
            "model.generator='mlp-g'",
            "model.discriminator='mlp-d'",
            "model.z_dim=2",
            "model.g_hidden=[32, 32]",
            "model.d_hidden=[32, 32]",
            "model.noise='normal'",
            "optim.name='adam'",
            "optim.lr=1e-4",
            "optim.betas=[0.5, 0.9]",
            "train.batch_size=50",
            "train.log_every=5",
            "train.checkpoint_every=7",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.threads=1",
            *extra,
        ]
    )


def test_wasserstein_clips_d_from_the_start_and_after_every_update(tmp_path):
    config = toy(["loss.name='wasserstein'", "optim.name='rmsprop'", "train.max_steps=3"])
    trainer = start_run(config, tmp_path / "r")
    assert isinstance(trainer.opt_d, torch.optim.RMSprop)
    assert all(p.abs().max() <= 0.01 for p in trainer.D.parameters())
    trainer.fit()
    assert all(p.abs().max() <= 0.01 for p in trainer.D.parameters())
    assert any(p.abs().max() == 0.01 for p in trainer.D.parameters())  # the clip is active


@pytest.mark.parametrize(
    "extra",
    [
        ["loss.name='hinge'", "loss.spectral_norm=true"],
        ["loss.name='wgan-gp'", "train.k=2"],
        ["loss.name='wasserstein'", "loss.r1_gamma=0.5", "train.schedule='simultaneous'"],
    ],
    ids=["hinge-sn", "wgan-gp", "wgan-clip-r1-simultaneous"],
)
def test_checkpoint_is_weights_only_and_resume_is_bit_exact(tmp_path, extra):
    steps = 16
    reference = gannet.train(toy([*extra, f"train.max_steps={steps}"]), out=tmp_path / "ref")
    gannet.train(toy([*extra, "train.max_steps=9"]), out=tmp_path / "run")
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 9
    if "loss.spectral_norm=true" in extra:
        assert any(k.endswith("parametrizations.weight.original") for k in state["discriminator"])
        assert any(k.endswith("._u") for k in state["discriminator"])
    trainer = resume_run(tmp_path / "run", [f"train.max_steps={steps}"])
    trainer.fit()
    run = gannet.load_run(tmp_path / "run")  # rebuilds D (with spectral norm) from the config
    for module in ("generator", "discriminator"):
        a = getattr(reference, module).state_dict()
        b = getattr(run, module).state_dict()
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{module}.{key}"


def test_penalty_is_logged_and_part_of_d_cost(tmp_path):
    run = gannet.train(
        toy(["loss.name='wgan-gp'", "train.max_steps=5", "train.k=1"]), out=tmp_path / "r"
    )
    (record,) = run.metrics
    assert record["d_penalty"] > 0
    # d_loss = critic cost + penalty; value = -(critic cost) = mean f(x) - mean f(G(z)).
    assert record["d_loss"] == pytest.approx(-record["value"] + record["d_penalty"], abs=1e-5)
    assert record["value"] == pytest.approx(record["d_real_raw"] - record["d_fake_raw"], abs=1e-5)


def test_no_saturation_warning_for_non_probabilistic_losses(tmp_path, capsys):
    from gannet.training.hooks.doctor import LiveDoctor

    for name, warns in (("wasserstein", False), ("hinge", False), ("minimax", True)):
        config = toy([f"loss.name='{name}'", "train.progress='lines'"])
        doctor = LiveDoctor()
        trainer = Trainer(config, hooks=[doctor, Console()])
        for step in range(1, 13):
            doctor.on_measure(trainer, {"step": step, "d_fake": 0.0, "grad_norm_g": 1.0})
        assert ("warning" in capsys.readouterr().out) == warns, name


# -- bad config values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("loss.gp_weight=-1", "loss.gp_weight must be a finite number >= 0"),
        ("loss.r1_gamma=-0.5", "loss.r1_gamma must be a finite number >= 0"),
        ("loss.r1_gamma=nan", "loss.r1_gamma must be a finite number >= 0"),
        ("loss.clip=inf", "loss.clip must be a finite number"),
        ("loss.name='wgan'", "unknown loss 'wgan'; choose one of:"),
        ("optim.name='sgd'", "config key 'optim.name' must be one of"),
        ("loss.spectral_norm=1", "config key 'loss.spectral_norm' must be true or false"),
    ],
)
def test_bad_values_are_one_clear_error(tmp_path, override, fragment):
    with pytest.raises(GannetError) as info:
        gannet.train(toy([override]), out=tmp_path / "r")
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert not (tmp_path / "r").exists()


def test_wgan_gp_needs_a_positive_weight(tmp_path):
    with pytest.raises(GannetError, match=r"must be > 0 for loss\.name='wgan-gp'"):
        gannet.train(toy(["loss.name='wgan-gp'", "loss.gp_weight=0"]), out=tmp_path / "r")


def test_cli_bad_gp_weight_is_exit_code_2_and_one_line(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(toy([]).to_toml())
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "gannet", "train", str(config)),
            *("--out", str(tmp_path / "r"), "--set", "loss.gp_weight=-3"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "loss.gp_weight" in lines[0] and "Traceback" not in proc.stderr
