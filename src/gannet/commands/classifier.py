"""``gannet classifier train|info|pack``: gannet's own MNIST / Fashion-MNIST / CIFAR-10
classifiers (shipped with the package, or trained and cached on this machine)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gannet.errors import GannetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from gannet.metrics.classifier import SUPPORTED

    p = sub.add_parser(
        "classifier",
        help="train, describe or pack gannet's own image classifiers (for the metrics)",
        description="Small CNNs trained by gannet on MNIST, Fashion-MNIST or CIFAR-10. "
        "gannet ships one of each (mnist-classifier-v1, ...: the same weights on every "
        "machine); 'gannet eval modes' uses them to count the classes a generator produces, "
        "'gannet eval fid' as feature extractors. 'train' trains one on this machine and "
        "caches it (other data, or reproducing the shipped ones; use it with --extractor "
        "DATASET-classifier-local), 'pack' writes a cached one as a shipped-weights file.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    tr = actions.add_parser(
        "train",
        help="train the classifier of a dataset and cache it",
        description="Train the classifier (Adam, one-cycle schedule, seeded), measure its "
        "test accuracy and cache weights and details atomically. A classifier already "
        "cached is kept unless --force is given.",
    )
    tr.add_argument("dataset", choices=SUPPORTED, help="dataset to train on")
    tr.add_argument("--epochs", type=int, default=None, help="epochs (default: 3; cifar10: 18)")
    tr.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    tr.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder holding the dataset files (cifar10: also an image folder with one "
        "subfolder per class; 10,000 of its images are held out as the test split)",
    )
    tr.add_argument(
        "--state",
        metavar="FILE",
        help="write the training state here after every epoch, and continue from it when "
        "it exists (resumable training)",
    )
    tr.add_argument("--force", action="store_true", help="retrain even when one is cached")
    tr.add_argument(
        "--threads", type=int, default=0, help="CPU threads (default 0: PyTorch's default)"
    )
    tr.set_defaults(handler=_train)
    pk = actions.add_parser(
        "pack",
        help="write the cached classifier of a dataset as a shipped-weights file",
        description="Store the cached classifier's weights in float16 (half the size), "
        "measure its test accuracy again with the packed weights, write the file "
        "atomically and print its SHA-256: how gannet's shipped classifiers were made "
        "(docs/evaluation.md).",
    )
    pk.add_argument("dataset", choices=SUPPORTED, help="whose cached classifier to pack")
    pk.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    pk.add_argument("--data-dir", metavar="DIR", help="folder holding the dataset files")
    pk.set_defaults(handler=_pack)
    info = actions.add_parser(
        "info",
        help="show the shipped and the cached classifiers",
        description="The classifiers shipped with gannet, and for each dataset (or the one "
        "given) where its locally trained classifier is cached, its test accuracy and how "
        "it was trained.",
    )
    info.add_argument("dataset", nargs="?", help="only this dataset")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")
    info.set_defaults(handler=_info)


def _print_epoch(record: dict[str, Any]) -> None:
    val = record["validation_accuracy"]
    val_text = "" if val is None else f", validation accuracy {100 * val:.2f} %"
    print(
        f"epoch {record['epoch']}/{record['epochs']}: loss {record['loss']:.4f}{val_text} "
        f"({record['seconds']:.0f} s, {record['cpu_seconds']:.0f} s CPU)",
        flush=True,
    )


def _train(args: argparse.Namespace) -> int:
    from gannet.metrics.classifier import (
        classifier_path,
        load_classifier,
        save_classifier,
        train_classifier,
    )

    if args.epochs is not None and args.epochs < 1:
        raise GannetError("--epochs must be at least 1")
    if args.threads < 0:
        raise GannetError("--threads must be >= 0 (0 = PyTorch's default)")
    path = classifier_path(args.dataset)
    if path.is_file() and not args.force:
        try:
            _, info = load_classifier(path)
        except GannetError:
            raise GannetError(
                f"{path} exists but cannot be loaded; retrain with "
                f"'gannet classifier train {args.dataset} --force'"
            ) from None
        print(f"already cached: {info.summary()}")
        print(f"  {path}  (use --force to retrain)")
        return 0
    from gannet.metrics.classifier import RECIPES

    epochs = args.epochs or RECIPES[args.dataset].epochs
    print(f"training the {args.dataset} classifier for {epochs} epochs ...", flush=True)
    model, info = train_classifier(
        args.dataset,
        epochs=epochs,
        data_dir=args.data_dir or "",
        seed=args.seed,
        progress=_print_epoch,
        threads=args.threads,
        state_path=args.state,
    )
    saved = save_classifier(model, info)
    print(info.summary())
    print(f"wrote {saved}")
    return 0


def _pack(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gannet.metrics.classifier import cached_classifier, pack_classifier

    out = Path(args.out)
    if out.is_dir():
        raise GannetError(f"--out {out} is a folder; name the file to write")
    model, info = cached_classifier(args.dataset)
    path, packed, digest = pack_classifier(model, info, out, args.data_dir or "")
    print(
        f"{args.dataset}: test accuracy {100 * info.test_accuracy:.2f} % as trained, "
        f"{100 * packed.test_accuracy:.2f} % packed (float16)"
    )
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    print(f"sha256 {digest}")
    return 0


def _dataset_of(shipped_name: str) -> str:
    """``mnist-classifier-v1`` -> ``mnist``."""
    return shipped_name.rsplit("-classifier-v", 1)[0]


def _shipped_report() -> dict[str, Any]:
    from gannet.metrics.classifier import SHIPPED, load_shipped, shipped_path

    report: dict[str, Any] = {}
    for entry in SHIPPED:
        item: dict[str, Any] = {"path": str(shipped_path(entry)), "sha256": entry.sha256}
        try:
            _, info = load_shipped(entry)
        except GannetError as e:
            item["error"] = str(e)
        else:
            item["info"] = info.to_dict()
        report[entry.name] = item
    return report


def _info(args: argparse.Namespace) -> int:
    from gannet.metrics.classifier import (
        SUPPORTED,
        ClassifierInfo,
        classifier_path,
        has_classifier,
        load_classifier,
    )

    if args.dataset is not None and args.dataset not in SUPPORTED:
        raise GannetError(
            f"gannet has no classifier for dataset {args.dataset!r}; choose one of: "
            f"{', '.join(SUPPORTED)}"
        )
    if args.dataset is not None and not has_classifier(args.dataset):
        raise GannetError(
            f"no {args.dataset} classifier cached at {classifier_path(args.dataset)}; train "
            f"it with 'gannet classifier train {args.dataset}'"
        )
    names = [args.dataset] if args.dataset else list(SUPPORTED)
    shipped = {k: v for k, v in _shipped_report().items() if _dataset_of(k) in names}
    report: dict[str, Any] = {}
    for name in names:
        path = classifier_path(name)
        entry: dict[str, Any] = {"path": str(path), "cached": path.is_file()}
        entry["shipped"] = {k: v for k, v in shipped.items() if _dataset_of(k) == name}
        if path.is_file():
            try:
                _, info = load_classifier(path)
            except GannetError as e:
                message = str(e).replace("DATASET", name)
                if args.dataset:  # the one asked for: its problem is the answer
                    raise GannetError(message) from None
                entry["error"] = message
            else:
                entry["info"] = info.to_dict()
        report[name] = entry
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for name, item in shipped.items():
        if "info" in item:
            info = ClassifierInfo.from_dict(item["info"])
            print(f"shipped {name}: test accuracy {100 * info.test_accuracy:.2f} %  {item['path']}")
        else:
            print(f"shipped {name}: unusable: {item['error']}")
    for name, entry in report.items():
        if "info" in entry:
            info = ClassifierInfo.from_dict(entry["info"])
            print(f"{info.summary()}  {entry['path']}")
            if args.dataset:
                _print_details(info)
        elif "error" in entry:
            print(f"{name}: unusable: {entry['error']}")
        else:
            print(f"{name}: none trained here (gannet classifier train {name})  {entry['path']}")
    return 0


def _print_details(info: Any) -> None:
    val = info.validation_accuracy
    print(f"  trained on   {info.n_train} images from {info.data_source}, seed {info.seed}")
    print(
        f"  schedule     {info.epochs} epochs, batch {info.batch_size}, Adam one-cycle "
        f"lr {info.lr:g}, {info.threads} threads on {info.device}"
    )
    if val is not None:
        print(f"  validation   {100 * val:.2f} %")
    print(f"  test         {100 * info.test_accuracy:.2f} % of {info.n_test} images")
    print(f"  versions     torch {info.torch_version}, gannet {info.gannet_version}")
    for r in info.history:
        v = r.get("validation_accuracy")
        v_text = "" if v is None else f", validation {100 * v:.2f} %"
        print(f"  epoch {r['epoch']}: loss {r['loss']:.4f}{v_text}, {r['seconds']:.0f} s")
    print(f"  time         {info.seconds:.0f} s wall, {info.cpu_seconds:.0f} s CPU")
