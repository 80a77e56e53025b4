"""A trained generator exported for fast inference: TorchScript or ONNX.

:func:`export_generator` writes G (the EMA average by default) as a TorchScript module or an
ONNX model, called ``G(z)`` or, for a conditional run, ``G(z, y)``: ``z`` float32
(batch, z_dim), ``y`` int64 (batch,), output float32 (batch, *sample_shape) as G gives it
(images in [0, 1]). The batch size is free. The file carries a small JSON description
(:class:`ExportInfo`: z_dim, the noise prior, the sample shape, the classes, the step, whether
G is the EMA) under the key ``gannet``: an extra file in the TorchScript archive, a metadata
property of the ONNX model.

:func:`load_exported` opens such a file again (TorchScript with ``torch.jit.load``, ONNX with
ONNX Runtime) as an :class:`ExportedGenerator`. ONNX needs the optional extra
``pip install "gannet[onnx]"`` (onnx, onnxruntime, onnxscript); without it, asking for ONNX
is one :class:`GannetError` line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gannet.errors import GannetError
from gannet.io import atomic_write_bytes
from gannet.run import Run, load_run
from gannet.rundir import refuse_run_file

FORMATS = ("torchscript", "onnx")
SUFFIXES = {
    ".pt": "torchscript",
    ".ts": "torchscript",
    ".torchscript": "torchscript",
    ".onnx": "onnx",
}
METADATA_KEY = "gannet"
ONNX_MODULES = ("onnx", "onnxruntime", "onnxscript")
ONNX_INSTALL = 'pip install "gannet[onnx]"'


@dataclass(frozen=True)
class ExportInfo:
    """What an exported generator is, stored in the file beside the weights."""

    format: str
    z_dim: int
    noise: str
    """The prior of z: 'uniform' on [-sqrt(3), sqrt(3)] or 'normal' N(0, I)."""
    sample_shape: tuple[int, ...]
    num_classes: int
    """0 for an unconditional G(z); else G(z, y) with y in 0..num_classes-1."""
    step: int
    uses_ema: bool
    run: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, path: Path) -> ExportInfo:
        try:
            raw = json.loads(text)
            raw["sample_shape"] = tuple(int(s) for s in raw["sample_shape"])
            return cls(**raw)
        except (ValueError, TypeError, KeyError) as e:
            raise GannetError(f"{str(path)!r} has a damaged gannet description ({e})") from None


def format_for(out: Path, fmt: str | None) -> str:
    """The format asked for, or the one ``out``'s suffix names (.onnx; .pt, .ts)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise GannetError(f"unknown export format {fmt!r}; formats are: {', '.join(FORMATS)}")
        return fmt
    found = SUFFIXES.get(out.suffix.lower())
    if found is None:
        raise GannetError(
            f"cannot tell the format from {str(out)!r}: give --format torchscript|onnx, or end "
            "the file in .pt (TorchScript) or .onnx"
        )
    return found


def onnx_missing() -> str | None:
    """Why ONNX export or inference is unavailable (a missing module), or None."""
    for name in ONNX_MODULES:
        if importlib.util.find_spec(name) is None:
            return f"ONNX needs the {name!r} package, which is not installed: {ONNX_INSTALL}"
    return None


def check_output_path(out: Path) -> None:
    """Fail early, before the export's work, on an output path that cannot be a file."""
    if out.is_dir():
        raise GannetError(f"--out {str(out)!r} is a directory; give a file name, e.g. g.pt")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GannetError(f"cannot write {str(out)!r}: {str(parent)!r} is not a folder")
            break


def export_generator(
    run: Run | str | Path,
    out: str | Path,
    fmt: str | None = None,
    checkpoint: str | Path | None = None,
    ema: bool = True,
) -> ExportInfo:
    """Write the run's G to ``out`` as TorchScript or ONNX (``fmt``; None: from the suffix)
    and return what was written. ``checkpoint`` picks a snapshot instead of the latest
    checkpoint; ``ema=False`` takes the trained weights instead of their EMA average."""
    out = Path(out)
    fmt = format_for(out, fmt)
    check_output_path(out)
    if fmt == "onnx" and (reason := onnx_missing()):
        raise GannetError(reason)
    if not isinstance(run, Run):
        run = load_run(run, checkpoint=checkpoint, ema=ema)
    refuse_run_file(out, run.path, "the exported generator")
    g = run.generator.to("cpu").eval()
    info = ExportInfo(
        format=fmt,
        z_dim=run.config.model.z_dim,
        noise=run.config.model.noise,
        sample_shape=tuple(_sample_shape(run)),
        num_classes=run.num_classes,
        step=run.step,
        uses_ema=run.uses_ema,
        run=str(run.path),
    )
    example = _example_inputs(info, batch=2)
    data = _torchscript_bytes(g, example, info) if fmt == "torchscript" else None
    if data is None:
        data = _onnx_bytes(g, example, info)
    atomic_write_bytes(out, data)
    return info


def _sample_shape(run: Run) -> tuple[int, ...]:
    with torch.no_grad():
        z = torch.zeros(1, run.config.model.z_dim)
        y = torch.zeros(1, dtype=torch.long)
        x = run.generator(z) if not run.num_classes else run.generator(z, y)
    return tuple(x.shape[1:])


def _example_inputs(info: ExportInfo, batch: int) -> tuple[torch.Tensor, ...]:
    z = torch.zeros(batch, info.z_dim)
    if not info.num_classes:
        return (z,)
    return z, torch.zeros(batch, dtype=torch.long)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch's deprecation and tracer warnings and the ONNX exporter's log lines."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _torchscript_bytes(g: nn.Module, example: tuple[torch.Tensor, ...], info: ExportInfo) -> bytes:
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(g, example, check_trace=False)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer, _extra_files={METADATA_KEY: info.to_json()})
    return buffer.getvalue()


def _onnx_bytes(g: nn.Module, example: tuple[torch.Tensor, ...], info: ExportInfo) -> bytes:
    batch = torch.export.Dim("batch", min=1)
    names = ["z", "y"][: len(example)]
    shapes = {name: {0: batch} for name in names}
    with _quiet(), torch.no_grad():
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
        except Exception as e:  # the exporter's many error types: one line, not a traceback
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise GannetError(f"ONNX export of this generator failed: {first}") from None
    assert program is not None
    program.model.metadata_props[METADATA_KEY] = info.to_json()
    proto = program.model_proto
    return bytes(proto.SerializeToString())


class ExportedGenerator:
    """An exported G, loaded for inference: ``G(z)`` or ``G(z, y)`` -> float32 tensor."""

    def __init__(self, path: Path, info: ExportInfo, run: Any) -> None:
        self.path = path
        self.info = info
        self._run = run

    def __call__(self, z: torch.Tensor | np.ndarray, y: Any = None) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.float32)
        if self.info.num_classes:
            if y is None:
                raise GannetError("this generator is conditional: call it as G(z, y)")
            y = torch.as_tensor(y, dtype=torch.long).reshape(-1).expand(z.shape[0])
        elif y is not None:
            raise GannetError("this generator is not conditional: call it as G(z)")
        inputs = (z,) if y is None else (z, y)
        return torch.as_tensor(self._run(*inputs))

    def noise(self, n: int, seed: int | None = None) -> torch.Tensor:
        """n noise vectors from the run's prior, drawn as :meth:`gannet.Run.sample` draws
        them for the same seed (the same z for up to 1,000 samples)."""
        from gannet.models import sample_noise

        gen = torch.Generator(device="cpu")
        if seed is None:
            gen.seed()  # a fresh seed, not the generator's fixed default
        else:
            gen.manual_seed(seed)
        return sample_noise(n, self.info.z_dim, self.info.noise, "cpu", gen)


def load_exported(path: str | Path, threads: int | None = None) -> ExportedGenerator:
    """Open a file written by :func:`export_generator` (the format from its content)."""
    path = Path(path)
    try:
        head = path.read_bytes()[:4]
    except OSError as e:
        raise GannetError(f"cannot read {str(path)!r}: {e.strerror or e}") from None
    if head.startswith(b"PK"):  # a TorchScript archive is a zip file
        return _load_torchscript(path)
    return _load_onnx(path, threads)


def _load_torchscript(path: Path) -> ExportedGenerator:
    extra = {METADATA_KEY: ""}
    with _quiet():
        try:
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except RuntimeError as e:
            raise GannetError(f"{str(path)!r} is not a TorchScript file ({e})") from None
    stored: str | bytes = extra[METADATA_KEY]
    if not stored:
        raise GannetError(f"{str(path)!r} was not written by gannet export")
    text = stored.decode("utf-8", "replace") if isinstance(stored, bytes) else stored
    info = ExportInfo.from_json(text, path)

    def run(*inputs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out: torch.Tensor = module(*inputs)
        return out

    return ExportedGenerator(path, info, run)


def _load_onnx(path: Path, threads: int | None) -> ExportedGenerator:
    if reason := onnx_missing():
        raise GannetError(reason)
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own error types
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise GannetError(f"{str(path)!r} is not an ONNX model ({first})") from None
    meta = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in meta:
        raise GannetError(f"{str(path)!r} was not written by gannet export")
    info = ExportInfo.from_json(meta[METADATA_KEY], path)
    names = [i.name for i in session.get_inputs()]

    def run(*inputs: torch.Tensor) -> np.ndarray:
        feed = {name: t.numpy() for name, t in zip(names, inputs, strict=True)}
        return np.asarray(session.run(None, feed)[0])

    return ExportedGenerator(path, info, run)
