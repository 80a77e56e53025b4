"""Any folder of images (``data.name = "folder"``, ``data.data_dir`` required).

Files ending in one of :data:`~gannet.data.decode.IMAGE_EXTENSIONS` (PNG, JPEG, WebP, BMP,
GIF, TIFF; any case) anywhere under ``data_dir`` are read in sorted path order; every other
file, and anything hidden (a name starting with a dot, e.g. macOS's ``._photo.jpg``), is
ignored. Each image is made square by ``data.resize`` (crop: the centred square, the
default; pad: letterboxed on black; stretch: resized whole) and resized to ``image_size``
(Lanczos); how each format becomes RGB or gray is :mod:`gannet.data.decode`. Images are
held as uint8 ``(N, 1, S, S)`` when every file is gray, otherwise ``(N, 3, S, S)``
(:meth:`Dataset.as_float` gives floats in [0, 1]).

Files that cannot be read (truncated, corrupt, not really images) are skipped with one
warning line naming the first few, or refused with ``data.strict = true``. Decoding runs on
``train.threads`` threads (0 = every core this process may use) with a progress bar, and the
decoded images are cached (:mod:`gannet.data.imagecache`), so the second run on an unchanged
folder skips the decoding.

Labels: when every image sits inside a first-level subfolder, the subfolder names sorted
alphabetically are the classes 0..K-1; otherwise (any image directly in the root) the
data is unlabelled.

Validation split: ``data.validation_size`` images held out (:func:`gannet.data.splits.
split_folder`): labelled folders the same number from every class, by the seeded draw the
CIFAR-10 classifier uses for its test split (so with 10,000 on the CIFAR-10 JPEG folder they
are the same images); unlabelled folders a seeded random choice. 0 = every image trains.
``data.subset`` then keeps N training images by a seeded draw (:func:`folder_subset`), not
the first N: a folder's files are in class order, so its first N would be one class.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import torch

from gannet.config import DataConfig
from gannet.data.balanced import balanced_indices
from gannet.data.base import DATASETS, Dataset, DatasetEntry, load_options
from gannet.data.decode import IMAGE_EXTENSIONS, Resize, UnreadableImage, decode_image
from gannet.data.imagecache import Decoded, cache_file, cache_key, read_cache, write_cache
from gannet.data.locate import apply_subset
from gannet.data.progress import Progress, warn
from gannet.data.splits import SPLIT_SEED, split_folder
from gannet.errors import GannetError

NAMED = 3
"""Unreadable files named in the warning (the rest are counted)."""
CHUNK = 32
"""Files one worker decodes per task."""
CACHE_FROM = 100
"""Folders with fewer image files than this are decoded every time (well under a second),
not cached."""


Listing = list[tuple[str, int, int]]
"""(path relative to the folder with / separators, size in bytes, mtime in ns) per file."""


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def scan_folder(root: Path) -> Listing:
    """Every image file under ``root`` (by extension; hidden files and folders skipped;
    symbolic links followed once), sorted by relative path as :class:`pathlib.Path` sorts."""
    found: Listing = []
    seen: set[str] = set()

    def scan(folder: str, prefix: str) -> None:
        real = os.path.realpath(folder)
        if real in seen:  # a link back up the tree
            return
        seen.add(real)
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    scan(entry.path, f"{prefix}{entry.name}/")
                elif entry.is_file() and _is_image_name(entry.name):
                    st = entry.stat()
                    found.append((prefix + entry.name, st.st_size, st.st_mtime_ns))
            except OSError:  # vanished or unreadable meanwhile: not listed
                continue

    scan(str(root), "")
    found.sort(key=lambda item: item[0].split("/"))
    return found


def image_files(root: Path) -> list[Path]:
    """The paths of :func:`scan_folder`."""
    return [root / name for name, _, _ in scan_folder(root)]


def _root(cfg: DataConfig) -> Path:
    if not cfg.data_dir:
        raise GannetError(
            "the folder dataset needs data.data_dir: pass --data-dir DIR with your images"
        )
    root = Path(cfg.data_dir).expanduser()
    if not root.is_dir():
        raise GannetError(
            f"data.data_dir {cfg.data_dir!r} is not a folder; pass a folder of images"
        )
    return root


def worker_count(threads: int) -> int:
    """Decoding threads: ``threads`` when > 0, else the cores this process may use."""
    if threads > 0:
        return threads
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def decode_files(
    root: Path,
    names: list[str],
    size: int,
    threads: int = 0,
    progress: str = "none",
    resize: Resize = "crop",
) -> Decoded:
    """Decode the files ``names`` (relative to ``root``) as uint8 (N, C, size, size), C = 1
    when every readable file is gray, made square by ``resize``, on :func:`worker_count`
    threads, showing ``progress``."""
    n = len(names)
    out = np.empty((n, 3, size, size), dtype=np.uint8)
    gray = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}

    def decode_chunk(start: int) -> int:
        stop = min(start + CHUNK, n)
        for i in range(start, stop):
            try:
                array, gray[i] = decode_image(root / names[i], size, resize)
            except UnreadableImage as e:
                reasons[i] = str(e)
                continue
            out[i] = array.transpose(2, 0, 1)  # a gray image fills all three channels
        return stop - start

    bar = Progress(n, progress, f"decoding {root}")
    try:
        workers = min(worker_count(threads), max(n // CHUNK, 1))
        if workers == 1:
            for start in range(0, n, CHUNK):
                bar.update(decode_chunk(start))
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                jobs = [pool.submit(decode_chunk, s) for s in range(0, n, CHUNK)]
                for job in as_completed(jobs):
                    bar.update(job.result())
    finally:
        bar.close()
    bad = sorted(reasons)
    if bad:
        keep = np.ones(n, dtype=bool)
        keep[bad] = False
        out, gray = out[keep], gray[keep]
    if len(out) and bool(gray.all()):
        out = np.ascontiguousarray(out[:, :1])
    return Decoded(out, [names[i] for i in bad], [reasons[i] for i in bad])


def _decoded(root: Path, listing: Listing, size: int, resize: Resize) -> Decoded:
    """The decoded folder, from the cache when it is current (else decoded and cached)."""
    opts = load_options()
    names = [name for name, _, _ in listing]
    if len(names) < CACHE_FROM:
        return decode_files(root, names, size, opts.threads, opts.progress, resize)
    path = cache_file(cache_key(listing, size, resize))
    cached = read_cache(path, len(names), size)
    if cached is not None:
        return cached
    decoded = decode_files(root, names, size, opts.threads, opts.progress, resize)
    write_cache(path, decoded)
    return decoded


def _listing(names: list[str], reasons: list[str]) -> str:
    shown = ", ".join(names[:NAMED])
    more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return f"{shown}{more} ({names[0]}: {reasons[0]})"


def _check_unreadable(decoded: Decoded, total: int, root: Path, strict: bool) -> None:
    bad = decoded.bad
    if not bad:
        return
    listing = _listing(bad, decoded.reasons)
    if len(bad) == total:
        raise GannetError(
            f"none of the {total} image files under {root} can be read: {listing}; replace "
            "them with PNG or JPEG files"
        )
    if strict:
        raise GannetError(
            f"{len(bad)} of the {total} image files under {root} cannot be read: {listing}; "
            "delete or replace them, or set data.strict = false to skip them"
        )
    warn(
        f"skipped {len(bad)} of the {total} image files under {root} that cannot be read: "
        f"{listing}; set data.strict = true to refuse such a folder"
    )


def load_folder(cfg: DataConfig) -> Dataset:
    """Every image under ``cfg.data_dir`` as uint8 (N, C, image_size, image_size), made
    square by ``cfg.resize``."""
    root = _root(cfg)
    if cfg.image_size <= 0:
        raise GannetError(f"data.image_size must be a positive integer, got {cfg.image_size}")
    listing = scan_folder(root)
    if not listing:
        kinds = ", ".join(IMAGE_EXTENSIONS)
        raise GannetError(f"no images ({kinds}) found under {root}; put your images there")
    decoded = _decoded(root, listing, cfg.image_size, cfg.resize)
    _check_unreadable(decoded, len(listing), root, cfg.strict)
    unreadable = set(decoded.bad)
    relative = [name for name, _, _ in listing if name not in unreadable]
    images = torch.from_numpy(decoded.images)

    labels: torch.Tensor | None = None
    classes: list[str] = []
    if all("/" in r for r in relative):
        classes = sorted({r.split("/", 1)[0] for r in relative})
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[r.split("/", 1)[0]] for r in relative], dtype=torch.int64)
    train, train_labels, val, val_labels = split_folder(
        images, labels, cfg.validation_size, classes, str(root)
    )
    train, train_labels = folder_subset(train, train_labels, cfg.subset)
    return Dataset(
        name="folder",
        train=train,
        train_labels=train_labels,
        validation=val,
        validation_labels=val_labels,
        num_classes=len(classes),
        source=str(root),
    )


def folder_subset(
    images: torch.Tensor, labels: torch.Tensor | None, n: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` of the training rows (0 = all), drawn with :data:`SPLIT_SEED`: the same number
    from every class when the folder is labelled and ``n`` is a multiple of its classes
    (:func:`gannet.data.balanced.balanced_indices`), else a seeded random choice. The kept
    rows stay in folder order."""
    if n <= 0 or n >= len(images):  # all, or more than there are (one GannetError line)
        return apply_subset(images, labels, n, "folder")
    classes = 0 if labels is None else int(labels.max()) + 1
    if labels is not None and n % classes == 0:
        rows = balanced_indices(labels, n // classes, SPLIT_SEED)
    else:
        gen = torch.Generator().manual_seed(SPLIT_SEED)
        rows = torch.randperm(len(images), generator=gen)[:n].sort().values
    return images[rows], None if labels is None else labels[rows]


def locate_folder(cfg: DataConfig) -> str | None:
    """``data_dir`` when it is a folder holding at least one image file, else None."""
    if not cfg.data_dir:
        return None
    root = Path(cfg.data_dir).expanduser()
    if not root.is_dir():
        return None
    return str(root) if scan_folder(root) else None


DATASETS.register("folder")(
    DatasetEntry(
        load=load_folder,
        locate=locate_folder,
        description="Your own images (PNG, JPEG, WebP, ...) in data.data_dir (class "
        "subfolders = labels)",
    )
)
