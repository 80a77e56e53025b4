"""Progress of a long data load on stderr, decided as the training console decides it.

``train.progress``: ``auto`` is a bar on a terminal and a line every 10 % otherwise, ``bar``
a bar (tqdm), ``lines`` a line every 10 %, ``none`` nothing. Loads of fewer than
:data:`QUIET_BELOW` files print nothing.
"""

from __future__ import annotations

import sys
import time
from typing import Any

QUIET_BELOW = 200
"""Loads of fewer files than this show no progress."""


def warn(message: str) -> None:
    """One warning line on stderr."""
    print(f"gannet: warning: {message}", file=sys.stderr, flush=True)


class Progress:
    """``update(n)`` as files are done; ``close()`` at the end. Subclasses count other
    units (:attr:`unit`, :attr:`quiet_below`, :meth:`line`)."""

    unit = "img"
    quiet_below: int | None = None
    """Totals below this show no progress (None: :data:`QUIET_BELOW`)."""

    def __init__(self, total: int, mode: str, what: str) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        quiet = QUIET_BELOW if self.quiet_below is None else self.quiet_below
        self.mode = "none" if total < quiet else mode
        self.total, self.what, self.done = total, what, 0
        self.next_line = 0.1
        self.start = time.perf_counter()
        self.bar: Any = None
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                desc=what,
                unit=self.unit,
                unit_scale=self.unit == "B",
                file=sys.stderr,
                leave=False,
            )

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.mode == "lines" and self.done >= self.next_line * self.total:
            self.next_line = (self.done * 10 // self.total + 1) / 10
            print(f"{self.what}: {self.line()}", file=sys.stderr, flush=True)

    def line(self) -> str:
        """What a ``lines`` progress line says after the label."""
        rate = self.done / max(time.perf_counter() - self.start, 1e-9)
        return f"{self.done}/{self.total} ({100 * self.done // self.total}%, {rate:.0f} images/s)"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
