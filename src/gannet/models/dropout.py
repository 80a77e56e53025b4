"""Inverted dropout with cheap masks.

``nn.Dropout`` on the CPU draws one Bernoulli variate per element through a scalar path:
for the paper's discriminator that was about a tenth of a training iteration. Here each
element's keep/drop decision comes from 16 random bits: one 64-bit integer from the
global torch RNG serves four elements, and an element is kept when its 16 bits fall below
``round(keep * 65536)``. The keep probability is therefore ``round(keep * 65536) / 65536``
(exact for 0.5, 0.25, 0.75; 0.8 becomes 0.800003), and kept values are scaled by the
inverse of that exact probability, so the layer stays unbiased. All randomness comes from
the global torch RNG on the input's device, so a checkpointed RNG state replays the same
masks (exact resume).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

_LEVELS = 1 << 16


def quantized_keep(keep: float) -> float:
    """The keep probability actually used: a multiple of 2**-16."""
    return round(keep * _LEVELS) / _LEVELS


def dropout_mask(shape: tuple[int, ...], keep: float, device: torch.device) -> Tensor:
    """A bool tensor of ``shape``: True with probability ``quantized_keep(keep)``."""
    n = math.prod(shape)
    words = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64, device=device)
    # Each int64 holds four uniform 16-bit integers in [-32768, 32767].
    threshold = round(keep * _LEVELS) - _LEVELS // 2
    return words.view(torch.int16)[:n].lt(threshold).view(shape)


class FastDropout(nn.Module):
    """Inverted dropout keeping each input with probability ``keep`` (see module docs)."""

    def __init__(self, keep: float) -> None:
        super().__init__()
        if not 0 < keep <= 1 or quantized_keep(keep) == 0:
            raise ValueError(f"keep probability must be in [2**-16, 1], got {keep}")
        self.keep = keep

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.keep >= 1:
            return x
        p = quantized_keep(self.keep)
        scale = torch.full((), 1.0 / p, dtype=x.dtype, device=x.device)
        mask = dropout_mask(tuple(x.shape), self.keep, x.device).to(x.dtype).mul_(scale)
        return x * mask

    def extra_repr(self) -> str:
        return f"keep={self.keep} (effective {quantized_keep(self.keep):.6f})"
