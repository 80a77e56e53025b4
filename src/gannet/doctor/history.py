"""What a detector reads: a run's logging records (metrics.jsonl, or the records so far
during training) and the few facts about the run that change their meaning.

The same :class:`History` is built post hoc from the file (:func:`read_history`) and live
from the records the training hook has seen, so each detector has one definition.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENT = "event"
"""Key of a line of metrics.jsonl that records an event (a rollback), not an interval."""


@dataclass
class Context:
    """The facts about a run a detector needs besides its records."""

    loss: str = "non-saturating"
    probabilistic: bool = True
    """D's output is a probability's logit (minimax, non-saturating): D(x) is meaningful."""
    log_every: int = 1


@dataclass
class History:
    """A run's interval records in step order (event lines left out)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    """Event lines (rollbacks), in order."""

    def __len__(self) -> int:
        return len(self.records)

    @property
    def steps(self) -> list[int]:
        return [int(r.get("step", 0)) for r in self.records]

    def column(self, key: str) -> list[float]:
        """``key`` of every record as a float: NaN where it is missing, null or not a
        number (JSON null is how a NaN or Inf may have been written)."""
        return [as_float(r.get(key)) for r in self.records]

    def measured(self, key: str) -> tuple[list[int], list[float]]:
        """(steps, values) of the records that carry ``key`` as a number."""
        rows = [r for r in self.records if isinstance(r.get(key), int | float)]
        return [int(r.get("step", 0)) for r in rows], [float(r[key]) for r in rows]

    def fields(self) -> set[str]:
        return {k for r in self.records for k in r}

    def add(self, record: dict[str, Any]) -> None:
        """Append one line (an interval record or an event)."""
        (self.events if EVENT in record else self.records).append(record)


def as_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def median(values: list[float]) -> float:
    """The median of the finite values (NaN when there is none)."""
    vals = sorted(finite(values))
    if not vals:
        return math.nan
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else 0.5 * (vals[mid - 1] + vals[mid])


def quantile(values: list[float], q: float) -> float:
    """The q-quantile of the finite values (nearest rank; NaN when there is none)."""
    vals = sorted(finite(values))
    if not vals:
        return math.nan
    return vals[min(len(vals) - 1, max(0, round(q * (len(vals) - 1))))]


def read_history(path: Path) -> tuple[History, int]:
    """The records of metrics.jsonl and the number of damaged lines skipped (a line that is
    not a JSON object: cut short by a kill, or edited)."""
    history, bad = History(), 0
    if not path.is_file():
        return history, 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            bad += 1
            continue
        if isinstance(value, dict) and ("d_loss" in value or EVENT in value):
            history.add(value)
        else:
            bad += 1
    history.records.sort(key=lambda r: as_float(r.get("step")))
    return history, bad
