"""What several figures share: the grid padding, the uniform prior's bound, checking that a
run makes images, seeding the figures' noise and running G over it in batches."""

from __future__ import annotations

import torch

from gannet.errors import GannetError
from gannet.models.noise import UNIFORM_BOUND
from gannet.trained.run import Run

SQRT3 = UNIFORM_BOUND
"""The uniform prior's support is [-sqrt 3, sqrt 3] (unit variance):
:data:`gannet.models.noise.UNIFORM_BOUND`."""

PAD = 2
"""White pixels between images, as in :func:`gannet.files.pictures.image_grid`."""


def image_shape(run: Run | tuple[int, ...]) -> tuple[int, int, int]:
    """The (C, H, W) of a run's samples; GannetError unless they are 1- or 3-channel images."""
    if isinstance(run, Run):
        with torch.no_grad():
            shape = tuple(run.sample(1, seed=0).shape[1:])
        where = f"run {str(run.path)!r} (dataset {run.config.data.name!r})"
    else:
        shape, where = tuple(run), "these samples"
    if len(shape) != 3:
        raise GannetError(
            f"{where} makes vectors of shape {shape}, not images; figure samples/interpolate "
            "draw image grids (use 'gannet sample' for a histogram or scatter plot of 1-D/2-D "
            "data, or 'gannet figure toy1d')"
        )
    if shape[0] not in (1, 3):
        raise GannetError(f"{where} makes images with {shape[0]} channels; only 1 or 3 are drawn")
    return shape[0], shape[1], shape[2]


def png_scale(width: int) -> int:
    """Upscale small images 2x in PNGs, as ``gannet sample`` does."""
    return 2 if width <= 32 else 1


def noise_generator(run: Run, seed: int | None) -> torch.Generator:
    """The CPU generator a figure draws its noise from: ``seed``, by default the run's seed
    + 12345 (as in :meth:`Run.sample`)."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed if seed is not None else run.config.train.seed + 12345)
    return gen


def generate(
    run: Run, z: torch.Tensor, batch: int = 1000, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """G(z) (or G(z, labels) for a conditional run) in eval mode, ``batch`` rows at a time,
    as float32 on the CPU."""
    device = next(run.generator.parameters()).device
    run.generator.eval()
    parts = []
    with torch.no_grad():
        for i in range(0, len(z), batch):
            zi = z[i : i + batch].to(device)
            if labels is None:
                parts.append(run.generator(zi).float().cpu())
            else:
                yi = labels[i : i + batch].to(device)
                parts.append(run.generator(zi, yi).float().cpu())
    return torch.cat(parts)
