"""Build G and D from the config: the registry entry named by ``model.generator`` /
``model.discriminator``, wrapped for class-conditional runs (:mod:`gannet.models.conditional`).

Kept apart from the registry (:mod:`gannet.models.base`) so that the conditional wrappers,
which need :class:`~gannet.models.base.ModelEntry`, and the builders, which need the wrappers,
import one way only.
"""

from __future__ import annotations

import torch
from torch import nn

from gannet.config import ModelConfig
from gannet.errors import GannetError
from gannet.models.base import MODELS
from gannet.models.conditional import conditional_discriminator, conditional_generator


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
