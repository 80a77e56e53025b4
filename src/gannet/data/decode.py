"""One image file to a square uint8 array: how every format Pillow reads is made RGB or gray.

- EXIF orientation is applied first (a phone photo taken upright comes out upright).
- Gray: modes 1, L, LA, I, I;16*, F. 16-bit and 32-bit integer images are scaled from their
  full range (65,535 for 16-bit, or when any value exceeds 255) to 0..255, rounded.
- Transparency (RGBA, LA, PA, a palette with a transparent colour) is composited on WHITE:
  transparent pixels become white, half-transparent ones are blended with white. (Dropping
  the alpha channel would show whatever colour the file keeps under transparent pixels,
  often black or noise.)
- Palette (P), CMYK, YCbCr, LAB, HSV: converted to RGB by Pillow.
- Animated GIF/WebP and multi-page TIFF: the first frame.
- Then the image is made ``size`` x ``size`` by one of :data:`RESIZE_RULES` (``data.resize``),
  each with a Lanczos resample:

  * ``crop`` (the default): the centred square of side min(width, height), resized;
  * ``pad``: the whole image, its longer side resized to ``size`` (aspect ratio kept),
    centred on black (letterbox; for a gray image, gray level 0);
  * ``stretch``: the whole image resized to the square, its aspect ratio not kept.

  Large JPEGs are first decoded at a reduced scale (Pillow's ``draft``: 1/2, 1/4 or 1/8)
  that keeps what is resized at least twice ``size`` on the side that matters, which makes
  them several times faster to read.

Any file Pillow cannot read (truncated, corrupt, not an image, a decompression bomb) raises
:class:`UnreadableImage` with the reason.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DECODE_VERSION = 2
"""Bumped whenever the pixels this module produces change (the decoded-image cache key)."""

Resize = Literal["crop", "pad", "stretch"]
RESIZE_RULES: tuple[Resize, ...] = ("crop", "pad", "stretch")
"""How a non-square image is made square (``data.resize``); see this module's docstring."""

PAD_COLOUR = 0
"""The letterbox of ``pad``: black (every channel 0)."""

IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".gif", ".tif", ".tiff",
)  # fmt: skip
"""File name endings (any case) read as images; every other file is ignored."""

GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_READ_ERRORS = (
    OSError,
    UnidentifiedImageError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    EOFError,
    Image.DecompressionBombError,
)


class UnreadableImage(Exception):
    """A file that is not a readable image; the message says why."""


def _to_8bit(img: Image.Image) -> Image.Image:
    """16/32-bit integer or float gray as 8-bit L, scaled from its full range."""
    wide = np.asarray(img, dtype=np.float64)
    peak = 65535.0 if img.mode.startswith("I;16") or float(wide.max(initial=0)) > 255 else 255.0
    return Image.fromarray(np.clip(wide / peak * 255.0, 0, 255).round().astype(np.uint8))


def _on_white(img: Image.Image) -> Image.Image:
    """RGB (or L for gray) with any transparency composited on white."""
    gray = img.mode in GRAY_MODES
    has_alpha = img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        img.mode in ("P", "L", "RGB") and "transparency" in img.info
    )
    if not has_alpha:
        return img.convert("L" if gray else "RGB")
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, rgba).convert("RGB")
    return flat.convert("L") if gray else flat


def _draft(img: Image.Image, size: int, resize: Resize = "crop") -> None:
    """Let a JPEG decode at 1/2, 1/4 or 1/8 scale when what is resized stays >= 2 * size:
    the shorter side for crop and stretch, the longer one for pad."""
    if img.format != "JPEG":
        return
    w, h = img.size
    scale = (max(w, h) if resize == "pad" else min(w, h)) / (2 * size)
    if scale >= 2:
        img.draft(img.mode, (math.ceil(w / scale), math.ceil(h / scale)))


def make_square(img: Image.Image, size: int, resize: Resize = "crop") -> Image.Image:
    """``img`` (L or RGB) as ``size`` x ``size`` by the rule ``resize``."""
    w, h = img.size
    if resize == "pad":
        return ImageOps.pad(img, (size, size), Image.Resampling.LANCZOS, color=PAD_COLOUR)
    if resize == "crop":
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        img = img.crop((left, top, left + s, top + s))  # not resize(box=): it reads outside
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    return img


def decode_image(path: Path, size: int, resize: Resize = "crop") -> tuple[np.ndarray, bool]:
    """(uint8 array (size, size, C) with C = 1 or 3, is_gray) for one file, made square by
    the rule ``resize`` (:data:`RESIZE_RULES`)."""
    if resize not in RESIZE_RULES:
        raise ValueError(f"unknown resize rule {resize!r}; choose one of {RESIZE_RULES}")
    try:
        with Image.open(path) as opened:
            _draft(opened, size, resize)
            opened.load()  # the first frame, in full: a truncated file fails here
            img = ImageOps.exif_transpose(opened) or opened
            gray = img.mode in GRAY_MODES
            if img.mode in _WIDE_MODES:
                img = _to_8bit(img)
            img = _on_white(img)
            if min(img.size) < 1:
                raise UnreadableImage("the image is empty")
            array = np.asarray(make_square(img, size, resize), dtype=np.uint8)
    except _READ_ERRORS as e:
        raise UnreadableImage(str(e) or type(e).__name__) from None
    if array.ndim == 2:
        array = array[:, :, None]
    return array, gray
