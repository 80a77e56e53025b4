"""MNIST and Fashion-MNIST from the four original IDX files (``.gz`` or gunzipped).

Every file is checked before it is parsed:

* ``.gz`` files against the official MD5 checksums;
* raw files, and ``.gz`` files recompressed by a packager (Debian's
  ``dataset-fashion-mnist`` rewrites the gzip headers), against the MD5 of the
  decompressed official files;
* and every file by its IDX header: magic number, dimensions, and exact size.

When both ``X.gz`` and ``X`` are present the ``.gz`` is read (its checksum is official).

Splits follow the authors' code: ``train`` = the first ``60000 - validation_size`` rows of
the training file, ``validation`` = its last ``validation_size`` rows, ``test`` = the 10,000
test images. Images are float32 ``(N, 1, 28, 28)`` in [0, 1], labels int64.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gannet.config import DataConfig
from gannet.data.base import DATASETS, Dataset, DatasetEntry
from gannet.data.locate import (
    apply_subset,
    check_md5,
    download,
    find_dir,
    md5_bytes,
    read_bytes,
    resolve_dir,
    split_validation,
)
from gannet.errors import GannetError

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes, what: str = "IDX data") -> np.ndarray:
    """Decode an IDX buffer (header + big-endian payload) into a read-only numpy array.

    Raises GannetError (naming ``what``) on a bad magic number or a size that does not
    match the header's dimensions (truncated or padded file).
    """
    if len(data) < 4:
        raise GannetError(
            f"{what} is truncated (only {len(data)} bytes); delete it and re-download"
        )
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise GannetError(
            f"{what} is not an IDX file (bad magic number 0x{data[:4].hex()}); "
            f"delete it and re-download"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise GannetError(f"{what} is truncated inside its header; delete it and re-download")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise GannetError(
            f"{what} is {state} ({len(data)} bytes, expected {expected} for shape {shape}); "
            f"delete it and re-download"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, gunzipping it when its name ends in ``.gz``."""
    data = read_bytes(path)
    if path.name.endswith(".gz"):
        data = gunzip(data, path)
    return parse_idx(data, str(path))


def gunzip(data: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise GannetError(
            f"{path} is not a valid gzip file ({e}); delete it and re-download"
        ) from None


def _gunzip_or_none(data: bytes) -> bytes | None:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None


@dataclass(frozen=True)
class IdxFile:
    """One of the four files of an IDX dataset."""

    stem: str
    """File name without ``.gz``, e.g. ``train-images-idx3-ubyte``."""
    shape: tuple[int, ...]
    gz_md5: str
    raw_md5: str | None = None
    """MD5 of the decompressed file; None = check the header and size only."""


@dataclass(frozen=True)
class IdxDataset:
    name: str
    title: str
    mirrors: tuple[str, ...]
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile

    @property
    def files(self) -> tuple[IdxFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


def _files(md5s: dict[str, tuple[str, str | None]]) -> tuple[IdxFile, ...]:
    shapes = {
        "train-images-idx3-ubyte": (60000, 28, 28),
        "train-labels-idx1-ubyte": (60000,),
        "t10k-images-idx3-ubyte": (10000, 28, 28),
        "t10k-labels-idx1-ubyte": (10000,),
    }
    return tuple(IdxFile(stem, shapes[stem], *md5s[stem]) for stem in shapes)


MNIST = IdxDataset(
    "mnist",
    "MNIST",
    (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    *_files(
        {
            "train-images-idx3-ubyte": (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "6bbc9ace898e44ae57da46a324031adb",
            ),
            "train-labels-idx1-ubyte": (
                "d53e105ee54ea40749a09fcbcd1e9432",
                "a25bea736e30d166cdddb491f175f624",
            ),
            "t10k-images-idx3-ubyte": (
                "9fb629c4189551a2d022fa330f9573f3",
                "2646ac647ad5339dbf082846283269ea",
            ),
            "t10k-labels-idx1-ubyte": (
                "ec29112dd5afa0611ce80d1b7f02629c",
                "27ae3e4e09519cfbb04c329615203637",
            ),
        }
    ),
)

FASHION_MNIST = IdxDataset(
    "fashion-mnist",
    "Fashion-MNIST",
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    *_files(
        {
            "train-images-idx3-ubyte": (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            ),
            "train-labels-idx1-ubyte": (
                "25c81989df183df01b3e8a0aad5dffbe",
                "9018921c3c673c538a1fc5bad174d6f9",
            ),
            "t10k-images-idx3-ubyte": (
                "bef4ecab320f06d8554ea6380940ec79",
                "8181f5470baa50b63fa0f6fddb340f0a",
            ),
            "t10k-labels-idx1-ubyte": (
                "bb300cfdad3c16e7a12a480ee83cd310",
                "15d484375f8d13e6eb1aabb0c3f46965",
            ),
        }
    ),
)


def _missing(spec: IdxDataset) -> Callable[[Path], list[str]]:
    def missing(folder: Path) -> list[str]:
        return [
            f"{f.stem}.gz"
            for f in spec.files
            if not (folder / f"{f.stem}.gz").is_file() and not (folder / f.stem).is_file()
        ]

    return missing


def _fetch(spec: IdxDataset) -> Callable[[Path], None]:
    def fetch(folder: Path) -> None:
        for name in _missing(spec)(folder):
            md5 = next(f.gz_md5 for f in spec.files if f"{f.stem}.gz" == name)
            download([m + name for m in spec.mirrors], folder / name, md5)

    return fetch


def read_checked(folder: Path, f: IdxFile) -> np.ndarray:
    """Read one IDX file from ``folder`` (``.gz`` preferred), verified and shape-checked."""
    gz = folder / f"{f.stem}.gz"
    if gz.is_file():
        path = gz
        data = read_bytes(gz)
        gz_md5 = md5_bytes(data)
        if gz_md5 == f.gz_md5:
            data = gunzip(data, gz)
        else:
            # A recompressed copy (Debian's package rewrites the gzip headers) passes when
            # its decompressed content is the official decompressed file.
            content = _gunzip_or_none(data)
            if f.raw_md5 is None or content is None or md5_bytes(content) != f.raw_md5:
                check_md5(gz, f.gz_md5, gz_md5)  # raises, naming the file
            assert content is not None
            data = content
    else:
        path = folder / f.stem
        data = read_bytes(path)
        if f.raw_md5 is not None:
            check_md5(path, f.raw_md5, md5_bytes(data))
    array = parse_idx(data, str(path))
    if array.shape != f.shape or array.dtype != np.uint8:
        raise GannetError(
            f"{path} holds a {array.dtype} array of shape {array.shape}, expected uint8 "
            f"{f.shape}; delete it and re-download"
        )
    return array


def load_idx_dataset(spec: IdxDataset, cfg: DataConfig) -> Dataset:
    """Find (or download), verify and decode one IDX dataset with ``cfg``'s splits."""
    folder = resolve_dir(cfg, spec.name, spec.title, _missing(spec), _fetch(spec))
    arrays = [read_checked(folder, f) for f in spec.files]
    train_x, train_y, test_x, test_y = (torch.from_numpy(a.copy()) for a in arrays)
    if any(int(y.max()) > 9 for y in (train_y, test_y)):
        raise GannetError(
            f"{spec.title} labels in {folder} are not all in 0..9; delete the files and "
            f"download them again"
        )
    images = train_x.unsqueeze(1).float().div_(255.0)
    labels = train_y.long()
    train, train_labels, val, val_labels = split_validation(
        images, labels, cfg.validation_size, spec.title
    )
    train, train_labels = apply_subset(train, train_labels, cfg.subset, spec.title)
    return Dataset(
        name=spec.name,
        train=train,
        validation=val,
        test=test_x.unsqueeze(1).float().div_(255.0),
        train_labels=train_labels,
        validation_labels=val_labels,
        test_labels=test_y.long(),
        num_classes=10,
        source=str(folder),
    )


def locate_idx_dataset(spec: IdxDataset, cfg: DataConfig) -> str | None:
    folder = find_dir(cfg, spec.name, _missing(spec))
    return None if folder is None else str(folder)


def load_mnist(cfg: DataConfig) -> Dataset:
    """MNIST (LeCun et al.): 50,000 train / 10,000 validation / 10,000 test by default."""
    return load_idx_dataset(MNIST, cfg)


def locate_mnist(cfg: DataConfig) -> str | None:
    return locate_idx_dataset(MNIST, cfg)


def load_fashion_mnist(cfg: DataConfig) -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017): same format and splits as MNIST."""
    return load_idx_dataset(FASHION_MNIST, cfg)


def locate_fashion_mnist(cfg: DataConfig) -> str | None:
    return locate_idx_dataset(FASHION_MNIST, cfg)


DATASETS.register("mnist")(
    DatasetEntry(
        load=load_mnist,
        locate=locate_mnist,
        description="MNIST digits, 28x28 grayscale, 10 classes (IDX files, MD5-checked)",
    )
)
DATASETS.register("fashion-mnist")(
    DatasetEntry(
        load=load_fashion_mnist,
        locate=locate_fashion_mnist,
        description="Fashion-MNIST clothing, 28x28 grayscale, 10 classes (IDX files)",
    )
)
