"""Gradient accumulation (``train.batch_gpu``): an update on the whole batch, computed a
micro-batch at a time.

Every cost gannet's losses and penalties compute is a mean over the batch's examples, so the
gradient of the whole batch's cost is the sum over n equal micro-batches of the gradient of
each one's cost divided by n. The trainer draws the whole batch's noise and fake labels
first (the same draws, in the same order, as without accumulation), splits them with the
real minibatch into n slices (:func:`split`), runs the passes and the backward of each slice
with its cost scaled by 1/n (:func:`share`), and then takes one optimizer step. The result
equals the whole batch's up to float rounding when nothing inside D's or G's passes draws
random numbers or mixes examples:

* the gradient penalty's interpolation weights are drawn per micro-batch from the global
  stream in the same order as one draw for the whole batch, so WGAN-GP and R1 are equal too;
* dropout masks, DiffAugment's parameters and StyleGAN's style-mixing draws are drawn per
  micro-batch: the same distribution, other draws (the run is as valid, not bit-equal);
* batch norm normalises each micro-batch by its own statistics, and the minibatch standard
  deviation layer groups examples within a micro-batch (as StyleGAN2-ADA's batch_gpu does).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from torch import Tensor

from gannet.errors import GannetError
from gannet.training.stats import DStep

Part = Tensor | None


def micro_batches(batch_gpu: int, per_process: int, processes: int = 1) -> int:
    """How many micro-batches make one process's share ``per_process`` of the batch (1 when
    ``batch_gpu`` is 0 or the whole share); one GannetError line when it does not divide."""
    if batch_gpu <= 0 or batch_gpu >= per_process:
        if batch_gpu > per_process:
            raise GannetError(
                f"train.batch_gpu = {batch_gpu} is more than each process's share of the batch "
                f"({per_process}); use at most {per_process}, or 0"
            )
        return 1
    if per_process % batch_gpu:
        share = f" ({processes} processes' share)" if processes > 1 else ""
        divisors = [d for d in range(1, per_process) if per_process % d == 0]
        below = max(d for d in divisors if d < batch_gpu)
        raise GannetError(
            f"train.batch_gpu = {batch_gpu} does not divide the batch of {per_process}{share}; "
            f"use a divisor of {per_process}, e.g. {below}"
        )
    return per_process // batch_gpu


def split(n: int, *parts: Part) -> Iterator[tuple[Any, ...]]:
    """The ``n`` consecutive equal slices of each of ``parts`` (None stays None), one tuple
    per micro-batch (typed Any: each slot is a Tensor exactly where the part is one)."""
    chunks = [p.chunk(n) if p is not None else (None,) * n for p in parts]
    yield from zip(*chunks, strict=True)


def share(cost: Tensor, n: int) -> Tensor:
    """A micro-batch's part of the whole batch's cost: ``cost / n`` (``cost`` when n = 1)."""
    return cost if n == 1 else cost / n


def combine(steps: Sequence[DStep]) -> DStep:
    """One D update's measurements from its micro-batches': the mean cost and penalty, the
    outputs concatenated (so the logged means are the whole batch's)."""
    if len(steps) == 1:
        return steps[0]
    import torch

    n = len(steps)
    penalties = [s.penalty for s in steps if s.penalty is not None]
    return DStep(
        cost=torch.stack([s.cost.detach() for s in steps]).sum() / n,
        penalty=torch.stack([p.detach() for p in penalties]).sum() / n if penalties else None,
        d_real=torch.cat([s.d_real for s in steps]),
        d_fake=torch.cat([s.d_fake for s in steps]),
    )
