"""Opening an exported generator again: :func:`load_exported` for every format.

The format is read from the file's content, not its name: an ONNX model is a protobuf; the
torch formats are zip archives, told apart by what they hold (``models/model.json``: a
torch.export ExportedProgram; ``data/aotinductor/``: an AOTInductor package; ``code/``: a
TorchScript module).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gannet.errors import GannetError
from gannet.trained.exporting.formats import METADATA_KEY, ExportInfo, onnx_missing
from gannet.trained.exporting.writers import first_line, quiet

Runner = Callable[..., Any]


class ExportedGenerator:
    """An exported G, loaded for inference: ``G(z)`` or ``G(z, y)`` -> float32 tensor."""

    def __init__(self, path: Path, info: ExportInfo, run: Runner) -> None:
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


def detect_format(path: Path) -> str:
    """pt2, aoti, torchscript or onnx, from the file's content (one line if unreadable)."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as e:
        raise GannetError(f"cannot read {str(path)!r}: {e.strerror or e}") from None
    if not head.startswith(b"PK"):
        return "onnx"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise GannetError(f"{str(path)!r} is a damaged archive ({e})") from None
    inner = {name.split("/", 1)[-1] for name in names}
    if any(name.startswith("data/aotinductor/") for name in inner):
        return "aoti"
    if "models/model.json" in inner:
        return "pt2"
    return "torchscript"


def load_exported(path: str | Path, threads: int | None = None) -> ExportedGenerator:
    """Open a file written by :func:`gannet.trained.exporting.export_generator`, any format (read
    from its content). ``threads`` sets ONNX Runtime's threads; the torch formats use
    PyTorch's (``torch.set_num_threads``)."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "onnx":
        return load_onnx(path, threads)
    loader = {"pt2": load_pt2, "aoti": load_aoti, "torchscript": load_torchscript}[fmt]
    return loader(path)


def description(stored: str | bytes | None, path: Path) -> ExportInfo:
    if not stored:
        raise GannetError(f"{str(path)!r} was not written by gannet export")
    text = stored.decode("utf-8", "replace") if isinstance(stored, bytes) else stored
    return ExportInfo.from_json(text, path)


def no_grad(module: Runner) -> Runner:
    def run(*inputs: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            out: torch.Tensor = module(*inputs)
        return out

    return run


def load_pt2(path: Path) -> ExportedGenerator:
    extra: dict[str, Any] = {METADATA_KEY: ""}
    with quiet():
        try:
            with path.open("rb") as f:  # a file object: any file name, not only *.pt2
                program = torch.export.load(f, extra_files=extra)
        except Exception as e:  # torch.export's own error types
            why = first_line(e)
            raise GannetError(f"{str(path)!r} is not a torch.export file ({why})") from None
    info = description(extra[METADATA_KEY], path)
    return ExportedGenerator(path, info, no_grad(program.module()))


def load_aoti(path: Path) -> ExportedGenerator:
    with quiet():
        try:
            compiled = torch._inductor.aoti_load_package(str(path))
        except Exception as e:  # the loader's own error types
            raise GannetError(
                f"{str(path)!r} is not an AOTInductor package for this machine ({first_line(e)})"
            ) from None
    info = description(compiled.get_metadata().get(METADATA_KEY), path)
    return ExportedGenerator(path, info, no_grad(compiled))


def load_torchscript(path: Path) -> ExportedGenerator:
    extra = {METADATA_KEY: ""}
    with quiet():
        try:
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except RuntimeError as e:
            raise GannetError(f"{str(path)!r} is not a TorchScript file ({e})") from None
    info = description(extra[METADATA_KEY], path)
    return ExportedGenerator(path, info, no_grad(module))


def load_onnx(path: Path, threads: int | None) -> ExportedGenerator:
    if reason := onnx_missing():
        raise GannetError(reason)
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own error types
        raise GannetError(f"{str(path)!r} is not an ONNX model ({first_line(e)})") from None
    meta = session.get_modelmeta().custom_metadata_map
    info = description(meta.get(METADATA_KEY), path)
    names = [i.name for i in session.get_inputs()]

    def run(*inputs: torch.Tensor) -> np.ndarray:
        feed = {name: t.numpy() for name, t in zip(names, inputs, strict=True)}
        return np.asarray(session.run(None, feed)[0])

    return ExportedGenerator(path, info, run)
