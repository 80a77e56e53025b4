"""The run directory's layout and its small files (no torch, no models).

RUN/config.toml          the resolved config
RUN/run.json             status, versions, device, data source, progress
RUN/metrics.jsonl        one JSON line per logging interval
RUN/samples/epoch-NNNN.png   samples from one fixed noise batch, after every epoch
RUN/curves.png           the training curves
RUN/checkpoint.pt        the latest full checkpoint (exact resume)
RUN/snapshots/epoch-NNNN.pt  G and D weights kept along the way (for evaluation)
RUN/eval/                evaluation results
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes

CONFIG = "config.toml"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
STATUS = "run.json"


def default_run_dir(config_name: str, root: Path | None = None) -> Path:
    """The next auto-numbered folder ``runs/NNNNN-<name>`` (root: $GANNET_RUNS or ./runs)."""
    root = Path(root or os.environ.get("GANNET_RUNS", "runs"))
    numbers = [
        int(p.name[:5]) for p in root.glob("[0-9][0-9][0-9][0-9][0-9]-*") if p.name[:5].isdigit()
    ]
    return root / f"{max(numbers, default=-1) + 1:05d}-{config_name}"


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG).is_file() and (path / STATUS).is_file()


def require_run_dir(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise GannetError(f"run directory {str(path)!r} does not exist")
    if not is_run_dir(path):
        raise GannetError(
            f"{str(path)!r} is not a gannet run directory (no {CONFIG} and {STATUS}); "
            "pass the folder that 'gannet train' printed"
        )
    return path


class MetricsLog:
    """Append-only JSON lines; on resume, lines past the checkpoint's step are dropped."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def read(self) -> list[dict[str, Any]]:
        return read_metrics(self.path)

    def truncate_after(self, step: int) -> None:
        kept = [r for r in self.read() if r.get("step", 0) <= step]
        atomic_write_bytes(self.path, "".join(json.dumps(r) + "\n" for r in kept).encode())


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Read metrics.jsonl, ignoring a last line cut short by a crash."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def write_status(run_dir: Path, status: dict[str, Any]) -> None:
    atomic_write_bytes(run_dir / STATUS, (json.dumps(status, indent=2) + "\n").encode())


def read_status(run_dir: Path) -> dict[str, Any]:
    try:
        status: dict[str, Any] = json.loads((run_dir / STATUS).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise GannetError(
            f"{str(run_dir / STATUS)!r} is unreadable ({e}); is this a run?"
        ) from None
    return status


def refuse_run_file(out: Path, run_dir: Path, what: str) -> None:
    """Refuse an output path that is one of the run's own files (its config, status,
    metrics, checkpoint or an epoch snapshot): writing ``what`` there would replace it."""
    run_dir = Path(run_dir)
    own = [run_dir / CONFIG, run_dir / STATUS, run_dir / METRICS, run_dir / CHECKPOINT]
    own += sorted((run_dir / "snapshots").glob("epoch-*.pt"))
    target = Path(out).resolve()
    if Path(out).exists() and any(target == p.resolve() for p in own if p.exists()):
        raise GannetError(
            f"--out {str(out)!r} is one of the run's own files; writing {what} there would "
            "replace it, so choose another file"
        )
