"""gannet's classifier on disk: its info, the cache of trained classifiers, and training one
for a dataset (see :mod:`gannet.metrics.classifier`)."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from gannet.data.splits import held_out_split  # noqa: F401  (re-exported)
from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes
from gannet.files.checkpoint import first_line, load_weights_file, save_weights_file
from gannet.metrics.classifier.fit import Recipe, fit_classifier
from gannet.metrics.classifier.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    ImageClassifier,
    Progress,
    evaluate_accuracy,
)
from gannet.metrics.classifier.resnet import build_classifier
from gannet.version import __version__

SUPPORTED: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10")
"""Datasets gannet trains a classifier for."""


@dataclass(frozen=True)
class DatasetRecipe:
    """A dataset's training defaults: epochs, batch size, peak lr and the :class:`Recipe`."""

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = DEFAULT_LR
    recipe: Recipe = field(default_factory=Recipe)


RECIPES: dict[str, DatasetRecipe] = {
    "mnist": DatasetRecipe(),
    "fashion-mnist": DatasetRecipe(),
    # The quarter-width ResNet-9 with the usual CIFAR recipe (SGD + Nesterov, one-cycle,
    # weight decay, label smoothing, crops and flips), sized for a CPU.
    "cifar10": DatasetRecipe(
        epochs=18,
        batch_size=128,
        lr=0.15,
        recipe=Recipe(
            arch={"kind": "resnet", "width": 16},
            optimizer="sgd",
            weight_decay=5e-4,
            label_smoothing=0.1,
            augment=True,
            pct_start=0.25,
        ),
    ),
}
"""Training defaults per dataset (``gannet classifier train DATASET``)."""

HELD_OUT = 10000
"""Images held out as the test split when CIFAR-10 comes from an image folder."""

FORMAT = "gannet-classifier"
"""The ``format`` marker of a classifier file."""
VERSION = 1
"""The classifier file's format version."""


# --------------------------------------------------------------------------- info + files


@dataclass
class ClassifierInfo:
    """What is stored beside the weights: how the classifier was trained and how well."""

    dataset: str
    test_accuracy: float
    validation_accuracy: float | None = None
    epochs: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = DEFAULT_LR
    seed: int = 0
    n_train: int = 0
    n_test: int = 0
    seconds: float = 0.0
    """Wall time of training (not counting data loading and the test pass)."""
    cpu_seconds: float = 0.0
    """CPU time of the process while training, all threads (wall time depends on the load)."""
    threads: int = 0
    device: str = "cpu"
    data_source: str = ""
    created: str = ""
    torch_version: str = ""
    gannet_version: str = ""
    machine: str = ""
    arch: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    weights_dtype: str = "float32"
    """How the weights are stored: float16 in the shipped files (loaded as float32)."""
    trained_test_accuracy: float | None = None
    """Shipped files: the test accuracy before the weights were rounded to float16."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClassifierInfo:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def summary(self) -> str:
        """E.g. ``mnist: test accuracy 99.21 % (3 epochs, 190 s on cpu, 2025-01-01)``."""
        return (
            f"{self.dataset}: test accuracy {100 * self.test_accuracy:.2f} % "
            f"({self.epochs} epochs, {self.seconds:.0f} s on {self.device}, "
            f"{self.created[:10] or 'date unknown'})"
        )


def classifier_path(dataset: str) -> Path:
    """Where the classifier of ``dataset`` is cached (it may not exist)."""
    from gannet.data.locate import cache_dir

    return cache_dir("classifiers") / f"{dataset}.pt"


def _check_supported(dataset: str) -> None:
    if dataset not in SUPPORTED:
        raise GannetError(
            f"gannet has no classifier for dataset {dataset!r}; choose one of: "
            f"{', '.join(SUPPORTED)}"
        )


def save_classifier(
    model: ImageClassifier, info: ClassifierInfo, path: str | Path | None = None
) -> Path:
    """Write the weights and ``info`` atomically to ``path`` (default: the cache), and a
    readable ``.json`` copy of ``info`` beside it. Returns the path of the weights."""
    target = Path(path) if path is not None else classifier_path(info.dataset)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": model.arch(),
        "state_dict": state,
        # Through JSON: only plain str/int/float/bool/None/list/dict remain (a str subclass
        # such as torch.__version__ would make the file unloadable with weights_only=True).
        "info": json.loads(json.dumps(info.to_dict())),
    }
    try:
        save_weights_file(target, payload)
        atomic_write_bytes(
            target.with_suffix(".json"), (json.dumps(info.to_dict(), indent=2) + "\n").encode()
        )
    except OSError as e:
        raise GannetError(f"cannot write the classifier to {target}: {e.strerror or e}") from None
    return target


def load_classifier(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[ImageClassifier, ClassifierInfo]:
    """Load and verify a classifier file; any problem is one GannetError line."""
    path = Path(path)
    retrain = "retrain it with 'gannet classifier train DATASET --force'"
    state = load_weights_file(
        path,
        format=FORMAT,
        version=VERSION,
        required=("arch", "state_dict", "info"),
        what="classifier file",
        fix=retrain,
        map_location=map_location,
    )
    try:
        model = build_classifier(state["arch"])
        model.load_state_dict(state["state_dict"])
        info = ClassifierInfo.from_dict(state["info"])
    except (TypeError, ValueError, RuntimeError, AttributeError, GannetError) as e:
        raise GannetError(
            f"classifier file {str(path)!r} does not hold a usable classifier "
            f"({first_line(e)}); {retrain}"
        ) from None
    model.to(map_location).eval()
    return model, info


def cached_classifier(
    dataset: str, map_location: str | torch.device = "cpu"
) -> tuple[ImageClassifier, ClassifierInfo]:
    """The cached classifier of ``dataset``; when there is none, a GannetError that says
    how to train it."""
    _check_supported(dataset)
    path = classifier_path(dataset)
    if not path.is_file():
        raise GannetError(
            f"no {dataset} classifier cached at {path}; train it with "
            f"'gannet classifier train {dataset}' (a few minutes on a CPU)"
        )
    try:
        model, info = load_classifier(path, map_location)
    except GannetError as e:  # name the dataset in the fix
        raise GannetError(str(e).replace("DATASET", dataset)) from None
    if info.dataset != dataset:
        raise GannetError(
            f"{path} holds a classifier for {info.dataset!r}, not {dataset!r}; retrain it with "
            f"'gannet classifier train {dataset} --force'"
        )
    return model, info


def classifier_data(dataset: str, data_dir: str = "", subset: int = 0) -> Any:
    """The dataset a classifier trains on. CIFAR-10 from an image folder (``data_dir`` with
    one subfolder per class, e.g. the JPEG copy of CIFAR-10's training images) gets
    :data:`HELD_OUT` seeded held-out images as its test split: the folder dataset's
    validation split of that size (:func:`gannet.data.splits.split_folder`)."""
    from gannet.config import DataConfig
    from gannet.data import Dataset, load_dataset
    from gannet.data.folder import locate_folder

    folder = DataConfig(name="folder", data_dir=data_dir, image_size=32, validation_size=HELD_OUT)
    if dataset != "cifar10" or not data_dir or locate_folder(folder) is None:
        return load_dataset(DataConfig(name=dataset, data_dir=data_dir, subset=subset))
    data = load_dataset(folder)
    if data.train_labels is None or data.num_classes != 10:
        raise GannetError(
            f"{data_dir} must hold the images in 10 class subfolders to train the cifar10 "
            f"classifier (found {data.num_classes} classes)"
        )
    x, y = data.as_float("train"), data.train_labels
    xt, yt = data.as_float("validation"), data.validation_labels
    if xt is None or yt is None:
        raise GannetError(
            f"{data_dir} has too few images per class to hold {HELD_OUT} out as the "
            "classifier's test split; use a larger image folder"
        )
    if subset > 0:
        x, y = x[:subset], y[:subset]
    return Dataset(
        name="cifar10",
        train=x,
        train_labels=y,
        test=xt,
        test_labels=yt,
        num_classes=10,
        source=f"{data.source} (image folder; test = {len(xt)} held-out images)",
    )


def train_classifier(
    dataset: str = "mnist",
    *,
    epochs: int = 0,
    data_dir: str = "",
    seed: int = 0,
    batch_size: int = 0,
    lr: float = 0.0,
    subset: int = 0,
    progress: Progress | None = None,
    device: str | torch.device = "cpu",
    threads: int = 0,
    state_path: str | Path | None = None,
) -> tuple[ImageClassifier, ClassifierInfo]:
    """Train gannet's classifier on ``dataset`` (mnist, fashion-mnist or cifar10) and
    measure its test accuracy. Nothing is written but ``state_path`` (the resumable training
    state, see :func:`fit_classifier`): pass the result to :func:`save_classifier` to cache it.

    ``epochs``, ``batch_size``, ``lr`` = 0 take the dataset's :data:`RECIPES` default;
    ``subset`` > 0 trains on the first ``subset`` training rows only (quick tests);
    ``threads`` > 0 sets PyTorch's CPU threads while training.
    """
    _check_supported(dataset)
    defaults = RECIPES[dataset]
    epochs = epochs or defaults.epochs
    batch_size = batch_size or defaults.batch_size
    lr = lr or defaults.lr
    data = classifier_data(dataset, data_dir, subset)
    if data.train_labels is None or data.test is None or data.test_labels is None:
        raise GannetError(f"dataset {dataset!r} has no labels or no test split to train on")
    validation = None
    if data.validation is not None and data.validation_labels is not None:
        validation = (data.validation, data.validation_labels)
    model, history = fit_classifier(
        data.train,
        data.train_labels,
        num_classes=data.num_classes or int(data.train_labels.max()) + 1,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        validation=validation,
        progress=progress,
        device=device,
        threads=threads,
        recipe=defaults.recipe,
        state_path=state_path,
    )
    info = ClassifierInfo(
        dataset=dataset,
        test_accuracy=evaluate_accuracy(model, data.test, data.test_labels),
        validation_accuracy=history[-1]["validation_accuracy"],
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        n_train=len(data.train),
        n_test=len(data.test),
        seconds=history[-1]["seconds"],
        cpu_seconds=history[-1]["cpu_seconds"],
        threads=threads or torch.get_num_threads(),
        device=str(torch.device(device)),
        data_source=data.source,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        torch_version=str(torch.__version__),  # TorchVersion is not a plain str
        gannet_version=__version__,
        machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
        arch=model.arch(),
        history=history,
    )
    return model, info
