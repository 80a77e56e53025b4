"""What ``gannet project`` writes for each image NAME into its output folder:

* ``NAME.npz``: the latent (``z`` (z_dim,), or for a StyleGAN run ``ws`` (num_ws,
  style_dim) and ``noise_0``, ``noise_1``, ... the noise images), ``kind`` ('z' or 'ws'),
  ``label`` (the class of a conditional run, -1 otherwise), ``mse``, ``psnr_db``, ``losses``
  (the loss at every step), ``source`` (the image's path) and ``run`` (the run folder);
  :func:`read_latent` reads it back (``gannet figure interpolate --through``);
* ``NAME-reconstruction.png``: G's image of the latent;
* ``NAME-progress.png``: the target, then G's image at evenly spaced steps;
* ``NAME-progress.mp4``: the optimisation, target beside G's image, when the ``video`` extra
  is installed.

Every file is written atomically; an existing file is never replaced (refused before any
work is done).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gannet.errors import GannetError
from gannet.files.atomic import atomic_write_bytes
from gannet.files.pictures import image_grid, save_png
from gannet.trained.projection.optimise import Result
from gannet.trained.video import encode_animation, video_available

SUFFIXES = (".npz", "-reconstruction.png", "-progress.png")
"""The files written for every image (the progress video comes on top, when available)."""


def output_paths(out: Path, name: str, video: bool) -> list[Path]:
    """The files of one image NAME in folder ``out``."""
    paths = [out / f"{name}{s}" for s in SUFFIXES]
    return paths + ([out / f"{name}-progress.mp4"] if video else [])


def check_outputs(out: Path, names: list[str]) -> bool:
    """Refuse (one line) an output folder that cannot be made, names that repeat, or files
    that exist already; returns whether a progress video will be written."""
    if out.exists() and not out.is_dir():
        raise GannetError(f"--out {str(out)!r} is a file; give a folder")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise GannetError(f"two images are named {twice!r}; outputs would collide, rename one")
    video = video_available()
    for name in names:
        for p in output_paths(out, name, video):
            if p.exists():
                raise GannetError(
                    f"{str(p)!r} exists; choose another --out folder or remove it (gannet "
                    "never overwrites a projection)"
                )
    return video


def scale_for(width: int) -> int:
    """Nearest-neighbour upscaling that makes small images at least 128 pixels wide."""
    return max(1, 128 // max(1, width))


def write_result(
    out: Path, name: str, result: Result, target: torch.Tensor, source: str, run: str, video: bool
) -> list[Path]:
    """Write one image's files; returns their paths."""
    npz, recon, strip = output_paths(out, name, False)
    arrays: dict[str, np.ndarray] = {
        result.kind: result.latent.numpy(),
        "kind": np.array(result.kind),
        "label": np.array(-1 if result.label is None else result.label),
        "mse": np.array(result.mse),
        "psnr_db": np.array(result.psnr),
        "losses": np.array(result.losses),
        "source": np.array(source),
        "run": np.array(run),
    }
    for i, n in enumerate(result.noise):
        arrays[f"noise_{i}"] = n.numpy()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(npz, buffer.getvalue())
    scale = scale_for(target.shape[-1])
    save_png(image_grid(result.image[None], nrow=1, pad=0), recon, scale=scale)
    row = torch.stack([target, *result.strip])
    save_png(image_grid(row, nrow=len(row)), strip, scale=scale)
    written = [npz, recon, strip]
    if video and result.frames:
        frames = [image_grid(torch.stack([target, f]), nrow=2) for f in result.frames]
        big = [np.kron(f, np.ones((scale, scale, 1), dtype=np.uint8)) for f in frames]
        path = out / f"{name}-progress.mp4"
        atomic_write_bytes(path, encode_animation(big, ".mp4", fps=12))
        written.append(path)
    return written


@dataclass
class Latent:
    """A projected latent read back from its .npz."""

    kind: str
    value: torch.Tensor
    label: int | None
    noise: list[torch.Tensor]
    path: Path


def read_latent(path: str | Path) -> Latent:
    """Read a ``gannet project`` .npz; a missing or malformed file is one GannetError line."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as f:
            kind = str(f["kind"])
            if kind not in ("z", "ws"):
                raise KeyError(f"kind {kind!r}")
            value = torch.from_numpy(np.asarray(f[kind], dtype=np.float32))
            label = int(f["label"])
            noise: list[torch.Tensor] = []
            while f"noise_{len(noise)}" in f.files:
                noise.append(torch.from_numpy(np.asarray(f[f"noise_{len(noise)}"], np.float32)))
    except FileNotFoundError:
        raise GannetError(f"latent file {str(p)!r} not found") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise GannetError(f"{str(p)!r} is not a latent written by 'gannet project' ({e})") from None
    return Latent(kind, value, None if label < 0 else label, noise, p)
