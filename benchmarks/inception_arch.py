"""Inception-v3 as the FID network lays it out, with random weights: for timing only.

The real ``inception-2015-12-05.pt`` cannot be downloaded on machines without internet, so
:mod:`fid_speed` times this network instead when the file is absent. It has the layer
layout of Szegedy et al. (2016) as used for FID (299x299 input, the Mixed_5b ... Mixed_7c
blocks, 2,048 average-pooled features, about 5.7 GFLOPs a forward pass) and the real
file's call signature: ``net(uint8 images (N, 3, H, W), return_features=True)``, resized
bilinearly to 299x299 inside. Written from the paper's description; its weights are random,
so its features mean nothing: only images/s measured with it are reported, and labelled so.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv(cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1,
         padding: int | tuple[int, int] = 0) -> nn.Sequential:  # fmt: skip
    """Convolution without bias, batch norm (eps 1e-3), ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(cout, eps=1e-3),
        nn.ReLU(),
    )


class BlockA(nn.Module):
    """35x35: 1x1, 5x5, double 3x3 and pooled branches."""

    def __init__(self, cin: int, pool: int) -> None:
        super().__init__()
        self.b1 = conv(cin, 64, 1)
        self.b5 = nn.Sequential(conv(cin, 48, 1), conv(48, 64, 5, padding=2))
        self.b3 = nn.Sequential(conv(cin, 64, 1), conv(64, 96, 3, padding=1),
                                conv(96, 96, 3, padding=1))  # fmt: skip
        self.bp = conv(cin, pool, 1)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.bp(F.avg_pool2d(x, 3, 1, 1))
        return torch.cat([self.b1(x), self.b5(x), self.b3(x), pooled], 1)


class ReduceB(nn.Module):
    """35x35 -> 17x17."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.b3 = conv(cin, 384, 3, stride=2)
        self.b3d = nn.Sequential(conv(cin, 64, 1), conv(64, 96, 3, padding=1),
                                 conv(96, 96, 3, stride=2))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.b3(x), self.b3d(x), F.max_pool2d(x, 3, 2)], 1)


class BlockC(nn.Module):
    """17x17: factorised 7x7 branches."""

    def __init__(self, c7: int) -> None:
        super().__init__()
        self.b1 = conv(768, 192, 1)
        self.b7 = nn.Sequential(conv(768, c7, 1), conv(c7, c7, (1, 7), padding=(0, 3)),
                                conv(c7, 192, (7, 1), padding=(3, 0)))  # fmt: skip
        self.b7d = nn.Sequential(
            conv(768, c7, 1),
            conv(c7, c7, (7, 1), padding=(3, 0)),
            conv(c7, c7, (1, 7), padding=(0, 3)),
            conv(c7, c7, (7, 1), padding=(3, 0)),
            conv(c7, 192, (1, 7), padding=(0, 3)),
        )
        self.bp = conv(768, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.bp(F.avg_pool2d(x, 3, 1, 1))
        return torch.cat([self.b1(x), self.b7(x), self.b7d(x), pooled], 1)


class ReduceD(nn.Module):
    """17x17 -> 8x8."""

    def __init__(self) -> None:
        super().__init__()
        self.b3 = nn.Sequential(conv(768, 192, 1), conv(192, 320, 3, stride=2))
        self.b7 = nn.Sequential(
            conv(768, 192, 1),
            conv(192, 192, (1, 7), padding=(0, 3)),
            conv(192, 192, (7, 1), padding=(3, 0)),
            conv(192, 192, 3, stride=2),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.b3(x), self.b7(x), F.max_pool2d(x, 3, 2)], 1)


class BlockE(nn.Module):
    """8x8: expanded 1x3 / 3x1 branches; the last block pools by max (as the FID graph)."""

    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.b1 = conv(cin, 320, 1)
        self.b3 = conv(cin, 384, 1)
        self.b3a = conv(384, 384, (1, 3), padding=(0, 1))
        self.b3b = conv(384, 384, (3, 1), padding=(1, 0))
        self.bd = nn.Sequential(conv(cin, 448, 1), conv(448, 384, 3, padding=1))
        self.bda = conv(384, 384, (1, 3), padding=(0, 1))
        self.bdb = conv(384, 384, (3, 1), padding=(1, 0))
        self.bp = conv(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        h3, hd = self.b3(x), self.bd(x)
        pooled = F.max_pool2d(x, 3, 1, 1) if self.max_pool else F.avg_pool2d(x, 3, 1, 1)
        parts = [self.b1(x), self.b3a(h3), self.b3b(h3), self.bda(hd), self.bdb(hd)]
        parts.append(self.bp(pooled))
        return torch.cat(parts, 1)


class InceptionLayout(nn.Module):
    """uint8 images at any size -> 2,048 pool features (or 1,008 softmax outputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            conv(3, 32, 3, stride=2),
            conv(32, 32, 3),
            conv(32, 64, 3, padding=1),
            nn.MaxPool2d(3, 2),
            conv(64, 80, 1),
            conv(80, 192, 3),
            nn.MaxPool2d(3, 2),
        )
        self.blocks = nn.Sequential(
            BlockA(192, 32),
            BlockA(256, 64),
            BlockA(288, 64),
            ReduceB(288),
            BlockC(128),
            BlockC(160),
            BlockC(160),
            BlockC(192),
            ReduceD(),
            BlockE(1280, False),
            BlockE(2048, True),
        )
        self.fc = nn.Linear(2048, 1008)

    def forward(self, img: Tensor, return_features: bool = False) -> Tensor:
        x = img.float()
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = (x - 128.0) / 128.0
        h = self.blocks(self.stem(x)).mean(dim=(2, 3))
        return h if return_features else self.fc(h).softmax(dim=1)


def save_timing_network(path: Path, seed: int = 0) -> Path:
    """Script :class:`InceptionLayout` (random weights from ``seed``, eval mode) to ``path``."""
    torch.manual_seed(seed)
    torch.jit.script(InceptionLayout().eval()).save(str(path))
    return path
