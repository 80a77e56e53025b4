"""The playground's analytic view: the game between two Gaussians, computed with
:mod:`gannet.theory`.

p_data = N(mu_data, sd_data^2) and p_g = N(mu_g, sd_g^2): both densities and the optimal
discriminator D* on a display grid, the criterion C(G), the JSD and the exact gradient of C(G)
in (mu_g, sd_g) (:func:`analytic_state`), and gradient descent on C(G) (:func:`analytic_step`).
Problems raise :class:`~gannet.errors.GannetError`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gannet import theory
from gannet.errors import GannetError

__all__ = [
    "ANALYTIC_DEFAULTS",
    "DISPLAY_POINTS",
    "DISPLAY_RANGE",
    "MU_RANGE",
    "SD_RANGE",
    "analytic_state",
    "analytic_step",
]

ANALYTIC_DEFAULTS: dict[str, float] = {"mu_data": 1.0, "sd_data": 0.8, "mu_g": -2.5, "sd_g": 1.5}
"""The page's starting game: the generator well away from the data."""

MU_RANGE = (-5.0, 5.0)
"""Centres the page allows (and :func:`analytic_step` clips to)."""
SD_RANGE = (0.1, 3.0)
"""Spreads the page allows (and :func:`analytic_step` clips to)."""
DISPLAY_RANGE = (-6.0, 6.0)
DISPLAY_POINTS = 481


def analytic_state(
    mu_data: float,
    sd_data: float,
    mu_g: float,
    sd_g: float,
    x_min: float = DISPLAY_RANGE[0],
    x_max: float = DISPLAY_RANGE[1],
    n: int = DISPLAY_POINTS,
) -> dict[str, Any]:
    """Everything the analytic view shows, computed with :mod:`gannet.theory`.

    C(G), the JSD and the gradient are integrals on the library's own grid
    (:func:`gannet.theory.gaussian_grid`, ±8 std, 4001 points); the curves are the densities and
    D*(x) = p_data / (p_data + p_g) evaluated pointwise on the display grid ``x_min..x_max``.
    """
    if not x_min < x_max:
        raise GannetError(f"x_min must be below x_max, got {x_min!r} and {x_max!r}")
    if n < 3:
        raise GannetError(f"n must be at least 3, got {n!r}")
    grid = theory.gaussian_grid([mu_data, mu_g], [sd_data, sd_g])
    criterion = theory.criterion_for_gaussians(mu_data, sd_data, mu_g, sd_g)
    divergence = theory.jsd(
        theory.gaussian_pdf(grid, mu_data, sd_data), theory.gaussian_pdf(grid, mu_g, sd_g), grid
    )
    grad_mu, grad_sd = theory.criterion_gradient_gaussians(mu_data, sd_data, mu_g, sd_g)
    x = np.linspace(x_min, x_max, n)
    p_data = theory.gaussian_pdf(x, mu_data, sd_data)
    p_g = theory.gaussian_pdf(x, mu_g, sd_g)
    d_star = theory.optimal_discriminator(p_data, p_g)
    return {
        "params": {"mu_data": mu_data, "sd_data": sd_data, "mu_g": mu_g, "sd_g": sd_g},
        "x": x.tolist(),
        "p_data": p_data.tolist(),
        "p_g": p_g.tolist(),
        "d_star": d_star.tolist(),
        "criterion": criterion,
        "jsd": divergence,
        "minus_log_4": theory.MINUS_LOG_4,
        "log_2": theory.LOG_2,
        "gradient": {"mu_g": grad_mu, "sd_g": grad_sd},
    }


def analytic_step(
    mu_data: float, sd_data: float, mu_g: float, sd_g: float, lr: float, steps: int = 1
) -> tuple[float, float]:
    """``steps`` gradient-descent steps on C(G) for the generator N(mu_g, sd_g^2).

    The spread moves in log space (so it stays positive): mu <- mu - lr dC/dmu,
    log sd <- log sd - lr sd dC/dsd (the chain rule). Both are clipped to the page's ranges.
    Uses :func:`gannet.theory.criterion_gradient_gaussians` (exact, not finite differences).
    """
    for _ in range(steps):
        grad_mu, grad_sd = theory.criterion_gradient_gaussians(mu_data, sd_data, mu_g, sd_g)
        mu_g = min(max(mu_g - lr * grad_mu, MU_RANGE[0]), MU_RANGE[1])
        sd_g = min(max(sd_g * math.exp(-lr * sd_g * grad_sd), SD_RANGE[0]), SD_RANGE[1])
    return mu_g, sd_g
