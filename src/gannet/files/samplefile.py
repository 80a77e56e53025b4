"""Sample archives: the ``.npz`` files ``gannet sample --out FILE.npz`` writes and
``gannet eval parzen|modes --samples-file FILE.npz`` reads.

An archive holds the samples under the key ``samples`` (shape (n_samples, ...), images as
raw intensities in [0, 1]) and, for conditional runs, their classes under ``labels``. Any
other ``.npz`` works too when its only array is the samples. Every reader here goes through
:func:`read_samples_npz` (``allow_pickle=False``, so a file can never run code), and every
problem with a file is one :class:`GannetError` line:

* :func:`read_samples_npz`: the stored array, its key and path (no conversion);
* :func:`load_samples_npz`: images in [0, 1] as a tensor (range and finiteness checked);
* :func:`load_points_npz`: points of any range (e.g. 2-D mixture samples) as float64;
* :func:`write_samples_npz`: the writer, atomic (what ``gannet sample`` uses).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from gannet.errors import GannetError
from gannet.files.atomic import atomic_write

__all__ = [
    "SampleArray",
    "load_points_npz",
    "load_samples_npz",
    "read_samples_npz",
    "write_samples_npz",
]


class SampleArray(NamedTuple):
    """What :func:`read_samples_npz` found: the array, the key it is stored under, the file."""

    array: np.ndarray
    key: str
    path: Path


def write_samples_npz(
    path: str | Path, samples: np.ndarray, labels: np.ndarray | None = None
) -> None:
    """Write ``samples`` (and ``labels``, when given) to a compressed ``.npz`` archive,
    atomically (a reader never sees a half-written file)."""
    if labels is None:
        atomic_write(Path(path), lambda f: np.savez_compressed(f, samples=samples))
    else:
        atomic_write(Path(path), lambda f: np.savez_compressed(f, samples=samples, labels=labels))


def read_samples_npz(path: str | Path) -> SampleArray:
    """The numeric (n_samples, ...) array of an .npz archive: key ``samples``, or the
    archive's only array (``allow_pickle=False``), with its key and path. Every problem
    (missing file, not an .npz archive, no usable array, not numbers, no rows) raises a
    one-line :class:`GannetError`. The array is returned as stored (any numeric dtype);
    :func:`load_samples_npz` and :func:`load_points_npz` turn it into a checked tensor."""
    p = Path(path)
    if not p.exists():
        raise GannetError(f"samples file {p} does not exist; check the path")
    if not p.is_file():
        raise GannetError(f"samples file {p} is not a file; pass the path of an .npz archive")
    try:
        loaded = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise GannetError(
            f"cannot read {p} as an .npz archive ({e}); save samples with numpy.savez"
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise GannetError(
            f"{p} is a single .npy array, not an .npz archive; save it with "
            "numpy.savez(path, samples=array)"
        )
    with loaded as archive:
        keys = list(archive.files)
        if "samples" in keys:
            key = "samples"
        elif len(keys) == 1:
            key = keys[0]
        elif not keys:
            raise GannetError(f"{p} holds no arrays; save one under the key 'samples'")
        else:
            raise GannetError(
                f"{p} holds several arrays ({', '.join(sorted(keys))}) and none is called "
                "'samples'; name the samples array 'samples'"
            )
        try:
            arr = archive[key]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise GannetError(f"cannot read array {key!r} from {p} ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise GannetError(f"array {key!r} in {p} has dtype {arr.dtype}; expected numbers")
    if arr.ndim < 2 or arr.shape[0] == 0 or arr.size == 0:
        raise GannetError(
            f"array {key!r} in {p} has shape {arr.shape}; expected (n_samples, ...) with n > 0"
        )
    return SampleArray(arr, key, p)


def load_samples_npz(path: str | Path) -> Tensor:
    """Read raw samples in [0, 1] from an ``.npz`` file (key ``samples``, or its only array).

    Loaded with ``allow_pickle=False``. float32 data stays float32, anything else becomes
    float64. Every problem (missing file, not an .npz archive, no usable array, values
    outside [0, 1]) raises a one-line :class:`GannetError`.
    """
    arr, key, p = read_samples_npz(path)
    arr = arr.astype(np.float32 if arr.dtype == np.float32 else np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise GannetError(f"array {key!r} in {p} contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise GannetError(
            f"samples in {p} range over [{lo:g}, {hi:g}], not [0, 1]; save raw pixel "
            "intensities in [0, 1] (e.g. divide bytes by 255)"
        )
    return torch.from_numpy(np.ascontiguousarray(arr))


def load_points_npz(path: str | Path) -> Tensor:
    """Read points of any range (e.g. 2-D mixture samples) from an ``.npz`` file.

    Key ``samples``, or the archive's only array; loaded with ``allow_pickle=False``.
    Every problem raises a one-line :class:`GannetError`. Returned as float64. (Images in
    [0, 1] are read by :func:`load_samples_npz`, which also checks the range.)
    """
    arr, _, _ = read_samples_npz(path)
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64))
