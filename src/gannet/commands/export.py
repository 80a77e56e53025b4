"""``gannet export``: write a run's generator for fast inference (torch.export, AOTInductor,
ONNX, or the legacy TorchScript), optionally in bf16 or int8."""

from __future__ import annotations

import argparse

from gannet.commands import add_truncation_argument

FORMAT_CHOICES = ("pt2", "aoti", "onnx", "torchscript")
PRECISION_CHOICES = ("fp32", "bf16", "int8")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a run's generator (torch.export, AOTInductor, ONNX, TorchScript)",
        description="Write the run's generator (the EMA average when the run kept one) for "
        "inference without gannet: G(z), or G(z, y) for a conditional run, with z float32 "
        "(batch, z_dim), y int64 (batch,), samples float32 (images in [0, 1]); any batch "
        "size. Formats: pt2 (a torch.export ExportedProgram, torch.export.load), aoti (an "
        "AOTInductor-compiled package; needs a C++ compiler, takes minutes), onnx (ONNX "
        'Runtime; pip install "gannet[onnx]"), torchscript (legacy). See docs/inference.md.',
    )
    p.add_argument("run", help="run folder")
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="file to write (e.g. g.pt2, g.aoti.pt2, g.onnx, g.pt)",
    )
    p.add_argument(
        "--format",
        dest="fmt",
        choices=FORMAT_CHOICES,
        default=None,
        help="default: from --out's name: .pt2 pt2, .aoti.pt2 aoti, .onnx onnx, .pt torchscript",
    )
    p.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default="fp32",
        help="fp32 (default); bf16: weights and arithmetic in bfloat16 (torch formats; slow on "
        "CPUs without native bf16); int8: ONNX Runtime's dynamic quantisation (onnx only)",
    )
    add_truncation_argument(p)
    p.add_argument("--checkpoint", help="a snapshot to export instead of the latest checkpoint")
    p.add_argument(
        "--no-ema",
        dest="ema",
        action="store_false",
        help="export the trained weights instead of their EMA average",
    )
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from gannet.trained.exporting import export_generator

    info = export_generator(
        args.run,
        args.out,
        args.fmt,
        args.checkpoint,
        ema=args.ema,
        precision=args.precision,
        truncation=args.truncation,
    )
    weights = "EMA weights" if info.uses_ema else "weights"
    call = "G(z, y)" if info.num_classes else "G(z)"
    shape = "x".join(str(s) for s in info.sample_shape)
    psi = f", truncation {info.truncation}" if info.truncation is not None else ""
    print(
        f"wrote {info.format} {info.precision} {call} ({weights} of step {info.step}; z_dim "
        f"{info.z_dim}, {info.noise} noise; samples {shape}{psi}) to {args.out}"
    )
    return 0
