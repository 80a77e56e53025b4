"""DCGAN generator and discriminator (Radford, Metz & Chintala, 2015).

G: z -> ConvTranspose2d "projection" to a k x k map (k = 7 for 28 x 28 samples, else 4),
   then stride-2 ConvTranspose2d layers with BatchNorm + ReLU, each halving the width, and a
   last stride-2 ConvTranspose2d to the image channels with a **sigmoid** output.
D: stride-2 Conv2d layers with LeakyReLU(0.2), each doubling the width, normalised after
   every layer but the first (``model.d_norm``: batch, layer or none), then one linear unit
   on the flattened k x k map: logits of shape (B,).

Output range: gannet's images are in [0, 1] everywhere (datasets, Parzen windows, sample
grids), so G ends in a sigmoid rather than DCGAN's tanh. The two are the same function up
to an affine map, (tanh(a) + 1) / 2 = sigmoid(2a): G is DCGAN's tanh generator rescaled to
[0, 1], with the last layer's pre-activation scaled by 2.

Shapes (C, H, W): (1, 28, 28) (MNIST-like: 7 -> 14 -> 28), (3, 32, 32) (CIFAR-10:
4 -> 8 -> 16 -> 32) and (C, 64, 64) for any C (image folders: 4 -> 8 -> 16 -> 32 -> 64).
Widths: ``model.g_channels`` is G's last hidden width and ``model.d_channels`` D's first; the
deepest layers are 2, 4 or 8 times wider. Weights are drawn from N(0, 0.02) and the scales of
the normalisation layers from N(1, 0.02), as in the paper; biases start at zero.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from gannet.config import ModelConfig
from gannet.errors import GannetError
from gannet.models.base import MODELS, ModelEntry

INIT_STD = 0.02
"""DCGAN initialisation: every weight from N(0, 0.02)."""

SUPPORTED = "(1, 28, 28) (MNIST-like), (3, 32, 32) (CIFAR-10) or (C, 64, 64) (image folders)"


def dcgan_layout(sample_shape: tuple[int, ...]) -> tuple[int, int]:
    """(k, stages) for a supported (C, H, W): the k x k size of G's first map / D's last,
    and the number of stride-2 layers between it and the image. GannetError otherwise."""
    shape = tuple(int(s) for s in sample_shape)
    if shape == (1, 28, 28):
        return 7, 2
    if shape == (3, 32, 32):
        return 4, 3
    if len(shape) == 3 and shape[0] >= 1 and shape[1:] == (64, 64):
        return 4, 4
    raise GannetError(
        f"dcgan models support samples of shape {SUPPORTED} in (C, H, W), not {shape}; "
        "for other data use paper-mlp/paper-maxout or mlp-g/mlp-d"
    )


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights; normalisation scales N(1, 0.02); all biases zero."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, INIT_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
            nn.init.normal_(m.weight, 1.0, INIT_STD)
            nn.init.zeros_(m.bias)


def _check_width(name: str, value: int) -> None:
    if value < 1:
        raise GannetError(f"model.{name} must be at least 1, got {value}")


class DCGANGenerator(nn.Module):
    """z (B, z_dim) -> images (B, C, H, W) in [0, 1]."""

    def __init__(self, z_dim: int, sample_shape: tuple[int, ...], channels: int = 64) -> None:
        super().__init__()
        _check_width("g_channels", channels)
        k, stages = dcgan_layout(sample_shape)
        self.sample_shape = tuple(sample_shape)
        widths = [channels * 2 ** (stages - 1 - i) for i in range(stages)]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, widths[0], k, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        for a, b in itertools.pairwise(widths):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        layers.append(nn.ConvTranspose2d(widths[-1], self.sample_shape[0], 4, 2, 1))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z.view(z.shape[0], -1, 1, 1)))


class DCGANDiscriminator(nn.Module):
    """images (B, C, H, W) -> logits (B,). ``features`` is everything up to the flattened last
    map (phi(x) of a projection discriminator), ``output`` the final linear unit."""

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        channels: int = 64,
        norm: str = "batch",
        extra_channels: int = 0,
    ) -> None:
        super().__init__()
        _check_width("d_channels", channels)
        k, stages = dcgan_layout(sample_shape)
        widths = [channels * 2**i for i in range(stages)]
        layers: list[nn.Module] = [
            nn.Conv2d(int(sample_shape[0]) + extra_channels, widths[0], 4, 2, 1),
            nn.LeakyReLU(0.2),
        ]
        for a, b in itertools.pairwise(widths):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=norm == "none"), *_norm(norm, b)]
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        self.output = nn.Linear(widths[-1] * k * k, 1)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(x)).view(-1)


def _norm(kind: str, width: int) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm2d(width)]
    if kind == "layer":  # layer norm over (C, H, W), per-channel scale and shift
        return [nn.GroupNorm(1, width)]
    if kind == "none":
        return []
    raise GannetError(f"model.d_norm must be one of 'batch', 'layer', 'none', got {kind!r}")


def _generator(
    cfg: ModelConfig, shape: tuple[int, ...], data_mean: torch.Tensor | None
) -> nn.Module:
    return DCGANGenerator(cfg.z_dim, shape, cfg.g_channels)


def _discriminator(
    cfg: ModelConfig, shape: tuple[int, ...], data_mean: torch.Tensor | None
) -> nn.Module:
    return DCGANDiscriminator(shape, cfg.d_channels, cfg.d_norm)


def _discriminator_with_label_channels(
    cfg: ModelConfig, shape: tuple[int, ...], extra_channels: int
) -> nn.Module:
    return DCGANDiscriminator(shape, cfg.d_channels, cfg.d_norm, extra_channels)


MODELS.register("dcgan-g")(
    ModelEntry(
        "generator",
        _generator,
        "DCGAN transposed-conv generator with BatchNorm, sigmoid output (28/32/64 px images)",
    )
)
MODELS.register("dcgan-d")(
    ModelEntry(
        "discriminator",
        _discriminator,
        "DCGAN strided-conv discriminator, LeakyReLU(0.2) (28/32/64 px images)",
        build_with_label_channels=_discriminator_with_label_channels,
    )
)
