"""``gannet eval fid|kid|prc``: feature metrics of a run, a samples file, an image folder or
a dataset split, against a dataset split or another of these (added to ``gannet eval`` by
:mod:`gannet.commands.evaluate`)."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gannet.commands import add_raw_argument
from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes

_HELP = {
    "fid": "Fréchet distance of feature statistics (FID with --extractor inception)",
    "kid": "kernel distance: unbiased MMD² with the cubic kernel over random subsets",
    "prc": "improved precision and recall (k = 3)",
}


def add_feature_parsers(metrics: argparse._SubParsersAction) -> None:
    for name, text in _HELP.items():
        p = metrics.add_parser(
            name,
            help=text,
            description=f"{text}. SOURCE and --against are each a run folder, a samples "
            "file (.npz, values in [0, 1]), an image folder or DATASET:SPLIT (e.g. "
            "mnist:test). Features come from --extractor (default: gannet's classifier of "
            "the dataset as shipped with gannet, else inception); results are named with it "
            "(fid_mnist-classifier-v1, fid_inception). The Inception file is downloaded into "
            "the cache on first use unless --offline. A run's results go to "
            "RUN/eval/<metric>-<extractor>.json.",
        )
        p.add_argument("source", help="run folder, samples .npz, image folder or DATASET:SPLIT")
        p.add_argument(
            "--against",
            help="reference: DATASET:SPLIT, run, .npz or image folder (default: the test "
            "split of the run's dataset)",
        )
        p.add_argument(
            "--also",
            nargs="+",
            default=[],
            choices=list(_HELP),
            help="more metrics from the same features (e.g. --also kid prc)",
        )
        add_extractor_arguments(p)
        p.add_argument("--samples", type=int, default=10000, help="samples drawn from a run")
        p.add_argument("--seed", type=int, default=0, help="noise seed for the samples")
        p.add_argument("--checkpoint", help="a snapshot or averaged G to evaluate")
        add_raw_argument(p)
        p.add_argument(
            "--class", dest="label", type=int, help="conditional runs: samples of this class"
        )
        p.add_argument("--data-dir", help="folder holding the dataset files")
        p.add_argument(
            "--image-size",
            type=int,
            default=64,
            help="side image folders are resized to for inception (default 64; a "
            "classifier's own size otherwise)",
        )
        p.add_argument("--kid-subsets", type=int, default=100, help="KID subsets (default 100)")
        p.add_argument("--kid-subset-size", type=int, default=1000, help="KID subset size")
        p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
        p.add_argument("--out", help="JSON result file (default: RUN/eval/<metric>-<extractor>)")
        p.set_defaults(handler=_feature_metrics)


def add_extractor_arguments(p: argparse.ArgumentParser) -> None:
    """--extractor, --inception-weights and --offline (also used by ``gannet eval selftest``)."""
    p.add_argument(
        "--extractor",
        help="feature extractor: mnist-classifier-v1, fashion-mnist-classifier-v1 (shipped), "
        "inception, DATASET-classifier (the newest shipped, else the one trained here), "
        "DATASET-classifier-local (the one trained here)",
    )
    p.add_argument(
        "--inception-weights",
        metavar="FILE",
        help="inception-2015-12-05.pt (default: $GANNET_INCEPTION, then the cache, where it "
        "is downloaded to when missing)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="never download (the Inception file); also GANNET_OFFLINE=1",
    )


@dataclass
class _Source:
    label: str
    dataset: str | None = None
    run: Any = None
    split: str | None = None
    path: Path | None = None
    kind: str = ""


def _parse_source(spec: str, args: argparse.Namespace) -> _Source:
    from gannet.data import DATASETS

    path = Path(spec).expanduser()
    if (path.is_dir() and (path / "checkpoint.pt").is_file()) or (path / "config.toml").is_file():
        from gannet.trained.run import load_run

        run = load_run(path, checkpoint=args.checkpoint, ema=not args.raw)
        weights = "EMA" if run.uses_ema else "raw"
        label = f"run {path} (epoch {run.epoch}, step {run.step}, {weights} weights)"
        return _Source(label, run.config.data.name, run=run, path=path, kind="run")
    if path.is_file():
        return _Source(f"samples {path}", path=path, kind="npz")
    if path.is_dir():
        return _Source(f"image folder {path}", path=path, kind="folder")
    dataset, colon, split = spec.partition(":")
    if colon and dataset in DATASETS:
        return _Source(f"{dataset} {split}", dataset, split=split, kind="split")
    raise GannetError(
        f"{spec!r} is not a run folder, a samples file, an image folder or DATASET:SPLIT "
        "(e.g. mnist:test); check the path"
    )


def _features(src: _Source, extractor: Any, args: argparse.Namespace, ref: bool) -> np.ndarray:
    from gannet.metrics.features import as_images, check_input
    from gannet.metrics.reference import reference_features

    if src.kind == "split":
        assert src.dataset is not None and src.split is not None
        feats, src.label = reference_features(
            src.dataset, src.split, extractor, args.data_dir or ""
        )
        return feats
    if src.kind == "run":
        if args.samples < 2:
            raise GannetError("--samples must be at least 2")
        x = src.run.sample(args.samples, seed=args.seed, labels=args.label)
        shape = tuple(x.shape[1:])
    elif src.kind == "npz":
        from gannet.files.samplefile import load_samples_npz

        assert src.path is not None
        x = load_samples_npz(src.path)
        shape = None
    else:
        from gannet.config import DataConfig
        from gannet.data import load_dataset

        size = extractor.input_shape[1] if extractor.input_shape else args.image_size
        folder = DataConfig(
            name="folder", data_dir=str(src.path), image_size=size, validation_size=0
        )
        x = load_dataset(folder).as_float("train")
        shape = None
    images = as_images(x, shape)
    check_input(extractor, images, "the reference images" if ref else "the samples")
    return np.asarray(extractor.features(images).astype(np.float32), dtype=np.float64)


def _feature_metrics(args: argparse.Namespace) -> int:
    from gannet.metrics.features import default_extractor, make_extractor, torch_device
    from gannet.metrics.scores import named_scores

    t0 = time.perf_counter()
    if args.kid_subsets < 1 or args.kid_subset_size < 2:
        raise GannetError("--kid-subsets must be >= 1 and --kid-subset-size >= 2")
    if args.image_size < 8:
        raise GannetError("--image-size must be at least 8")
    if args.label is not None and args.label < 0:
        raise GannetError("--class must be >= 0")
    src = _parse_source(args.source, args)
    if args.label is not None and src.kind != "run":
        raise GannetError("--class is for conditional runs")
    against = args.against or (f"{src.dataset}:test" if src.kind == "run" else None)
    if against is None:
        raise GannetError("give --against DATASET:SPLIT (or a run, .npz or image folder)")
    ref = _parse_source(against, args)
    name = args.extractor or default_extractor(src.dataset or ref.dataset or "")
    extractor = make_extractor(
        name, args.inception_weights or "", torch_device(args.device), args.offline
    )
    metrics = list(dict.fromkeys([args.metric, *args.also]))
    real = _features(ref, extractor, args, ref=True)
    fake = _features(src, extractor, args, ref=False)
    values = named_scores(
        metrics,
        extractor.name,
        real,
        fake,
        subsets=args.kid_subsets,
        subset_size=args.kid_subset_size,
        seed=args.seed,
    )
    for key, value in values.items():
        print(f"{key:32s} {value:.6g}")
    print(f"  {src.label} ({len(fake)}) vs {ref.label} ({len(real)})")
    common = {
        "extractor": extractor.name,
        "weights_sha256": extractor.weights_sha256,
        "source": src.label,
        "reference": ref.label,
        "n_samples": len(fake),
        "n_reference": len(real),
        "seed": args.seed if src.kind == "run" else None,
        "checkpoint": str(src.run.checkpoint) if src.kind == "run" else None,
        "class": args.label,
        "seconds": time.perf_counter() - t0,
    }
    for metric in metrics:
        out = _out_path(args, src, metric, extractor.name, len(metrics) > 1)
        if out is None:
            continue
        own = {k: v for k, v in values.items() if _belongs(k, metric)}
        result = {"metric": metric, **own, **common}
        try:
            atomic_write_bytes(out, (json.dumps(result, indent=2) + "\n").encode())
        except OSError as e:
            raise GannetError(f"cannot write {out}: {e.strerror or e}") from None
        print(f"wrote {out}")
    return 0


def _belongs(key: str, metric: str) -> bool:
    head = key.split("_", 1)[0]
    return {"fid": head == "fid", "kid": head == "kid"}.get(metric, head in ("precision", "recall"))


def _out_path(
    args: argparse.Namespace, src: _Source, metric: str, extractor: str, several: bool
) -> Path | None:
    if args.out:
        out = Path(args.out)
        return out.with_name(f"{out.stem}-{metric}{out.suffix}") if several else out
    if src.kind != "run":
        return None
    stem = f"{metric}-{extractor}"
    if args.checkpoint:
        stem += f"-{Path(args.checkpoint).stem}"
    if args.raw:
        stem += "-raw"
    if args.label is not None:
        stem += f"-class{args.label}"
    return Path(src.path or ".") / "eval" / f"{stem}.json"
