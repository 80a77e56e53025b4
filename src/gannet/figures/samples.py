"""Figure 2: a grid of samples whose last column holds, for the sample beside it, its nearest
training example (evidence that G did not memorise)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from gannet.config import DataConfig
from gannet.errors import GannetError
from gannet.figures.common import PAD, image_shape
from gannet.files.pictures import image_grid
from gannet.trained.run import Run

NEIGHBOUR_COLOUR = (255, 204, 0)
"""The outline of the nearest-neighbour column (the paper outlines it in yellow)."""

GAP = 4
"""Extra white pixels between the samples and the outlined neighbour column."""

SAMPLE_BLOCK = 256
"""Samples per block of the nearest-neighbour search (see :func:`nearest_neighbours`)."""


def nearest_neighbours(
    samples: torch.Tensor | np.ndarray,
    train: torch.Tensor | np.ndarray,
    batch: int = 2048,
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample, the index of its nearest training example and the Euclidean distance.

    Exhaustive over the whole of ``train`` (no approximate search: the figure's claim is that
    the *nearest* example differs), using ||a||^2 + ||b||^2 - 2 a.b as matrix products in
    float64 on blocks of ``batch`` training rows x :data:`SAMPLE_BLOCK` samples, so memory
    stays bounded (about (batch + SAMPLE_BLOCK) x features + batch x SAMPLE_BLOCK doubles)
    whatever the size of the training set. Blocks are large on purpose: on a busy CPU each
    small matrix product pays a fixed thread-synchronisation cost. The returned distances are
    recomputed directly from the winning pairs, free of the expansion's cancellation error.
    Ties go to the lowest index.
    """
    a_all = torch.as_tensor(samples)
    b_all = torch.as_tensor(train)
    if batch < 1:
        raise GannetError(f"batch must be at least 1, got {batch}")
    if a_all.shape[0] == 0:
        raise GannetError("no samples to find neighbours for")
    if b_all.shape[0] == 0:
        raise GannetError("the training set is empty: no neighbours to find")
    a_all = a_all.reshape(a_all.shape[0], -1).to(torch.float64)
    b_all = b_all.reshape(b_all.shape[0], -1)
    if a_all.shape[1] != b_all.shape[1]:
        raise GannetError(
            f"samples have {a_all.shape[1]} values each but training examples have "
            f"{b_all.shape[1]}: they are not from the same space"
        )
    n = a_all.shape[0]
    a2 = (a_all * a_all).sum(1, keepdim=True)
    best_d2 = torch.full((n,), math.inf, dtype=torch.float64)
    best_i = torch.zeros(n, dtype=torch.long)
    for t0 in range(0, b_all.shape[0], batch):
        b = b_all[t0 : t0 + batch].to(torch.float64)
        b2 = (b * b).sum(1)
        for s0 in range(0, n, SAMPLE_BLOCK):
            s1 = s0 + SAMPLE_BLOCK
            d2 = a2[s0:s1] + b2 - 2.0 * (a_all[s0:s1] @ b.T)
            d, i = d2.min(1)
            d_best, i_best = best_d2[s0:s1], best_i[s0:s1]  # views: updated in place
            better = d < d_best
            d_best[better] = d[better]
            i_best[better] = i[better] + t0
    diff = a_all - b_all[best_i].to(torch.float64)
    return best_i, torch.linalg.vector_norm(diff, dim=1)


def samples_with_neighbours(
    run: Run,
    rows: int = 5,
    cols: int = 6,
    seed: int | None = None,
    *,
    train: torch.Tensor | None = None,
    data_dir: str | None = None,
    batch: int = 2048,
) -> np.ndarray:
    """Figure 2: ``rows`` x (``cols`` - 1) samples, then an outlined column holding, for the
    last sample of each row, its nearest training example in pixel space.

    ``train`` is the training set to search (N, C, H, W) in [0, 1]; by default the run's own
    training set is reloaded (``load_dataset(run.config.data)``, so a ``data.subset`` run
    searches the rows it was trained on), with ``data_dir`` overriding where its files are.
    Pass ``train`` for a run trained on an in-memory dataset, which cannot be reloaded.
    Samples are clamped to [0, 1] before the search, so the distance is between the
    pictures as shown. Returns an RGB uint8 array (the outline needs colour); see
    :func:`neighbour_layout` for where each image sits.
    """
    if rows < 1 or cols < 2:
        raise GannetError(
            f"need at least 1 row and 2 columns (samples + the neighbour column), "
            f"got rows={rows}, cols={cols}"
        )
    shape = image_shape(run)
    samples = run.sample(rows * (cols - 1), seed=seed).clamp(0, 1)
    if train is None:
        train = _load_train(run, data_dir)
    if tuple(train.shape[1:]) != shape:
        raise GannetError(
            f"the training set has examples of shape {tuple(train.shape[1:])}, but the run's "
            f"generator makes {shape}"
        )
    last = samples.view(rows, cols - 1, *shape)[:, -1]
    index, _ = nearest_neighbours(last, train, batch=batch)
    return compose_with_neighbours(samples, train[index].float(), cols)


def compose_with_neighbours(
    samples: torch.Tensor, neighbours: torch.Tensor, cols: int
) -> np.ndarray:
    """Tile samples (rows * (cols - 1), C, H, W) with image_grid, then the neighbours
    (rows, C, H, W) as one more column, outlined in :data:`NEIGHBOUR_COLOUR`."""
    rows = neighbours.shape[0]
    if samples.shape[0] != rows * (cols - 1):
        raise GannetError(f"expected {rows * (cols - 1)} samples, got {samples.shape[0]}")
    left = _rgb(image_grid(samples, nrow=cols - 1, pad=PAD))
    right = _rgb(image_grid(neighbours, nrow=1, pad=PAD))
    h, w = neighbours.shape[-2:]
    inside = np.zeros(right.shape[:2], dtype=bool)
    for r in range(rows):
        y = PAD + r * (h + PAD)
        inside[y : y + h, PAD : PAD + w] = True
    right[~inside] = NEIGHBOUR_COLOUR  # the padding around each neighbour is its outline
    gap = np.full((left.shape[0], GAP, 3), 255, dtype=np.uint8)
    body = np.concatenate([left, gap, right], axis=1)
    return np.pad(body, ((PAD, PAD), (PAD, PAD), (0, 0)), constant_values=255)


@dataclass(frozen=True)
class NeighbourLayout:
    """Where the images sit in :func:`compose_with_neighbours`' picture (unscaled pixels)."""

    rows: int
    cols: int
    height: int
    width: int

    def cell(self, row: int, col: int) -> tuple[int, int]:
        """Top-left (y, x) of the image at (row, col); col = cols - 1 is the neighbour."""
        y = 2 * PAD + row * (self.height + PAD)
        if col < self.cols - 1:
            return y, 2 * PAD + col * (self.width + PAD)
        left_width = (self.cols - 1) * (self.width + PAD) + PAD
        return y, PAD + left_width + GAP + PAD

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the whole picture."""
        grid_height = self.rows * (self.height + PAD) + PAD
        left_width = (self.cols - 1) * (self.width + PAD) + PAD
        right_width = self.width + 2 * PAD
        return grid_height + 2 * PAD, left_width + GAP + right_width + 2 * PAD


def neighbour_layout(run_or_shape: Run | tuple[int, ...], rows: int, cols: int) -> NeighbourLayout:
    """The layout of a Figure 2 picture, for finding (and checking) its cells."""
    shape = image_shape(run_or_shape) if isinstance(run_or_shape, Run) else run_or_shape
    return NeighbourLayout(rows, cols, shape[-2], shape[-1])


def _rgb(grid: np.ndarray) -> np.ndarray:
    return np.repeat(grid, 3, axis=2) if grid.shape[2] == 1 else grid.copy()


def _load_train(run: Run, data_dir: str | None) -> torch.Tensor:
    """The run's training set, reloaded from its config; refuses when the count differs from
    what the run trained on (e.g. a run on an in-memory dataset, whose config still names the
    default dataset)."""
    from gannet.data import load_dataset

    cfg = run.config.data
    if data_dir:
        cfg = DataConfig(**{**cfg.__dict__, "data_dir": data_dir})
    train = load_dataset(cfg).as_float("train")
    trained = run.status.get("train_examples")
    if trained is not None and int(trained) != len(train):
        raise GannetError(
            f"the run trained on {trained} examples, but its config's dataset "
            f"{cfg.name!r} has {len(train)}; was it trained on in-memory data? pass the "
            "training tensor as train="
        )
    return train
