"""Adversarial losses, from the discriminator's raw outputs (numerically stable forms).

Each loss gives the discriminator's cost (to minimise) and the generator's cost (to
minimise), so the trainer only ever calls ``.backward()`` on a cost. Every cost takes D's
raw outputs: logits for the 2014 losses, critic values / scores for the others.

For the 2014 losses (``minimax``, ``non-saturating``), D(x) = sigmoid(l(x)) and
  log D(x)      = -softplus(-l)
  log(1 - D(x)) = -softplus(l)

The later losses (``wasserstein``, ``wgan-gp``, ``hinge``, ``least-squares``) do not read
D's output as a probability (``Loss.probabilistic`` is False). Their regularizers (weight
clipping, gradient penalty, R1, spectral norm) live in :mod:`gannet.game.regularizers`; see
docs/losses.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from gannet.errors import GannetError
from gannet.registry import Registry


@dataclass(frozen=True)
class Loss:
    """A pair of costs for D and G, as functions of D's raw outputs (logits here)."""

    name: str

    probabilistic: ClassVar[bool] = True
    """True when D's output is a logit of the probability that its input is real (so
    sigmoid(output) is D(x) and the game value V(D, G) means something)."""
    gradient_penalty: ClassVar[bool] = False
    """True when the loss needs the WGAN-GP gradient penalty added to D's cost."""
    default_clip: ClassVar[float] = 0.0
    """Critic weight clip c used when ``loss.clip`` is 0 (automatic); 0 = no clipping."""

    def d_cost(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        """-(1/m) sum [log D(x) + log(1 - D(G(z)))]: D ascends V by descending this."""
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()

    def g_cost(self, d_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def value(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        """The objective D maximises, minus D's cost: V(D, G) for the 2014 losses, the
        critic's estimate E f(x) - E f(G(z)) of the Wasserstein distance for WGAN."""
        return -self.d_cost(d_real, d_fake)


class Minimax(Loss):
    """Equation 1: G descends log(1 - D(G(z))). Saturates when D rejects fakes confidently."""

    def g_cost(self, d_fake: Tensor) -> Tensor:
        return -F.softplus(d_fake).mean()


class NonSaturating(Loss):
    """The paper's practical heuristic: G ascends log D(G(z)), i.e. descends -log D(G(z))."""

    def g_cost(self, d_fake: Tensor) -> Tensor:
        return F.softplus(-d_fake).mean()


class Wasserstein(Loss):
    """WGAN (Arjovsky, Chintala and Bottou, 2017, "Wasserstein GAN", algorithm 1).

    Critic cost mean f(G(z)) - mean f(x) (the critic maximises E f(x) - E f(G(z))); G cost
    -mean f(G(z)). f must be kept K-Lipschitz: the paper clips the critic's weights to
    [-c, c] with c = 0.01 after every critic update (``loss.clip`` = 0 picks that), runs
    n_critic = 5 critic steps per G step (``train.k = 5``) and uses RMSProp, lr 5e-5.
    """

    probabilistic = False
    default_clip = 0.01

    def d_cost(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return d_fake.mean() - d_real.mean()

    def g_cost(self, d_fake: Tensor) -> Tensor:
        return -d_fake.mean()


class WassersteinGP(Wasserstein):
    """WGAN-GP (Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville, 2017, "Improved Training
    of Wasserstein GANs", algorithm 1): the WGAN costs without clipping, plus the gradient
    penalty lambda * (||grad f(xhat)||_2 - 1)^2 on random interpolates xhat of real and fake
    samples (:func:`gannet.game.regularizers.gradient_penalty`; lambda = ``loss.gp_weight``,
    10 in the paper, with Adam lr 1e-4, betas (0, 0.9) or (0.5, 0.9), n_critic = 5).
    """

    gradient_penalty = True
    default_clip = 0.0


class Hinge(Loss):
    """Hinge loss (Lim and Ye, 2017, "Geometric GAN"; Miyato et al., 2018, "Spectral
    Normalization for GANs", equations 16-17): D cost mean relu(1 - D(x)) +
    mean relu(1 + D(G(z))); G cost -mean D(G(z)). Usually paired with spectral norm.
    """

    probabilistic = False

    def d_cost(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()

    def g_cost(self, d_fake: Tensor) -> Tensor:
        return -d_fake.mean()


class LeastSquares(Loss):
    """LSGAN (Mao, Li, Xie, Lau, Wang and Smolley, 2017, "Least Squares Generative
    Adversarial Networks", equation 2 with a = 0, b = 1, c = 1): D cost
    0.5 * mean((D(x) - 1)^2) + 0.5 * mean(D(G(z))^2); G cost 0.5 * mean((D(G(z)) - 1)^2).
    D's output is a raw score (no sigmoid).
    """

    probabilistic = False

    def d_cost(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return 0.5 * (d_real - 1.0).square().mean() + 0.5 * d_fake.square().mean()

    def g_cost(self, d_fake: Tensor) -> Tensor:
        return 0.5 * (d_fake - 1.0).square().mean()


SEMI_SUPERVISED = "semi-supervised"
"""The registry name of :class:`SemiSupervised`."""


class SemiSupervised(Loss):
    """Salimans et al. (2016), "Improved techniques for training GANs", section 5: D has K
    class logits l and a fake logit fixed at 0, so D(x) = Z / (Z + 1) with
    Z = sum_k exp(l_k), i.e. D's real/fake logit is logsumexp(l). D's cost is the
    cross-entropy on labelled real rows plus the unsupervised cost on unlabelled real and
    fake rows, 0.5 * (mean softplus(-lse(l_real)) + mean softplus(lse(l_fake))) (the 0.5
    of the authors' code); G is trained by feature matching,
    ||mean f(x) - mean f(G(z))||^2 / width on D's last hidden layer f. The costs need
    labelled batches and D's features, so the loop is
    :class:`gannet.training.SemiSupervisedTrainer`; ``d_cost``/``value`` take the real/fake
    logits lse(l) (what metrics.jsonl's d_real/d_fake columns summarise)."""

    probabilistic = False  # G does not descend a cost of D(G(z)): no saturation warning

    def g_cost(self, d_fake: Tensor) -> Tensor:
        raise GannetError(
            f"loss.name={SEMI_SUPERVISED!r} trains G by feature matching: train it with "
            "gannet.training.SemiSupervisedTrainer (gannet train and start_run pick it)"
        )

    @staticmethod
    def supervised_cost(logits: Tensor, labels: Tensor) -> Tensor:
        """Cross-entropy of the K class logits on labelled real rows."""
        return F.cross_entropy(logits, labels)

    @staticmethod
    def unsupervised_cost(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
        """-0.5 * (mean log D(x) + mean log(1 - D(G(z)))) with D = sigmoid(logsumexp(l))."""
        real, fake = logits_real.logsumexp(1), logits_fake.logsumexp(1)
        return 0.5 * (F.softplus(-real).mean() + F.softplus(fake).mean())

    def semi_supervised_cost(
        self, logits_labelled: Tensor, labels: Tensor, logits_real: Tensor, logits_fake: Tensor
    ) -> Tensor:
        """D's whole cost: supervised on the labelled rows plus unsupervised on the rest."""
        return self.supervised_cost(logits_labelled, labels) + self.unsupervised_cost(
            logits_real, logits_fake
        )

    @staticmethod
    def feature_matching(features_real: Tensor, features_fake: Tensor) -> Tensor:
        """G's cost: the squared L2 distance between the mean real and mean fake features,
        divided by the number of features (the authors' code takes the mean; the paper's
        ||.||^2 is this times the width)."""
        return (features_real.mean(0) - features_fake.mean(0)).square().mean()


DDPM = "ddpm"
"""The registry name of :class:`NoisePrediction`."""


class NoisePrediction(Loss):
    """Denoising diffusion (Ho et al., 2020), not a game: the noise predictor of
    ``model.generator = 'ddpm-unet'`` descends L_simple, the mean squared error of its
    prediction of the noise in x_t (:func:`gannet.diffusion.epsilon_loss`). There is no D,
    so D's cost is 0; the loop is :class:`gannet.training.DiffusionTrainer`."""

    probabilistic = False

    def d_cost(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return d_real.new_zeros(())

    def g_cost(self, d_fake: Tensor) -> Tensor:
        raise GannetError(
            f"loss.name={DDPM!r} trains a noise predictor: train it with "
            "gannet.training.DiffusionTrainer (gannet train and start_run pick it)"
        )


LOSSES: Registry[type[Loss]] = Registry("loss")
LOSSES.register("minimax")(Minimax)
LOSSES.register("non-saturating")(NonSaturating)
LOSSES.register("wasserstein")(Wasserstein)
LOSSES.register("wgan-gp")(WassersteinGP)
LOSSES.register("hinge")(Hinge)
LOSSES.register("least-squares")(LeastSquares)
LOSSES.register(SEMI_SUPERVISED)(SemiSupervised)
LOSSES.register(DDPM)(NoisePrediction)


def make_loss(name: str) -> Loss:
    """The registered loss ``name``; an unknown name is a GannetError listing the choices."""
    return LOSSES.get(name)(name)


def game_value(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Minibatch estimate of V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))]."""
    return -(F.softplus(-d_real).mean() + F.softplus(d_fake).mean())


def probabilities(logits: Tensor) -> Tensor:
    return torch.sigmoid(logits)
