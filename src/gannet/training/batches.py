"""Minibatches: the per-epoch shuffled order of the training set, and labels to go with it.

The order of epoch ``e`` is a pure function of (seed, e) (:func:`epoch_permutation`), so a
resumed run needs no saved data-loader state: it recomputes the same permutation and
continues at the saved iteration. Images stored as uint8 (image folders) stay uint8 on the
device; each minibatch is converted to float32 in [0, 1] as it is gathered
(:func:`gannet.data.base.as_float`, the same values as converting the whole set).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gannet.data.base import as_float


def epoch_permutation(n: int, seed: int, epoch: int, device: torch.device) -> Tensor:
    """The shuffled order of epoch ``epoch``: a pure function of (seed, epoch), so it
    needs no saved state for resume."""
    # Modulo 2**64, the range manual_seed takes: any seed up to 2**63 - 1 works (smaller
    # seeds are unchanged by it).
    gen = torch.Generator(device="cpu").manual_seed((seed * 1_000_003 + epoch) % 2**64)
    return torch.randperm(n, generator=gen).to(device)


class Batches:
    """The training set on the device, cut into minibatches of ``batch_size`` (the global
    batch) in the order of the current epoch (:meth:`start_epoch`)."""

    def __init__(
        self,
        x: Tensor,
        y: Tensor | None,
        batch_size: int,
        seed: int,
        device: torch.device,
        part: tuple[int, int] = (0, 1),
    ) -> None:
        self.x = x.to(device).contiguous()
        """The training examples, as stored (float32, or uint8 images)."""
        self.y = y.to(device, torch.long).contiguous() if y is not None else None
        """Their labels (conditional runs), else None."""
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.part = part
        """(rank, world size): :meth:`get` returns this rank's slice of each global batch."""
        self.epoch: int | None = None
        """The epoch whose order is current (None before the first :meth:`start_epoch`)."""
        self._order: Tensor | None = None

    def __len__(self) -> int:
        """Number of training examples."""
        return int(self.x.shape[0])

    @property
    def per_epoch(self) -> int:
        """Whole minibatches in one pass over the data."""
        return len(self) // self.batch_size

    def start_epoch(self, epoch: int) -> None:
        """Shuffle for ``epoch`` (1-based)."""
        self._order = epoch_permutation(len(self), self.seed, epoch, self.device)
        self.epoch = epoch

    def get(self, index: int) -> tuple[Tensor, Tensor | None]:
        """The ``index``-th minibatch of the current epoch and its labels (one gather); in
        a distributed run, this rank's slice of it."""
        if self._order is None:
            raise RuntimeError("Batches.get before start_epoch")
        rank, size = self.part
        local = self.batch_size // size
        start = index * self.batch_size + rank * local
        return self._gather(self._order[start : start + local])

    def random(self, n: int) -> tuple[Tensor, Tensor | None]:
        """``n`` examples drawn with replacement from the global torch RNG (outside the
        epoch order; e.g. the long inner loop of the Figure 1 driver)."""
        return self._gather(torch.randint(len(self), (n,), device=self.device))

    def _gather(self, idx: Tensor) -> tuple[Tensor, Tensor | None]:
        x = as_float(self.x.index_select(0, idx))
        return x, (self.y.index_select(0, idx) if self.y is not None else None)
