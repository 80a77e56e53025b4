"""Data made on the playground page, as a :class:`gannet.data.Dataset`: points painted in 2-D,
and a 1-D density drawn (or mixed from bell curves) in the analytic tab.

**A drawn density** (:func:`drawn_dataset`) is given as in the analytic tab
(:class:`gannet.playground.analytic.DataDensity`): heights at 121 evenly spaced x over -6..6,
linear in between; the data set is 20,000 exact draws from it (a cell by its mass, then the
inverse CDF of the linear piece).

**Painted points**:

Each painted dot is a small Gaussian: the data set is an equal mixture of N(dot, PAINT_STD^2 I)
over the dots (20,000 training points), the same construction as gannet's ``mixture-2d`` ring
and grid, whose modes are Gaussians of std 0.02 and 0.05 at fixed centres. So the mode metric
is the same too: :func:`gannet.metrics.modes.mode_stats` with the dots as the modes' centres
and PAINT_STD as their std (a sample is high quality within 3 std of its nearest dot; a dot
is covered with at least ``min_count`` such samples). Paint the 25 centres of the grid and the
painted set *is* the ``grid`` mixture, coverage numbers included.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gannet.data import Dataset
from gannet.errors import GannetError
from gannet.metrics.modes import ModeStats, mode_stats

__all__ = [
    "DRAWN_RANGE",
    "PAINT_MAX",
    "PAINT_MIN",
    "PAINT_RANGE",
    "PAINT_SAMPLES",
    "PAINT_STD",
    "check_heights",
    "drawn_dataset",
    "painted_dataset",
    "painted_mode_stats",
]

DRAWN_RANGE = (-6.0, 6.0)
"""The x range of a drawn density's heights (the analytic tab's display range)."""
PAINT_STD = 0.05
"""The std of each painted dot's Gaussian (the grid mixture's)."""
PAINT_RANGE = (-4.0, 4.0)
"""Where dots may be painted, on both axes."""
PAINT_MIN = 1
PAINT_MAX = 400
"""Dots in a painted set."""
PAINT_SAMPLES = 20000
"""Training points drawn from the painted mixture (as many as the live ring and grid)."""


def check_points(points: Sequence[Sequence[float]]) -> torch.Tensor:
    """The painted dots as an (M, 2) float32 tensor; GannetError for anything else."""
    if not isinstance(points, list | tuple) or not PAINT_MIN <= len(points) <= PAINT_MAX:
        raise GannetError(f"paint {PAINT_MIN} to {PAINT_MAX} points")
    lo, hi = PAINT_RANGE
    for p in points:
        if (
            not isinstance(p, list | tuple)
            or len(p) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
            or not all(lo <= float(v) <= hi for v in p)
        ):
            raise GannetError(f"each point must be [x, y] with x and y in [{lo:g}, {hi:g}]")
    return torch.tensor([[float(v) for v in p] for p in points], dtype=torch.float32)


def painted_dataset(points: torch.Tensor, seed: int) -> Dataset:
    """An in-memory data set of PAINT_SAMPLES points of the painted mixture (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    which = torch.randint(len(points), (PAINT_SAMPLES,), generator=gen)
    train = points[which] + PAINT_STD * torch.randn(PAINT_SAMPLES, 2, generator=gen)
    return Dataset(name="painted", train=train, source="painted on the playground page")


def painted_mode_stats(samples: torch.Tensor, points: torch.Tensor) -> ModeStats:
    """Mode coverage of ``samples`` with a mode at each painted dot (std PAINT_STD)."""
    return mode_stats(samples, points, PAINT_STD, kind="painted")


def check_heights(heights: Sequence[float]) -> torch.Tensor:
    """A drawn density's heights as a float64 tensor; GannetError for anything else."""
    from gannet.playground.analytic import DataDensity

    values = tuple(float(v) for v in heights)  # the caller passes numbers (routes check them)
    DataDensity("drawn", values=values)  # the analytic tab's checks: length, range, some mass
    return torch.tensor(values, dtype=torch.float64)


def drawn_dataset(heights: torch.Tensor, seed: int) -> Dataset:
    """PAINT_SAMPLES exact draws (seeded) from the piecewise-linear density with ``heights``
    at evenly spaced x over DRAWN_RANGE."""
    gen = torch.Generator().manual_seed(seed)
    lo, hi = DRAWN_RANGE
    dx = (hi - lo) / (len(heights) - 1)
    a, b = heights[:-1], heights[1:]
    cell = torch.multinomial((a + b) / 2, PAINT_SAMPLES, replacement=True, generator=gen)
    r = torch.rand(PAINT_SAMPLES, generator=gen, dtype=torch.float64)
    ha, hb = a[cell], b[cell]
    # Inverse CDF of the density proportional to ha + (hb - ha) u on [0, 1].
    slope = hb - ha
    flat = slope.abs() < 1e-12
    root = torch.sqrt(ha * ha + slope * (ha + hb) * r)
    u = torch.where(flat, r, (root - ha) / torch.where(flat, torch.ones_like(slope), slope))
    x = lo + (cell.to(torch.float64) + u.clamp(0, 1)) * dx
    return Dataset(name="drawn", train=x.float().view(-1, 1), source="drawn on the playground page")
