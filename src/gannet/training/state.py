"""The training checkpoint: its one schema, and the capture and restore of the RNG.

This module is the only place that knows a checkpoint's keys. A :class:`Checkpoint` is
written by :func:`write_checkpoint` (atomically, through :mod:`gannet.files.checkpoint`) and read
by :func:`read_checkpoint` (``torch.load(weights_only=True)``: a checkpoint holds tensors and
primitive values only, so it can never run code). Everything else (``gannet.load_run``,
averaging, the reproduction driver, the training loop) reads and writes the fields of this
dataclass.

Three kinds of file share the schema:

* the full checkpoint ``RUN/checkpoint.pt``: weights, optimizer states, progress counters and
  every RNG state, enough to continue bit for bit (:attr:`Checkpoint.resumable`);
* a snapshot ``RUN/snapshots/epoch-NNNN.pt``: weights and counters only
  (:meth:`Checkpoint.weights_only`);
* an average (``gannet average``): a snapshot whose G is averaged, with :attr:`averaged`.

Format version 1 is the only one so far; files written before this module existed are
version 1 and load unchanged. A newer version is refused with one line that names it.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from gannet.errors import GannetError
from gannet.files.checkpoint import load_weights_file, save_weights_file
from gannet.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView

FORMAT = "gannet-checkpoint"
"""The ``format`` marker of every training checkpoint, snapshot and average."""
VERSION = 1
"""The checkpoint format version this gannet writes (and the newest it reads)."""

StateDict = dict[str, Tensor]


@dataclass
class Checkpoint:
    """One checkpoint, snapshot or average of a training run."""

    config: dict[str, Any]
    """The run's resolved config (``Config.to_dict()``)."""
    sample_shape: list[int]
    generator: StateDict
    discriminator: StateDict
    generator_ema: StateDict | None = None
    """G's exponential moving average (train.ema > 0)."""
    discriminator_ema: StateDict | None = None
    """D's exponential moving average (semi-supervised runs with train.d_ema > 0)."""
    num_classes: int = 0
    """Classes of a conditional run; 0 when unconditional."""
    step: int = 0
    """Generator updates done."""
    epochs_completed: int = 0
    gannet_version: str = ""
    # ---- full checkpoints only (exact resume)
    opt_g: dict[str, Any] | None = None
    opt_d: dict[str, Any] | None = None
    epoch: int = 1
    """The epoch in progress (1-based)."""
    iteration_in_epoch: int = 0
    elapsed: float = 0.0
    """Training seconds, summed over sessions."""
    rng: dict[str, Any] | None = None
    """Every RNG state (:func:`capture_rng`)."""
    amp: dict[str, Any] | None = None
    """fp16's gradient scalers (train.precision = "fp16")."""
    world_size: int = 1
    """Processes the run trained on (distributed data parallel)."""
    rank_rng: list[Tensor] | None = None
    """Every rank's dropout stream, in rank order (distributed runs only)."""
    interval: dict[str, Any] | None = None
    """The logging interval's running sums at the checkpoint, so the metrics line of an
    interval that spans a kill and a resume is the same as without the kill (older files
    lack it: that interval then restarts at the resume)."""
    ada: dict[str, Any] | None = None
    """ADA's p and its interval sums (train.augment_p = "ada"; :mod:`gannet.game.ada`)."""
    # ---- averages only
    averaged: dict[str, int] | None = None
    """``{"first", "last", "snapshots"}``: the epochs whose snapshots G averages."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know (kept on a round trip)."""

    @property
    def resumable(self) -> bool:
        """True for a full checkpoint (optimizers and RNG included)."""
        return self.opt_g is not None and self.opt_d is not None and self.rng is not None

    def weights_only(self) -> Checkpoint:
        """The snapshot form: weights, config and counters; no optimizer or RNG state."""
        return Checkpoint(
            config=self.config,
            sample_shape=self.sample_shape,
            generator=self.generator,
            discriminator=self.discriminator,
            generator_ema=self.generator_ema,
            discriminator_ema=self.discriminator_ema,
            num_classes=self.num_classes,
            step=self.step,
            epochs_completed=self.epochs_completed,
            gannet_version=self.gannet_version,
        )

    def generator_weights(self, ema: bool = True) -> tuple[StateDict, bool]:
        """G's weights: the EMA average when kept and ``ema``, else the raw ones; and
        whether the EMA was used."""
        if ema and self.generator_ema is not None:
            return self.generator_ema, True
        return self.generator, False

    def to_dict(self) -> dict[str, Any]:
        """The plain dict that is saved (format marker and version included)."""
        out: dict[str, Any] = {"format": FORMAT, "version": VERSION}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        if not self.resumable:  # a snapshot keeps no in-epoch counters
            for key in ("epoch", "iteration_in_epoch", "elapsed"):
                out.pop(key)
        if self.world_size == 1:  # as files written before distributed training
            out.pop("world_size")
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "checkpoint") -> Checkpoint:
        """Build from a loaded dict; a missing or mistyped field is one GannetError line."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        values = {k: v for k, v in raw.items() if k in known}
        extra = {k: v for k, v in raw.items() if k not in known | {"format", "version"}}
        try:
            ckpt = cls(**values, extra=extra)
            ckpt.sample_shape = [int(s) for s in ckpt.sample_shape]
            ckpt.num_classes = int(ckpt.num_classes)
            ckpt.step, ckpt.epoch = int(ckpt.step), int(ckpt.epoch)
            ckpt.epochs_completed = int(ckpt.epochs_completed)
            ckpt.iteration_in_epoch = int(ckpt.iteration_in_epoch)
            ckpt.elapsed = float(ckpt.elapsed)
            ckpt.world_size = int(ckpt.world_size)
        except (TypeError, ValueError) as e:
            raise GannetError(f"{source} is incomplete or malformed ({e})") from None
        if not isinstance(ckpt.generator, dict) or not isinstance(ckpt.discriminator, dict):
            raise GannetError(f"{source} is malformed (its weights are not tables of tensors)")
        return ckpt


REQUIRED = ("config", "sample_shape", "generator", "discriminator")


def write_checkpoint(path: Path, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically (temporary file, fsync, rename)."""
    save_weights_file(Path(path), ckpt.to_dict())


def read_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load and verify a checkpoint, snapshot or average; any problem is one GannetError."""
    raw = load_weights_file(
        Path(path),
        format=FORMAT,
        version=VERSION,
        required=REQUIRED,
        what="checkpoint",
        fix="use another checkpoint or retrain",
        map_location=map_location,
    )
    return Checkpoint.from_dict(raw, f"checkpoint {str(path)!r}")


# ---------------------------------------------------------------------------- the RNG


def capture_rng() -> dict[str, Any]:
    """Every RNG state a run draws from: torch's (and CUDA's), Python's and NumPy's global
    generators, as plain tensors and primitives."""
    version, internal, gauss = random.getstate()
    np_state: Any = np.random.get_state()
    kind, keys, pos, has_gauss, cached = np_state
    rng: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": [version, list(internal), gauss],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
    }
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def restore_rng(rng: dict[str, Any]) -> None:
    """Set every global RNG back to a state from :func:`capture_rng`."""
    torch.set_rng_state(rng["torch"].cpu())
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    s = rng["numpy"]
    keys = s["keys"].numpy().astype(np.uint32)
    np.random.set_state((s["kind"], keys, s["pos"], s["has_gauss"], s["cached"]))
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([t.cpu() for t in rng["cuda"]])


def seed_everything(seed: int) -> None:
    """Seed torch's, Python's and NumPy's global generators from one run seed."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


# ---------------------------------------------------------------------------- trainers


def capture(trainer: TrainerView) -> Checkpoint:
    """A full checkpoint of ``trainer``: everything needed to continue exactly."""
    p = trainer.progress
    return Checkpoint(
        config=trainer.config.to_dict(),
        gannet_version=__version__,
        sample_shape=list(trainer.data.sample_shape),
        generator=trainer.G.state_dict(),
        discriminator=trainer.D.state_dict(),
        generator_ema=trainer.G_ema.state_dict() if trainer.G_ema is not None else None,
        discriminator_ema=trainer.D_ema.state_dict() if trainer.D_ema is not None else None,
        opt_g=trainer.opt_g.state_dict(),
        opt_d=trainer.opt_d.state_dict(),
        step=p.step,
        epoch=p.epoch,
        epochs_completed=p.epoch - 1,
        iteration_in_epoch=p.iteration_in_epoch,
        elapsed=p.elapsed,
        rng=capture_rng(),
        interval=trainer.stats.state(),
        world_size=trainer.world.size,
        amp=trainer.amp.state_dict(),
        rank_rng=trainer.rank_rng,
        num_classes=trainer.num_classes,
        ada=trainer.ada.state_dict() if trainer.ada is not None else None,
    )


def restore(trainer: TrainerView, ckpt: Checkpoint) -> None:
    """Load a full checkpoint into ``trainer`` (weights, optimizers, counters, RNG)."""
    if list(ckpt.sample_shape) != list(trainer.data.sample_shape):
        raise GannetError(
            f"the checkpoint was trained on samples of shape {ckpt.sample_shape}, "
            f"but the data now has shape {list(trainer.data.sample_shape)}"
        )
    if not ckpt.resumable or ckpt.opt_g is None or ckpt.opt_d is None or ckpt.rng is None:
        raise GannetError(
            "the checkpoint holds weights only (a snapshot or an average), not the optimizer "
            "and RNG state that resuming needs; resume from the run's checkpoint.pt"
        )
    try:
        trainer.G.load_state_dict(ckpt.generator)
        trainer.D.load_state_dict(ckpt.discriminator)
        if trainer.G_ema is not None:
            if ckpt.generator_ema is None:
                raise KeyError("generator_ema")
            trainer.G_ema.load_state_dict(ckpt.generator_ema)
        if trainer.D_ema is not None:
            if ckpt.discriminator_ema is None:
                raise KeyError("discriminator_ema")
            trainer.D_ema.load_state_dict(ckpt.discriminator_ema)
        trainer.opt_g.load_state_dict(ckpt.opt_g)
        trainer.opt_d.load_state_dict(ckpt.opt_d)
        p = trainer.progress
        p.step, p.epoch = ckpt.step, ckpt.epoch
        p.iteration_in_epoch, p.elapsed = ckpt.iteration_in_epoch, ckpt.elapsed
        restore_rng(ckpt.rng)
        restore_rank_rng(trainer, ckpt)
        trainer.amp.load_state_dict(ckpt.amp)
        if ckpt.interval is not None:
            trainer.stats.load(ckpt.interval, trainer.device)
        if trainer.ada is not None:
            if ckpt.ada is None:
                raise KeyError("ada")
            trainer.ada.load_state_dict(ckpt.ada)
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise GannetError(f"the checkpoint does not match this run ({e})") from None


def restore_rank_rng(trainer: TrainerView, ckpt: Checkpoint) -> None:
    """Give each rank its dropout stream back. With another world size than the run had,
    the streams start afresh from (seed, rank, step): equivalent training, not bitwise."""
    world = trainer.world
    if ckpt.world_size == world.size:
        if world.distributed and ckpt.rank_rng is not None:
            world.rank_state = ckpt.rank_rng[world.rank].cpu()
        return
    world.seed_rank_stream(trainer.config.train.seed + ckpt.step)
    trainer.say(
        f"gannet: warning: resuming a run trained on {ckpt.world_size} process(es) with "
        f"{world.size}: training continues equivalently, but not bit for bit as it would "
        f"with {ckpt.world_size}"
    )
