"""Hooks: everything a training run does besides Algorithm 1 (:mod:`.base` has the events).

:func:`run_hooks` is the set ``gannet train`` and :func:`gannet.train` use, in the order
that matters (measurements before the metrics file, the metrics file before the health
check, the checkpoint before the status file).
"""

from __future__ import annotations

from pathlib import Path

from gannet.training.hooks.base import Hook, HookList
from gannet.training.hooks.checkpoints import Checkpoints
from gannet.training.hooks.console import Console
from gannet.training.hooks.curves import Curves
from gannet.training.hooks.doctor import LiveDoctor
from gannet.training.hooks.evaluation import Evaluation
from gannet.training.hooks.health import Health
from gannet.training.hooks.metrics import MetricsFile
from gannet.training.hooks.modes import ModeMonitor
from gannet.training.hooks.samples import SampleGrids
from gannet.training.hooks.signals import StopOnSignal
from gannet.training.hooks.snapshots import Snapshots, snapshot_path
from gannet.training.hooks.status import Diverged, StatusFile
from gannet.training.hooks.tensorboard import TensorBoardEvents


def run_hooks(run_dir: Path) -> list[Hook]:
    """The hooks of a full run in ``run_dir``: signals, mode monitor, evaluation, the live
    doctor, metrics file, health, console, sample grids, snapshots, curves, TensorBoard events
    (``train.tensorboard``), checkpoint and status file."""
    run_dir = Path(run_dir)
    return [
        StopOnSignal(),
        ModeMonitor(run_dir),
        Evaluation(),
        LiveDoctor(run_dir),
        MetricsFile(run_dir),
        Health(),
        Console(),
        SampleGrids(run_dir),
        Snapshots(run_dir),
        Curves(run_dir),
        TensorBoardEvents(run_dir),
        Checkpoints(run_dir),
        StatusFile(run_dir),
    ]


__all__ = [
    "Checkpoints",
    "Console",
    "Curves",
    "Diverged",
    "Evaluation",
    "Health",
    "Hook",
    "HookList",
    "LiveDoctor",
    "MetricsFile",
    "ModeMonitor",
    "SampleGrids",
    "Snapshots",
    "StatusFile",
    "StopOnSignal",
    "TensorBoardEvents",
    "run_hooks",
    "snapshot_path",
]
