"""gannet's colour-image classifier (CIFAR-10): a small residual CNN.

The layout of the well-known 9-layer "ResNet-9" for CIFAR-10, at a quarter of its width by
default (``width`` = 16, so 16-32-64-128 channels) so that it trains on a CPU:

    conv 3x3 (w)                                   32x32
    conv 3x3 (2w) - max-pool 2 - residual(2w)      16x16
    conv 3x3 (4w) - max-pool 2                      8x8
    conv 3x3 (8w) - max-pool 2 - residual(8w)       4x4
    global max-pool                 <- features(x): 8w values (128 by default)
    fc 10                           <- forward(x)

Every conv is followed by BatchNorm and ReLU; a residual block is two such convs added to
its input. Inputs are images in [0, 1], (N, C, S, S) with S a multiple of 8.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from gannet.errors import GannetError
from gannet.metrics.classifier.model import Classifier, ImageClassifier


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.a = _conv(channels, channels)
        self.b = _conv(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.b(self.a(x))


class ResNetClassifier(ImageClassifier):
    """The residual CNN of the module docstring."""

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        image_size: int = 32,
        width: int = 16,
    ) -> None:
        super().__init__()
        if image_size % 8 != 0 or image_size < 8:
            raise GannetError(f"classifier image_size must be a multiple of 8, got {image_size}")
        if width < 1:
            raise GannetError(f"classifier width must be at least 1, got {width}")
        self._init_common(num_classes, in_channels, image_size)
        w = int(width)
        self.width = w
        self.hidden = 8 * w
        self.body = nn.Sequential(
            _conv(in_channels, w),
            _conv(w, 2 * w),
            nn.MaxPool2d(2),
            _Residual(2 * w),
            _conv(2 * w, 4 * w),
            nn.MaxPool2d(2),
            _conv(4 * w, 8 * w),
            nn.MaxPool2d(2),
            _Residual(8 * w),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(8 * w, num_classes)

    def arch(self) -> dict[str, Any]:
        return {
            "kind": "resnet",
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
            "image_size": self.image_size,
            "width": self.width,
        }

    def features(self, x: Tensor) -> Tensor:
        """The globally max-pooled last block: shape (N, 8 * width)."""
        return self.body(self._prepare(x))

    def head(self, h: Tensor) -> Tensor:
        return self.fc(h)


def build_classifier(arch: dict[str, Any]) -> ImageClassifier:
    """The classifier an ``arch()`` dict describes (``kind`` "resnet" or the default CNN)."""
    params = {k: v for k, v in arch.items() if k != "kind"}
    kind = arch.get("kind", "cnn")
    if kind == "resnet":
        return ResNetClassifier(**params)
    if kind == "cnn":
        return Classifier(**params)
    raise GannetError(f"unknown classifier kind {kind!r}")
