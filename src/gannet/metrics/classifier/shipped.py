"""gannet's classifiers shipped with the package: the same weights on every machine.

A classifier trained on one machine differs from one trained on another (CPUs round
differently, so even a seeded training diverges), and so would every distance measured in
its features. gannet therefore ships the MNIST, Fashion-MNIST and CIFAR-10 classifiers its
feature metrics use as package data, under ``gannet/metrics/classifier/weights/``, one file
per version: ``<dataset>-classifier-v<N>.pt``. Each file's SHA-256 is pinned in
:data:`SHIPPED`; it is checked before the file is loaded (``torch.load(weights_only=True)``),
so a damaged or replaced file is refused in one line. A new version gets a new file and a
new entry; an old version stays loadable by its name, so numbers measured with it can be
reproduced.

The files are the classifiers that ``gannet classifier train DATASET`` makes (the commands
and accuracies are in docs/evaluation.md), packed by :func:`pack_classifier`: the floating
point tensors stored in float16 (half the size; the accuracy stored with the file is
measured with the packed weights, which are loaded back as float32), the training details
kept.

:func:`dataset_classifier` is what the metrics use: the newest shipped classifier of a
dataset, else the one trained and cached on this machine (``gannet classifier train``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from gannet.errors import GannetError
from gannet.files.checkpoint import save_weights_file
from gannet.metrics.classifier.model import ImageClassifier, evaluate_accuracy
from gannet.metrics.classifier.store import (
    FORMAT,
    VERSION,
    ClassifierInfo,
    cached_classifier,
    classifier_data,
    classifier_path,
    load_classifier,
)


@dataclass(frozen=True)
class ShippedWeights:
    """One shipped classifier file: its dataset, version and pinned SHA-256."""

    dataset: str
    version: int
    sha256: str

    @property
    def name(self) -> str:
        """The extractor name, e.g. ``mnist-classifier-v1`` (FIDs: ``fid_mnist-classifier-v1``)."""
        return f"{self.dataset}-classifier-v{self.version}"

    @property
    def filename(self) -> str:
        return f"{self.name}.pt"


SHIPPED: tuple[ShippedWeights, ...] = (
    ShippedWeights(
        "cifar10", 1, "22756326acbbece253169ad5cbc406831a9c7f22a7dee45bc07ac7da6053bd6a"
    ),
    ShippedWeights(
        "fashion-mnist", 1, "939b6a1e1575276d558558a44b7aa5ee503383dda1d42b2fafd80b45c5e1b760"
    ),
    ShippedWeights("mnist", 1, "70522aab355aa249142f4b3fc7299ebb6a10d4549cee813c1946773644ab5ea6"),
)
"""Every shipped classifier file, oldest version first per dataset."""


def shipped_names() -> list[str]:
    """The extractor names of the shipped classifiers (``mnist-classifier-v1``, ...)."""
    return [entry.name for entry in SHIPPED]


def shipped_entry(name: str) -> ShippedWeights:
    """The shipped classifier called ``name``; an unknown name is one GannetError line."""
    for entry in SHIPPED:
        if entry.name == name:
            return entry
    raise GannetError(
        f"no shipped classifier {name!r}; choose one of: {', '.join(shipped_names())}"
    )


def latest_shipped(dataset: str) -> ShippedWeights | None:
    """The newest shipped classifier of ``dataset``, or None when gannet ships none."""
    entries = [e for e in SHIPPED if e.dataset == dataset]
    return max(entries, key=lambda e: e.version) if entries else None


def shipped_path(entry: ShippedWeights) -> Path:
    """Where the package holds ``entry``'s file."""
    return Path(str(resources.files("gannet.metrics.classifier") / "weights" / entry.filename))


def load_shipped(
    entry: ShippedWeights | str, map_location: str | torch.device = "cpu"
) -> tuple[ImageClassifier, ClassifierInfo]:
    """The shipped classifier ``entry`` (or its name), after checking its SHA-256."""
    from gannet.data.locate import sha256_file

    if isinstance(entry, str):
        entry = shipped_entry(entry)
    path = shipped_path(entry)
    reinstall = "reinstall gannet (pip install --force-reinstall gannet)"
    if not path.is_file():
        raise GannetError(f"the shipped classifier {path} is missing; {reinstall}")
    digest = sha256_file(path)
    if digest != entry.sha256:
        raise GannetError(
            f"the shipped classifier {path} has SHA-256 {digest}, expected {entry.sha256}: "
            f"it is damaged or was replaced; {reinstall}"
        )
    model, info = load_classifier(path, map_location)
    if info.dataset != entry.dataset:
        raise GannetError(f"{path} holds a {info.dataset} classifier; {reinstall}")
    return model, info


@dataclass
class DatasetClassifier:
    """The classifier the metrics use for a dataset, and where it came from."""

    model: ImageClassifier
    info: ClassifierInfo
    name: str
    """``mnist-classifier-v1`` (shipped) or ``mnist-classifier`` (trained on this machine)."""
    path: Path
    sha256: str

    def describe(self) -> dict[str, object]:
        """What a result file records about the classifier."""
        return {
            "name": self.name,
            "path": str(self.path),
            "sha256": self.sha256,
            "test_accuracy": self.info.test_accuracy,
            "epochs": self.info.epochs,
            "created": self.info.created,
        }


def dataset_classifier(
    dataset: str, map_location: str | torch.device = "cpu", local: bool = False
) -> DatasetClassifier:
    """The newest shipped classifier of ``dataset``; with ``local`` or when gannet ships
    none for it, the one cached on this machine (a GannetError saying how to train it when
    there is none)."""
    from gannet.data.locate import sha256_file

    entry = None if local else latest_shipped(dataset)
    if entry is not None:
        model, info = load_shipped(entry, map_location)
        return DatasetClassifier(model, info, entry.name, shipped_path(entry), entry.sha256)
    model, info = cached_classifier(dataset, map_location)
    path = classifier_path(dataset)
    return DatasetClassifier(model, info, f"{dataset}-classifier", path, sha256_file(path))


def has_classifier(dataset: str) -> bool:
    """Whether :func:`dataset_classifier` has a classifier for ``dataset`` to load."""
    return latest_shipped(dataset) is not None or classifier_path(dataset).is_file()


def pack_classifier(
    model: ImageClassifier,
    info: ClassifierInfo,
    out: str | Path,
    data_dir: str = "",
) -> tuple[Path, ClassifierInfo, str]:
    """Write ``model`` as a shipped-classifier file: float tensors in float16, the test
    accuracy measured again with the packed weights (on ``info.dataset``'s test split).
    Returns (the file, the info stored in it, its SHA-256)."""
    from gannet.data.locate import sha256_file

    state = {
        k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu().clone())
        for k, v in model.state_dict().items()
    }
    packed = _rebuild(model, state)
    data = classifier_data(info.dataset, data_dir)
    if data.test is None or data.test_labels is None:
        raise GannetError(f"dataset {info.dataset!r} has no test split to measure on")
    fields = info.to_dict()
    fields["test_accuracy"] = evaluate_accuracy(packed, data.test, data.test_labels)
    if data.validation is not None and data.validation_labels is not None:
        fields["validation_accuracy"] = evaluate_accuracy(
            packed, data.validation, data.validation_labels
        )
    fields["trained_test_accuracy"] = info.test_accuracy
    fields["weights_dtype"] = "float16"
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": model.arch(),
        "state_dict": state,
        "info": json.loads(json.dumps(fields)),
    }
    target = Path(out)
    try:
        save_weights_file(target, payload)
    except OSError as e:
        raise GannetError(f"cannot write {target}: {e.strerror or e}") from None
    return target, ClassifierInfo.from_dict(fields), sha256_file(target)


def _rebuild(model: ImageClassifier, state: dict[str, torch.Tensor]) -> ImageClassifier:
    """A float32 copy of ``model``'s architecture holding the float16-rounded ``state``."""
    from gannet.metrics.classifier.resnet import build_classifier

    copy = build_classifier(model.arch())
    copy.load_state_dict(state)  # copies into the float32 tensors
    return copy.eval()
