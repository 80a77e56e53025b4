"""The layers StyleGAN2 (Karras et al., 2020) is built from: equalised-learning-rate linear and
conv layers, the modulated and demodulated 3x3 convolution, per-layer noise inputs, and the
minibatch standard-deviation layer of the discriminator.

Equalised learning rate: weights are stored as N(0, 1) (divided by ``lr_mul``) and multiplied
by ``lr_mul / sqrt(fan_in)`` at every forward pass, so Adam's per-parameter steps are the same
relative size in every layer; ``lr_mul = 0.01`` slows the mapping network as in the paper.
The linear and conv layers subclass ``nn.Linear`` / ``nn.Conv2d`` so that gannet's spectral
norm, weight clipping and channels-last choices see them as what they are.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LRELU_GAIN = math.sqrt(2.0)
"""LeakyReLU(0.2) outputs are scaled by sqrt(2) to keep unit variance (StyleGAN2)."""


def lrelu(x: Tensor) -> Tensor:
    """LeakyReLU(0.2) times sqrt(2)."""
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


class ScaledLeakyReLU(nn.Module):
    """:func:`lrelu` as a module (for ``nn.Sequential``)."""

    def forward(self, x: Tensor) -> Tensor:
        return lrelu(x)


class EqualLinear(nn.Linear):
    """y = x (w * lr_mul / sqrt(in))^T + b * lr_mul, w stored as N(0, 1) / lr_mul."""

    def __init__(
        self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0
    ) -> None:
        super().__init__(in_features, out_features)
        self.lr_mul = lr_mul
        self.scale = lr_mul / math.sqrt(in_features)
        with torch.no_grad():
            self.weight.normal_().div_(lr_mul)
            self.bias.fill_(bias_init / lr_mul)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(nn.Conv2d):
    """A stride-1 'same' convolution with an equalised learning rate (N(0, 1) weights scaled
    by 1 / sqrt(in * k * k) at run time)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel, padding=kernel // 2, bias=bias)
        self.scale = 1.0 / math.sqrt(in_channels * kernel * kernel)
        with torch.no_grad():
            self.weight.normal_()
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    """x / sqrt(mean(x^2)) over each row (StyleGAN's 'pixel norm' of z)."""
    return x * (x.square().mean(1, keepdim=True) + eps).rsqrt()


def modulated_weight(weight: Tensor, styles: Tensor, demodulate: bool = True) -> Tensor:
    """The effective weight of a modulated convolution for each sample: (B, out, in, k, k).

    Modulation scales input channel i by style s_i: w'_oikl = s_i w_oikl. Demodulation then
    divides each output channel by its norm, w''_o = w'_o / sqrt(sum_ikl w'_oikl^2 + 1e-8),
    so every output channel's effective weight has unit L2 norm."""
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]
    if demodulate:
        w = w * (w.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8).rsqrt()
    return w


class ModulatedConv2d(nn.Module):
    """A k x k convolution whose weight is modulated per sample by a style from w (through a
    learned affine map, bias 1) and, unless it is a toRGB layer, demodulated.

    Computed as StyleGAN2's non-fused path: scale the input by the styles, one ordinary
    convolution, scale the output by the demodulation coefficients; equal to a convolution
    with :func:`modulated_weight` per sample, without a grouped convolution."""

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, kernel: int, demodulate: bool
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.demodulate = demodulate
        self.padding = kernel // 2
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel * kernel)

    def styles(self, w: Tensor) -> Tensor:
        """The per-sample input-channel scales s (B, in) from w (B, w_dim)."""
        s = self.affine(w)
        return s if self.demodulate else s * self.weight_gain  # toRGB: no demodulation

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        s = self.styles(w)
        out = F.conv2d(x * s[:, :, None, None], self.weight, padding=self.padding)
        if self.demodulate:  # sum_ikl (s_i w_oikl)^2 = sum_i s_i^2 sum_kl w_oikl^2
            norms = s.square() @ self.weight.square().sum(dim=(2, 3)).t()
            out = out * (norms + 1e-8).rsqrt()[:, :, None, None]
        return out


class NoiseInput(nn.Module):
    """Adds per-pixel Gaussian noise times a learned per-channel strength (starting at 0).

    Training mode draws fresh noise from the global torch RNG (so a resumed run replays it);
    eval mode uses a fixed noise image drawn once at construction and kept as a buffer, so
    samples are a function of z alone (seeded sampling, figures and metrics repeat)."""

    fixed: Tensor

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(channels))
        self.register_buffer("fixed", torch.randn(1, 1, size, size))

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device)
        else:
            noise = self.fixed
        return x + noise.to(x.dtype) * self.strength.view(1, -1, 1, 1)


class MinibatchStddev(nn.Module):
    """Appends one channel: the standard deviation of each feature over groups of up to
    ``group`` samples, averaged over features and pixels (Karras et al., 2018). The group is
    the largest divisor of the batch not above ``group``. It mixes samples, so the trainer
    passes real and fake minibatches through D separately (``mixes_batch``)."""

    mixes_batch = True

    def __init__(self, group: int) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        g = max(d for d in range(1, min(self.group, n) + 1) if n % d == 0)
        y = x.reshape(g, n // g, c, h, w)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n // g,)
        y = y.repeat(g).reshape(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, y.to(x.dtype)], 1)


def upsample(x: Tensor) -> Tensor:
    """2x bilinear upsampling (the separable [1, 3, 3, 1] filter of StyleGAN2, edges
    replicated instead of zero-padded)."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def downsample(x: Tensor) -> Tensor:
    """2x downsampling by 2 x 2 averaging."""
    return F.avg_pool2d(x, 2)
