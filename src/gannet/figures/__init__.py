"""The paper's figures, drawn from gannet's own runs; one module per figure.

* Figure 1 (:mod:`~gannet.figures.toy1d`: :func:`train_toy1d`; :mod:`~gannet.figures.toy1d_draw`:
  :func:`draw_toy1d`, :func:`animate_toy1d`): a 1-D GAN trained by gannet's trainer on
  ``gaussian-1d``, shown at four real moments of its run: (a) a partly trained D, (b) after
  extra D-only steps (the inner loop of Algorithm 1, D approaching
  D* = p_data / (p_data + p_g)), (c) after G steps against that D, (d) near equilibrium.
* Figure 2 (:mod:`~gannet.figures.samples`: :func:`samples_with_neighbours`): a grid of
  samples whose last column holds, for the sample beside it, its nearest training example
  (evidence that G did not memorise).
* Figure 3 (:mod:`~gannet.figures.interpolation`: :func:`interpolation_grid`): rows of images
  along paths between noise vectors.
* Conditional runs (:mod:`~gannet.figures.classes`: :func:`class_samples`, :func:`class_grid`):
  one row per class, the same noise in every row (the paper's future work #1, p(x | c)).
* StyleGAN's style mixing (:mod:`~gannet.figures.style_mixing`: :func:`style_mixing_grid`):
  coarse, middle and fine styles of one sample crossed into another (stylegan-g runs).

:mod:`~gannet.figures.common` holds what several of them share. The image figures work for
every image run (any (C, H, W), grayscale or RGB); runs on vector data (1-D, 2-D) raise
:class:`GannetError`. All arrays returned are uint8 (H, W, C) pictures, ready for
:func:`gannet.files.pictures.save_png`.
"""

from gannet.figures.classes import class_grid, class_samples
from gannet.figures.common import PAD, SQRT3, image_shape, png_scale
from gannet.figures.interpolation import interpolate, interpolation_grid
from gannet.figures.samples import (
    GAP,
    NEIGHBOUR_COLOUR,
    SAMPLE_BLOCK,
    NeighbourLayout,
    compose_with_neighbours,
    nearest_neighbours,
    neighbour_layout,
    samples_with_neighbours,
)
from gannet.figures.style_mixing import (
    BANDS,
    style_bands,
    style_mixing_grid,
    style_mixing_images,
)
from gannet.figures.toy1d import (
    ARROWS,
    TOY1D_STEPS,
    FloatArray,
    Toy1DFrame,
    Toy1DHistory,
    density_1d,
    toy1d_config,
    train_toy1d,
)
from gannet.figures.toy1d_draw import animate_toy1d, check_animation_path, draw_toy1d

__all__ = [
    "ARROWS",
    "BANDS",
    "GAP",
    "NEIGHBOUR_COLOUR",
    "PAD",
    "SAMPLE_BLOCK",
    "SQRT3",
    "TOY1D_STEPS",
    "FloatArray",
    "NeighbourLayout",
    "Toy1DFrame",
    "Toy1DHistory",
    "animate_toy1d",
    "check_animation_path",
    "class_grid",
    "class_samples",
    "compose_with_neighbours",
    "density_1d",
    "draw_toy1d",
    "image_shape",
    "interpolate",
    "interpolation_grid",
    "nearest_neighbours",
    "neighbour_layout",
    "png_scale",
    "samples_with_neighbours",
    "style_bands",
    "style_mixing_grid",
    "style_mixing_images",
    "toy1d_config",
    "train_toy1d",
]
