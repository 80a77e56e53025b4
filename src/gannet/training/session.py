"""Starting and resuming a run in its folder: the trainer plus the hooks that write the run.

This is what ``gannet train`` and :func:`gannet.train` call; code that wants Algorithm 1
without files (a benchmark, the playground) builds :class:`Trainer` directly with the hooks
it wants, or none.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gannet.config import Config
from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.files.atomic import remove_stale_temporaries, write_error
from gannet.files.rundir import (
    CHECKPOINT,
    CONFIG,
    METRICS,
    default_run_dir,
    is_run_dir,
    read_metrics,
    read_status,
    require_run_dir,
)
from gannet.training.distributed import World
from gannet.training.finetune import initialise_from
from gannet.training.hooks import Health, Hook, StatusFile, StopOnSignal, run_hooks
from gannet.training.loop import Trainer
from gannet.training.networks import resolve_device
from gannet.training.semisup import trainer_class
from gannet.training.state import read_checkpoint, restore

RESUMABLE_OVERRIDES = frozenset(
    {
        "data.data_dir",  # where the (checksum-verified) files are; not what they hold
        "train.epochs",
        "train.max_steps",
        "train.max_minutes",
        "train.log_every",
        "train.checkpoint_every",
        "train.progress",
        "train.tensorboard",  # writes event files beside metrics.jsonl; no training state
        "train.snapshot_every",
        "train.epoch_end_steps",  # when files are written; training does not depend on it
        "train.epoch_end_seconds",
        "train.mode_check",  # measures G on its own fixed noise; touches no training state
        "train.eval_every",  # FID/KID/PRC during training: a private generator, likewise
        "train.eval_metrics",
        "train.doctor",  # reads the records; touches no training state
    }
)
"""Keys that may change when a run is resumed without breaking exact reproducibility."""


def start_run(
    config: Config,
    out: str | Path | None = None,
    dataset: Dataset | None = None,
    hooks: Iterable[Hook] | None = None,
    world: World | None = None,
) -> Trainer:
    """A trainer for a new run in ``out`` (default: the next runs/NNNNN-<data> folder), with
    :func:`run_hooks` unless ``hooks`` is given, its weights copied from train.init_from
    when set (:func:`~gannet.training.finetune.initialise_from`); writes config.toml and
    run.json.

    Started by a distributed launcher (``--nproc``, ``torchrun``), every process calls this:
    each joins the process group (``world``, default: from the environment), rank 0 chooses
    and writes the folder, and only rank 0 gets the hooks that print and write."""
    world = (
        world if world is not None else World.from_environment(resolve_device(config.train.device))
    )
    run_dir = Path(world.broadcast_text(str(out or default_run_dir(f"{config.data.name}"))))
    if run_dir.exists() and not run_dir.is_dir():
        raise GannetError(f"output {str(run_dir)!r} is a file, not a folder; choose another --out")
    if run_dir.exists() and any(run_dir.iterdir()):
        hint = " (resume it with --resume)" if is_run_dir(run_dir) else ""
        raise GannetError(
            f"output folder {str(run_dir)!r} already exists and is not empty{hint}; "
            "choose another --out"
        )
    trainer = trainer_class(config)(
        config, dataset, hooks_for(world, run_dir, hooks), run_dir, world
    )
    if config.train.init_from:  # every rank reads the same file: no broadcast needed
        trainer.initialised_from = initialise_from(trainer, config.train.init_from)
    if world.is_main:
        try:
            (run_dir / "samples").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GannetError(write_error(run_dir, e)) from None
        config.save(run_dir / CONFIG)
        status = trainer.hooks.find(StatusFile) or StatusFile(run_dir)
        status.write(trainer, "created")
    world.barrier()
    return trainer


def hooks_for(world: World, run_dir: Path, hooks: Iterable[Hook] | None) -> list[Hook]:
    """Rank 0's hooks: ``hooks``, or :func:`run_hooks` by default. Another rank's: the signal
    handler and the health check (every rank must stop together), nothing that writes."""
    if world.is_main:
        return list(run_hooks(run_dir) if hooks is None else hooks)
    return [StopOnSignal(), Health()]


def resume_run(
    run_dir: str | Path,
    overrides: list[str] | None = None,
    dataset: Dataset | None = None,
    hooks: Iterable[Hook] | None = None,
    world: World | None = None,
) -> Trainer:
    """Continue a run from its last checkpoint, exactly where it stopped (bit for bit with
    the same number of processes). Only :data:`RESUMABLE_OVERRIDES` may be changed."""
    run_dir = require_run_dir(run_dir)
    overrides = overrides or []
    for item in overrides:
        key = item.split("=", 1)[0].strip()
        if key not in RESUMABLE_OVERRIDES:
            raise GannetError(
                f"cannot change {key!r} when resuming (it would break exact resume); "
                f"allowed: {', '.join(sorted(RESUMABLE_OVERRIDES))}"
            )
    config = Config.load(run_dir / CONFIG, overrides)
    world = (
        world if world is not None else World.from_environment(resolve_device(config.train.device))
    )
    trainer = trainer_class(config)(
        config, dataset, hooks_for(world, run_dir, hooks), run_dir, world
    )
    require_same_data(run_dir, trainer)
    ckpt = run_dir / CHECKPOINT
    if ckpt.exists():  # read_checkpoint refuses a folder or a damaged file in one line
        restore(trainer, read_checkpoint(ckpt, map_location=trainer.device))
    else:  # only a run killed before its first checkpoint may start again from step 0
        require_no_checkpoint_yet(run_dir, trainer)
    if world.is_main:
        remove_stale_temporaries(run_dir)
    trainer.hooks.on_resume(trainer)
    if overrides and world.is_main:
        config.save(run_dir / CONFIG)
    world.barrier()
    return trainer


def require_same_data(run_dir: Path, trainer: Trainer) -> None:
    """Refuse to resume on a training set of another size than the run trained on (files
    added or removed, or a loader that now holds out a validation split): the checkpoint
    would load, but the data order, and so the run, would silently differ."""
    recorded = read_status(run_dir).get("train_examples")
    if isinstance(recorded, int) and recorded != len(trainer.batches):
        raise GannetError(
            f"run {str(run_dir)!r} trained on {recorded} examples but its data now gives "
            f"{len(trainer.batches)} ({trainer.config.data.name}: files added or removed, or "
            "another split); resume with the data it trained on, or start a new run"
        )


def first_checkpoint_step(trainer: Trainer) -> int:
    """The step of a run's first checkpoint: the first epoch end, the first
    ``train.checkpoint_every`` step, or ``train.max_steps``, whichever comes first."""
    tc = trainer.config.train
    steps = [trainer.iterations_per_epoch, tc.checkpoint_every]
    return min([*steps, tc.max_steps] if tc.max_steps else steps)


def require_no_checkpoint_yet(run_dir: Path, trainer: Trainer) -> None:
    """Refuse to restart a run from step 0 when it had a checkpoint (now missing): its
    metrics reach the first checkpoint, or run.json records one. Restarting would
    overwrite the metrics, samples, snapshots and status of a run that had trained."""
    reached = max((int(r.get("step", 0)) for r in read_metrics(run_dir / METRICS)), default=0)
    status = read_status(run_dir)
    recorded = int(status.get("checkpoint_step", 0) or 0)
    ended = status.get("status") in ("finished", "interrupted") and int(status.get("step", 0)) > 0
    if reached >= first_checkpoint_step(trainer) or recorded > 0 or ended:
        step = max(reached, recorded, int(status.get("step", 0) or 0))
        raise GannetError(
            f"run {str(run_dir)!r} has no {CHECKPOINT} but had trained to step {step}: "
            "resuming would start again from step 0 and overwrite its files; put its "
            f"{CHECKPOINT} back, or start a new run with another --out"
        )
