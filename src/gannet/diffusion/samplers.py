"""Reverse processes of a trained noise predictor eps(x_t, t): ancestral sampling (Ho et al.,
2020, Algorithm 2) and DDIM (Song, Meng & Ermon, 2021), on all T steps or on an evenly
spaced subsequence of them.

Both start from x_T (the caller's standard normal noise) and return x_0 in the model's
[-1, 1] range. On a subsequence tau_1 < ... < tau_S each step goes from tau_i to tau_{i-1}
with the "respaced" beta' = 1 - alpha_bar(tau_i) / alpha_bar(tau_{i-1}) (Nichol &
Dhariwal, 2021); with S = T this is the original chain. The predicted x_0 is clipped to
[-1, 1] at every step (``clip``), as in Ho et al.'s released sampler.

* :func:`ancestral_sample`: x_{t-1} ~ N(posterior mean, beta'_t I), the paper's
  sigma_t^2 = beta_t; fresh noise at every step but the last (from ``generator``, else the
  global torch RNG).
* :func:`ddim_sample`: eta = 0 is deterministic (x_0 a function of x_T alone), eta = 1
  the DDPM posterior variance.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gannet.diffusion.schedule import NoiseSchedule

NoisePredictor = Callable[[Tensor, Tensor], Tensor]
"""eps(x_t, t): the predicted noise, for a batch x_t and one 0-based step per row."""


def timesteps(total: int, steps: int) -> list[int]:
    """``steps`` 0-based steps evenly spaced over 0..total-1, ascending, first 0 and last
    total-1 (every step when steps = total)."""
    if not 1 <= steps <= total:
        raise ValueError(f"steps must be in 1..{total}, got {steps}")
    if steps == 1:
        return [total - 1]
    grid = torch.linspace(0, total - 1, steps, dtype=torch.float64).round().long()
    return grid.tolist()


def _predict(
    model: NoisePredictor, x: Tensor, t: int, ab: Tensor, clip: bool
) -> tuple[Tensor, Tensor]:
    """(x_0 estimate, the noise consistent with it) at step t."""
    eps = model(x, torch.full((len(x),), t, dtype=torch.long, device=x.device))
    x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
    if clip:
        x0 = x0.clamp(-1, 1)
        eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
    return x0, eps


@torch.no_grad()
def ancestral_sample(
    model: NoisePredictor,
    schedule: NoiseSchedule,
    x_T: Tensor,
    steps: int | None = None,
    clip: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Ho et al.'s Algorithm 2 from ``x_T`` over ``steps`` evenly spaced steps (default all
    T): x_{t-1} = posterior mean(x_0 estimate, x_t) + sqrt(beta'_t) z, no noise at the end."""
    seq = timesteps(schedule.steps, steps or schedule.steps)
    x, ab_all = x_T, schedule.alpha_bar
    one = ab_all.new_ones(())
    for i in range(len(seq) - 1, -1, -1):
        ab, ab_prev = ab_all[seq[i]], ab_all[seq[i - 1]] if i > 0 else one
        beta = 1 - ab / ab_prev
        x0, _ = _predict(model, x, seq[i], ab, clip)
        # The posterior q(x_{t-1} | x_t, x_0)'s mean (Ho et al., equation 7).
        mean = (ab_prev.sqrt() * beta * x0 + (1 - beta).sqrt() * (1 - ab_prev) * x) / (1 - ab)
        if i == 0:
            x = mean
        else:
            z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = mean + beta.sqrt() * z
    return x


@torch.no_grad()
def ddim_sample(
    model: NoisePredictor,
    schedule: NoiseSchedule,
    x_T: Tensor,
    steps: int,
    eta: float = 0.0,
    clip: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """DDIM from ``x_T`` over ``steps`` evenly spaced steps: x_{t'} = sqrt(ab') x_0 +
    sqrt(1 - ab' - sigma^2) eps + sigma z with sigma = eta sqrt((1 - ab') / (1 - ab))
    sqrt(1 - ab / ab'); eta = 0 draws no noise (deterministic given x_T)."""
    seq = timesteps(schedule.steps, steps)
    x, ab_all = x_T, schedule.alpha_bar
    one = ab_all.new_ones(())
    for i in range(len(seq) - 1, -1, -1):
        ab, ab_prev = ab_all[seq[i]], ab_all[seq[i - 1]] if i > 0 else one
        x0, eps = _predict(model, x, seq[i], ab, clip)
        sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).sqrt()
        x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps
        if eta > 0 and i > 0:
            z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = x + sigma * z
    return x
