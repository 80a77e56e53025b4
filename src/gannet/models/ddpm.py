"""The diffusion model as a gannet generator: ``ddpm-unet`` (a DDPM noise predictor and its
schedule) and ``none``, the discriminator of a run that has none.

``ddpm-unet``'s ``forward(z)`` is what every sampling path of gannet calls (``gannet
sample``, sample grids, ``Run.sample``, feature metrics): z is the starting noise x_T,
flattened (``model.z_dim`` = C x H x W, ``model.noise = 'normal'``), and the result is the
image in [0, 1] after ``sample_steps`` reverse steps of ``sampler``. With the default DDIM
sampler (eta = 0) a sample is a deterministic function of z, as a GAN's is. The noise
predictor itself is ``eps(x_t, t)``; training it is :class:`gannet.training.DiffusionTrainer`.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from gannet.config import ModelConfig
from gannet.diffusion import NoiseSchedule, UNet, ancestral_sample, ddim_sample
from gannet.errors import GannetError
from gannet.models.base import MODELS, ModelEntry

Sampler = Literal["ddim", "ancestral"]


class DiffusionGenerator(nn.Module):
    """A noise predictor, its schedule, and how ``forward`` samples with it."""

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        width: int,
        schedule: str = "linear",
        diffusion_steps: int = 1000,
        sample_steps: int = 50,
        sampler: Sampler = "ddim",
    ) -> None:
        super().__init__()
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.eps = UNet(self.sample_shape[0], width)
        self.schedule = NoiseSchedule(schedule, diffusion_steps)
        self.sample_steps, self.sampler = sample_steps, sampler

    def to_model_range(self, x: Tensor) -> Tensor:
        """Images in [0, 1] (as the data comes) -> the model's [-1, 1]."""
        return x * 2 - 1

    def predict_noise(self, x_t: Tensor, t: Tensor) -> Tensor:
        """eps(x_t, t) for x_t in the model's range (B, C, H, W) and 0-based steps t (B,)."""
        out: Tensor = self.eps(x_t, t)
        return out

    def set_sampling(self, steps: int | None = None, sampler: Sampler | None = None) -> None:
        """Change how :meth:`forward` samples (``gannet sample --steps``); one GannetError
        line for a step count outside 1..T."""
        if steps is not None:
            if not 1 <= steps <= self.schedule.steps:
                raise GannetError(
                    f"sampling steps must be from 1 to {self.schedule.steps} (the run's "
                    f"model.diffusion_steps), got {steps}"
                )
            self.sample_steps = steps
        if sampler is not None:
            self.sampler = sampler

    def forward(self, z: Tensor) -> Tensor:
        x_T = z.view(len(z), *self.sample_shape)
        if self.sampler == "ddim":
            x = ddim_sample(self.predict_noise, self.schedule, x_T, self.sample_steps)
        else:
            x = ancestral_sample(self.predict_noise, self.schedule, x_T, self.sample_steps)
        return ((x + 1) / 2).clamp(0, 1)


def set_sampling(generator: nn.Module, steps: int | None, sampler: Sampler | None) -> None:
    """``gannet sample --steps/--sampler`` on a run's generator: nothing when both are None;
    one GannetError line when the generator is not a diffusion model."""
    if steps is None and sampler is None:
        return
    if not isinstance(generator, DiffusionGenerator):
        name = type(generator).__name__
        raise GannetError(
            f"--steps and --sampler are for diffusion runs (model.generator = 'ddpm-unet'); "
            f"this run's generator is {name}, so drop them"
        )
    generator.set_sampling(steps, sampler)


class NoDiscriminator(nn.Module):
    """The ``none`` discriminator: a run without an adversary (diffusion). It holds one
    empty parameter only so that the trainer's D optimizer has a parameter list; calling
    it is an error."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(0))

    def forward(self, x: Tensor) -> Tensor:
        raise GannetError("model.discriminator = 'none' has no discriminator to evaluate")


def build_ddpm(cfg: ModelConfig, shape: tuple[int, ...], mean: Tensor | None) -> nn.Module:
    """``ddpm-unet`` for images (C, H, W) with H and W divisible by 4 and z = x_T."""
    if len(shape) != 3 or shape[1] % 4 or shape[2] % 4:
        raise GannetError(
            f"ddpm-unet needs images (C, H, W) with H and W divisible by 4, not {tuple(shape)}"
        )
    if cfg.z_dim != math.prod(shape):
        raise GannetError(
            f"ddpm-unet starts from noise the size of an image: set model.z_dim = "
            f"{math.prod(shape)} (C x H x W), not {cfg.z_dim}"
        )
    return DiffusionGenerator(
        shape, cfg.g_channels, cfg.beta_schedule, cfg.diffusion_steps,
        min(cfg.sample_steps, cfg.diffusion_steps), cfg.sampler,
    )  # fmt: skip


MODELS.register("ddpm-unet")(
    ModelEntry(
        "generator",
        build_ddpm,
        "DDPM noise predictor (compact U-Net) sampled by DDIM or ancestral steps",
    )
)
MODELS.register("none")(
    ModelEntry("discriminator", lambda cfg, shape, mean: NoDiscriminator(), "no discriminator")
)
