"""A trained generator exported for fast inference.

:func:`export_generator` writes G (the EMA average by default) in one of four formats
(:data:`FORMATS`):

* ``pt2``: a ``torch.export`` ExportedProgram (``torch.export.save``), opened with
  ``torch.export.load(path).module()``, no gannet needed;
* ``aoti``: that program compiled ahead of time by AOTInductor into a package with a shared
  library for this machine's CPU (needs a C++ compiler to write; opened with
  ``torch._inductor.aoti_load_package``);
* ``onnx``: the ``torch.export``-based ONNX exporter (``torch.onnx.export(..., dynamo=True)``),
  run by ONNX Runtime (the ``[onnx]`` extra);
* ``torchscript``: the legacy ``torch.jit`` format, kept for files and code that use it.

G is called ``G(z)`` or, for a conditional run, ``G(z, y)``: ``z`` float32 (batch, z_dim),
``y`` int64 (batch,), output float32 (batch, *sample_shape) as G gives it (images in [0, 1]).
The batch size is free. ``precision`` (:data:`PRECISIONS`) is fp32, bf16 (weights and
arithmetic in bfloat16 behind a float32 interface) or int8 (ONNX Runtime's dynamic
quantisation, ONNX only); ``truncation`` bakes StyleGAN's truncation psi into G. Every file
carries a small JSON description (:class:`ExportInfo`) under the key ``gannet``.

:func:`load_exported` opens any such file again (the format read from its content) as an
:class:`ExportedGenerator`. A format that needs what the machine lacks (ONNX's packages, a
C++ compiler) is one :class:`GannetError` line.
"""

from gannet.trained.exporting.export import export_generator
from gannet.trained.exporting.formats import (
    FORMATS,
    METADATA_KEY,
    PRECISIONS,
    ExportInfo,
    compiler_missing,
    format_for,
    missing_for,
    onnx_missing,
)
from gannet.trained.exporting.loaders import ExportedGenerator, detect_format, load_exported

__all__ = [
    "FORMATS",
    "METADATA_KEY",
    "PRECISIONS",
    "ExportInfo",
    "ExportedGenerator",
    "compiler_missing",
    "detect_format",
    "export_generator",
    "format_for",
    "load_exported",
    "missing_for",
    "onnx_missing",
]
