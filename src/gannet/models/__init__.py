"""Models: one registry of generators and discriminators, all plain ``nn.Module``s."""

from gannet.models import dcgan, paper, salimans, stylegan, toy  # noqa: F401  (registers the models)
from gannet.models.base import MODELS, ModelEntry
from gannet.models.build import build_discriminator, build_generator
from gannet.models.noise import sample_noise

__all__ = ["MODELS", "ModelEntry", "build_discriminator", "build_generator", "sample_noise"]
