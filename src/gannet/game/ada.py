"""Adaptive discriminator augmentation (ADA; Karras, Aittala, Hellsten, Laine, Lehtinen and
Aila, 2020, "Training Generative Adversarial Networks with Limited Data", section 3).

``train.augment_p = "ada"`` makes the strength p of ``train.augment``'s policies (the
probability that each policy is applied to each image D sees) follow D's overfitting:

* the heuristic is r_t = E[sign(D_train(x_real))], the mean sign of D's raw output on the
  real minibatches it trained on (+1: D says "real" to every training image, it memorises
  them; 0: it cannot tell them from fakes);
* every ``train.ada_interval`` real minibatches (N = 4 in the paper; counted in images, so
  a minibatch split into several D passes still counts once) gannet computes r_t
  over them and moves p by sign(r_t - target) x (images seen in the interval) /
  (``train.ada_kimg`` x 1000), clamped to [0, 1]; the paper's target is 0.6 and its speed
  500k images (p can go from 0 to 1 in 500k real images);
* p starts at 0.

The paper's speed suits runs of millions of images; a CPU run of a few hundred thousand
images would barely move p. ``train.ada_kimg`` scales it (docs/diffaugment.md uses 20 for
its small runs, so p can go from 0 to 1 in 20k images) and is recorded in the run's config.

The state (p, the interval's sums) is a few numbers saved in every checkpoint
(:meth:`AdaptiveAugment.state_dict`), so a resumed run adjusts p exactly as an
uninterrupted one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gannet.errors import GannetError

if TYPE_CHECKING:  # pragma: no cover
    from gannet.config import TrainConfig

TARGET = 0.6
"""The paper's target for r_t (``train.ada_target``'s default)."""
INTERVAL = 4
"""The paper's N: real minibatches between adjustments (``train.ada_interval``)."""
KIMG = 500.0
"""The paper's speed: thousands of real images for p to go from 0 to 1 (``train.ada_kimg``)."""

SIGN_LOSSES = ("minimax", "non-saturating", "hinge")
"""Losses whose D output's sign means real (> 0) or fake (< 0), which r_t needs."""


class AdaptiveAugment:
    """p and the running sums of the interval in progress.

    Call :meth:`observe` with D's raw outputs on every real minibatch it trains on; p
    changes after every ``interval`` minibatches. In a distributed run pass the world's
    ``total`` so every rank sums the same signs and keeps the same p."""

    def __init__(
        self,
        target: float = TARGET,
        interval: int = INTERVAL,
        kimg: float = KIMG,
        batch: int | None = None,
    ) -> None:
        self.target, self.interval, self.kimg = target, interval, kimg
        self.batch = batch
        """Real images a minibatch gives this process: the interval then ends after
        ``interval x batch`` images, however they were split into D passes (gradient
        accumulation's micro-batches); None counts D passes instead."""
        self.p = 0.0
        self.sign_sum = 0.0
        """Sum of sign(D(x_real)) over the interval's real images (this process's)."""
        self.images = 0
        """Real images seen in the interval (this process's)."""
        self.batches = 0
        """Real minibatches seen in the interval."""
        self.last_rt: float | None = None
        """r_t of the last completed interval (None before the first)."""
        self.adjustments = 0

    def observe(self, d_real: Tensor, total: Any = None) -> None:
        """Add one real minibatch's raw D outputs (any shape: one score per sample); after
        every ``interval`` of them, adjust p. ``total`` sums an int over the ranks of a
        distributed run (``World.total``); None for one process."""
        signs = torch.sign(d_real.detach().float()).flatten()
        self.sign_sum += float(signs.sum().item())
        self.images += signs.numel()
        self.batches += 1
        seen = self.batches if self.batch is None else self.images / self.batch
        if seen >= self.interval:
            self.adjust(total)

    def adjust(self, total: Any = None) -> None:
        """Close the interval: r_t = sum of signs / images (over all ranks), and
        p += sign(r_t - target) x images / (kimg x 1000), clamped to [0, 1]."""
        signs, images = round(self.sign_sum), self.images
        if total is not None:
            signs, images = total(signs), total(images)
        if images:
            rt = signs / images
            step = (1.0 if rt > self.target else -1.0 if rt < self.target else 0.0) * images
            self.p = min(1.0, max(0.0, self.p + step / (self.kimg * 1000)))
            self.last_rt = rt
            self.adjustments += 1
        self.sign_sum, self.images, self.batches = 0.0, 0, 0

    def record(self) -> dict[str, float]:
        """The fields a metrics line gets: ``augment_p`` and, once known, ``ada_rt``."""
        out = {"augment_p": self.p}
        if self.last_rt is not None:
            out["ada_rt"] = self.last_rt
        return out

    def state_dict(self) -> dict[str, Any]:
        """Plain numbers for the checkpoint."""
        return {
            "p": self.p,
            "sign_sum": self.sign_sum,
            "images": self.images,
            "batches": self.batches,
            "last_rt": self.last_rt,
            "adjustments": self.adjustments,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s numbers."""
        try:
            self.p = float(state["p"])
            self.sign_sum = float(state["sign_sum"])
            self.images, self.batches = int(state["images"]), int(state["batches"])
            rt = state.get("last_rt")
            self.last_rt = None if rt is None else float(rt)
            self.adjustments = int(state.get("adjustments", 0))
        except (KeyError, TypeError, ValueError) as e:
            raise GannetError(f"the checkpoint's ADA state is malformed ({e})") from None


def adaptive_augment(train: TrainConfig, batch: int) -> AdaptiveAugment | None:
    """ADA's controller for a run with train.augment_p = "ada" (None otherwise); ``batch``
    is this process's share of a real minibatch."""
    if train.augment_p != "ada":
        return None
    return AdaptiveAugment(train.ada_target, train.ada_interval, train.ada_kimg, batch)


def check_ada(augment_p: float | str, policy: str, loss: str) -> None:
    """Config validation: ``augment_p`` is a probability or ``"ada"``; ADA needs policies to
    scale and a loss whose D output has a meaningful sign."""
    if isinstance(augment_p, str):
        if augment_p != "ada":
            raise GannetError(
                f'train.augment_p must be a number in [0, 1] or "ada", got {augment_p!r}'
            )
        if not policy:
            raise GannetError(
                'train.augment_p = "ada" adapts the strength of train.augment\'s policies, but '
                'train.augment is empty; set train.augment = "color,translation,cutout"'
            )
        if loss not in SIGN_LOSSES:
            raise GannetError(
                f'train.augment_p = "ada" reads the sign of D\'s output on real images, which '
                f"loss {loss!r} does not give a meaning; use loss.name = "
                f"{' or '.join(SIGN_LOSSES)}, or a fixed train.augment_p"
            )
