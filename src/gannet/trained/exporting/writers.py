"""The bytes of each export format, from a prepared generator and its example inputs.

Each writer takes G (in eval mode, on the CPU, already in its precision: :mod:`.precision`),
example inputs whose first dimension is the batch, and the :class:`ExportInfo` to store, and
returns the file's bytes. The batch size of every format but TorchScript is a symbolic
dimension (``torch.export.Dim``), so the file takes any batch; a failure of the exporter or
compiler is one :class:`GannetError` line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gannet.errors import GannetError
from gannet.trained.exporting.formats import METADATA_KEY, ExportInfo

INPUT_NAMES = ("z", "y")


LOGGERS = ("torch.onnx", "torch._inductor", "torch.export", "")
"""The exporters' loggers ("": the root logger, where ONNX Runtime's quantiser writes)."""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence torch's deprecation and tracer warnings and the exporters' log lines."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def first_line(e: BaseException) -> str:
    """An exception's first line (the exporters' messages run to pages)."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def dynamic_batch(example: tuple[torch.Tensor, ...]) -> tuple[dict[int, Any], ...]:
    """``dynamic_shapes`` for torch.export: dimension 0 of every input is one free batch."""
    batch = torch.export.Dim("batch", min=1)
    return tuple({0: batch} for _ in example)


def exported_program(
    g: nn.Module, example: tuple[torch.Tensor, ...]
) -> torch.export.ExportedProgram:
    """G as a torch.export ExportedProgram with a dynamic batch dimension."""
    with quiet(), torch.no_grad():
        try:
            return torch.export.export(g, example, dynamic_shapes=dynamic_batch(example))
        except Exception as e:  # torch.export's many error types: one line
            raise GannetError(f"torch.export of this generator failed: {first_line(e)}") from None


def pt2_bytes(g: nn.Module, example: tuple[torch.Tensor, ...], info: ExportInfo) -> bytes:
    """A torch.export ExportedProgram archive (``torch.export.save``)."""
    program = exported_program(g, example)
    buffer = io.BytesIO()
    with quiet():
        torch.export.save(program, buffer, extra_files={METADATA_KEY: info.to_json()})
    return buffer.getvalue()


def aoti_bytes(g: nn.Module, example: tuple[torch.Tensor, ...], info: ExportInfo) -> bytes:
    """An AOTInductor package: the ExportedProgram compiled to a shared library for this
    machine's CPU, the description in the package's metadata (minutes on a small CPU)."""
    program = exported_program(g, example)
    configs = {"aot_inductor.metadata": {METADATA_KEY: info.to_json()}}
    with tempfile.TemporaryDirectory(prefix="gannet-aoti-") as tmp:
        path = Path(tmp) / "generator.pt2"
        with quiet(), torch.no_grad():
            try:
                torch._inductor.aoti_compile_and_package(
                    program, package_path=str(path), inductor_configs=configs
                )
            except Exception as e:  # the compiler's errors: one line
                raise GannetError(f"AOTInductor compilation failed: {first_line(e)}") from None
        return path.read_bytes()


def onnx_bytes(g: nn.Module, example: tuple[torch.Tensor, ...], info: ExportInfo) -> bytes:
    """An ONNX model from the torch.export-based exporter (``torch.onnx.export(dynamo=True)``),
    the description a metadata property."""
    names = list(INPUT_NAMES[: len(example)])
    shapes = dict(zip(names, dynamic_batch(example), strict=True))
    with quiet(), torch.no_grad():
        try:
            program = torch.onnx.export(
                g,
                example,
                input_names=names,
                output_names=["x"],
                dynamic_shapes=shapes,
                dynamo=True,
                verbose=False,
                report=False,
            )
        except Exception as e:  # the exporter's many error types: one line
            raise GannetError(f"ONNX export of this generator failed: {first_line(e)}") from None
    if program is None:
        raise GannetError("ONNX export of this generator returned no model")
    program.model.metadata_props[METADATA_KEY] = info.to_json()
    return bytes(program.model_proto.SerializeToString())


def torchscript_bytes(g: nn.Module, example: tuple[torch.Tensor, ...], info: ExportInfo) -> bytes:
    """The legacy TorchScript format (``torch.jit.trace``, deprecated in PyTorch 2.13; its
    warnings are silenced here because the user asked for this format by name)."""
    with quiet(), torch.no_grad():
        traced = torch.jit.trace(g, example, check_trace=False)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer, _extra_files={METADATA_KEY: info.to_json()})
    return buffer.getvalue()


WRITERS = {
    "pt2": pt2_bytes,
    "aoti": aoti_bytes,
    "onnx": onnx_bytes,
    "torchscript": torchscript_bytes,
}
