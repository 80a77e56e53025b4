"""Any folder of PNG/JPEG images (``data.name = "folder"``, ``data.data_dir`` required).

Files ending in .png, .jpg or .jpeg (any case) anywhere under ``data_dir`` are read in
sorted path order, centre-cropped to a square, resized to ``image_size`` (Lanczos) and
scaled to [0, 1]. Images are grayscale ``(N, 1, S, S)`` when every file is grayscale,
otherwise RGB ``(N, 3, S, S)`` (alpha is dropped).

Labels: when every image sits inside a first-level subfolder, the subfolder names sorted
alphabetically are the classes 0..K-1; otherwise (any image directly in the root) the
data is unlabelled. Every image is a training image (no validation or test split).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from gannet.config import DataConfig
from gannet.data.base import DATASETS, Dataset, DatasetEntry
from gannet.data.locate import apply_subset
from gannet.errors import GannetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()


def image_files(root: Path) -> list[Path]:
    """Every image file under ``root``, sorted by path relative to ``root``."""
    return sorted((p for p in root.rglob("*") if _is_image(p)), key=lambda p: p.relative_to(root))


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


def load_image(path: Path, size: int) -> tuple[np.ndarray, bool]:
    """(uint8 array (size, size, C), is_grayscale) for one file: centre crop, then resize."""
    try:
        with Image.open(path) as opened:
            img = ImageOps.exif_transpose(opened) or opened
            gray = img.mode in _GRAY_MODES
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                wide = np.asarray(img, dtype=np.float64)
                peak = 65535.0 if img.mode.startswith("I;16") or wide.max() > 255 else 255.0
                img = Image.fromarray(np.clip(wide / peak * 255.0, 0, 255).round().astype("u1"))
            img = img.convert("L" if gray else "RGB")
            w, h = img.size
            s = min(w, h)
            left, top = (w - s) // 2, (h - s) // 2
            img = img.crop((left, top, left + s, top + s))  # not resize(box=): it reads outside
            img = img.resize((size, size), Image.Resampling.LANCZOS)
            array = np.asarray(img, dtype=np.uint8)
    except (
        OSError,
        UnidentifiedImageError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as e:
        raise GannetError(f"cannot read image {path} ({e}); delete or replace it") from None
    if array.ndim == 2:
        array = array[:, :, None]
    return array, gray


def load_folder(cfg: DataConfig) -> Dataset:
    """Every PNG/JPEG under ``cfg.data_dir``, as (N, C, image_size, image_size) in [0, 1]."""
    root = _root(cfg)
    if cfg.image_size <= 0:
        raise GannetError(f"data.image_size must be a positive integer, got {cfg.image_size}")
    files = image_files(root)
    if not files:
        raise GannetError(
            f"no images (.png, .jpg, .jpeg) found under {root}; put your images there"
        )
    loaded = [load_image(f, cfg.image_size) for f in files]
    all_gray = all(gray for _, gray in loaded)
    arrays = [a if all_gray or a.shape[2] == 3 else np.repeat(a, 3, axis=2) for a, _ in loaded]
    stacked = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    images = stacked.float().div_(255.0)

    relative = [f.relative_to(root) for f in files]
    labels: torch.Tensor | None = None
    num_classes = 0
    if all(len(r.parts) >= 2 for r in relative):
        classes = sorted({r.parts[0] for r in relative})
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[r.parts[0]] for r in relative], dtype=torch.int64)
        num_classes = len(classes)
    images, labels = apply_subset(images, labels, cfg.subset, "folder")
    return Dataset(
        name="folder",
        train=images,
        train_labels=labels,
        num_classes=num_classes,
        source=str(root),
    )


def locate_folder(cfg: DataConfig) -> str | None:
    """``data_dir`` when it is a folder holding at least one image, else None."""
    if not cfg.data_dir:
        return None
    root = Path(cfg.data_dir).expanduser()
    if not root.is_dir():
        return None
    return str(root) if any(_is_image(p) for p in root.rglob("*")) else None


DATASETS.register("folder")(
    DatasetEntry(
        load=load_folder,
        locate=locate_folder,
        description="Your own PNG/JPEG images in data.data_dir (class subfolders = labels)",
    )
)
