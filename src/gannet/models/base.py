"""The model registry: each entry builds a generator or a discriminator from the config.

The builders that pick an entry by name (and wrap it for conditional runs) are in
:mod:`gannet.models.build`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from gannet.config import ModelConfig
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
