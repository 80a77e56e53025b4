"""The hook interface: what the training loop tells the world, and nothing more.

The loop (:class:`gannet.training.Trainer`) calls these methods on every hook it was given,
in order; a hook overrides the ones it needs. The loop knows nothing of what hooks do: a
benchmark or the playground simply passes fewer hooks (or none). A hook sees the trainer
through :class:`gannet.training.view.TrainerView` (a Protocol), so hooks never import the loop.

Events, in the order they come in one run:

* ``on_attach(trainer)``: once, when the trainer is built with the hook.
* ``on_resume(trainer)``: after a checkpoint was loaded into the trainer.
* ``on_fit_start(trainer)``: :meth:`Trainer.fit` begins.
* ``on_measure(trainer, record)`` then ``on_log(trainer, record)``: every ``train.log_every``
  generator steps. ``on_measure`` may add fields to the record (e.g. mode coverage); then
  ``on_log`` reads it (metrics file, console, health checks).
* ``on_epoch_end(trainer, epoch)``: after the last iteration of epoch ``epoch``.
* ``on_checkpoint(trainer)``: the loop's state is consistent and should be saved (every
  ``train.checkpoint_every`` steps, every epoch end, on interruption and at the end).
* ``on_step_end(trainer, result)``: after every iteration.
* ``on_message(trainer, text)``: a line for the user (:meth:`Trainer.say`).
* ``on_fit_end(trainer, status)``: ``"finished"`` or ``"interrupted"``.
* ``on_error(trainer, error)``: :meth:`Trainer.fit` is leaving with an exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.stats import StepResult
    from gannet.training.view import TrainerView


class Hook:
    """Base class: every event does nothing."""

    def on_attach(self, trainer: TrainerView) -> None:
        pass

    def on_resume(self, trainer: TrainerView) -> None:
        pass

    def on_fit_start(self, trainer: TrainerView) -> None:
        pass

    def on_measure(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        pass

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        pass

    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        pass

    def on_checkpoint(self, trainer: TrainerView) -> None:
        pass

    def on_step_end(self, trainer: TrainerView, result: StepResult) -> None:
        pass

    def on_message(self, trainer: TrainerView, text: str) -> None:
        pass

    def on_fit_end(self, trainer: TrainerView, status: str) -> None:
        pass

    def on_error(self, trainer: TrainerView, error: BaseException) -> None:
        pass


class HookList(Hook):
    """Several hooks called as one, in order."""

    def __init__(self, hooks: Iterable[Hook] = ()) -> None:
        self.hooks = list(hooks)

    def __iter__(self) -> Any:
        return iter(self.hooks)

    def find(self, kind: type[Any]) -> Any:
        """The first hook that is an instance of ``kind``, or None."""
        return next((h for h in self.hooks if isinstance(h, kind)), None)

    def on_attach(self, trainer: TrainerView) -> None:
        for h in self.hooks:
            h.on_attach(trainer)

    def on_resume(self, trainer: TrainerView) -> None:
        for h in self.hooks:
            h.on_resume(trainer)

    def on_fit_start(self, trainer: TrainerView) -> None:
        for h in self.hooks:
            h.on_fit_start(trainer)

    def on_measure(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        for h in self.hooks:
            h.on_measure(trainer, record)

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        for h in self.hooks:
            h.on_log(trainer, record)

    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        for h in self.hooks:
            h.on_epoch_end(trainer, epoch)

    def on_checkpoint(self, trainer: TrainerView) -> None:
        for h in self.hooks:
            h.on_checkpoint(trainer)

    def on_step_end(self, trainer: TrainerView, result: StepResult) -> None:
        for h in self.hooks:
            h.on_step_end(trainer, result)

    def on_message(self, trainer: TrainerView, text: str) -> None:
        for h in self.hooks:
            h.on_message(trainer, text)

    def on_fit_end(self, trainer: TrainerView, status: str) -> None:
        for h in self.hooks:
            h.on_fit_end(trainer, status)

    def on_error(self, trainer: TrainerView, error: BaseException) -> None:
        for h in self.hooks:
            h.on_error(trainer, error)
