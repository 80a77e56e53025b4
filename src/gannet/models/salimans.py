"""The semi-supervised MNIST models of Salimans et al. (2016), "Improved techniques for
training GANs" (their released code, ``train_mnist_feature_matching.py``).

G (``salimans-g``): z -> [Linear (no bias) -> batch norm -> softplus] x len(g_hidden) ->
   weight-normalised Linear -> sigmoid (paper: 500, 500).
D (``salimans-d``): x -> Gaussian noise (sigma 0.3) -> [weight-normalised Linear -> ReLU ->
   Gaussian noise (sigma 0.5)] x len(d_hidden) -> weight-normalised Linear -> ``d_classes``
   class logits (paper: 1000, 500, 250, 250, 250; 10 classes). The noise is drawn in
   training mode only, from the global torch RNG (so exact resume holds). As in the authors'
   code, only the output layer trains its weight-norm scale g; the hidden layers' g are set
   by the data-dependent initialisation and then fixed (a buffer).

D's "fake" logit is fixed at 0: with l_1..l_K its class logits and Z = sum_k exp(l_k),
D(x) = Z / (Z + 1) = sigmoid(logsumexp(l)) (:mod:`gannet.training.semisup`).
:meth:`SalimansDiscriminator.features` is the last hidden layer (after its noise), the layer
G's feature matching compares; :meth:`SalimansDiscriminator.init_from_data` is weight
normalisation's data-dependent initialisation (Salimans & Kingma 2016), which the
semi-supervised trainer runs once on training rows before the first update.
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
    With ``train_scale`` False, g is a buffer: set once by :meth:`init_from_data`, then
    fixed (the authors' hidden layers)."""

    g: Tensor

    def __init__(self, in_features: int, out_features: int, train_scale: bool = True) -> None:
        super().__init__()
        self.v = nn.Parameter(torch.randn(out_features, in_features) * 0.05)
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

    @torch.no_grad()
    def init_from_data(self, x: Tensor) -> Tensor:
        """Choose g and b so that this layer's outputs on ``x`` have mean 0 and standard
        deviation 1 per unit; returns those outputs."""
        self.g.fill_(1.0)
        self.b.zero_()
        out = self(x)
        mean, std = out.mean(0), out.std(0, unbiased=False).clamp_min(1e-6)
        self.g.div_(std)
        self.b.copy_(-mean / std)
        return (out - mean) / std


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
        for h in hidden:
            layers += [WNLinear(width, h, False), nn.ReLU(), GaussianNoise(HIDDEN_NOISE)]
            width = h
        self.body = nn.Sequential(*layers)
        self.output = WNLinear(width, classes)

    def features(self, x: Tensor) -> Tensor:
        """The last hidden layer (after its noise): what feature matching compares."""
        out: Tensor = self.body(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.output(self.features(x))
        return out

    @torch.no_grad()
    def init_from_data(self, x: Tensor) -> None:
        """Data-dependent initialisation, layer by layer on the rows ``x`` (no noise drawn)."""
        h = x.flatten(1)
        for module in [*self.body, self.output]:
            if isinstance(module, WNLinear):
                h = module.init_from_data(h)
            elif isinstance(module, nn.ReLU):
                h = module(h)


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
