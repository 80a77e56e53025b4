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


@dataclass
class ModelEntry:
    role: Literal["generator", "discriminator"]
    build: Builder
    """build(cfg, sample_shape, data_mean) -> nn.Module; data_mean is the per-feature
    mean of the training data (for output-bias initialisation), or None."""
    description: str = ""


MODELS: Registry[ModelEntry] = Registry("model")


def _build(
    role: str, name: str, cfg: ModelConfig, shape: tuple[int, ...], data_mean: torch.Tensor | None
) -> nn.Module:
    entry = MODELS.get(name)
    if entry.role != role:
        others = [n for n in MODELS.names() if MODELS.get(n).role == role]
        raise GannetError(
            f"model {name!r} is a {entry.role}, not a {role}; {role}s are: {', '.join(others)}"
        )
    return entry.build(cfg, shape, data_mean)


def build_generator(
    cfg: ModelConfig, sample_shape: tuple[int, ...], data_mean: torch.Tensor | None = None
) -> nn.Module:
    """G: noise (B, z_dim) -> samples (B, *sample_shape)."""
    return _build("generator", cfg.generator, cfg, sample_shape, data_mean)


def build_discriminator(cfg: ModelConfig, sample_shape: tuple[int, ...]) -> nn.Module:
    """D: samples (B, *sample_shape) -> logits (B,). D(x) = sigmoid(logit)."""
    return _build("discriminator", cfg.discriminator, cfg, sample_shape, None)
