"""Data-parallel training on ``torch.distributed``: the world a trainer runs in.

``gannet train CONFIG --nproc N`` starts N processes through PyTorch's elastic launcher
(``torch.distributed.run``, what ``torchrun`` is); ``torchrun --nnodes M --nproc-per-node N
--rdzv-endpoint HOST:PORT -m gannet train CONFIG`` does the same across hosts. Each process
finds its rank in the environment the launcher sets (RANK, WORLD_SIZE, LOCAL_RANK) and joins
the process group: gloo on CPU, nccl on CUDA.

What is shared and what is per rank:

* ``train.batch_size`` is the global batch; each rank takes its slice of the (seed, epoch)
  data order's minibatch and of the global noise batch, which every rank draws whole from
  the shared seed. So a model without dropout or batch norm trains the same, up to float
  rounding, whatever the world size.
* Dropout (and any randomness inside G's and D's forward passes) draws from a stream of its
  own per rank, seeded from (seed, rank): the global stream stays the same on every rank.
* Gradients are averaged over the ranks (one ``all_reduce`` of the flattened gradients per
  update) before every optimizer step, so every rank holds the same weights; the logging
  interval's sums are averaged before a metrics line is written.
* Rank 0 alone keeps G's EMA, prints, and writes samples, curves, snapshots, metrics and the
  checkpoint, which holds every rank's dropout stream (:meth:`World.gather_rank_rng`).

A single process is the world of size 1: every method here then does nothing, and training
is exactly what it was before distributed training existed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from gannet.errors import GannetError

RANK_SEED = 1_000_003
"""Rank r's dropout stream is seeded with seed * RANK_SEED + 7919 * (r + 1)."""


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s dropout stream."""
    return (seed * RANK_SEED + 7919 * (rank + 1)) % 2**63


@dataclass
class World:
    """This process's place among the training processes (size 1: no distribution)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str = ""
    rank_state: Tensor | None = field(default=None, repr=False)
    """This rank's dropout stream (a torch RNG state); None in a world of size 1."""
    rank_cuda_state: Tensor | None = field(default=None, repr=False)
    """The same stream's state on this rank's GPU (CUDA runs)."""

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints and writes files."""
        return self.rank == 0

    # ---------------------------------------------------------------- the launch

    @classmethod
    def from_environment(cls, device: torch.device) -> World:
        """Join the process group the launcher describes in the environment (WORLD_SIZE,
        RANK, LOCAL_RANK; MASTER_ADDR/PORT or the rendezvous), or a world of size 1."""
        size = int(os.environ.get("WORLD_SIZE", "1") or 1)
        if size <= 1:
            return cls()
        import torch.distributed as dist

        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        # nccl for the gradients on GPUs, gloo for the few CPU tensors (stop flags, the
        # dropout streams' states); the GPU of this local rank is chosen before any
        # collective, so no two ranks meet on GPU 0.
        backend = "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group(backend=backend)
        return cls(rank=rank, size=size, local_rank=local_rank, backend=backend)

    def device_for(self, device: torch.device) -> torch.device:
        """A CUDA rank uses the GPU of its local rank; a CPU rank the CPU."""
        if device.type != "cuda" or not self.distributed:
            return device
        torch.cuda.set_device(self.local_rank)
        return torch.device("cuda", self.local_rank)

    def check_batch(self, batch_size: int) -> int:
        """The per-rank batch of a global ``batch_size``; refused if it does not divide."""
        if batch_size % self.size:
            raise GannetError(
                f"train.batch_size={batch_size} (the global batch) is not divisible by the "
                f"{self.size} processes; use a multiple of {self.size}, or another --nproc"
            )
        return batch_size // self.size

    def seed_rank_stream(self, seed: int) -> None:
        """Start this rank's dropout stream from (seed, rank)."""
        if self.distributed:
            gen = torch.Generator().manual_seed(rank_seed(seed, self.rank))
            self.rank_state = gen.get_state()
            if torch.cuda.is_available() and self.backend.endswith("nccl"):
                cuda = torch.Generator(device="cuda").manual_seed(rank_seed(seed, self.rank))
                self.rank_cuda_state = cuda.get_state()

    # ---------------------------------------------------------------- per step

    def local(self, batch: Tensor) -> Tensor:
        """This rank's slice of a global batch (the whole batch in a world of size 1)."""
        if not self.distributed:
            return batch
        m = batch.shape[0] // self.size
        return batch[self.rank * m : (self.rank + 1) * m]

    @contextlib.contextmanager
    def rank_rng(self) -> Iterator[None]:
        """Run a forward pass with this rank's dropout stream as the global CPU RNG (and on
        CUDA, the device's), leaving the shared stream untouched."""
        if not self.distributed or self.rank_state is None:
            yield
            return
        shared = torch.get_rng_state()
        torch.set_rng_state(self.rank_state)
        shared_cuda = None
        if self.rank_cuda_state is not None:
            shared_cuda = torch.cuda.get_rng_state()
            torch.cuda.set_rng_state(self.rank_cuda_state)
        try:
            yield
        finally:
            self.rank_state = torch.get_rng_state()
            torch.set_rng_state(shared)
            if shared_cuda is not None:
                self.rank_cuda_state = torch.cuda.get_rng_state()
                torch.cuda.set_rng_state(shared_cuda)

    def average_grads(self, module: nn.Module) -> None:
        """Average ``module``'s gradients over the ranks (one all_reduce)."""
        if not self.distributed:
            return
        import torch.distributed as dist

        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.size
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    def mean(self, values: Tensor) -> Tensor:
        """The mean over the ranks of ``values`` (a new tensor; ``values`` in size 1)."""
        if not self.distributed:
            return values
        import torch.distributed as dist

        total = values.clone()
        dist.all_reduce(total)
        return total / self.size

    def total(self, value: int) -> int:
        """The sum over the ranks of an integer."""
        if not self.distributed:
            return value
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.int64)
        dist.all_reduce(t)
        return int(t.item())

    def any(self, flag: bool) -> bool:
        """True when ``flag`` is true on any rank (e.g. a stop request)."""
        return self.total(int(flag)) > 0 if self.distributed else flag

    def broadcast_weights(self, modules: Sequence[nn.Module]) -> None:
        """Make every rank start from rank 0's parameters and buffers."""
        if not self.distributed:
            return
        import torch.distributed as dist

        for module in modules:
            for t in [*module.parameters(), *module.buffers()]:
                dist.broadcast(t.data, src=0)

    def broadcast_text(self, text: str) -> str:
        """Rank 0's ``text`` on every rank (e.g. the run folder it chose)."""
        if not self.distributed:
            return text
        import torch.distributed as dist

        box = [text]
        dist.broadcast_object_list(box, src=0)
        return str(box[0])

    def gather_rank_rng(self) -> list[Tensor] | None:
        """Every rank's dropout stream, in rank order (on every rank); None in size 1."""
        if not self.distributed or self.rank_state is None:
            return None
        import torch.distributed as dist

        states = [torch.empty_like(self.rank_state) for _ in range(self.size)]
        dist.all_gather(states, self.rank_state)
        return states

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        """Leave the process group."""
        if self.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
