"""gannet's classifiers: what they share, and the MNIST-like CNN (see
:mod:`gannet.metrics.classifier`; training is in :mod:`gannet.metrics.classifier.fit`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gannet.errors import GannetError

DEFAULT_EPOCHS = 3
"""Epochs of :func:`train_classifier` (MNIST: >= 99 % test accuracy)."""
DEFAULT_BATCH_SIZE = 128
DEFAULT_LR = 3e-3

Progress = Callable[[dict[str, Any]], None]
"""Called after every epoch with ``{"epoch", "epochs", "loss", "validation_accuracy",
"seconds", "cpu_seconds"}`` (``validation_accuracy`` is None without validation data)."""


# --------------------------------------------------------------------------- the model


class ImageClassifier(nn.Module):
    """What every gannet classifier shares: input checks and standardisation, batched
    prediction of logits and features. Subclasses define ``features`` and ``head``."""

    pixel_mean: Tensor
    pixel_std: Tensor
    num_classes: int
    in_channels: int
    image_size: int
    hidden: int

    def _init_common(self, num_classes: int, in_channels: int, image_size: int) -> None:
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.image_size = int(image_size)
        self.register_buffer("pixel_mean", torch.tensor(0.5))
        self.register_buffer("pixel_std", torch.tensor(0.5))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.image_size, self.image_size)

    def arch(self) -> dict[str, Any]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def features(self, x: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def head(self, h: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def _prepare(self, x: Tensor) -> Tensor:
        shape = self.input_shape
        if x.dim() == 2 and x.shape[1] == math.prod(shape):
            x = x.reshape(x.shape[0], *shape)
        if x.dim() != 4 or tuple(x.shape[1:]) != shape:
            raise GannetError(
                f"the classifier takes images of shape {shape} (or {math.prod(shape)} values), "
                f"got a batch of shape {tuple(x.shape)}"
            )
        x = x.to(self.pixel_mean.device, self.pixel_mean.dtype)
        return (x - self.pixel_mean) / self.pixel_std

    def forward(self, x: Tensor) -> Tensor:
        """Class logits, shape (N, num_classes)."""
        return self.head(self.features(x))

    def logits(self, x: Tensor) -> Tensor:
        """Same as ``forward``."""
        return self(x)

    @torch.no_grad()
    def predict_logits(self, x: Tensor, batch_size: int = 1000) -> Tensor:
        """Logits in eval mode, in batches, without gradients; returned on the CPU."""
        if batch_size < 1:
            raise GannetError(f"batch_size must be at least 1, got {batch_size}")
        was_training = self.training
        self.eval()
        try:
            out = [self(x[i : i + batch_size]).float().cpu() for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        if not out:
            return torch.empty(0, self.num_classes)
        return torch.cat(out)

    def predict(self, x: Tensor, batch_size: int = 1000) -> Tensor:
        """Predicted classes (N,) int64, on the CPU."""
        return self.predict_logits(x, batch_size).argmax(dim=1)

    @torch.no_grad()
    def predict_features(self, x: Tensor, batch_size: int = 1000) -> Tensor:
        """:meth:`features` in eval mode, in batches; returned on the CPU."""
        was_training = self.training
        self.eval()
        try:
            out = [
                self.features(x[i : i + batch_size]).float().cpu()
                for i in range(0, len(x), batch_size)
            ]
        finally:
            self.train(was_training)
        return torch.cat(out) if out else torch.empty(0, self.hidden)


class Classifier(ImageClassifier):
    """A 2-conv + 2-fc CNN on images in [0, 1] (see the module docstring)."""

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size: int = 28,
        channels: tuple[int, int] | list[int] = (32, 64),
        hidden: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if image_size % 4 != 0 or image_size < 4:
            raise GannetError(f"classifier image_size must be a multiple of 4, got {image_size}")
        c1, c2 = (int(c) for c in channels)
        self._init_common(num_classes, in_channels, image_size)
        self.channels = (c1, c2)
        self.hidden = int(hidden)
        self.dropout_p = float(dropout)
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.fc1 = nn.Linear(c2 * (image_size // 4) ** 2, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def arch(self) -> dict[str, Any]:
        """Constructor arguments (stored with the weights)."""
        return {
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
            "image_size": self.image_size,
            "channels": list(self.channels),
            "hidden": self.hidden,
            "dropout": self.dropout_p,
        }

    def features(self, x: Tensor) -> Tensor:
        """The penultimate layer (after ReLU, before dropout): shape (N, hidden)."""
        h = self._prepare(x)
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(h))), 2)
        h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def head(self, h: Tensor) -> Tensor:
        return self.fc2(self.dropout(h))


def evaluate_accuracy(
    model: ImageClassifier, x: Tensor, y: Tensor, batch_size: int = 1000
) -> float:
    """Fraction of ``x`` whose predicted class equals ``y``."""
    if len(x) == 0:
        raise GannetError("no rows to measure accuracy on")
    return float((model.predict(x, batch_size) == y.cpu().long()).double().mean())
