import math

import pytest
import torch

import gannet
from gannet.config import Config
from gannet.errors import GannetError
from gannet.game.losses import LOSSES, game_value, make_loss


def test_registry_names():
    assert {
        "minimax",
        "non-saturating",
        "wasserstein",
        "wgan-gp",
        "hinge",
        "least-squares",
    } <= set(LOSSES.names())


def test_costs_match_the_probability_forms():
    logits_real = torch.tensor([-2.0, 0.0, 3.0])
    logits_fake = torch.tensor([-1.0, 0.5, 2.0])
    dr, df = torch.sigmoid(logits_real), torch.sigmoid(logits_fake)
    v = (torch.log(dr).mean() + torch.log(1 - df).mean()).item()
    for name in ("minimax", "non-saturating"):
        loss = make_loss(name)
        assert math.isclose(loss.d_cost(logits_real, logits_fake).item(), -v, rel_tol=1e-6)
    assert math.isclose(game_value(logits_real, logits_fake).item(), v, rel_tol=1e-6)
    minimax = make_loss("minimax").g_cost(logits_fake).item()
    assert math.isclose(minimax, torch.log(1 - df).mean().item(), rel_tol=1e-6)
    ns = make_loss("non-saturating").g_cost(logits_fake).item()
    assert math.isclose(ns, -torch.log(df).mean().item(), rel_tol=1e-6)


def test_stable_for_extreme_logits():
    big = torch.tensor([-200.0, 200.0])
    for name in ("minimax", "non-saturating"):
        loss = make_loss(name)
        assert torch.isfinite(loss.d_cost(big, big))
        assert torch.isfinite(loss.g_cost(big))


def test_saturating_gradient_vanishes_where_non_saturating_does_not():
    # D confidently rejects the fake: D(G(z)) = sigmoid(-8) ~ 3e-4.
    logit = torch.tensor([-8.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(make_loss("minimax").g_cost(logit), logit)
    (g_ns,) = torch.autograd.grad(make_loss("non-saturating").g_cost(logit), logit)
    assert abs(g_mm.item()) < 1e-3
    assert abs(g_ns.item()) > 0.99


def test_value_at_equilibrium_is_minus_log_4():
    zero = torch.zeros(10)
    assert math.isclose(game_value(zero, zero).item(), -math.log(4), rel_tol=1e-6)


# -- the losses after 2014 ------------------------------------------------------------------

REAL = torch.tensor([2.0, -0.5, 0.5])
FAKE = torch.tensor([-1.5, 0.25, 1.5])

# Worked by hand from REAL and FAKE (m = 3):
HAND = {
    # D: mean f(fake) - mean f(real) = 0.25/3 - 2/3; G: -mean f(fake) = -0.25/3.
    "wasserstein": (-1.75 / 3, -0.25 / 3),
    "wgan-gp": (-1.75 / 3, -0.25 / 3),
    # D: mean relu(1 - real) = (0 + 1.5 + 0.5)/3, mean relu(1 + fake) = (0 + 1.25 + 2.5)/3.
    "hinge": (2.0 / 3 + 3.75 / 3, -0.25 / 3),
    # D: 0.5 * (1 + 2.25 + 0.25)/3 + 0.5 * (2.25 + 0.0625 + 2.25)/3;
    # G: 0.5 * (6.25 + 0.5625 + 0.25)/3.
    "least-squares": (0.5 * 3.5 / 3 + 0.5 * 4.5625 / 3, 0.5 * 7.0625 / 3),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_new_costs_match_hand_computed_values(name):
    loss = make_loss(name)
    d_cost, g_cost = HAND[name]
    assert loss.d_cost(REAL, FAKE).item() == pytest.approx(d_cost, rel=1e-6)
    assert loss.g_cost(FAKE).item() == pytest.approx(g_cost, rel=1e-6)
    assert loss.value(REAL, FAKE).item() == pytest.approx(-d_cost, rel=1e-6)
    assert not loss.probabilistic


def test_value_is_the_game_value_for_the_2014_losses():
    for name in ("minimax", "non-saturating"):
        loss = make_loss(name)
        assert loss.probabilistic and not loss.gradient_penalty and loss.default_clip == 0
        assert loss.value(REAL, FAKE).item() == game_value(REAL, FAKE).item()


def test_regularizer_defaults_of_the_losses():
    assert make_loss("wasserstein").default_clip == 0.01
    assert make_loss("wgan-gp").gradient_penalty and make_loss("wgan-gp").default_clip == 0
    for name in ("hinge", "least-squares", "wasserstein"):
        assert not make_loss(name).gradient_penalty


def test_wasserstein_and_hinge_generator_gradients_never_vanish():
    # However confidently D rejects the fake, G's gradient per sample stays 1/m.
    for name in ("wasserstein", "hinge"):
        fake = torch.tensor([-50.0, -8.0], requires_grad=True)
        (grad,) = torch.autograd.grad(make_loss(name).g_cost(fake), fake)
        assert torch.equal(grad, torch.tensor([-0.5, -0.5]))


def test_hinge_ignores_outputs_beyond_the_margin():
    real = torch.tensor([1.5, 3.0], requires_grad=True)
    fake = torch.tensor([-2.0, -1.0], requires_grad=True)
    cost = make_loss("hinge").d_cost(real, fake)
    assert cost.item() == 0.0
    assert all(torch.equal(g, torch.zeros(2)) for g in torch.autograd.grad(cost, [real, fake]))


def test_unknown_loss_is_one_clear_line():
    with pytest.raises(GannetError) as info:
        make_loss("wasserstien")
    assert "unknown loss 'wasserstien'; choose one of:" in str(info.value)
    assert "wgan-gp" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "extra",
    [
        ["loss.name='wasserstein'", "optim.name='rmsprop'", "optim.lr=5e-4", "train.k=5"],
        ["loss.name='wgan-gp'", "train.k=5"],
        ["loss.name='hinge'", "loss.spectral_norm=true"],
        ["loss.name='least-squares'"],
    ],
    ids=["wasserstein", "wgan-gp", "hinge-sn", "least-squares"],
)
def test_short_training_run_on_mixture_2d(tmp_path, extra):
    """A few dozen steps on the ring: costs move, nothing is NaN, raw outputs are logged."""
    config = Config().with_overrides(
        [
            "data.name='mixture-2d'",
            "data.n_samples=20000",  # no epoch ends (sample grids, checkpoints) in 40 steps
            "model.generator='mlp-g'",
            "model.discriminator='mlp-d'",
            "model.z_dim=2",
            "model.g_hidden=[32, 32]",
            "model.d_hidden=[32, 32]",
            "model.noise='normal'",
            "optim.name='adam'",
            "optim.lr=1e-3",
            "optim.betas=[0.5, 0.9]",
            "train.batch_size=50",
            "train.max_steps=40",
            "train.log_every=10",
            "train.progress='none'",
            "train.n_fixed_samples=4",
            "train.threads=1",
            *extra,
        ]
    )
    run = gannet.train(config, out=tmp_path / "r")
    metrics = run.metrics
    assert [m["step"] for m in metrics] == [10, 20, 30, 40]
    for m in metrics:
        for key in ("d_loss", "g_loss", "value", "d_real_raw", "d_fake_raw", "d_penalty"):
            assert math.isfinite(m[key]), key
        assert m["grad_norm_g"] > 0 and m["grad_norm_d"] > 0
    # The costs move (relative to their size: a clipped WGAN critic's outputs are ~0.01).
    first, last = metrics[0], metrics[-1]
    scale = max(abs(first["d_loss"]), abs(last["d_loss"]))
    assert abs(last["d_loss"] - first["d_loss"]) > 0.05 * scale
    assert len({m["g_loss"] for m in metrics}) == len(metrics)
    assert all(torch.isfinite(p).all() for p in run.generator.parameters())
    assert all(torch.isfinite(v).all() for v in run.discriminator.state_dict().values())
    # D has learned something: it scores real points above fakes.
    assert metrics[-1]["d_real_raw"] > metrics[-1]["d_fake_raw"]
