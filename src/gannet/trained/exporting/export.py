"""``gannet export``'s work: a run's G, prepared and written in one format and precision."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes
from gannet.files.rundir import refuse_run_file
from gannet.trained.exporting.formats import ExportInfo, check_output_path, format_for, missing_for
from gannet.trained.exporting.precision import in_precision, quantize_onnx, refuse_precision
from gannet.trained.exporting.writers import WRITERS
from gannet.trained.run import Run, load_run
from gannet.trained.truncation import Truncated, check_truncation


def export_generator(
    run: Run | str | Path,
    out: str | Path,
    fmt: str | None = None,
    checkpoint: str | Path | None = None,
    ema: bool = True,
    precision: str = "fp32",
    truncation: float | None = None,
) -> ExportInfo:
    """Write the run's G to ``out`` in format ``fmt`` (None: from the file name) at
    ``precision`` and return what was written. ``checkpoint`` picks a snapshot instead of the
    latest checkpoint; ``ema=False`` takes the trained weights instead of their EMA average;
    ``truncation`` bakes the truncation trick's psi into G (StyleGAN runs)."""
    out = Path(out)
    fmt = format_for(out, fmt)
    check_output_path(out)
    if reason := missing_for(fmt, precision):
        raise GannetError(reason)
    refuse_precision(fmt, precision)
    if not isinstance(run, Run):
        run = load_run(run, checkpoint=checkpoint, ema=ema)
    refuse_run_file(out, run.path, "the exported generator")
    check_truncation(run.generator, truncation, f"run {str(run.path)!r}")
    g: nn.Module = run.generator.to("cpu").eval()
    if truncation is not None:
        g = Truncated(g, truncation)
    info = ExportInfo(
        format=fmt,
        z_dim=run.config.model.z_dim,
        noise=run.config.model.noise,
        sample_shape=sample_shape(g, run),
        num_classes=run.num_classes,
        step=run.step,
        uses_ema=run.uses_ema,
        run=str(run.path),
        precision=precision,
        truncation=truncation,
    )
    g = in_precision(g, precision)
    data = WRITERS[fmt](g, example_inputs(info, batch=2), info)
    if precision == "int8":
        data = quantize_onnx(data, info)
    atomic_write_bytes(out, data)
    return info


def sample_shape(g: nn.Module, run: Run) -> tuple[int, ...]:
    """The shape of one of G's samples."""
    with torch.no_grad():
        z = torch.zeros(1, run.config.model.z_dim)
        x = g(z) if not run.num_classes else g(z, torch.zeros(1, dtype=torch.long))
    return tuple(x.shape[1:])


def example_inputs(info: ExportInfo, batch: int) -> tuple[torch.Tensor, ...]:
    """Inputs of the exported G: z, and y for a conditional run."""
    z = torch.zeros(batch, info.z_dim)
    if not info.num_classes:
        return (z,)
    return z, torch.zeros(batch, dtype=torch.long)
