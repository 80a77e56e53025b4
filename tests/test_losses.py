import math

import torch

from gannet.losses import LOSSES, game_value, make_loss


def test_registry_names():
    assert {"minimax", "non-saturating"} <= set(LOSSES.names())


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
