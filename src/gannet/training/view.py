"""What the pieces around the loop see of a trainer: :class:`TrainerView` and :class:`Progress`.

Hooks (:mod:`gannet.training.hooks`), the checkpoint state (:mod:`gannet.training.state`),
device placement (:mod:`gannet.training.networks`), fine-tuning and rollback take a
:class:`TrainerView`, never the loop's :class:`~gannet.training.Trainer` itself, so nothing in
``training/`` imports the loop back: the loop depends on them, not the other way round
(``tests/test_imports.py`` fails on any circle, type-only ones included).

:class:`TrainerView` is a :class:`typing.Protocol`: any object with these members is one (the
Trainer and its subclasses are, which mypy checks wherever the loop hands itself to a hook). A
hook written outside gannet types its ``trainer`` argument with it too. Members are grouped by
what they hold; everything else on a Trainer is the loop's own business.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import Tensor, nn

    from gannet.config import Config
    from gannet.data import Dataset
    from gannet.game.ada import AdaptiveAugment
    from gannet.game.losses import Loss
    from gannet.training.batches import Batches
    from gannet.training.distributed import World
    from gannet.training.precision import Precision
    from gannet.training.stats import IntervalStats

H = TypeVar("H")


@dataclass
class Progress:
    """Where a run is: ``step`` counts generator updates (Algorithm 1 iterations)."""

    step: int = 0
    epoch: int = 1
    """The epoch in progress, 1-based."""
    iteration_in_epoch: int = 0
    elapsed: float = 0.0
    """Training seconds, summed over sessions."""


class HookCalls(Protocol):
    """What a hook may ask of the trainer's other hooks."""

    def find(self, kind: type[H]) -> H | None:
        """The first hook that is an instance of ``kind``, or None."""
        ...

    def on_resume(self, trainer: TrainerView) -> None:
        """Tell every hook a checkpoint was loaded (e.g. after a rollback)."""
        ...


class EpochEndDue(Protocol):
    """Whether the epoch that just ended does the epoch-end work (checkpoint, grid, curves)."""

    due: bool


class TrainerView(Protocol):
    """A trainer as hooks, checkpoints and helpers see it."""

    # the run
    config: Config
    """The resolved config (``config.train`` holds the loop's settings)."""
    run_dir: Path | None
    """The run folder, or None for a trainer that writes nothing (tests, benchmarks)."""
    progress: Progress
    iterations_per_epoch: int
    initialised_from: dict[str, Any] | None
    """What run.json records of ``train.init_from`` (None: trained from scratch)."""

    # where it runs
    device: torch.device
    world: World
    """This process's place among the ranks (one rank when not distributed)."""
    rank_rng: list[Tensor] | None
    """Every rank's dropout stream at the last checkpoint (distributed runs)."""

    # the game's players and what trains them
    G: nn.Module
    D: nn.Module
    G_ema: nn.Module | None
    D_ema: nn.Module | None
    loss: Loss
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    amp: Precision
    ada: AdaptiveAugment | None
    stats: IntervalStats

    # the data
    data: Dataset
    batches: Batches
    num_classes: int
    """Classes a conditional G and D take (0: unconditional)."""

    @property
    def epoch_end(self) -> EpochEndDue:
        """Read-only: the loop decides it (:mod:`gannet.training.hooks.schedule`)."""
        ...

    @property
    def hooks(self) -> HookCalls:
        """The trainer's hooks, called as one (read-only)."""
        ...

    @property
    def G_eval(self) -> nn.Module:
        """The generator for samples and evaluation: the EMA average when kept."""
        ...

    def say(self, text: str) -> None:
        """A line for the user, through whichever hooks show messages."""
        ...

    def checkpoint(self) -> None:
        """Tell the hooks the state is consistent and should be saved."""
        ...

    def request_stop(self) -> None:
        """Ask the loop to stop after the current iteration (checkpointed)."""
        ...
