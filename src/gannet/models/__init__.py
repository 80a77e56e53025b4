"""Models: one registry of generators and discriminators, all plain ``nn.Module``s."""

from gannet.models import (  # noqa: F401  (registers the models)
    dcgan,
    ddpm,
    paper,
    salimans,
    stylegan,
    toy,
)
from gannet.models.base import MODELS, ModelEntry
from gannet.models.build import build_discriminator, build_generator
from gannet.models.noise import sample_noise

__all__ = ["MODELS", "ModelEntry", "build_discriminator", "build_generator", "sample_noise"]
