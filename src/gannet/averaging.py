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
from typing import Any

from torch import Tensor

from gannet.checkpoint import load_checkpoint, save_checkpoint
from gannet.errors import GannetError
from gannet.run import CHECKPOINT, require_run_dir

SNAPSHOTS = "snapshots"
_EPOCH_FILE = re.compile(r"epoch-(\d+)\.pt")
_AVERAGED = ("generator", "generator_ema")


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


def average_snapshots(run_dir: str | Path, first: int, last: int | None = None) -> dict[str, Any]:
    """A checkpoint whose G (and G's EMA, when kept) is the uniform average of the snapshots of
    epochs ``first..last`` (default: up to the newest); D and everything else come from the
    last of them. ``state["averaged"]`` records the window."""
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
    sums: dict[str, dict[str, Tensor]] = {}
    state: dict[str, Any] = {}
    for epoch in chosen:
        state = load_checkpoint(snaps[epoch])
        for key in _AVERAGED:
            if key not in state:
                continue
            if key not in sums:
                sums[key] = {
                    k: v.double() if v.is_floating_point() else v for k, v in state[key].items()
                }
                continue
            if sums[key].keys() != state[key].keys():
                raise GannetError(
                    f"snapshot {str(snaps[epoch])!r} does not match the others; "
                    "average snapshots of one run only"
                )
            for k, v in state[key].items():
                sums[key][k] = sums[key][k] + v.double() if v.is_floating_point() else v
    n = len(chosen)
    out = dict(state)
    for key, tensors in sums.items():
        dtypes = {k: v.dtype for k, v in state[key].items()}
        out[key] = {
            k: (v / n).to(dtypes[k]) if dtypes[k].is_floating_point else v
            for k, v in tensors.items()
        }
    out.pop("format", None)
    out.pop("version", None)
    out["averaged"] = {"first": chosen[0], "last": chosen[-1], "snapshots": n}
    return out


def write_average(
    run_dir: str | Path, first: int, last: int | None = None, out: str | Path | None = None
) -> tuple[Path, dict[str, int]]:
    """Average the snapshots (:func:`average_snapshots`) and write the checkpoint atomically
    (default: :func:`average_path`); returns its path and the window averaged."""
    state = average_snapshots(run_dir, first, last)
    window = state["averaged"]
    path = Path(out) if out else average_path(run_dir, window["first"], window["last"])
    protected = [Path(run_dir) / CHECKPOINT, *snapshot_epochs(run_dir).values()]
    if path.exists() and any(path.resolve() == q.resolve() for q in protected):
        raise GannetError(
            f"--out {str(path)!r} is one of the run's own checkpoints; writing the average "
            "there would replace it, so choose another file"
        )
    save_checkpoint(path, state)
    return path, window
