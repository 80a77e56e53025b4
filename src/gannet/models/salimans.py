"""The semi-supervised MNIST models of Salimans et al. (2016), "Improved techniques for
training GANs" (their released code, ``train_mnist_feature_matching.py``).

G (``salimans-g``): z -> [Linear (no bias) -> batch norm -> softplus] x len(g_hidden) ->
   weight-normalised Linear -> sigmoid (paper: 500, 500).
D (``salimans-d``): x -> Gaussian noise (sigma 0.3) -> [weight-normalised Linear -> ReLU ->
   Gaussian noise (sigma 0.5)] x len(d_hidden) -> weight-normalised Linear -> ``d_classes``
   class logits (paper: 1000, 500, 250, 250, 250; 10 classes). The noise is drawn in
   training mode only, from the global torch RNG (so exact resume holds). Only the output
   layer trains its weight-norm scale g; the hidden layers' g are fixed at 1 (a buffer), and
   the directions v start at N(0, 0.1^2), the authors' initial values. Their code also ran
   weight normalisation's data-dependent initialisation (every hidden unit's pre-activation
   scaled to standard deviation 1 on 500 training rows); gannet does not: with those larger
   fixed gains D separated real from generated rows almost at once (log Z about +14 / -7),
   its unsupervised gradient vanished, and the test error stayed at the 100-label supervised
   level (about 23 %) for 5 epochs, while with gains of 1 it fell to 10 % in the same 5
   (docs/semisupervised.md).

D's "fake" logit is fixed at 0: with l_1..l_K its class logits and Z = sum_k exp(l_k),
D(x) = Z / (Z + 1) = sigmoid(logsumexp(l)) (:mod:`gannet.training.semisup`).
:meth:`SalimansDiscriminator.features` is the last hidden layer after its ReLU and before
its noise (the authors' ``layers[-3]``), the layer G's feature matching compares.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gannet.config import ModelConfig
from gannet.models.base import MODELS, ModelEntry

INPUT_NOISE = 0.3
"""Standard deviation of the Gaussian noise added to D's input (training mode)."""
HIDDEN_NOISE = 0.5
"""Standard deviation of the Gaussian noise added to D's hidden layers (training mode)."""
D_INIT_STD = 0.1
"""Standard deviation of the initial directions v of D's layers (the authors' N(0, 0.1^2))."""


class GaussianNoise(nn.Module):
    """x + sigma * N(0, 1) in training mode; x unchanged in evaluation mode."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.sigma == 0:
            return x
        return x + self.sigma * torch.randn_like(x)


class WNLinear(nn.Module):
    """A weight-normalised linear layer: w_i = g_i * v_i / ||v_i|| (Salimans & Kingma 2016).
    With ``train_scale`` False, g is a buffer fixed at 1 (D's hidden layers). v starts at
    N(0, ``init_std``^2), g at 1, b at 0."""

    g: Tensor

    def __init__(
        self,
        in_features: int,
        out_features: int,
        train_scale: bool = True,
        init_std: float = 0.05,
    ) -> None:
        super().__init__()
        self.v = nn.Parameter(torch.randn(out_features, in_features) * init_std)
        if train_scale:
            self.g = nn.Parameter(torch.ones(out_features))
        else:
            self.register_buffer("g", torch.ones(out_features))
        self.b = nn.Parameter(torch.zeros(out_features))

    def weight(self) -> Tensor:
        """The effective weight matrix (out_features, in_features)."""
        return self.v * (self.g / self.v.norm(dim=1)).unsqueeze(1)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight(), self.b)


class SalimansGenerator(nn.Module):
    """Softplus MLP with batch norm, weight-normalised sigmoid output."""

    def __init__(self, z_dim: int, hidden: list[int], sample_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        layers: list[nn.Module] = []
        width = z_dim
        for h in hidden:
            layers += [nn.Linear(width, h, bias=False), nn.BatchNorm1d(h), nn.Softplus()]
            width = h
        self.hidden = nn.Sequential(*layers)
        self.output = WNLinear(width, math.prod(sample_shape))

    def forward(self, z: Tensor) -> Tensor:
        x = torch.sigmoid(self.output(self.hidden(z)))
        return x.view(z.shape[0], *self.sample_shape)


class SalimansDiscriminator(nn.Module):
    """Weight-normalised ReLU MLP with Gaussian noise; returns (B, classes) class logits."""

    def __init__(self, sample_shape: tuple[int, ...], hidden: list[int], classes: int) -> None:
        super().__init__()
        self.classes = classes
        layers: list[nn.Module] = [nn.Flatten(), GaussianNoise(INPUT_NOISE)]
        width = math.prod(sample_shape)
        for i, h in enumerate(hidden):
            if i:
                layers.append(GaussianNoise(HIDDEN_NOISE))
            layers += [WNLinear(width, h, False, D_INIT_STD), nn.ReLU()]
            width = h
        self.body = nn.Sequential(*layers)
        """Input noise, then the hidden layers, up to the last one's ReLU."""
        self.last_noise = GaussianNoise(HIDDEN_NOISE if hidden else 0.0)
        self.output = WNLinear(width, classes, True, D_INIT_STD)

    def features(self, x: Tensor) -> Tensor:
        """The last hidden layer after its ReLU, before its noise: what feature matching
        compares (the authors' ``layers[-3]``)."""
        out: Tensor = self.body(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.output(self.last_noise(self.features(x)))
        return out


def _generator(cfg: ModelConfig, shape: tuple[int, ...], data_mean: Tensor | None) -> nn.Module:
    return SalimansGenerator(cfg.z_dim, cfg.g_hidden, shape)


def _discriminator(cfg: ModelConfig, shape: tuple[int, ...], data_mean: Tensor | None) -> nn.Module:
    return SalimansDiscriminator(shape, cfg.d_hidden, cfg.d_classes)


MODELS.register("salimans-g")(
    ModelEntry(
        "generator",
        _generator,
        "softplus MLP with batch norm, weight-normed sigmoid output (Salimans et al. 2016)",
    )
)
MODELS.register("salimans-d")(
    ModelEntry(
        "discriminator",
        _discriminator,
        "weight-normed ReLU MLP with Gaussian noise, model.d_classes class logits "
        "(semi-supervised, Salimans et al. 2016)",
    )
)
