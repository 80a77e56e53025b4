"""Writing frames as an animation: GIF through Pillow (always there), MP4 through imageio
with its own ffmpeg binary (imageio-ffmpeg), the optional ``video`` extra
(``pip install 'gannet[video]'``).

The file is encoded in memory and written atomically (:mod:`gannet.files.atomic`), so a failed or
interrupted write leaves no partial file. Pillow merges a GIF frame identical to the one
before it into that frame (adding their durations), so a GIF of a still stretch has fewer
frames than were given; :func:`count_frames` reads the count back.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes

FORMATS = (".gif", ".mp4")
"""The animation formats by file extension."""

MP4_BLOCK = 16
"""MP4 frames are padded (white) to a multiple of this size, the codec's macroblock."""


def video_available() -> bool:
    """True when the ``video`` extra (imageio with imageio-ffmpeg) is installed."""
    try:
        import imageio.v3  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def check_animation_path(path: str | Path) -> Path:
    """``path`` as a Path if its extension is .gif or .mp4 (and .mp4's extra is installed),
    its folder exists; otherwise one GannetError line saying what to do."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise GannetError(f"{str(out)!r}: an animation is a .gif or .mp4 file")
    if suffix == ".mp4" and not video_available():
        raise GannetError(
            f"{str(out)!r}: MP4 needs the video extra (pip install 'gannet[video]': imageio "
            "and imageio-ffmpeg); or write a .gif, which needs nothing more"
        )
    if not out.parent.is_dir():
        raise GannetError(f"{str(out)!r}: folder {str(out.parent)!r} does not exist")
    return out


def pad_to_block(frame: np.ndarray, block: int = MP4_BLOCK) -> np.ndarray:
    """(H, W, C) uint8 padded with white at the bottom and right to multiples of ``block``."""
    h, w = frame.shape[:2]
    ph, pw = -h % block, -w % block
    if not ph and not pw:
        return frame
    return np.pad(frame, ((0, ph), (0, pw), (0, 0)), constant_values=255)


def encode_animation(frames: list[np.ndarray], suffix: str, fps: float = 12.0) -> bytes:
    """``frames`` ((H, W, 3), (H, W, 1) or (H, W) uint8, all one size) encoded as a looping
    GIF (Pillow; each frame shown 1 / fps s, at least 20 ms) or an MP4 (imageio-ffmpeg:
    H.264, frames padded with white to multiples of 16)."""
    if not frames:
        raise GannetError("an animation needs at least one frame")
    rgb = [
        np.ascontiguousarray(np.broadcast_to(f.reshape(*f.shape[:2], -1), (*f.shape[:2], 3)))
        for f in frames
    ]
    if suffix.lower() == ".gif":
        images = [Image.fromarray(f) for f in rgb]
        buffer = io.BytesIO()
        images[0].save(
            buffer,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=max(20, round(1000 / fps)),
            loop=0,
        )
        return buffer.getvalue()
    import imageio.v3 as iio

    padded = np.stack([pad_to_block(f) for f in rgb])
    data: bytes = iio.imwrite("<bytes>", padded, extension=".mp4", fps=fps, macro_block_size=1)
    return data


def write_animation(path: str | Path, frames: list[np.ndarray], fps: float = 12.0) -> Path:
    """Write ``frames`` as a GIF or MP4 (by ``path``'s extension, :func:`encode_animation`)
    atomically; returns the path."""
    out = check_animation_path(path)
    atomic_write_bytes(out, encode_animation(frames, out.suffix, fps))
    return out


def count_frames(path: str | Path) -> int:
    """Frames in a GIF (Pillow) or MP4 (imageio), for checks and tests."""
    p = Path(path)
    if p.suffix.lower() == ".gif":
        with Image.open(p) as im:
            return int(getattr(im, "n_frames", 1))
    import imageio.v3 as iio

    return sum(1 for _ in iio.imiter(p, extension=".mp4"))
