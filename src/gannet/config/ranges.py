"""Allowed ranges of config values, declared beside each field of :mod:`gannet.config`.

``lr: float = ranged(0.1, 0, open_low=True)`` is a dataclass field whose metadata holds a
:class:`Range`; list fields take ``field(default_factory=..., metadata=limits(...))``.
:func:`check_value` refuses a value outside its range with one line naming the key and the
range. A float must also be finite, and an integer fit in PyTorch's int64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gannet.errors import GannetError

MAX_INT = 2**63 - 1
"""The largest integer a config holds (PyTorch's int64): every integer key's upper bound."""


@dataclass(frozen=True)
class Range:
    """The values a number (or each number of a list) may take; floats must also be finite."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    """The bound ``low`` itself is excluded."""
    open_high: bool = False
    length: tuple[int, int] | None = None
    """Lists: the smallest and largest number of items."""
    note: str = ""
    """What the value means at its bounds, shown in the error (e.g. '0 = off')."""

    def holds(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        high = MAX_INT if self.high is None and isinstance(value, int) else self.high
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return high is None or (value < high if self.open_high else value <= high)

    def describe(self, integer: bool) -> str:
        """E.g. 'an integer from 1 to 64', 'a finite number in [0, 1)', 'a finite number > 0'."""
        kind = "an integer" if integer else "a finite number"
        low, high = _show(self.low), _show(self.high)
        if integer and self.low is not None:
            return f"{kind} from {low} to {high if self.high is not None else '2**63 - 1'}"
        if self.low is not None and self.high is not None:
            left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
            return f"{kind} in {left}{low}, {high}{right}"
        if self.low is not None:
            return f"{kind} {'>' if self.open_low else '>='} {low}"
        if self.high is not None:
            return f"{kind} {'<' if self.open_high else '<='} {high}"
        return kind


def ranged(
    default: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
    note: str = "",
) -> Any:
    """A dataclass field whose metadata holds its allowed :class:`Range`."""
    return field(
        default=default,
        metadata=limits(low, high, open_low=open_low, open_high=open_high, note=note),
    )


def limits(
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
    length: tuple[int, int] | None = None,
    note: str = "",
) -> dict[str, Range]:
    """Field metadata holding a :class:`Range` (for list fields, with ``default_factory``)."""
    return {"range": Range(low, high, open_low, open_high, length, note)}


def _show(bound: float | None) -> str:
    if bound == MAX_INT:
        return "2**63 - 1"
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def check_value(key: str, value: Any, allowed: Range | None, integer: bool) -> None:
    """Raise GannetError unless ``value`` (of the right type already) is in ``allowed``; a
    string must hold no NUL character (no file name or device can)."""
    if isinstance(value, str) and "\x00" in value:
        raise GannetError(f"config key '{key}' must not contain a NUL character")
    if allowed is None or isinstance(value, str):  # a range bounds numbers only
        return
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and allowed.length is not None:
        least, most = allowed.length
        if not least <= len(value) <= most:
            count = f"exactly {least}" if least == most else f"{least} to {most}"
            raise GannetError(
                f"{key} must be a list of {count} numbers ({allowed.describe(integer)} each), "
                f"got {value!r}"
            )
    for v in items:
        if not allowed.holds(v):
            note = f" ({allowed.note})" if allowed.note else ""
            what = f"every item of {key}" if isinstance(value, list) else key
            raise GannetError(f"{what} must be {allowed.describe(integer)}{note}, got {v!r}")
