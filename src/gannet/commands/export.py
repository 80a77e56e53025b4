"""``gannet export``: write a run's generator as TorchScript or ONNX for fast inference."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a run's generator as TorchScript or ONNX",
        description="Write the run's generator (the EMA average when the run kept one) as a "
        "TorchScript module or an ONNX model: G(z), or G(z, y) for a conditional run, with z "
        "float32 (batch, z_dim), y int64 (batch,), samples float32 (images in [0, 1]); any batch "
        "size. "
        'ONNX needs pip install "gannet[onnx]".',
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--out", required=True, metavar="FILE", help="file to write (e.g. g.pt, g.onnx)")
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("torchscript", "onnx"),
        default=None,
        help="torchscript or onnx (default: from --out's suffix, .pt or .onnx)",
    )
    p.add_argument("--checkpoint", help="a snapshot to export instead of the latest checkpoint")
    p.add_argument(
        "--no-ema",
        dest="ema",
        action="store_false",
        help="export the trained weights instead of their EMA average",
    )
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from gannet.exporting import export_generator

    info = export_generator(args.run, args.out, args.fmt, args.checkpoint, ema=args.ema)
    weights = "EMA weights" if info.uses_ema else "weights"
    call = "G(z, y)" if info.num_classes else "G(z)"
    shape = "x".join(str(s) for s in info.sample_shape)
    print(
        f"wrote {info.format} {call} ({weights} of step {info.step}; z_dim {info.z_dim}, "
        f"{info.noise} noise; samples {shape}) to {args.out}"
    )
    return 0
