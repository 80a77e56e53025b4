"""The Python API; each function mirrors a CLI command."""

from __future__ import annotations

import json
from pathlib import Path

from gannet.config import Config
from gannet.config.presets import find_config
from gannet.data import Dataset
from gannet.trained.run import Run, load_run
from gannet.training import resume_run, start_run


def train(
    config: Config | str | Path,
    out: str | Path | None = None,
    *,
    overrides: list[str] | None = None,
    dataset: Dataset | None = None,
    init_from: str | Path | None = None,
    freeze_d: int | None = None,
) -> Run:
    """Train a GAN (``gannet train CONFIG --out OUT``) and return the loaded run.

    ``config`` is a :class:`Config`, a TOML path or a bundled config's name (``gannet
    configs``); ``dataset`` replaces the configured data (e.g. an in-memory tensor wrapped
    in :class:`gannet.data.Dataset`). ``init_from`` (a run folder or checkpoint file) and
    ``freeze_d`` set train.init_from and train.freeze_d (``--init-from``, ``--freeze-d``):
    fine-tuning, docs/finetuning.md."""
    overrides = list(overrides or [])
    if init_from is not None:
        overrides.append(f"train.init_from={json.dumps(str(init_from))}")
    if freeze_d is not None:
        overrides.append(f"train.freeze_d={int(freeze_d)}")
    if not isinstance(config, Config):
        config = Config.load(find_config(config), overrides)
    elif overrides:
        config = config.with_overrides(overrides)
    trainer = start_run(config, out, dataset)
    trainer.fit()
    assert trainer.run_dir is not None  # a run always has its folder
    return load_run(trainer.run_dir)


def resume(
    run_dir: str | Path, overrides: list[str] | None = None, *, dataset: Dataset | None = None
) -> Run:
    """Continue an interrupted run exactly where it stopped (``gannet train --resume RUN``)."""
    trainer = resume_run(run_dir, overrides, dataset)
    trainer.fit()
    assert trainer.run_dir is not None  # a run always has its folder
    return load_run(trainer.run_dir)


def average(
    run_dir: str | Path, first: int, last: int | None = None, out: str | Path | None = None
) -> Path:
    """Average G uniformly over the run's snapshots of epochs first..last and write the
    checkpoint (``gannet average RUN --from FIRST --to LAST``); returns its path, for
    ``load_run(run_dir, checkpoint=path)``."""
    from gannet.trained.averaging import write_average

    return write_average(run_dir, first, last, out)[0]


def export(
    run_dir: str | Path,
    out: str | Path,
    format: str | None = None,
    *,
    checkpoint: str | Path | None = None,
    ema: bool = True,
    precision: str = "fp32",
    truncation: float | None = None,
) -> Path:
    """Write the run's G for inference (``gannet export RUN --out OUT``): format pt2, aoti,
    onnx or torchscript (from ``out``'s name unless given), precision fp32, bf16 or int8;
    return the file. Open it again with :func:`gannet.trained.exporting.load_exported`."""
    from gannet.trained.exporting import export_generator

    export_generator(
        run_dir, out, format, checkpoint, ema=ema, precision=precision, truncation=truncation
    )
    return Path(out)


__all__ = ["average", "export", "load_run", "resume", "train"]
