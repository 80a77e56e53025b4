"""The StyleGAN style-mixing figure (Karras et al., 2019, Figure 3): images whose styles come
from two sources, coarse, middle or fine layers taken from one and the rest from the other."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from gannet.errors import GannetError
from gannet.figures.common import PAD, image_shape, noise_generator
from gannet.files.pictures import image_grid
from gannet.models import sample_noise
from gannet.models.stylegan import StyleGenerator
from gannet.trained.run import Run

BANDS = ("coarse", "middle", "fine")
"""The three bands of layers, from the 4 x 4 layers up: each a third of G's w inputs."""


def style_bands(num_ws: int) -> list[range]:
    """The w indices of the coarse, middle and fine bands: three contiguous, near-equal
    thirds of ``num_ws``. At 32 px: 0-2 (the 4 and 8 px layers), 3-4 (16 px), 5-7 (32 px);
    the StyleGAN paper's split at 1024 px was 0-3, 4-7, 8-17 (thirds give 0-5, 6-11, 12-17)."""
    if num_ws < 3:
        raise GannetError(f"style mixing needs at least 3 style inputs, got {num_ws}")
    edges = [round(num_ws * i / 3) for i in range(4)]
    return [range(a, b) for a, b in itertools.pairwise(edges)]


def style_generator(run: Run) -> StyleGenerator:
    """The run's generator as a StyleGenerator; one line for other models or a conditional
    run."""
    g = run.generator
    if not isinstance(g, StyleGenerator):
        what = "a conditional stylegan-g run" if run.config.model.conditional else type(g).__name__
        raise GannetError(
            f"figure style-mixing needs an unconditional stylegan-g run; run "
            f"{str(run.path)!r} has {what}"
        )
    return g


def style_mixing_images(
    run: Run,
    rows: int = 3,
    cols: int = 5,
    seed: int | None = None,
    truncation: float | None = None,
) -> torch.Tensor:
    """The figure's images, (1 + 3 rows) x (1 + cols), row-major, on the CPU in [0, 1].

    Row 0: a blank, then the column sources A_j. Then for each band (coarse, middle, fine),
    ``rows`` rows: the row source B_i, then A_j with band's styles taken from B_i. Sources are
    G(z) for z from the run's prior (``seed``, default the run's seed + 12345), in eval mode
    (each noise input's fixed noise), with the truncation trick when ``truncation`` is given."""
    if rows < 1 or cols < 1:
        raise GannetError(f"rows and cols must be at least 1, got {rows} and {cols}")
    image_shape(run)
    g = style_generator(run)
    mc = run.config.model
    gen = noise_generator(run, seed)
    z = sample_noise(cols + rows, mc.z_dim, mc.noise, "cpu", gen)
    device = next(g.parameters()).device
    g.eval()
    with torch.no_grad():
        ws = g.styles(z.to(device), truncation)
        a, b = ws[:cols], ws[cols:]
        sources = g.render(ws).float().cpu()
        blank = torch.ones_like(sources[:1])
        cells = [blank, sources[:cols]]
        for band in style_bands(g.num_ws):
            for i in range(rows):
                mixed = a.clone()
                mixed[:, band] = b[i, band]
                cells += [sources[cols + i : cols + i + 1], g.render(mixed).float().cpu()]
    return torch.cat(cells)


def style_mixing_grid(
    run: Run,
    rows: int = 3,
    cols: int = 5,
    seed: int | None = None,
    truncation: float | None = None,
) -> np.ndarray:
    """:func:`style_mixing_images` tiled as a uint8 (H, W, C) picture, (1 + cols) wide."""
    images = style_mixing_images(run, rows, cols, seed, truncation)
    return image_grid(images, nrow=cols + 1, pad=PAD)
