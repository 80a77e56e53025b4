"""The paper's MNIST models (the authors' Pylearn2 configuration).

G: z (100) -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid; weights U(+-0.05); output bias
   initialised from the training pixel marginals.
D: x (784) -> maxout 240 x 5 -> maxout 240 x 5 -> 1 (logit); weights U(+-0.005);
   dropout keeps inputs with p = 0.8 and hidden units with p = 0.5 (inverted scaling).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gannet.config import ModelConfig
from gannet.models.base import MODELS, ModelEntry
from gannet.models.dropout import FastDropout


def _init_uniform(layer: nn.Linear, irange: float) -> None:
    nn.init.uniform_(layer.weight, -irange, irange)
    nn.init.zeros_(layer.bias)


class PaperGenerator(nn.Module):
    """Rectifier hidden layers, sigmoid output; noise only at the bottom."""

    def __init__(
        self,
        z_dim: int,
        hidden: list[int],
        sample_shape: tuple[int, ...],
        irange: float,
        data_mean: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        out = math.prod(sample_shape)
        layers: list[nn.Module] = []
        width = z_dim
        for h in hidden:
            linear = nn.Linear(width, h)
            _init_uniform(linear, irange)
            layers += [linear, nn.ReLU()]
            width = h
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(width, out)
        _init_uniform(self.output, irange)
        if data_mean is not None:
            # Pylearn2's init_bias_target_marginals: sigmoid(bias) = mean pixel value.
            p = data_mean.reshape(-1).double().clamp(1e-6, 1 - 1e-6)
            with torch.no_grad():
                self.output.bias.copy_(torch.log(p / (1 - p)).float())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(self.output(self.hidden(z)))
        return x.view(z.shape[0], *self.sample_shape)


class Maxout(nn.Module):
    """max over `pieces` linear pieces per unit. Weight rows are piece-major so the max
    runs over a leading axis of contiguous (B, units) slabs."""

    def __init__(self, in_features: int, units: int, pieces: int, irange: float) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)
        _init_uniform(self.linear, irange)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x).view(x.shape[0], self.pieces, self.units)
        return y.amax(dim=1)


class PaperDiscriminator(nn.Module):
    """Maxout layers with dropout; returns logits (B,)."""

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        hidden: list[int],
        pieces: int,
        irange: float,
        input_keep: float,
        hidden_keep: float,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten(), FastDropout(input_keep)]
        width = math.prod(sample_shape)
        for h in hidden:
            layers += [Maxout(width, h, pieces, irange), FastDropout(hidden_keep)]
            width = h
        self.features = nn.Sequential(*layers)
        self.output = nn.Linear(width, 1)
        _init_uniform(self.output, irange)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(x)).view(-1)


def _paper_generator(
    cfg: ModelConfig, shape: tuple[int, ...], data_mean: torch.Tensor | None
) -> nn.Module:
    mean = data_mean if cfg.output_bias_from_data else None
    return PaperGenerator(cfg.z_dim, cfg.g_hidden, shape, cfg.g_init_range, mean)


def _paper_discriminator(
    cfg: ModelConfig, shape: tuple[int, ...], data_mean: torch.Tensor | None
) -> nn.Module:
    return PaperDiscriminator(
        shape, cfg.d_hidden, cfg.d_pieces, cfg.d_init_range, cfg.d_input_keep, cfg.d_hidden_keep
    )


MODELS.register("paper-mlp")(
    ModelEntry("generator", _paper_generator, "ReLU MLP with sigmoid output (paper, MNIST)")
)
MODELS.register("paper-maxout")(
    ModelEntry("discriminator", _paper_discriminator, "maxout MLP with dropout (paper, MNIST)")
)
