"""What the live view draws, measured on a trainer without changing its training.

Every function here draws its own noise and data from the global torch RNG; the caller
(:meth:`gannet.playground.live.LiveSession.state`) runs them inside ``torch.random.fork_rng``,
so the training that follows is the same whether or how often the page looked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from scipy.integrate import trapezoid

from gannet.files.jsonfloat import json_float
from gannet.paper import theory

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training import Trainer

__all__ = [
    "ARROWS",
    "MANIFOLD_LINES",
    "MANIFOLD_Z",
    "arrows",
    "heat_map",
    "losses",
    "manifold",
    "manifold_z",
    "rounded",
    "view_1d",
]

EVAL_BATCH = 1024
HIST_SAMPLES = 20000
HIST_BINS = 90
CURVE_POINTS = 241
HEAT_SIZE = 40
MANIFOLD_LINES = 21
"""The manifold view's z grid: MANIFOLD_LINES x MANIFOLD_LINES points."""
MANIFOLD_Z = 2.5
"""... over [-MANIFOLD_Z, MANIFOLD_Z]^2 of the noise space (98.8 % of N(0, I) per axis)."""
ARROWS = 100
"""Fake points that get a gradient arrow."""


def rounded(a: Any, digits: int = 5) -> Any:
    """A nested list with values rounded (short JSON) and non-finite values as null."""
    arr = np.asarray(a, dtype=np.float64)
    out = np.round(arr, digits).astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


def losses(tr: Trainer) -> dict[str, Any]:
    """D's and G's losses and the mean D outputs on a fresh real and fake batch, and the
    estimate of the JSD they give: against the optimal D, D's loss is log 4 - 2 JSD (the
    paper's Theorem 1), so (log 4 - D's loss) / 2 is the JSD when D is optimal and a lower
    bound otherwise (clipped to [0, log 2])."""
    with torch.no_grad():
        x = tr.x_train[torch.randint(len(tr.x_train), (EVAL_BATCH,))]
        d_real = tr.D(x).float()
        d_fake = tr.D(tr.G(tr.noise(EVAL_BATCH))).float()
        d_cost = float(tr.config.loss.d_cost_scale * tr.loss.d_cost(d_real, d_fake))
        g_cost = float(tr.loss.g_cost(d_fake))
        mean_real = float(torch.sigmoid(d_real).mean())
        mean_fake = float(torch.sigmoid(d_fake).mean())
    numbers = [d_cost, g_cost, mean_real, mean_fake]
    jsd = min(theory.LOG_2, max(0.0, (math.log(4) - d_cost) / 2))
    return {
        "diverged": not all(math.isfinite(v) for v in numbers),
        "losses": {"d": json_float(d_cost), "g": json_float(g_cost)},
        "d_real": json_float(mean_real),
        "d_fake": json_float(mean_fake),
        "jsd_estimate": json_float(jsd),
    }


def view_1d(
    tr: Trainer, lo: float, hi: float, pdf: Callable[[np.ndarray], np.ndarray]
) -> dict[str, Any]:
    """A histogram of G's samples, D(x) and the data density ``pdf`` on [lo, hi]."""
    with torch.no_grad():
        samples = tr.G(tr.noise(HIST_SAMPLES)).float().view(-1).numpy().astype(np.float64)
        x = np.linspace(lo, hi, CURVE_POINTS)
        d = torch.sigmoid(tr.D(torch.from_numpy(x).float().view(-1, 1)).float()).numpy()
    counts, edges = np.histogram(samples, bins=HIST_BINS, range=(lo, hi))
    width = (hi - lo) / HIST_BINS
    density = counts / (len(samples) * width)  # mass outside the range is not drawn
    p_data = pdf(x)
    mean = float(trapezoid(x * p_data, x) / trapezoid(p_data, x))
    std = float(np.sqrt(trapezoid((x - mean) ** 2 * p_data, x) / trapezoid(p_data, x)))
    return {
        "x": rounded(x),
        "p_data": rounded(p_data),
        "d": rounded(d),
        "hist": {"edges": rounded(edges), "density": rounded(density)},
        "outside": float(np.mean((samples < lo) | (samples > hi))),
        "g_mean": json_float(float(np.mean(samples))),
        "g_std": json_float(float(np.std(samples))),
        "data_mean": round(mean, 4),
        "data_std": round(std, 4),
    }


def heat_map(tr: Trainer, lo: float, hi: float) -> dict[str, Any]:
    """D on HEAT_SIZE^2 cell centres over [lo, hi]^2, row 0 at the top (largest y)."""
    centres = lo + (torch.arange(HEAT_SIZE, dtype=torch.float32) + 0.5) * ((hi - lo) / HEAT_SIZE)
    ys, xs = torch.meshgrid(centres.flip(0), centres, indexing="ij")
    with torch.no_grad():
        heat = torch.sigmoid(tr.D(torch.stack([xs.reshape(-1), ys.reshape(-1)], 1)).float())
    return {"size": HEAT_SIZE, "values": rounded(heat.numpy().reshape(HEAT_SIZE, HEAT_SIZE), 4)}


def manifold_z() -> torch.Tensor:
    """The manifold view's regular grid of z, shape (L, L, 2): ``[i, j] = (z_j, z_i)``."""
    axis = torch.linspace(-MANIFOLD_Z, MANIFOLD_Z, MANIFOLD_LINES)
    z2, z1 = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([z1, z2], dim=-1)


def manifold(tr: Trainer) -> dict[str, Any]:
    """G's image of the regular z grid: row i is the line z2 = axis[i], column j z1 = axis[j]
    (the noise space's grid lines, bent by G). Needs a 2-D noise space."""
    z = manifold_z()
    with torch.no_grad():
        x = tr.G(z.reshape(-1, 2)).float().reshape(MANIFOLD_LINES, MANIFOLD_LINES, 2)
    axis = z[0, :, 0]
    return {"z": rounded(axis.numpy()), "points": rounded(x.numpy())}


def arrows(tr: Trainer, fake: torch.Tensor) -> dict[str, Any]:
    """For each fake point x, minus the gradient of G's loss at x: the direction (and
    strength) in which G's update pushes that sample, for the loss in use.

    G's loss is a mean over the batch, so n times its gradient at x_i is sample i's own
    gradient (D has no batch statistics)."""
    x = fake.detach().clone().requires_grad_(True)
    cost = tr.loss.g_cost(tr.D(x).float()) * len(x)
    (grad,) = torch.autograd.grad(cost, x)
    vectors = -grad
    norms = vectors.norm(dim=1)
    return {
        "points": rounded(x.detach().numpy()),
        "vectors": rounded(vectors.numpy(), 7),
        "median_norm": json_float(float(norms.median())) if len(norms) else None,
    }
