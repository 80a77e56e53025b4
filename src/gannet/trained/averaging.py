"""Uniform averaging of G's weights over a run's snapshots (Polyak averaging).

Yazıcı et al. (2019, "The Unusual Effectiveness of Averaging in GAN Training") average the
generator's weights along training, as an exponential moving average (``train.ema``) or
uniformly over a window of iterates. This module does the uniform one after the fact, from
the snapshots a run keeps every ``train.snapshot_every`` epochs: every floating-point tensor
of G (raw weights and, when the run kept one, its EMA) is the mean over the snapshots of
epochs ``first..last``; integer buffers and D come from the last snapshot. The result is a
snapshot-format checkpoint, so ``gannet eval``, ``gannet figure`` and ``gannet sample`` take
it through ``--checkpoint``.
"""

from __future__ import annotations

import re
from pathlib import Path

from gannet.errors import GannetError
from gannet.files.rundir import refuse_run_file
from gannet.trained.run import require_run_dir
from gannet.training.hooks.snapshots import SNAPSHOTS
from gannet.training.state import Checkpoint, StateDict, read_checkpoint, write_checkpoint

_EPOCH_FILE = re.compile(r"epoch-(\d+)\.pt")


def snapshot_epochs(run_dir: str | Path) -> dict[int, Path]:
    """The run's epoch snapshots, by epoch."""
    folder = require_run_dir(run_dir) / SNAPSHOTS
    found = {}
    if folder.is_dir():
        for path in folder.iterdir():
            m = _EPOCH_FILE.fullmatch(path.name)
            if m:
                found[int(m.group(1))] = path
    return dict(sorted(found.items()))


def average_path(run_dir: str | Path, first: int, last: int) -> Path:
    """Where ``gannet average`` writes by default: RUN/snapshots/average-FFFF-LLLL.pt."""
    return Path(run_dir) / SNAPSHOTS / f"average-{first:04d}-{last:04d}.pt"


def average_snapshots(run_dir: str | Path, first: int, last: int | None = None) -> Checkpoint:
    """A checkpoint whose G (and G's EMA, when kept) is the uniform average of the snapshots of
    epochs ``first..last`` (default: up to the newest); D and everything else come from the
    last of them. Its ``averaged`` field records the window."""
    if last is not None and first > last:
        raise GannetError(f"the first epoch ({first}) is after the last ({last})")
    snaps = snapshot_epochs(run_dir)
    chosen = [e for e in snaps if e >= first and (last is None or e <= last)]
    if not chosen:
        kept = f"epochs {min(snaps)}..{max(snaps)}" if snaps else "none"
        raise GannetError(
            f"run {str(run_dir)!r} has no snapshots from epoch {first}"
            f"{'' if last is None else f' to {last}'} (it has {kept}); keep one every epoch "
            "with --set train.snapshot_every=1 when training or resuming it"
        )
    g_sum: _Sum | None = None
    ema_sum: _Sum | None = None
    for epoch in chosen:
        ckpt = read_checkpoint(snaps[epoch])
        g_sum = _add(g_sum, ckpt.generator, snaps[epoch])
        if ckpt.generator_ema is not None:
            ema_sum = _add(ema_sum, ckpt.generator_ema, snaps[epoch])
    assert g_sum is not None
    out = ckpt.weights_only()
    out.generator = g_sum.mean(ckpt.generator)
    if ema_sum is not None and ckpt.generator_ema is not None:
        out.generator_ema = ema_sum.mean(ckpt.generator_ema)
    out.averaged = {"first": chosen[0], "last": chosen[-1], "snapshots": len(chosen)}
    return out


class _Sum:
    """A running sum of state dicts: float tensors in float64, others kept from the last."""

    def __init__(self, weights: StateDict) -> None:
        self.n = 1
        self.tensors = {k: v.double() if v.is_floating_point() else v for k, v in weights.items()}

    def mean(self, like: StateDict) -> StateDict:
        """The mean, in the dtypes of ``like``."""
        return {
            k: (v / self.n).to(like[k].dtype) if like[k].is_floating_point() else v
            for k, v in self.tensors.items()
        }


def _add(total: _Sum | None, weights: StateDict, path: Path) -> _Sum:
    if total is None:
        return _Sum(weights)
    if total.tensors.keys() != weights.keys():
        raise GannetError(
            f"snapshot {str(path)!r} does not match the others; average snapshots of one run only"
        )
    for k, v in weights.items():
        total.tensors[k] = total.tensors[k] + v.double() if v.is_floating_point() else v
    total.n += 1
    return total


def write_average(
    run_dir: str | Path, first: int, last: int | None = None, out: str | Path | None = None
) -> tuple[Path, dict[str, int]]:
    """Average the snapshots (:func:`average_snapshots`) and write the checkpoint atomically
    (default: :func:`average_path`); returns its path and the window averaged."""
    ckpt = average_snapshots(run_dir, first, last)
    window = ckpt.averaged
    assert window is not None
    path = Path(out) if out else average_path(run_dir, window["first"], window["last"])
    refuse_run_file(path, Path(run_dir), "the average")
    write_checkpoint(path, ckpt)
    return path, window
