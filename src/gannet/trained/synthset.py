"""Labelled synthetic sets (``gannet augment``): balanced samples of a conditional run,
written as a folder tree the ``folder`` dataset reads, or as an ``.npz`` archive.

Both forms hold the same bytes: images are quantised once to uint8 (``round(255 x)``), the
PNG files store those bytes, and the archive stores them as ``x`` (uint8, N x C x H x W) with
``y`` (int64 class indices, N) and ``classes`` (the class names, K strings). Reading either
back and dividing by 255 gives identical tensors.

Class folders are named after the run's dataset classes where gannet knows them (MNIST's
digits, Fashion-MNIST's and CIFAR-10's names, an image folder's own subfolders), else
0..K-1. The ``folder`` dataset numbers classes by sorted subfolder name, so when the names
do not sort in class order they get a zero-padded index in front (``0-T-shirt-top``).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from gannet.errors import GannetError
from gannet.files.atomic import atomic_write, write_error

if TYPE_CHECKING:  # pragma: no cover
    from gannet.trained.run import Run

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(i) for i in range(10)),
    "fashion-mnist": (
        "T-shirt-top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle-boot",
    ),
    "cifar10": (
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ),
}  # fmt: skip
"""Class names of the datasets gannet knows, in label order."""


def dataset_class_names(dataset: str, num_classes: int, data_dir: str = "") -> list[str]:
    """The K class names of ``dataset`` (an image folder: its class subfolders, when they
    are still there and K of them), else "0".."K-1"."""
    names: list[str] = list(CLASS_NAMES.get(dataset, ()))
    if dataset == "folder" and data_dir:
        root = Path(data_dir).expanduser()
        with contextlib.suppress(OSError):
            names = sorted(p.name for p in root.iterdir() if p.is_dir())
    if len(names) != num_classes:
        names = [str(i) for i in range(num_classes)]
    return names


def folder_names(names: list[str]) -> list[str]:
    """Subfolder names for classes ``names`` (in label order) that sort in label order,
    are distinct and are safe file names: the names themselves when they already are,
    else each with a zero-padded index in front."""
    safe = ["".join(ch if ch.isalnum() or ch in "-_. " else "-" for ch in n).strip() for n in names]
    if safe == sorted(safe) and len(set(safe)) == len(safe) and all(s.strip(".") for s in safe):
        return safe
    width = len(str(len(names) - 1))
    return [f"{i:0{width}d}-{s}" if s else f"{i:0{width}d}" for i, s in enumerate(safe)]


def balanced_labels(num_classes: int, per_class: int) -> torch.Tensor:
    """``per_class`` labels of every class, in class order: 0, 0, ..., 1, 1, ..."""
    return torch.arange(num_classes).repeat_interleave(per_class)


def sample_balanced(run: Run, per_class: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels): ``per_class`` samples of every class of a conditional run, from
    noise seeded by ``seed``; an unconditional run is refused in one line."""
    from gannet.trained.memory import check_samples_fit

    if not run.config.model.conditional or run.num_classes < 1:
        raise GannetError(
            f"run {str(run.path)!r} is not conditional (model.conditional = false): it cannot "
            "say which class a sample is; train one with --set model.conditional=true"
        )
    if per_class < 1:
        raise GannetError(f"--per-class must be at least 1, got {per_class}")
    n = per_class * run.num_classes
    check_samples_fit(n, run.sample(1, seed=seed, labels=0)[0].numel(), "--per-class x classes")
    y = balanced_labels(run.num_classes, per_class)
    return run.sample(n, seed=seed, labels=y), y


def to_bytes(images: torch.Tensor) -> np.ndarray:
    """Images in [0, 1], (N, C, H, W), as uint8 bytes ``round(255 x)`` (clipped)."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def check_out(out: Path, force: bool) -> None:
    """Refuse an ``out`` that exists and is not an empty folder, unless ``force``."""
    if not out.exists() or force:
        return
    if out.is_dir() and not any(out.iterdir()):
        return
    what = "a non-empty folder" if out.is_dir() else "a file"
    raise GannetError(
        f"--out {str(out)!r} already exists ({what}); choose a new path, or add --force to "
        "replace it"
    )


def write_class_folders(out: Path, x: np.ndarray, y: np.ndarray, names: list[str]) -> None:
    """One subfolder per class (``folder_names(names)``), one PNG per image
    (``000000.png``, ...). Written into a temporary folder beside ``out`` that replaces
    ``out`` only when complete, so a failure leaves ``out`` as it was."""
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1] not in (1, 3):
        raise GannetError(f"PNG export needs uint8 images (N, 1|3, H, W), got {x.shape}")
    dirs = folder_names(names)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as e:
        raise GannetError(write_error(out, e)) from None
    old = None
    try:
        for d in dirs:
            (tmp / d).mkdir()
        for i, (img, label) in enumerate(zip(x, y, strict=True)):
            pixels = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
            Image.fromarray(np.ascontiguousarray(pixels)).save(
                tmp / dirs[int(label)] / f"{i:06d}.png"
            )
        if out.exists():  # --force: move the old one aside, then remove it once replaced
            old = tmp.with_name(tmp.name + ".old")
            out.rename(old)
        tmp.rename(out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            old.rename(out)
        raise GannetError(write_error(out, e)) from None
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def write_labelled_npz(out: Path, x: np.ndarray, y: np.ndarray, names: list[str]) -> None:
    """``x`` (uint8), ``y`` (int64) and ``classes`` to a compressed archive, atomically."""
    classes = np.array(names, dtype=str)
    atomic_write(
        Path(out),
        lambda f: np.savez_compressed(f, x=x, y=y.astype(np.int64), classes=classes),
    )


def read_labelled_npz(path: str | Path) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(images in [0, 1] float32 (N, C, H, W), labels int64 (N,), class names) from an
    archive :func:`write_labelled_npz` wrote; any problem is one GannetError line."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as archive:
            x, y = archive["x"], archive["y"]
            names = [str(c) for c in archive["classes"]] if "classes" in archive.files else []
    except FileNotFoundError:
        raise GannetError(f"labelled set {p} does not exist; check the path") from None
    except KeyError as e:
        raise GannetError(f"{p} lacks the array {e}; write it with 'gannet augment'") from None
    except (OSError, ValueError, EOFError, AttributeError, zipfile.BadZipFile) as e:
        raise GannetError(f"cannot read {p} as a labelled .npz set ({e})") from None
    if x.dtype != np.uint8 or x.ndim != 4 or y.shape != (len(x),):
        raise GannetError(
            f"{p}: expected x uint8 (N, C, H, W) and y (N,), got x {x.dtype} {x.shape} and "
            f"y {y.shape}"
        )
    return torch.from_numpy(x).float().div_(255.0), torch.from_numpy(y).long(), names
