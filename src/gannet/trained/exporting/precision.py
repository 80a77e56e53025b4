"""Reduced precision for an exported generator: bf16 weights and arithmetic, int8 weights.

* ``bf16``: :class:`InBFloat16` holds a bfloat16 copy of G and casts at its edges, so the
  exported file still takes float32 ``z`` and gives float32 samples. Every torch format can
  carry it; ONNX Runtime's CPU provider has no bfloat16 kernels for G's layers, so ONNX at bf16
  is refused in one line.
* ``int8``: :func:`quantize_onnx`, ONNX Runtime's dynamic quantisation
  (``onnxruntime.quantization.quantize_dynamic``): int8 weights for the matrix products and
  convolutions, activations quantised per call, no hand-written kernels. A generator with no
  layer it quantises (DCGAN's G: transposed convolutions only) is refused in one line rather
  than written as an "int8" file that is its fp32 graph.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch
from torch import nn

from gannet.errors import GannetError
from gannet.trained.exporting.formats import METADATA_KEY, ExportInfo
from gannet.trained.exporting.writers import first_line, quiet


class InBFloat16(nn.Module):
    """A bfloat16 copy of ``generator`` behind a float32 interface: G(z[, y]) -> float32."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = copy.deepcopy(generator).to(torch.bfloat16)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = z.to(torch.bfloat16)
        out = self.generator(z) if y is None else self.generator(z, y)
        return out.to(torch.float32)


def in_precision(generator: nn.Module, precision: str) -> nn.Module:
    """G as it will be exported at ``precision`` (int8 is applied to the ONNX file instead)."""
    return InBFloat16(generator) if precision == "bf16" else generator


def refuse_precision(fmt: str, precision: str) -> None:
    """One line for a format and precision that cannot go together."""
    if fmt == "onnx" and precision == "bf16":
        raise GannetError(
            "--precision bf16 with --format onnx: ONNX Runtime's CPU provider has no bfloat16 "
            "kernels for G's layers; use --format pt2 (or aoti) for bf16, or onnx with int8"
        )


def quantize_onnx(model: bytes, info: ExportInfo) -> bytes:
    """An fp32 ONNX model with its weights quantised to int8 by ONNX Runtime (dynamic
    quantisation), the description kept."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="gannet-int8-") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(model)
        with quiet():
            try:
                quantize_dynamic(source, target, weight_type=QuantType.QInt8)
            except Exception as e:  # onnxruntime's own error types
                raise GannetError(f"int8 quantisation failed: {first_line(e)}") from None
        proto = onnx.load(str(target))
    if not any(node.op_type == "DynamicQuantizeLinear" for node in proto.graph.node):
        layers = sorted({node.op_type for node in proto.graph.node})
        raise GannetError(
            "--precision int8: ONNX Runtime's dynamic quantisation found no layer to quantise "
            f"in this generator (its operators: {', '.join(layers)}; it quantises MatMul, Gemm "
            "and Conv, not ConvTranspose); export it in fp32"
        )
    kept = [p for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, info.to_json()
    return bytes(proto.SerializeToString())
