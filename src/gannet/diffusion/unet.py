"""A compact U-Net noise predictor eps(x_t, t) for small images (28x28 MNIST-like, 32x32):
two resolutions below the input, one residual block per level on each side, a sinusoidal
time embedding added in every block (Ho et al., 2020, without attention or dropout, and
far narrower so it trains on a CPU)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal embedding (Vaswani et al., 2017) of integer steps ``t`` (B,): (B, dim),
    the first half cosines, the second sines, of t / max_period^(i / half)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    return nn.functional.pad(emb, (0, dim % 2))


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, channels), channels)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, the time embedding added between, with a 1x1 skip when
    the width changes."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.act(self.norm2(h)))
        out: Tensor = self.skip(x) + h
        return out


class UNet(nn.Module):
    """eps(x_t, t) for images (C, H, W) with H and W divisible by 4: widths c (full size),
    2c (H/2), 2c (H/4, two blocks), then back up (transposed convolutions, stride 2) with
    skip connections."""

    def __init__(self, channels: int, width: int = 32) -> None:
        super().__init__()
        c, emb = width, 4 * width
        self.width = width
        self.time = nn.Sequential(nn.Linear(c, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.stem = nn.Conv2d(channels, c, 3, padding=1)
        self.down1 = ResBlock(c, c, emb)
        self.pool1 = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.down2 = ResBlock(c, 2 * c, emb)
        self.pool2 = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.mid1 = ResBlock(2 * c, 2 * c, emb)
        self.mid2 = ResBlock(2 * c, 2 * c, emb)
        self.up2 = nn.ConvTranspose2d(2 * c, 2 * c, 4, stride=2, padding=1)
        self.dec2 = ResBlock(4 * c, 2 * c, emb)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)
        self.dec1 = ResBlock(2 * c, c, emb)
        out = nn.Conv2d(c, channels, 3, padding=1)
        nn.init.zeros_(out.weight)  # starts by predicting zero noise
        assert out.bias is not None
        nn.init.zeros_(out.bias)
        self.head = nn.Sequential(_norm(c), nn.SiLU(), out)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        emb = self.time(timestep_embedding(t, self.width))
        h1 = self.down1(self.stem(x), emb)  # (c, H, W)
        h2 = self.down2(self.pool1(h1), emb)  # (2c, H/2, W/2)
        h = self.mid2(self.mid1(self.pool2(h2), emb), emb)  # (2c, H/4, W/4)
        h = self.dec2(torch.cat([self.up2(h), h2], 1), emb)
        h = self.dec1(torch.cat([self.up1(h), h1], 1), emb)
        out: Tensor = self.head(h)
        return out
