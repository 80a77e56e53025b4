"""``gannet eval selftest``: the feature metrics checked on cases with known answers
(:mod:`gannet.metrics.selftest`), printed as a pass/fail table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gannet.commands.evaluate_features import add_extractor_arguments
from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes


def add_selftest_parser(metrics: argparse._SubParsersAction) -> None:
    from gannet.metrics.selftest import DEFAULT_N

    p = metrics.add_parser(
        "selftest",
        help="check the feature metrics and an extractor on cases with known answers",
        description="Two random halves of a real split (real vs real: FID at its floor, KID "
        "near 0, precision and recall high), one image repeated (precision 1, recall 0), "
        "noised copies at three levels (FID and KID rise) and the halves swapped (symmetric "
        "FID and KID, precision and recall exchanged), plus the extractor's features "
        "independent of the batch (eval mode). Prints a pass/fail table; exit code 1 when a "
        "check fails.",
    )
    add_extractor_arguments(p)
    p.add_argument(
        "--data",
        help="dataset whose test split is used (default: the extractor's dataset; mnist for "
        "inception)",
    )
    p.add_argument("--data-dir", help="folder holding the dataset files")
    p.add_argument(
        "--samples", type=int, default=DEFAULT_N, help=f"rows per half (default {DEFAULT_N})"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the halves and the noise")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--out", help="also write the checks as JSON to this file")
    p.set_defaults(handler=_selftest)


def _selftest(args: argparse.Namespace) -> int:
    from gannet.metrics.features import canonical_extractor, make_extractor, torch_device
    from gannet.metrics.reference import load_split
    from gannet.metrics.selftest import run_selftest

    if args.samples < 20:
        raise GannetError("--samples must be at least 20")
    name = args.extractor or canonical_extractor("mnist-classifier")
    dataset = args.data or _dataset_of(name)
    extractor = make_extractor(
        name, args.inception_weights or "", torch_device(args.device), args.offline
    )
    images, source = load_split(dataset, "test", args.data_dir or "")
    print(f"self-test of {extractor.name} (SHA-256 {extractor.weights_sha256[:16]}...) on {source}")
    result = run_selftest(extractor, images, dataset, n=args.samples, seed=args.seed)
    print(result.table())
    if args.out:
        out = Path(args.out)
        try:
            atomic_write_bytes(out, (json.dumps(result.to_dict(), indent=2) + "\n").encode())
        except OSError as e:
            raise GannetError(f"cannot write {out}: {e.strerror or e}") from None
        print(f"wrote {out}")
    return 0 if result.passed else 1


def _dataset_of(extractor: str) -> str:
    """``mnist-classifier-v1`` / ``-local`` / bare -> ``mnist``; anything else -> ``mnist``."""
    from gannet.metrics.classifier import SUPPORTED

    for dataset in sorted(SUPPORTED, key=len, reverse=True):
        if extractor.startswith(f"{dataset}-classifier"):
            return dataset
    return "mnist"
