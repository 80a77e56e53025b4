"""A StyleGAN2-style generator and discriminator at small scale (Karras et al., 2019, 2020).

G = mapping network + synthesis network.

* Mapping: z (normalised to unit second moment; a conditional run's label code normalised
  apart) -> ``model.mapping_layers`` equalised linear layers of width ``model.style_dim``
  with LeakyReLU, learning rate x 0.01 -> w. ``w_avg`` (a buffer) follows w's mean in training
  (decay 0.995) for the truncation trick: w <- w_avg + psi (w - w_avg).
* Synthesis: a learned constant 4 x 4 input; per resolution 4, 8, ..., H: (2x bilinear
  upsampling and) modulated + demodulated 3 x 3 convolutions, each followed by a noise input
  with learned per-channel strength, a bias and LeakyReLU; a toRGB 1 x 1 modulated conv (no
  demodulation) per resolution, the images summed across resolutions (skip architecture).
  Every layer takes its own w: ``2 log2(H) - 2`` of them.
* Style mixing regularisation: in training mode, with probability ``model.style_mixing``
  a second z's w replaces the first's from a random crossover layer on (one draw of the
  crossover per batch, from the global torch RNG, so a resumed run replays it).
* Output: StyleGAN's linear [-1, 1] image mapped to gannet's [0, 1] pixel range by
  x = (1 + img) / 2; not squashed in training (as StyleGAN), clamped to [0, 1] in eval mode.
  Eval mode also uses each noise input's fixed noise image, so samples depend on z alone.

D: StyleGAN2's residual discriminator: fromRGB (1 x 1 conv), per resolution H, ..., 8 a
residual block (two 3 x 3 convs, 2 x 2 average pooling, a 1 x 1 skip; sum / sqrt 2), then at
4 x 4 the minibatch-stddev channel (``model.mbstd_group``; 0 = off), a 3 x 3 conv, a linear
layer (``features`` ends here) and one linear output unit (``output``). No normalisation.

Widths: ``model.g_channels`` / ``model.d_channels`` at the image's resolution, doubling at
each halving, capped at ``model.max_channels`` (StyleGAN2 at 256 px and below: 512 wide
everywhere, i.e. g_channels = d_channels = max_channels = 512, style_dim = 512, 8 mapping
layers). Simplifications, said here: bilinear up- and average-pool downsampling instead of
the [1, 3, 3, 1] FIR filters; no path-length regulariser (lazy R1 is ``loss.r1_every``).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn

from gannet.config import ModelConfig
from gannet.errors import GannetError
from gannet.models.base import MODELS, ModelEntry
from gannet.models.noise import sample_noise
from gannet.models.stylegan_layers import (
    EqualConv2d,
    EqualLinear,
    MinibatchStddev,
    ModulatedConv2d,
    NoiseInput,
    ScaledLeakyReLU,
    downsample,
    lrelu,
    normalize_2nd_moment,
    upsample,
)

W_AVG_BETA = 0.995
"""w_avg <- lerp(mean(w), w_avg, 0.995) at every training forward pass (StyleGAN2)."""

MAPPING_LR_MUL = 0.01
"""The mapping network learns 100 times slower than the synthesis network (StyleGAN)."""


def stylegan_resolutions(sample_shape: tuple[int, ...]) -> list[int]:
    """[4, 8, ..., H] for a (C, H, H) shape with H a power of two >= 8; GannetError else."""
    shape = tuple(int(s) for s in sample_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] < 8 or shape[1] & (shape[1] - 1):
        raise GannetError(
            f"stylegan models need square images whose side is a power of two >= 8, as "
            f"(C, H, W), not {shape}; for a folder set data.image_size to 8, 16, 32, 64, ...; "
            "for MNIST (28 px) use dcgan-g/dcgan-d"
        )
    return [2**i for i in range(2, int(math.log2(shape[1])) + 1)]


def width(base: int, cap: int, top: int, res: int) -> int:
    """Channels at resolution ``res``: ``base`` at the top resolution, doubling at each
    halving, at most ``cap``."""
    return min(base * (top // res), cap)


class MappingNetwork(nn.Module):
    """z (B, z_dim) -> w (B, style_dim); tracks ``w_avg`` in training."""

    w_avg: Tensor

    def __init__(self, z_dim: int, style_dim: int, layers: int, label_dims: int = 0) -> None:
        super().__init__()
        self.label_dims = label_dims
        dims = [z_dim] + [style_dim] * layers
        self.layers = nn.ModuleList(
            EqualLinear(a, b, lr_mul=MAPPING_LR_MUL) for a, b in itertools.pairwise(dims)
        )
        self.register_buffer("w_avg", torch.zeros(style_dim))

    def forward(self, z: Tensor, track: bool = False) -> Tensor:
        if self.label_dims:  # [noise, label code]: each part normalised on its own
            k = z.shape[1] - self.label_dims
            z = torch.cat([normalize_2nd_moment(z[:, :k]), normalize_2nd_moment(z[:, k:])], 1)
        else:
            z = normalize_2nd_moment(z)
        for layer in self.layers:
            z = lrelu(layer(z))
        if track:
            with torch.no_grad():
                self.w_avg.copy_(z.detach().float().mean(0).lerp(self.w_avg, W_AVG_BETA))
        return z


class StyleLayer(nn.Module):
    """(upsample,) modulated 3 x 3 conv, noise, bias, LeakyReLU."""

    def __init__(self, cin: int, cout: int, w_dim: int, res: int, up: bool) -> None:
        super().__init__()
        self.up = up
        self.conv = ModulatedConv2d(cin, cout, w_dim, 3, demodulate=True)
        self.noise = NoiseInput(cout, res)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.up:
            x = upsample(x)
        x = self.noise(self.conv(x, w))
        return lrelu(x + self.bias.view(1, -1, 1, 1))


class ToRGB(nn.Module):
    """1 x 1 modulated conv to the image channels, no demodulation, plus a bias."""

    def __init__(self, cin: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(cin, channels, w_dim, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, w) + self.bias.view(1, -1, 1, 1)


class StyleGenerator(nn.Module):
    """z (B, z_dim) -> images (B, C, H, H) in [0, 1] (clamped in eval mode).

    ``G(z, truncation=psi)`` applies the truncation trick (None or 1 = off); the
    ``supports_truncation`` flag is what :mod:`gannet.trained.truncation` looks for."""

    supports_truncation = True

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        z_dim: int,
        style_dim: int = 128,
        mapping_layers: int = 2,
        channels: int = 32,
        max_channels: int = 256,
        style_mixing: float = 0.9,
        noise: str = "normal",
        label_dims: int = 0,
    ) -> None:
        super().__init__()
        resolutions = stylegan_resolutions(sample_shape)
        top, image_channels = resolutions[-1], int(sample_shape[0])
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.z_dim, self.noise_kind, self.label_dims = z_dim, noise, label_dims
        self.style_mixing = style_mixing
        self.mapping = MappingNetwork(z_dim, style_dim, mapping_layers, label_dims)
        c4 = width(channels, max_channels, top, 4)
        self.const = nn.Parameter(torch.randn(1, c4, 4, 4))
        self.layers = nn.ModuleList([StyleLayer(c4, c4, style_dim, 4, up=False)])
        self.to_rgb = nn.ModuleList([ToRGB(c4, image_channels, style_dim)])
        for res in resolutions[1:]:
            cin, cout = (
                width(channels, max_channels, top, res // 2),
                width(channels, max_channels, top, res),
            )
            self.layers.append(StyleLayer(cin, cout, style_dim, res, up=True))
            self.layers.append(StyleLayer(cout, cout, style_dim, res, up=False))
            self.to_rgb.append(ToRGB(cout, image_channels, style_dim))
        self.num_ws = len(self.layers) + 1
        """Layers that take a w: the convs, and the last toRGB (each other toRGB shares the
        w of the next block's first conv, as in StyleGAN2)."""

    def styles(self, z: Tensor, truncation: float | None = None) -> Tensor:
        """The per-layer w's (B, num_ws, style_dim) for z: mapping, truncation, and in
        training mode w_avg tracking and style mixing."""
        w = self.mapping(z, track=self.training)
        if truncation is not None and truncation != 1.0:
            w = self.mapping.w_avg.to(w.dtype).lerp(w, float(truncation))
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)
        if self.training and self.style_mixing > 0:
            cutoff = int(torch.randint(1, self.num_ws, ()))
            if float(torch.rand(())) < self.style_mixing:
                ws[:, cutoff:] = self.mapping(self.second_input(z)).unsqueeze(1)
        return ws

    def second_input(self, z: Tensor) -> Tensor:
        """A fresh draw from the prior for style mixing (a conditional run keeps its labels)."""
        k = z.shape[1] - self.label_dims
        fresh = sample_noise(z.shape[0], k, self.noise_kind, z.device).to(z.dtype)
        return torch.cat([fresh, z[:, k:]], 1)

    def synthesis(self, ws: Tensor) -> Tensor:
        """Images in StyleGAN's [-1, 1] scale (unclamped) from per-layer w's."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0])
        img = self.to_rgb[0](x, ws[:, 1])
        for i, to_rgb in enumerate(self.to_rgb[1:]):
            j = 2 * i + 1
            x = self.layers[j](x, ws[:, j])
            x = self.layers[j + 1](x, ws[:, j + 1])
            img = upsample(img) + to_rgb(x, ws[:, j + 2])
        return img

    def render(self, ws: Tensor) -> Tensor:
        """Images in gannet's [0, 1] from per-layer w's (clamped in eval mode)."""
        out = 0.5 + 0.5 * self.synthesis(ws)
        return out if self.training else out.clamp(0.0, 1.0)

    def forward(self, z: Tensor, truncation: float | None = None) -> Tensor:
        return self.render(self.styles(z, truncation))


class ResBlock(nn.Module):
    """StyleGAN2's residual D block: two 3 x 3 convs and a downsampling 1 x 1 skip."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(cin, cin, 3)
        self.conv1 = EqualConv2d(cin, cout, 3)
        self.skip = EqualConv2d(cin, cout, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        y = self.skip(downsample(x))
        x = downsample(lrelu(self.conv1(lrelu(self.conv0(x)))))
        return (x + y) / math.sqrt(2.0)


class StyleDiscriminator(nn.Module):
    """images (B, C, H, H) -> logits (B,); ``features`` up to the last hidden linear layer,
    ``output`` the final unit (so projection conditioning can split it)."""

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        channels: int = 32,
        max_channels: int = 256,
        mbstd_group: int = 4,
        extra_channels: int = 0,
    ) -> None:
        super().__init__()
        resolutions = stylegan_resolutions(sample_shape)
        top = resolutions[-1]
        c4 = width(channels, max_channels, top, 4)
        layers: list[nn.Module] = [
            EqualConv2d(
                int(sample_shape[0]) + extra_channels, width(channels, max_channels, top, top), 1
            ),
            ScaledLeakyReLU(),
        ]
        for res in reversed(resolutions[1:]):
            layers.append(
                ResBlock(
                    width(channels, max_channels, top, res),
                    width(channels, max_channels, top, res // 2),
                )
            )
        if mbstd_group > 0:
            layers.append(MinibatchStddev(mbstd_group))
        layers += [
            EqualConv2d(c4 + (mbstd_group > 0), c4, 3),
            ScaledLeakyReLU(),
            nn.Flatten(),
            EqualLinear(c4 * 16, c4),
            ScaledLeakyReLU(),
        ]
        self.features = nn.Sequential(*layers)
        self.output = nn.Linear(c4, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.output(self.features(x)).view(-1)


def _generator(cfg: ModelConfig, shape: tuple[int, ...], data_mean: Tensor | None) -> nn.Module:
    label_dims = 0
    if cfg.conditional:  # built by the conditional wrapper for [z, label code]
        if cfg.label_embedding == 0:
            raise GannetError(
                "stylegan-g with model.conditional = true needs a learned label code "
                "(model.label_embedding > 0, e.g. 10): style mixing redraws z and keeps the "
                "code, so it must know the code's size"
            )
        label_dims = cfg.label_embedding
    return StyleGenerator(
        shape,
        cfg.z_dim,
        cfg.style_dim,
        cfg.mapping_layers,
        cfg.g_channels,
        cfg.max_channels,
        cfg.style_mixing,
        cfg.noise,
        label_dims,
    )


def _discriminator(cfg: ModelConfig, shape: tuple[int, ...], data_mean: Tensor | None) -> nn.Module:
    return StyleDiscriminator(shape, cfg.d_channels, cfg.max_channels, cfg.mbstd_group)


def _discriminator_with_label_channels(
    cfg: ModelConfig, shape: tuple[int, ...], extra_channels: int
) -> nn.Module:
    return StyleDiscriminator(
        shape, cfg.d_channels, cfg.max_channels, cfg.mbstd_group, extra_channels
    )


MODELS.register("stylegan-g")(
    ModelEntry(
        "generator",
        _generator,
        "StyleGAN2-style: mapping network, modulated/demodulated convs, noise inputs, "
        "skip toRGB outputs, style mixing, truncation (square power-of-two images >= 8 px)",
    )
)
MODELS.register("stylegan-d")(
    ModelEntry(
        "discriminator",
        _discriminator,
        "StyleGAN2 residual discriminator with minibatch stddev, no normalisation "
        "(square power-of-two images >= 8 px)",
        build_with_label_channels=_discriminator_with_label_channels,
    )
)
