"""Adversarial losses, from discriminator logits (numerically stable forms).

With D(x) = sigmoid(l(x)):
  log D(x)      = -softplus(-l)
  log(1 - D(x)) = -softplus(l)

Each loss gives the discriminator's cost (to minimise) and the generator's cost (to
minimise), so the trainer only ever calls ``.backward()`` on a cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gannet.registry import Registry


@dataclass(frozen=True)
class Loss:
    """A pair of costs for D and G, as functions of D's logits."""

    name: str

    def d_cost(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        """-(1/m) sum [log D(x) + log(1 - D(G(z)))]: D ascends V by descending this."""
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()

    def g_cost(self, d_fake: Tensor) -> Tensor:
        raise NotImplementedError


class Minimax(Loss):
    """Equation 1: G descends log(1 - D(G(z))). Saturates when D rejects fakes confidently."""

    def g_cost(self, d_fake: Tensor) -> Tensor:
        return -F.softplus(d_fake).mean()


class NonSaturating(Loss):
    """The paper's practical heuristic: G ascends log D(G(z)), i.e. descends -log D(G(z))."""

    def g_cost(self, d_fake: Tensor) -> Tensor:
        return F.softplus(-d_fake).mean()


LOSSES: Registry[type[Loss]] = Registry("loss")
LOSSES.register("minimax")(Minimax)
LOSSES.register("non-saturating")(NonSaturating)


def make_loss(name: str) -> Loss:
    return LOSSES.get(name)(name)


def game_value(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Minibatch estimate of V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))]."""
    return -(F.softplus(-d_real).mean() + F.softplus(d_fake).mean())


def probabilities(logits: Tensor) -> Tensor:
    return torch.sigmoid(logits)
