"""The decoded-image cache of image folders: a second run on the same folder starts in seconds.

One file per (folder contents, image size, resize rule):
``<gannet cache>/folder-images/<key>.npz`` (:func:`gannet.data.cache_dir`, i.e. ``$GANNET_CACHE``,
``$XDG_CACHE_HOME/gannet`` or ``~/.cache/gannet``). The key is a SHA-256 of the sorted
relative paths of the image files with each file's size and modification time (nanoseconds),
``image_size``, the resize rule (``data.resize``) and
:data:`~gannet.data.decode.DECODE_VERSION`: adding, removing, renaming, rewriting or
touching a file decodes the folder again. The file holds the uint8 images (N, C, S, S), the
relative paths of the files that could not be read and why; it is written atomically and
read with ``allow_pickle=False``. A cache file that cannot be read is ignored with one
warning line and rewritten; an unwritable cache folder only costs the decoding next time.
Old entries are never deleted automatically: delete the folder to reclaim the space.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gannet.data.decode import DECODE_VERSION
from gannet.data.locate import cache_dir
from gannet.errors import GannetError

CACHE_NAME = "folder-images"
"""The subfolder of gannet's cache that holds decoded image folders."""


@dataclass
class Decoded:
    """A decoded folder: the images, and the files that could not be read."""

    images: np.ndarray
    """uint8 (N, C, S, S), the readable files in sorted path order."""
    bad: list[str]
    """Relative paths of the unreadable files."""
    reasons: list[str]
    """Why each of them could not be read."""


def cache_key(listing: list[tuple[str, int, int]], image_size: int, resize: str = "crop") -> str:
    """The SHA-256 (hex) naming the decoded cache of a folder's ``listing`` (relative path,
    size, mtime in ns per image file) at ``image_size``, made square by ``resize``."""
    h = hashlib.sha256()
    head = {"version": DECODE_VERSION, "size": image_size, "resize": resize}
    h.update(json.dumps(head).encode())
    for name, size, mtime_ns in listing:
        h.update(f"\0{name}\0{size}\0{mtime_ns}".encode())
    return h.hexdigest()


def cache_file(key: str) -> Path:
    """Where the decoded images of ``key`` are kept."""
    return cache_dir(CACHE_NAME) / f"{key}.npz"


def read_cache(path: Path, files: int, size: int) -> Decoded | None:
    """The cached folder of ``files`` image files at ``size`` at ``path``, or None when it
    is absent, or unreadable or not what it should hold (then one warning line on stderr;
    the caller decodes the folder again and rewrites it)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            images = z["images"]
            bad = [str(s) for s in z["bad"]]
            reasons = [str(s) for s in z["reasons"]]
        if (
            images.dtype != np.uint8
            or images.ndim != 4
            or images.shape[1] not in (1, 3)
            or images.shape[2:] != (size, size)
            or len(bad) != len(reasons)
            or len(images) + len(bad) != files
        ):
            raise ValueError("it does not hold the images of this folder")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        from gannet.data.progress import warn

        warn(f"the decoded-image cache {path} is unreadable ({e}); decoding the folder again")
        return None
    return Decoded(images, bad, reasons)


def write_cache(path: Path, decoded: Decoded) -> None:
    """Write ``decoded`` to ``path`` atomically; an unwritable cache is skipped silently."""
    from gannet.files.atomic import atomic_write

    def write(f: object) -> None:
        np.savez(
            f,  # type: ignore[arg-type]
            images=decoded.images,
            bad=np.array(decoded.bad, dtype=np.str_),
            reasons=np.array(decoded.reasons, dtype=np.str_),
        )

    with contextlib.suppress(GannetError, OSError):
        atomic_write(path, write)
