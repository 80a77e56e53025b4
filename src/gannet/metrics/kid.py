"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared
maximum mean discrepancy with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets of both feature sets, in float64.

For one pair of subsets X, Y of m rows each:

    MMD² = sum_{i != j} k(x_i, x_j) / (m (m-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1))
           - 2 sum_{i, j} k(x_i, y_j) / m²

Defaults as in the paper's and StyleGAN2-ADA's use: 100 subsets of 1,000 rows (fewer when a
set is smaller), each drawn without replacement from a private seeded generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gannet.errors import GannetError
from gannet.metrics.base import METRICS

DEFAULT_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(x.y / d + 1)^3 for every row pair: shape (len(x), len(y))."""
    return np.asarray((x @ y.T / x.shape[1] + 1.0) ** 3)


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD² of two equally sized sets (module docstring)."""
    m = len(x)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / (m * m))


def kernel_distance(
    real: np.ndarray,
    fake: np.ndarray,
    subsets: int = DEFAULT_SUBSETS,
    subset_size: int = DEFAULT_SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, standard deviation) of the MMD² over ``subsets`` random subset pairs."""
    x, y = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise GannetError(f"KID needs two feature sets (N, D) of one D; got {x.shape}, {y.shape}")
    if subsets < 1:
        raise GannetError(f"KID needs at least 1 subset, got {subsets}")
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise GannetError("KID needs at least 2 rows in each set")
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        xi = rng.choice(len(x), m, replace=False)
        yi = rng.choice(len(y), m, replace=False)
        values[s] = mmd2_unbiased(x[xi], y[yi])
    return float(values.mean()), float(values.std())


@METRICS.register("kid")
def kid_metric(real: np.ndarray, fake: np.ndarray, **options: Any) -> dict[str, float]:
    """The registry form: ``{"kid", "kid_std"}`` (options: subsets, subset_size, seed)."""
    mean, std = kernel_distance(
        real,
        fake,
        int(options.get("subsets", DEFAULT_SUBSETS)),
        int(options.get("subset_size", DEFAULT_SUBSET_SIZE)),
        int(options.get("seed", 0)),
    )
    return {"kid": mean, "kid_std": std}
