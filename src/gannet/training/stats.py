"""What one training iteration measured, and its running means over a logging interval.

A metrics line (metrics.jsonl) holds, per logging interval, the means of ``ACCUMULATED``:
d_loss is D's whole cost (penalties included), d_penalty the penalties' part of it; value is
the loss's objective for D (V(D, G) for the 2014 losses); d_real / d_fake are mean
sigmoid(D output) (D(x), meaningful for the 2014 losses only), d_real_raw / d_fake_raw the
mean raw outputs. The sums stay on the device until the interval is read, so accumulating
costs no synchronisation per step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gannet.game.losses import Loss

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.distributed import World

ACCUMULATED = (
    "d_loss",
    "g_loss",
    "value",
    "d_real",
    "d_fake",
    "d_real_raw",
    "d_fake_raw",
    "d_penalty",
)


@dataclass
class DStep:
    """One discriminator update: its cost (penalty included), the penalty, and D's raw
    outputs on the real and the fake minibatch."""

    cost: Tensor
    penalty: Tensor | None
    d_real: Tensor
    d_fake: Tensor


@dataclass
class StepResult:
    """One Algorithm 1 iteration: the last D update's measurements, G's cost, and the
    number of real examples D saw."""

    d: DStep
    g_cost: Tensor
    images: int


class IntervalStats:
    """Running sums of :data:`ACCUMULATED` over the current logging interval."""

    def __init__(self, loss: Loss) -> None:
        self.loss = loss
        self.reset()

    def reset(self) -> None:
        """Start a new interval (sums, count, image count and clock)."""
        self._sum: Tensor | None = None
        self.count = 0
        self.images = 0
        self.started = time.perf_counter()

    def restart_clock(self) -> None:
        """Start timing afresh (a new session) without dropping the interval's sums."""
        self.images = 0
        self.started = time.perf_counter()

    def state(self) -> dict[str, Any]:
        """The interval's sums and count, for the checkpoint (so an interval that spans a
        kill and a resume is recomputed exactly)."""
        sums = self._sum.cpu() if self._sum is not None else torch.zeros(len(ACCUMULATED))
        return {"sums": sums.double(), "count": self.count}

    def load(self, state: dict[str, Any], device: torch.device) -> None:
        """Continue the interval saved by :meth:`state`."""
        self.count = int(state["count"])
        self._sum = state["sums"].to(device, torch.float64) if self.count else None

    def add(self, result: StepResult) -> None:
        d = result.d
        with torch.no_grad():
            row = torch.stack(
                [
                    d.cost.detach(),
                    result.g_cost.detach(),
                    self.loss.value(d.d_real, d.d_fake),
                    torch.sigmoid(d.d_real).mean(),
                    torch.sigmoid(d.d_fake).mean(),
                    d.d_real.mean(),
                    d.d_fake.mean(),
                    d.penalty.detach() if d.penalty is not None else torch.zeros_like(d.cost),
                ]
            ).double()
            self._sum = row if self._sum is None else self._sum + row
        self.count += 1
        self.images += result.images

    def average_over(self, world: World) -> None:
        """Make the sums the mean of every rank's (and the images their total), so every
        rank logs the whole global batch's figures."""
        if not world.distributed:
            return
        sums = self._sum if self._sum is not None else torch.zeros(len(ACCUMULATED))
        self._sum = world.mean(sums.double())
        self.images = world.total(self.images)

    def means(self) -> dict[str, float]:
        """The interval's means by name (empty before the first :meth:`add`)."""
        if self._sum is None or not self.count:
            return {}
        values = (self._sum / self.count).cpu().tolist()
        return dict(zip(ACCUMULATED, values, strict=True))

    def images_per_s(self) -> float:
        """Real examples seen by D per second of this interval."""
        return self.images / max(time.perf_counter() - self.started, 1e-9)
