"""The post-hoc evidence that needs the trained networks: samples of G (the EMA when kept),
the training rows, held-out real rows, and D's raw outputs on both.

Drawn once per ``gannet doctor`` from the run's latest checkpoint with a fixed seed, on the
CPU; distances are Euclidean in data space (pixels in [0, 1] for images), the space of the
paper's Figure 2 nearest-neighbour check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from gannet.errors import GannetError

SAMPLES = 500
"""Samples drawn (and held-out rows used): the pairwise and nearest-neighbour statistics
are medians and means over 500 rows (the sample size of the mode checks' papers is 2,500;
500 keeps the nearest-neighbour search over 20,000 MNIST rows to seconds)."""
TRAIN_ROWS = 20000
"""Training rows searched for nearest neighbours (the whole set when smaller: the small-data
runs where memorisation happens are far below it)."""
D_ROWS = 1000
"""Training and held-out rows D is evaluated on for the overfitting check."""
SEED_OFFSET = 777
"""The samples' noise seed is train.seed + this (fixed: the same samples at every call)."""


@dataclass
class SampleEvidence:
    """What the sample-based detectors read."""

    samples: Tensor
    train: Tensor
    """Training rows (flattened, float)."""
    held_out: Tensor | None
    """Validation (else test) rows, flattened; None when the dataset has none."""
    d_train: Tensor | None
    """D's raw outputs on up to D_ROWS training rows (None for a conditional D)."""
    d_held_out: Tensor | None
    image: bool


def gather(run_dir: Path) -> SampleEvidence:
    """Load the run's checkpoint and data and draw the evidence (GannetError when either
    cannot be loaded: the caller reports what it could not judge)."""
    from gannet.data import load_dataset
    from gannet.trained.run import load_run

    run = load_run(run_dir)
    data = load_dataset(run.config.data, progress="none")
    gen = torch.Generator().manual_seed(run.config.train.seed + SEED_OFFSET)
    samples = run.sample(SAMPLES, seed=run.config.train.seed + SEED_OFFSET)
    train = data.as_float("train")
    pick = torch.randperm(len(train), generator=gen)[:TRAIN_ROWS]
    train = train[pick]
    held = None
    for split in ("validation", "test"):
        rows = data.as_float(split)
        if rows is not None and len(rows) > 1:
            held = rows[torch.randperm(len(rows), generator=gen)[:SAMPLES]]
            break
    d_train = d_held = None
    if not run.num_classes:
        D = run.discriminator
        with torch.no_grad():
            d_train = D(train[:D_ROWS]).float().flatten()
            if held is not None:
                d_held = D(held[:D_ROWS]).float().flatten()
    if not bool(torch.isfinite(samples).all()):
        raise GannetError("the generator's samples are not finite")
    return SampleEvidence(
        samples=samples.reshape(len(samples), -1),
        train=train.reshape(len(train), -1),
        held_out=None if held is None else held.reshape(len(held), -1),
        d_train=d_train,
        d_held_out=d_held,
        image=data.is_image,
    )


def nearest_distances(x: Tensor, reference: Tensor, chunk: int = 4096) -> Tensor:
    """Each row of ``x``'s Euclidean distance to its nearest row of ``reference``."""
    best = torch.full((len(x),), float("inf"))
    for start in range(0, len(reference), chunk):
        d = torch.cdist(x.double(), reference[start : start + chunk].double())
        best = torch.minimum(best, d.min(dim=1).values.float())
    return best


def mean_pairwise(x: Tensor) -> float:
    """The mean Euclidean distance between two different rows of ``x``."""
    d = torch.cdist(x.double(), x.double())
    n = len(x)
    return float(d.sum() / max(n * (n - 1), 1))
