"""What an exported generator is and which formats and precisions exist.

:class:`ExportInfo` is the small JSON description stored in every exported file under the key
``gannet``; :func:`format_for` picks the format from ``--format`` or the file name;
:func:`missing_for` says, in one line, what a format or precision needs that this machine
lacks (an optional package, a C++ compiler).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from gannet.errors import GannetError

FORMATS = ("pt2", "aoti", "onnx", "torchscript")
"""pt2: a torch.export ExportedProgram; aoti: an AOTInductor-compiled package of it; onnx: the
torch.export-based ONNX exporter; torchscript: the legacy torch.jit format."""
PRECISIONS = ("fp32", "bf16", "int8")
"""fp32: G as trained; bf16: weights and arithmetic in bfloat16 (inputs and outputs stay
float32); int8: ONNX Runtime's dynamic quantisation (int8 weights), ONNX only."""
SUFFIXES = {
    ".pt2": "pt2",
    ".onnx": "onnx",
    ".pt": "torchscript",
    ".ts": "torchscript",
    ".torchscript": "torchscript",
}
AOTI_SUFFIX = ".aoti.pt2"
METADATA_KEY = "gannet"
ONNX_MODULES = ("onnx", "onnxruntime", "onnxscript")
ONNX_INSTALL = 'pip install "gannet[onnx]"'
COMPILERS = ("g++", "c++", "clang++")


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
    precision: str = "fp32"
    """fp32, bf16 or int8 (see :data:`PRECISIONS`); files written before it existed: fp32."""
    truncation: float | None = None
    """The truncation psi baked into G (StyleGAN runs), or None."""

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
    """The format asked for, or the one ``out``'s name gives (.pt2; .aoti.pt2; .onnx; .pt)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise GannetError(f"unknown export format {fmt!r}; formats are: {', '.join(FORMATS)}")
        return fmt
    if out.name.lower().endswith(AOTI_SUFFIX):
        return "aoti"
    found = SUFFIXES.get(out.suffix.lower())
    if found is None:
        raise GannetError(
            f"cannot tell the format from {str(out)!r}: give --format "
            f"{'|'.join(FORMATS)}, or end the file in .pt2 (torch.export), .aoti.pt2 "
            "(AOTInductor), .onnx or .pt (TorchScript)"
        )
    return found


def onnx_missing() -> str | None:
    """Why ONNX export or inference is unavailable (a missing module), or None."""
    for name in ONNX_MODULES:
        if importlib.util.find_spec(name) is None:
            return f"ONNX needs the {name!r} package, which is not installed: {ONNX_INSTALL}"
    return None


def compiler() -> str | None:
    """The C++ compiler AOTInductor would use ($CXX, else g++, c++ or clang++), or None."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else list(COMPILERS)
    return next((found for name in names if (found := shutil.which(name))), None)


def compiler_missing() -> str | None:
    """Why AOTInductor cannot compile here (no C++ compiler), or None."""
    if compiler() is None:
        return (
            "--format aoti compiles G to native code and needs a C++ compiler, and none was "
            "found ($CXX, g++, c++, clang++): install one (e.g. apt-get install g++) or use "
            "--format pt2"
        )
    return None


def missing_for(fmt: str, precision: str) -> str | None:
    """Why ``fmt`` at ``precision`` cannot be written here, or None."""
    if precision not in PRECISIONS:
        return f"unknown precision {precision!r}; precisions are: {', '.join(PRECISIONS)}"
    if precision == "int8" and fmt != "onnx":
        return (
            "--precision int8 is ONNX Runtime's dynamic quantisation: give --format onnx "
            "(or use --precision bf16 for the torch formats)"
        )
    if fmt == "onnx":
        return onnx_missing()
    if fmt == "aoti":
        return compiler_missing()
    return None


def check_output_path(out: Path) -> None:
    """Fail early, before the export's work, on an output path that cannot be a file."""
    if out.is_dir():
        raise GannetError(f"--out {str(out)!r} is a directory; give a file name, e.g. g.pt2")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GannetError(f"cannot write {str(out)!r}: {str(parent)!r} is not a folder")
            break
