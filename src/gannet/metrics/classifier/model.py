"""gannet's classifier: the CNN and its training loop (see :mod:`gannet.metrics.classifier`)."""

from __future__ import annotations

import math
import time
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


class Classifier(nn.Module):
    """A 2-conv + 2-fc CNN on images in [0, 1] (see the module docstring)."""

    pixel_mean: Tensor
    pixel_std: Tensor

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
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.image_size = int(image_size)
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
        self.register_buffer("pixel_mean", torch.tensor(0.5))
        self.register_buffer("pixel_std", torch.tensor(0.5))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.image_size, self.image_size)

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

    def features(self, x: Tensor) -> Tensor:
        """The penultimate layer (after ReLU, before dropout): shape (N, hidden)."""
        h = self._prepare(x)
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(h))), 2)
        h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def forward(self, x: Tensor) -> Tensor:
        """Class logits, shape (N, num_classes)."""
        return self.fc2(self.dropout(self.features(x)))

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


# --------------------------------------------------------------------------- training


def evaluate_accuracy(model: Classifier, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Fraction of ``x`` whose predicted class equals ``y``."""
    if len(x) == 0:
        raise GannetError("no rows to measure accuracy on")
    return float((model.predict(x, batch_size) == y.cpu().long()).double().mean())


def fit_classifier(
    images: Tensor,
    labels: Tensor,
    *,
    num_classes: int = 10,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float = DEFAULT_LR,
    seed: int = 0,
    validation: tuple[Tensor, Tensor] | None = None,
    progress: Progress | None = None,
    device: str | torch.device = "cpu",
    max_steps: int = 0,
    threads: int = 0,
) -> tuple[Classifier, list[dict[str, Any]]]:
    """Train a :class:`Classifier` on ``images`` (N, C, H, W) in [0, 1] and ``labels`` (N,).

    Adam with a one-cycle schedule peaking at ``lr``; shuffling and initialisation come from
    ``seed``. ``max_steps`` > 0 stops early (for quick tests). ``threads`` > 0 sets PyTorch's
    CPU threads for the duration (0 = leave them). Returns the model (in eval mode, on
    ``device``) and one record per epoch.
    """
    if images.dim() != 4 or images.shape[2] != images.shape[3]:
        raise GannetError(
            f"the classifier trains on square images (N, C, H, H), got {tuple(images.shape)}"
        )
    if len(images) != len(labels) or len(images) == 0:
        raise GannetError(f"{len(images)} images but {len(labels)} labels; pass one label each")
    if epochs < 1:
        raise GannetError(f"epochs must be at least 1, got {epochs}")
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        raise GannetError(
            f"labels range over [{int(labels.min())}, {int(labels.max())}], outside "
            f"[0, {num_classes - 1}]; pass class indices or a larger num_classes"
        )
    if batch_size < 1:
        raise GannetError(f"batch_size must be at least 1, got {batch_size}")
    if threads < 0:
        raise GannetError(f"threads must be >= 0 (0 = PyTorch's default), got {threads}")
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        return _fit(
            images,
            labels,
            num_classes,
            epochs,
            batch_size,
            lr,
            seed,
            validation,
            progress,
            torch.device(device),
            max_steps,
        )
    finally:
        torch.set_num_threads(before)


def _fit(
    images: Tensor,
    labels: Tensor,
    num_classes: int,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    validation: tuple[Tensor, Tensor] | None,
    progress: Progress | None,
    device: torch.device,
    max_steps: int,
) -> tuple[Classifier, list[dict[str, Any]]]:
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier(num_classes, images.shape[1], images.shape[2])
    x = images.float()
    model.pixel_mean.fill_(float(x.mean()))
    model.pixel_std.fill_(max(float(x.std()), 1e-6))
    model.to(device)
    y = labels.long()
    n = len(x)
    per_epoch = math.ceil(n / batch_size)
    total = epochs * per_epoch if max_steps <= 0 else min(max_steps, epochs * per_epoch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=max(total, 2), pct_start=0.15
    )
    history: list[dict[str, Any]] = []
    step = 0
    t0, c0 = time.perf_counter(), time.process_time()
    # Dropout masks come from the global RNG: fork it so training is seeded and leaves the
    # caller's random state alone.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(n, generator=gen)
            loss_sum, seen = 0.0, 0
            for start in range(0, n, batch_size):
                if step >= total:
                    break
                idx = order[start : start + batch_size]
                xb, yb = x[idx].to(device), y[idx].to(device)
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if step + 1 < max(total, 2):
                    sched.step()
                step += 1
                loss_sum += float(loss.detach()) * len(idx)
                seen += len(idx)
            record: dict[str, Any] = {
                "epoch": epoch,
                "epochs": epochs,
                "loss": loss_sum / max(seen, 1),
                "validation_accuracy": (
                    evaluate_accuracy(model, *validation) if validation is not None else None
                ),
                "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - c0,
            }
            history.append(record)
            if progress is not None:
                progress(record)
            if step >= total:
                break
    model.eval()
    return model, history
