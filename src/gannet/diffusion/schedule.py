"""The DDPM forward process (Ho et al., 2020): the noise schedule beta_1..beta_T, the
marginal q(x_t | x_0) and the epsilon-prediction loss.

Time steps are 0-based here: index ``t`` in 0..T-1 is the paper's step t + 1, so
``alpha_bar[t] = prod_{s <= t} (1 - beta[s])`` and ``alpha_bar[0] = 1 - beta[0]``.

* ``linear``: beta rises linearly from 1e-4 to 0.02 over T = 1000 steps (Ho et al.); for
  another T both ends are scaled by 1000 / T, so the total noise added stays about the same
  (Nichol & Dhariwal, 2021).
* ``cosine``: alpha_bar(t) = f(t) / f(0), f(t) = cos(((t / T + s) / (1 + s)) * pi / 2)^2,
  s = 0.008, each beta capped at 0.999 (Nichol & Dhariwal, 2021).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

BetaSchedule = Literal["linear", "cosine"]
BETA_SCHEDULES: tuple[str, ...] = ("linear", "cosine")


def make_betas(kind: str, steps: int) -> Tensor:
    """beta_1..beta_T (float64, shape (T,)) of schedule ``kind`` with T = ``steps``."""
    if kind == "linear":
        scale = 1000.0 / steps
        return torch.linspace(scale * 1e-4, scale * 0.02, steps, dtype=torch.float64)
    if kind == "cosine":
        s = 0.008
        t = torch.arange(steps + 1, dtype=torch.float64) / steps
        f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
        alpha_bar = f / f[0]
        return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    raise ValueError(f"unknown beta schedule {kind!r}; choose one of {', '.join(BETA_SCHEDULES)}")


class NoiseSchedule(nn.Module):
    """beta, alpha = 1 - beta and alpha_bar of one schedule, as non-persistent float32
    buffers (rebuilt from the config, never stored in a checkpoint; they follow ``.to``)."""

    betas: Tensor
    alphas: Tensor
    alpha_bar: Tensor

    def __init__(self, kind: str = "linear", steps: int = 1000) -> None:
        super().__init__()
        betas = make_betas(kind, steps)
        alpha_bar = torch.cumprod(1 - betas, 0)
        self.kind, self.steps = kind, steps
        self.register_buffer("betas", betas.float(), persistent=False)
        self.register_buffer("alphas", (1 - betas).float(), persistent=False)
        self.register_buffer("alpha_bar", alpha_bar.float(), persistent=False)

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """A draw of q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) with the
        given standard normal ``noise``; ``t`` holds one 0-based step per row of ``x0``."""
        ab = self.alpha_bar.index_select(0, t).view(-1, *([1] * (x0.dim() - 1)))
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def sample_t(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        """n steps uniform on 0..T-1, from the global torch RNG."""
        return torch.randint(self.steps, (n,), device=device)


def epsilon_loss(predicted: Tensor, noise: Tensor) -> Tensor:
    """Ho et al.'s simplified objective L_simple: the mean squared error between the noise
    that was added and the network's prediction of it."""
    return F.mse_loss(predicted.float(), noise.float())
