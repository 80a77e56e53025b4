"""CIFAR-10 from the official python-format archive or its extracted folder.

A searched folder (see :mod:`gannet.data.locate`, folder name ``cifar10``) qualifies when
it holds ``cifar-10-batches-py/`` with the six batch files, holds those six files itself,
or holds ``cifar-10-python.tar.gz``. The extracted folder is preferred (no decompression).

Checksums: the archive is always verified against its official MD5 (it is only ever looked
for under its official name). Extracted batches are not checksummed; instead every batch is
unpickled with :class:`RestrictedUnpickler` (numpy arrays only, no code can run) and
checked for structure (``data`` uint8 (N, 3072), ``labels`` in 0..9 of length N).

Images are float32 ``(N, 3, 32, 32)`` in [0, 1]; ``validation`` = the last
``validation_size`` of the training images (default 10,000, leaving 40,000 to train).
"""

from __future__ import annotations

import codecs
import io
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gannet.config import DataConfig
from gannet.data.base import DATASETS, Dataset, DatasetEntry
from gannet.data.locate import (
    apply_subset,
    check_md5,
    download,
    find_dir,
    md5_file,
    read_bytes,
    resolve_dir,
    split_validation,
)
from gannet.errors import GannetError

ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
BATCHES = (*TRAIN_BATCHES, TEST_BATCH)

_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {}


def _allowed() -> dict[tuple[str, str], Any]:
    if not _ALLOWED_GLOBALS:
        # The function numpy pickles arrays with (numpy._core.multiarray._reconstruct on
        # numpy 2, numpy.core.multiarray._reconstruct on numpy 1), without importing the
        # deprecated numpy.core alias.
        _reconstruct = np.zeros(1).__reduce__()[0]
        _ALLOWED_GLOBALS.update(
            {
                ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy", "ndarray"): np.ndarray,
                ("numpy", "dtype"): np.dtype,
                # Python 3 writes bytes in protocol-2 pickles as _codecs.encode(str, "latin1")
                # (pure data conversion, no side effects); Python 2 files never use it.
                ("_codecs", "encode"): codecs.encode,
            }
        )
    return _ALLOWED_GLOBALS


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays and plain containers, and nothing else.

    Pickle can call any importable function; the CIFAR batches only need numpy's array
    reconstruction (plus ``_codecs.encode`` for protocol-2 pickles written by Python 3),
    so every other global is refused with a GannetError.
    """

    def find_class(self, module: str, name: str) -> Any:
        found = _allowed().get((module, name))
        if found is None:
            raise GannetError(
                f"refusing to unpickle {module}.{name}: a CIFAR batch holds only numpy "
                f"arrays; the file is not an official CIFAR-10 batch, delete it"
            )
        return found


def safe_unpickle(data: bytes, what: str) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler` (bytes keys, as in Python 2)."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except GannetError as e:
        raise GannetError(f"{what}: {e}") from None
    except Exception as e:  # any malformed pickle: EOFError, UnpicklingError, ValueError...
        raise GannetError(
            f"{what} is not a valid CIFAR-10 batch ({type(e).__name__}: {e}); "
            f"delete it and download it again"
        ) from None


def _field(batch: dict[Any, Any], key: str) -> Any:
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    return None


def parse_batch(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) from one pickled batch."""
    batch = safe_unpickle(data, what)
    images = _field(batch, "data") if isinstance(batch, dict) else None
    labels = _field(batch, "labels") if isinstance(batch, dict) else None
    if (
        not isinstance(images, np.ndarray)
        or images.dtype != np.uint8
        or images.ndim != 2
        or images.shape[1] != 3072
        or labels is None
    ):
        raise GannetError(
            f"{what} is not a CIFAR-10 batch (expected a dict with 'data' uint8 (N, 3072) and "
            f"'labels'); delete it and download it again"
        )
    try:
        label_array = np.array(labels, dtype=np.int64)
    except (TypeError, ValueError):
        label_array = np.empty(0, dtype=np.int64)
    if label_array.shape != (images.shape[0],) or (
        label_array.size and (label_array.min() < 0 or label_array.max() > 9)
    ):
        raise GannetError(
            f"{what} has labels that are not {images.shape[0]} integers in 0..9; "
            f"delete it and download it again"
        )
    return images.reshape(-1, 3, 32, 32), label_array


def _batch_dir(folder: Path) -> Path | None:
    for candidate in (folder / FOLDER, folder):
        if all((candidate / b).is_file() for b in BATCHES):
            return candidate
    return None


def _missing(folder: Path) -> list[str]:
    if _batch_dir(folder) is not None or (folder / ARCHIVE).is_file():
        return []
    return [ARCHIVE]


def _fetch(folder: Path) -> None:
    download([ARCHIVE_URL], folder / ARCHIVE, ARCHIVE_MD5)


def read_batch_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every batch of an extracted ``cifar-10-batches-py`` folder, by file name."""
    return {b: parse_batch(read_bytes(folder / b), str(folder / b)) for b in BATCHES}


def read_archive(
    path: Path, md5: str | None = ARCHIVE_MD5
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every batch inside a CIFAR-10 python archive (read in memory, nothing extracted).

    ``md5`` is the checksum the archive must have (None skips the check, e.g. for a small
    hand-made archive with the same layout).
    """
    if md5 is not None:
        check_md5(path, md5, md5_file(path))
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for b in BATCHES:
                member = f"{FOLDER}/{b}"
                try:
                    f = tar.extractfile(member)
                except KeyError:
                    f = None
                if f is None:
                    raise GannetError(
                        f"{path} has no file {member}; it is not a CIFAR-10 python archive, "
                        f"delete it and download it again"
                    )
                batches[b] = parse_batch(f.read(), f"{path}:{member}")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise GannetError(
            f"cannot read {path} ({e}); the archive is corrupt, delete it and download it again"
        ) from None
    return batches


def load_cifar10(cfg: DataConfig) -> Dataset:
    """CIFAR-10 (Krizhevsky 2009): 32x32 colour images in 10 classes."""
    folder = resolve_dir(cfg, "cifar10", "CIFAR-10", _missing, _fetch)
    batch_dir = _batch_dir(folder)
    if batch_dir is not None:
        batches = read_batch_folder(batch_dir)
    else:
        batches = read_archive(folder / ARCHIVE)
    train_x = torch.from_numpy(np.concatenate([batches[b][0] for b in TRAIN_BATCHES]))
    train_y = torch.from_numpy(np.concatenate([batches[b][1] for b in TRAIN_BATCHES]))
    test_x, test_y = batches[TEST_BATCH]
    train, train_labels, val, val_labels = split_validation(
        train_x.float().div_(255.0), train_y, cfg.validation_size, "CIFAR-10"
    )
    train, train_labels = apply_subset(train, train_labels, cfg.subset, "CIFAR-10")
    return Dataset(
        name="cifar10",
        train=train,
        validation=val,
        test=torch.tensor(test_x).float().div_(255.0),
        train_labels=train_labels,
        validation_labels=val_labels,
        test_labels=torch.from_numpy(test_y),
        num_classes=10,
        source=str(batch_dir or folder),
    )


def locate_cifar10(cfg: DataConfig) -> str | None:
    folder = find_dir(cfg, "cifar10", _missing)
    return None if folder is None else str(_batch_dir(folder) or folder)


DATASETS.register("cifar10")(
    DatasetEntry(
        load=load_cifar10,
        locate=locate_cifar10,
        description="CIFAR-10, 32x32 colour, 10 classes (python-format archive or folder)",
    )
)
