"""Noise priors p_z."""

from __future__ import annotations

import math

import torch

UNIFORM_BOUND = math.sqrt(3.0)
"""The uniform prior's support is [-sqrt 3, sqrt 3]: unit variance."""


def sample_noise(
    n: int,
    z_dim: int,
    kind: str,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw n noise vectors: 'uniform' on [-sqrt(3), sqrt(3)] (unit variance, the paper's
    MNIST setup) or 'normal' N(0, I)."""
    if kind == "uniform":
        a = UNIFORM_BOUND
        z = torch.rand(n, z_dim, device=device, generator=generator)
        return z.mul_(2 * a).sub_(a)
    if kind == "normal":
        return torch.randn(n, z_dim, device=device, generator=generator)
    raise ValueError(f"unknown noise prior {kind!r}")
