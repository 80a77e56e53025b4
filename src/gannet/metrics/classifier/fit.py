"""Training a gannet classifier: seeded, optionally resumable from a per-epoch state file."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from gannet.errors import GannetError
from gannet.files.checkpoint import load_weights_file, save_weights_file
from gannet.metrics.classifier.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    ImageClassifier,
    Progress,
    evaluate_accuracy,
)
from gannet.metrics.classifier.resnet import build_classifier

STATE_FORMAT = "gannet-classifier-training"


@dataclass(frozen=True)
class Recipe:
    """How a classifier is trained beyond epochs, batch size, lr and seed.

    ``arch`` holds constructor arguments beyond the data's shape and classes (``kind``
    "cnn", the MNIST-like default, or "resnet"); ``optimizer`` "adam" or "sgd" (Nesterov,
    momentum 0.9); ``augment`` adds random 4-pixel-padded crops and horizontal flips.
    """

    arch: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "adam"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    augment: bool = False
    pct_start: float = 0.15


def _augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random crops of the 4-pixel reflect-padded images and random horizontal flips."""
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    dx = torch.randint(0, 9, (n,), generator=gen)
    dy = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    rows = (dy[:, None] + torch.arange(h)[None, :]).to(x.device)
    cols = (dx[:, None] + torch.arange(w)[None, :]).to(x.device)
    cols = torch.where(flip[:, None].to(x.device), cols.flip(1), cols)
    idx_n = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


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
    recipe: Recipe | None = None,
    state_path: str | Path | None = None,
) -> tuple[ImageClassifier, list[dict[str, Any]]]:
    """Train a classifier on ``images`` (N, C, H, W) in [0, 1] and ``labels`` (N,).

    A one-cycle schedule peaking at ``lr`` (Adam unless ``recipe`` says otherwise);
    shuffling, augmentation and initialisation come from ``seed``. ``max_steps`` > 0 stops
    early (for quick tests). ``threads`` > 0 sets PyTorch's CPU threads for the duration.
    ``state_path``: the training state is written there atomically after every epoch, and a
    run started with the same path continues from it. Returns the model (in eval mode, on
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
    recipe = recipe or Recipe()
    if recipe.optimizer not in ("adam", "sgd"):
        raise GannetError(f"optimizer must be 'adam' or 'sgd', got {recipe.optimizer!r}")
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        fit = _Fit(images, labels, num_classes, epochs, batch_size, lr, seed, recipe, device)
        return fit.run(validation, progress, max_steps, state_path)
    finally:
        torch.set_num_threads(before)


class _Fit:
    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        num_classes: int,
        epochs: int,
        batch_size: int,
        lr: float,
        seed: int,
        recipe: Recipe,
        device: str | torch.device,
    ) -> None:
        self.gen = torch.Generator().manual_seed(seed)
        self.seed, self.epochs, self.batch_size, self.recipe = seed, epochs, batch_size, recipe
        self.device = torch.device(device)
        arch = {
            "num_classes": num_classes,
            "in_channels": images.shape[1],
            "image_size": images.shape[2],
            **recipe.arch,
        }
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = build_classifier(arch)
        self.x = images.float()
        self.model.pixel_mean.fill_(float(self.x.mean()))
        self.model.pixel_std.fill_(max(float(self.x.std()), 1e-6))
        self.model.to(self.device)
        self.y = labels.long()
        self.lr = lr
        params = self.model.parameters()
        self.opt: torch.optim.Optimizer
        if recipe.optimizer == "sgd":
            self.opt = torch.optim.SGD(
                params, lr=lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay
            )
        else:
            self.opt = torch.optim.Adam(params, lr=lr, weight_decay=recipe.weight_decay)

    def run(
        self,
        validation: tuple[Tensor, Tensor] | None,
        progress: Progress | None,
        max_steps: int,
        state_path: str | Path | None,
    ) -> tuple[ImageClassifier, list[dict[str, Any]]]:
        n = len(self.x)
        per_epoch = math.ceil(n / self.batch_size)
        total = per_epoch * self.epochs
        total = total if max_steps <= 0 else min(max_steps, total)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, max_lr=self.lr, total_steps=max(total, 2), pct_start=self.recipe.pct_start
        )
        history: list[dict[str, Any]] = []
        step, first, spent = 0, 1, (0.0, 0.0)
        # Dropout masks come from the global RNG: fork it so training is seeded and leaves
        # the caller's random state alone.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            if state_path is not None and Path(state_path).is_file():
                state = self._restore(Path(state_path), sched)
                history, step = state["history"], int(state["step"])
                first, spent = len(history) + 1, (state["seconds"], state["cpu_seconds"])
            t0, c0 = time.perf_counter() - spent[0], time.process_time() - spent[1]
            for epoch in range(first, self.epochs + 1):
                if step >= total:
                    break
                self.model.train()
                order = torch.randperm(n, generator=self.gen)
                loss_sum, seen = 0.0, 0
                for start in range(0, n, self.batch_size):
                    if step >= total:
                        break
                    idx = order[start : start + self.batch_size]
                    loss_sum += self._update(idx) * len(idx)
                    if step + 1 < max(total, 2):
                        sched.step()
                    step += 1
                    seen += len(idx)
                record: dict[str, Any] = {
                    "epoch": epoch,
                    "epochs": self.epochs,
                    "loss": loss_sum / max(seen, 1),
                    "validation_accuracy": (
                        evaluate_accuracy(self.model, *validation)
                        if validation is not None
                        else None
                    ),
                    "seconds": time.perf_counter() - t0,
                    "cpu_seconds": time.process_time() - c0,
                }
                history.append(record)
                if state_path is not None:
                    self._save(Path(state_path), sched, history, step)
                if progress is not None:
                    progress(record)
        self.model.eval()
        return self.model, history

    def _update(self, idx: Tensor) -> float:
        xb = self.x[idx]
        if self.recipe.augment:
            xb = _augment(xb, self.gen)
        xb, yb = xb.to(self.device), self.y[idx].to(self.device)
        loss = F.cross_entropy(self.model(xb), yb, label_smoothing=self.recipe.label_smoothing)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss.detach())

    def _save(
        self,
        path: Path,
        sched: torch.optim.lr_scheduler.LRScheduler,
        history: list[dict[str, Any]],
        step: int,
    ) -> None:
        payload = {
            "format": STATE_FORMAT,
            "version": 1,
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": sched.state_dict(),
            "generator": self.gen.get_state(),
            "rng": torch.get_rng_state(),
            "history": history,
            "step": step,
            "seconds": history[-1]["seconds"],
            "cpu_seconds": history[-1]["cpu_seconds"],
        }
        try:
            save_weights_file(path, payload)
        except OSError as e:
            raise GannetError(f"cannot write training state {path}: {e.strerror or e}") from None

    def _restore(self, path: Path, sched: torch.optim.lr_scheduler.LRScheduler) -> dict[str, Any]:
        state = load_weights_file(
            path,
            format=STATE_FORMAT,
            version=1,
            required=("model", "optimizer", "scheduler", "generator", "rng", "history", "step"),
            what="classifier training state",
            fix="delete it to train from the start",
        )
        try:
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            self.gen.set_state(state["generator"])
            torch.set_rng_state(state["rng"])
        except (RuntimeError, ValueError, KeyError, TypeError) as e:
            raise GannetError(
                f"training state {path} does not match this training ({e}); delete it to "
                "train from the start"
            ) from None
        return state
