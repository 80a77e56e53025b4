"""SIGINT/SIGTERM: finish the current iteration, checkpoint, and return from fit()."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

from gannet.training.hooks.base import Hook

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


class StopOnSignal(Hook):
    """While :meth:`Trainer.fit` runs, SIGINT and SIGTERM request a stop
    (:meth:`Trainer.request_stop`) instead of killing the process mid-write. Off the main
    thread (where handlers cannot be set) it does nothing."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}

    def on_fit_start(self, trainer: TrainerView) -> None:
        def request_stop(signum: int, frame: Any) -> None:
            trainer.request_stop()

        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, request_stop)
        except ValueError:  # not the main thread: leave signals alone
            pass

    def restore(self) -> None:
        """Put back the handlers that were there before fit()."""
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous.clear()

    def on_fit_end(self, trainer: TrainerView, status: str) -> None:
        self.restore()

    def on_error(self, trainer: TrainerView, error: BaseException) -> None:
        self.restore()
