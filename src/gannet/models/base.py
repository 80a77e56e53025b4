"""The model registry: each entry builds a generator or a discriminator from the config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from gannet.config import ModelConfig
from gannet.errors import GannetError
from gannet.registry import Registry

Builder = Callable[[ModelConfig, tuple[int, ...], "torch.Tensor | None"], nn.Module]
ChannelBuilder = Callable[[ModelConfig, tuple[int, ...], int], nn.Module]


@dataclass
class ModelEntry:
    role: Literal["generator", "discriminator"]
    build: Builder
    """build(cfg, sample_shape, data_mean) -> nn.Module; data_mean is the per-feature
    mean of the training data (for output-bias initialisation), or None."""
    description: str = ""
    build_with_label_channels: ChannelBuilder | None = None
    """Image (conv) discriminators: build(cfg, sample_shape, extra_channels) -> a D whose
    input has extra_channels more channels; a conditional 'concat' D then feeds the label as
    constant maps. None: a conditional 'concat' D flattens its input and appends the label
    code as extra features (MLPs)."""


MODELS: Registry[ModelEntry] = Registry("model")


def _build(
    role: str,
    name: str,
    cfg: ModelConfig,
    shape: tuple[int, ...],
    data_mean: torch.Tensor | None,
    num_classes: int,
) -> nn.Module:
    entry = MODELS.get(name)
    if entry.role != role:
        others = [n for n in MODELS.names() if MODELS.get(n).role == role]
        raise GannetError(
            f"model {name!r} is a {entry.role}, not a {role}; {role}s are: {', '.join(others)}"
        )
    if not cfg.conditional:
        return entry.build(cfg, shape, data_mean)
    from gannet.models.conditional import conditional_discriminator, conditional_generator

    if role == "generator":
        return conditional_generator(entry, cfg, shape, data_mean, num_classes)
    return conditional_discriminator(entry, name, cfg, shape, num_classes)


def build_generator(
    cfg: ModelConfig,
    sample_shape: tuple[int, ...],
    data_mean: torch.Tensor | None = None,
    num_classes: int = 0,
) -> nn.Module:
    """G: noise (B, z_dim) -> samples (B, *sample_shape). With ``cfg.conditional`` it is
    called as G(z, labels) (labels int64 (B,) in 0..num_classes-1; None = uniform labels)."""
    return _build("generator", cfg.generator, cfg, sample_shape, data_mean, num_classes)


def build_discriminator(
    cfg: ModelConfig, sample_shape: tuple[int, ...], num_classes: int = 0
) -> nn.Module:
    """D: samples (B, *sample_shape) -> logits (B,). D(x) = sigmoid(logit). With
    ``cfg.conditional`` it is called as D(x, labels)."""
    return _build("discriminator", cfg.discriminator, cfg, sample_shape, None, num_classes)
