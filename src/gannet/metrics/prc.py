"""Improved precision and recall (Kynkäänniemi et al. 2019), k = 3, in float64.

Each set approximates its manifold by the union of balls around its points, each ball's
radius the distance to the point's k-th nearest neighbour within the set (the point itself
not counted). Precision is the fraction of generated points inside the real manifold;
recall the fraction of real points inside the generated manifold. Distances are computed in
row blocks, so memory stays O(block x N).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gannet.errors import GannetError
from gannet.metrics.base import METRICS

DEFAULT_K = 3
BLOCK = 1024


def _squared_distances(a: np.ndarray, b: np.ndarray, b_norms: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + b_norms[None, :] - 2 * a @ b.T
    return np.asarray(np.maximum(d, 0.0))


def knn_radii(x: np.ndarray, k: int = DEFAULT_K) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row."""
    if len(x) <= k:
        raise GannetError(f"precision/recall needs more than k={k} rows per set, got {len(x)}")
    norms = (x * x).sum(1)
    out = np.empty(len(x))
    for start in range(0, len(x), BLOCK):
        d = _squared_distances(x[start : start + BLOCK], x, norms)
        # The k+1 smallest include the point itself (distance 0).
        out[start : start + BLOCK] = np.partition(d, k, axis=1)[:, k]
    return out


def coverage(manifold: np.ndarray, radii: np.ndarray, probes: np.ndarray) -> float:
    """Fraction of ``probes`` within the radius of at least one ``manifold`` point."""
    norms = (manifold * manifold).sum(1)
    inside = 0
    for start in range(0, len(probes), BLOCK):
        d = _squared_distances(probes[start : start + BLOCK], manifold, norms)
        inside += int((d <= radii[None, :]).any(axis=1).sum())
    return inside / len(probes)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = DEFAULT_K) -> tuple[float, float]:
    """(precision, recall) of ``fake`` against ``real`` feature sets (module docstring)."""
    x, y = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise GannetError(
            f"precision/recall needs two feature sets (N, D) of one D; got {x.shape}, {y.shape}"
        )
    precision = coverage(x, knn_radii(x, k), y)
    recall = coverage(y, knn_radii(y, k), x)
    return precision, recall


@METRICS.register("prc")
def prc_metric(real: np.ndarray, fake: np.ndarray, **options: Any) -> dict[str, float]:
    """The registry form: ``{"precision", "recall"}`` (option: k)."""
    p, r = precision_recall(real, fake, int(options.get("k", DEFAULT_K)))
    return {"precision": p, "recall": r}
