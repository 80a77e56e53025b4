"""Small MLPs for low-dimensional data (the 1-D and 2-D toy distributions).

Widths come from ``model.g_hidden`` / ``model.d_hidden``; the generator's output is linear
(unbounded), the discriminator uses LeakyReLU and returns logits.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gannet.models.base import MODELS, ModelEntry


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, hidden: list[int], sample_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        layers: list[nn.Module] = []
        width = z_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, math.prod(sample_shape)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.sample_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, sample_shape: tuple[int, ...], hidden: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(sample_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


MODELS.register("mlp-g")(
    ModelEntry(
        "generator",
        lambda cfg, shape, mean: MLPGenerator(cfg.z_dim, cfg.g_hidden, shape),
        "ReLU MLP with linear output (toy data)",
    )
)
MODELS.register("mlp-d")(
    ModelEntry(
        "discriminator",
        lambda cfg, shape, mean: MLPDiscriminator(shape, cfg.d_hidden),
        "LeakyReLU MLP (toy data)",
    )
)
