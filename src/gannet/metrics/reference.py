"""Reference features of a dataset split, cached by (dataset, split, extractor, weights
SHA-256, rows): a change of any of these computes them anew.

The cache is ``<gannet cache>/feature-reference/<dataset>-<split>-<extractor>-<hash>.npz``
(``hash`` covers the weights digest, the row count and where the data was read from),
written atomically and read with ``allow_pickle=False``. It holds the features (float32;
the statistics are recomputed from them in float64), so FID, KID and precision/recall all
use it.

Splits: ``train``, ``validation``, ``test`` of any gannet dataset. CIFAR-10 from an image
folder (``--data-dir`` with class subfolders, e.g. the JPEG copy of its training images) has
no official test split: ``test`` is the 10,000 seeded held-out images of
:func:`gannet.metrics.classifier.classifier_data`, ``train`` the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from pathlib import Path

import numpy as np
import torch

from gannet.errors import GannetError
from gannet.metrics.features import Extractor, as_images, check_input

SPLITS = ("train", "validation", "test")


def load_split(dataset: str, split: str, data_dir: str = "") -> tuple[torch.Tensor, str]:
    """(images of ``split``, where they came from)."""
    from gannet.metrics.classifier import classifier_data

    if split not in SPLITS:
        raise GannetError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    data = classifier_data(dataset, data_dir)
    rows = getattr(data, split)
    if rows is None or len(rows) == 0:
        raise GannetError(f"dataset {dataset!r} has no {split} split; choose another split")
    return rows, f"{data.source} ({split})"


def cache_path(dataset: str, split: str, extractor: Extractor, n: int, source: str) -> Path:
    from gannet.data.locate import cache_dir

    key = f"{extractor.weights_sha256}|{n}|{source}".encode()
    digest = hashlib.sha256(key).hexdigest()[:16]
    return cache_dir("feature-reference") / f"{dataset}-{split}-{extractor.name}-{digest}.npz"


def reference_features(
    dataset: str, split: str, extractor: Extractor, data_dir: str = "", n: int = 0
) -> tuple[np.ndarray, str]:
    """(features (N, D) float64 of the first ``n`` rows of the split (0 = all), a
    description of the reference), from the cache when it holds them."""
    images, source = load_split(dataset, split, data_dir)
    if n > 0:
        if n > len(images):
            raise GannetError(
                f"the {dataset} {split} split has {len(images)} rows, fewer than the {n} asked"
            )
        images = images[:n]
    path = cache_path(dataset, split, extractor, len(images), source)
    description = f"{dataset} {split} ({len(images)} images from {source})"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as cached:
                return cached["features"].astype(np.float64), description
        except (OSError, ValueError, KeyError):
            pass  # unreadable: compute again and overwrite it
    images = as_images(images)
    check_input(extractor, images, f"{dataset} {split} images")
    features = extractor.features(images).astype(np.float32)
    _save(path, features)
    return features.astype(np.float64), description


def _save(path: Path, features: np.ndarray) -> None:
    from gannet.files.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez(buffer, features=features)
    # A read-only cache only costs the recomputation next time.
    with contextlib.suppress(OSError):
        atomic_write_bytes(path, buffer.getvalue())
