"""The Classification Accuracy Score (Ravuri & Vinyals, 2019): train a classifier on a
conditional generator's samples only, and report its accuracy on the real test set.

The classifier is gannet's own (:mod:`gannet.metrics.classifier`, the dataset's recipe from
``RECIPES``: the CNN for MNIST-like data, the small ResNet for CIFAR-10), trained with the
same seed, epochs, batch size and lr on ``n`` generated images (``n // K`` of each of the K
classes) and, for reference, on ``n`` real training images (all of them when ``n`` is the
size of the training split, else ``n // K`` of each class chosen by the seed). The real
reference depends only on the data and those settings, so it is cached as a small JSON file
(``cache_dir("cas")``) and trained once per dataset, n, seed and recipe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gannet.data.balanced import balanced_indices
from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes
from gannet.metrics.base import METRICS

SampleFn = Callable[[Tensor, int], Tensor]
"""``sample(labels, seed)`` -> one image in [0, 1] per label, (N, C, H, W)."""


@dataclass
class CasResult:
    """The score, its real-data reference and how both were trained."""

    dataset: str
    classifier: str
    cas: float
    """Real test accuracy of the classifier trained on generated samples only."""
    real_accuracy: float
    """Real test accuracy of the same classifier trained on as many real images."""
    n_train: int
    per_class: int
    num_classes: int
    n_test: int
    seed: int
    epochs: int
    batch_size: int
    lr: float
    seconds: float
    """Wall time to sample and train on generated images (this machine, this load)."""
    real_seconds: float
    real_cached: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return self.real_accuracy - self.cas

    def to_dict(self) -> dict[str, Any]:
        return {"metric": "cas", **asdict(self), "gap": self.gap}

    def summary(self) -> str:
        return (
            f"CAS {100 * self.cas:.2f} %  (the same {self.classifier} on {self.n_train} real "
            f"images: {100 * self.real_accuracy:.2f} %; {self.n_test} real test images)"
        )


def _recipe(dataset: str) -> Any:
    from gannet.metrics.classifier import RECIPES, DatasetRecipe

    return RECIPES.get(dataset, DatasetRecipe())


def classifier_name(dataset: str) -> str:
    """The classifier CAS trains for ``dataset``: "cnn" (MNIST-like) or "resnet"."""
    return str(_recipe(dataset).recipe.arch.get("kind", "cnn"))


def _real_key(data: Any, n: int, seed: int, settings: dict[str, Any]) -> str:
    ident = {
        "dataset": data.name,
        "source": data.source,
        "train_shape": list(data.train.shape),
        "test_shape": list(data.test.shape),
        "n": n,
        "seed": seed,
        **settings,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def real_reference_path(dataset: str, n: int, seed: int, key: str) -> Path:
    """Where the real-data reference of one (dataset, n, seed, settings) is cached."""
    from gannet.data.locate import cache_dir

    return cache_dir("cas") / f"{dataset}-n{n}-seed{seed}-{key[:12]}.json"


def classification_accuracy_score(
    sample: SampleFn,
    data: Any,
    *,
    samples: int = 0,
    seed: int = 0,
    epochs: int = 0,
    batch_size: int = 0,
    lr: float = 0.0,
    max_steps: int = 0,
    threads: int = 0,
    device: str | torch.device = "cpu",
    cache: bool = True,
) -> CasResult:
    """CAS of ``sample`` (see :data:`SampleFn`) against ``data`` (a labelled
    :class:`~gannet.data.Dataset` with a test split). ``samples`` = 0: as many as the real
    training split; ``epochs``, ``batch_size``, ``lr`` = 0: the dataset's recipe;
    ``max_steps`` > 0 caps training (quick tests); ``cache`` = False retrains the reference."""
    from gannet.metrics.classifier import evaluate_accuracy, fit_classifier

    if data.train_labels is None or data.test is None or data.test_labels is None:
        raise GannetError(
            f"CAS needs a labelled dataset with a test split; {data.name!r} has "
            f"{'no labels' if data.train_labels is None else 'no test split'}"
        )
    k = int(data.num_classes or int(data.train_labels.max()) + 1)
    train, test = data.as_float("train"), data.as_float("test")
    n = samples or len(data.train)
    if n < k:
        raise GannetError(f"--samples must be at least the number of classes ({k}), got {n}")
    per_class = n // k
    recipe = _recipe(data.name)
    epochs, batch_size, lr = (
        epochs or recipe.epochs,
        batch_size or recipe.batch_size,
        lr or recipe.lr,
    )
    settings: dict[str, Any] = {
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "max_steps": max_steps,
        "recipe": asdict(recipe.recipe),
    }

    def fit(x: Tensor, y: Tensor) -> float:
        model, _ = fit_classifier(
            x,
            y,
            num_classes=k,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            device=device,
            max_steps=max_steps,
            threads=threads,
            recipe=recipe.recipe,
        )
        return evaluate_accuracy(model, test, data.test_labels)

    # the real reference: cached
    key = _real_key(data, n, seed, settings)
    path = real_reference_path(data.name, n, seed, key)
    real = _read_reference(path, key) if cache else None
    cached = real is not None
    if real is None:
        t0 = time.perf_counter()
        if n >= len(data.train):
            xr, yr = train, data.train_labels
        else:
            idx = balanced_indices(data.train_labels, per_class, seed)
            xr, yr = train[idx], data.train_labels[idx]
        real = {"key": key, "accuracy": fit(xr, yr), "seconds": time.perf_counter() - t0}
        real.update(n_train=len(xr), dataset=data.name, seed=seed, settings=settings)
        if cache:
            # an unwritable cache costs a retrain next time, nothing else
            with contextlib.suppress(GannetError):
                atomic_write_bytes(path, (json.dumps(real, indent=2) + "\n").encode())

    # the score: on generated samples only
    t0 = time.perf_counter()
    y = torch.arange(k).repeat_interleave(per_class)
    x = sample(y, seed)
    if x.shape[1:] != train.shape[1:]:
        raise GannetError(
            f"the generator's samples have shape {tuple(x.shape[1:])}, the dataset's images "
            f"{tuple(data.train.shape[1:])}; evaluate the run on the data it was trained on"
        )
    cas = fit(x.float(), y)
    return CasResult(
        dataset=data.name,
        classifier=classifier_name(data.name),
        cas=cas,
        real_accuracy=float(real["accuracy"]),
        n_train=len(y),
        per_class=per_class,
        num_classes=k,
        n_test=len(data.test),
        seed=seed,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seconds=time.perf_counter() - t0,
        real_seconds=float(real["seconds"]),
        real_cached=cached,
        extra={"real_n_train": int(real["n_train"]), "real_reference": str(path)},
    )


def _read_reference(path: Path, key: str) -> dict[str, Any] | None:
    """The cached reference at ``path`` when it is readable and for ``key``, else None."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(value, dict) or value.get("key") != key:
        return None
    if not isinstance(value.get("accuracy"), int | float):
        return None
    return value


METRICS.register("cas")(classification_accuracy_score)
