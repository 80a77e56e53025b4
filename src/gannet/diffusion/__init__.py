"""Denoising diffusion (Ho et al., 2020) in gannet: the forward process and loss
(:mod:`~gannet.diffusion.schedule`), the samplers (:mod:`~gannet.diffusion.samplers`) and
a compact U-Net (:mod:`~gannet.diffusion.unet`). The model registered for runs is
``ddpm-unet`` (:mod:`gannet.models.ddpm`); its trainer is
:class:`gannet.training.DiffusionTrainer`. See docs/diffusion.md."""

from gannet.diffusion.samplers import ancestral_sample, ddim_sample, timesteps
from gannet.diffusion.schedule import NoiseSchedule, epsilon_loss, make_betas
from gannet.diffusion.unet import UNet, timestep_embedding

__all__ = [
    "NoiseSchedule",
    "UNet",
    "ancestral_sample",
    "ddim_sample",
    "epsilon_loss",
    "make_betas",
    "timestep_embedding",
    "timesteps",
]
