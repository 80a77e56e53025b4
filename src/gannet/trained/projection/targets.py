"""The images ``gannet project`` inverts: read with Pillow and checked against the run.

A target must have the run's mode (``L`` for 1-channel runs, ``RGB`` for 3-channel ones)
and its size. Any other mode is refused in one line (convert it first: the choice of how to
drop alpha or colour is the user's). Another size is refused too, unless ``resize`` is
given: then the largest centred crop with the run's aspect ratio (square for every gannet
image run) is taken and resized with Lanczos filtering (Pillow's ``LANCZOS``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gannet.errors import GannetError

MODES = {1: "L", 3: "RGB"}
"""The Pillow mode a target must have, by the run's channels."""


def crop_and_resize(img: Image.Image, width: int, height: int) -> Image.Image:
    """The largest centred crop of ``img`` with aspect width:height, resized to
    (width, height) with Lanczos filtering."""
    w, h = img.size
    scale = min(w / width, h / height)
    cw, ch = round(width * scale), round(height * scale)
    left, top = (w - cw) // 2, (h - ch) // 2
    box = (left, top, left + cw, top + ch)
    return img.resize((width, height), Image.Resampling.LANCZOS, box=box)


def load_target(
    path: str | Path, shape: tuple[int, int, int], resize: bool = False
) -> torch.Tensor:
    """The image at ``path`` as a float32 (C, H, W) tensor in [0, 1] for a run making
    ``shape`` images; a missing, unreadable, wrong-mode or (without ``resize``) wrong-size
    file is one GannetError line."""
    p = Path(path)
    c, h, w = shape
    want = MODES.get(c)
    if want is None:
        raise GannetError(f"projection needs a run making 1- or 3-channel images, not {c}")
    try:
        with Image.open(p) as opened:
            opened.load()
            img = opened.copy()
    except FileNotFoundError:
        raise GannetError(f"image {str(p)!r} not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise GannetError(f"cannot read image {str(p)!r} ({e})") from None
    if img.mode != want:
        raise GannetError(
            f"image {str(p)!r} is mode {img.mode!r} but the run makes {c}-channel images "
            f"(mode {want!r}); convert it first (e.g. PIL: Image.open(f).convert({want!r}))"
        )
    if img.size != (w, h):
        if not resize:
            raise GannetError(
                f"image {str(p)!r} is {img.width}x{img.height} but the run makes {w}x{h} "
                f"images; pass --resize (centred crop to {w}:{h}, then Lanczos) or resize it"
            )
        img = crop_and_resize(img, w, h)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(arr))
