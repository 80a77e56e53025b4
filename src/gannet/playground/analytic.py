"""The playground's analytic view: the game between a data density and a Gaussian generator,
computed with :mod:`gannet.paper.theory`.

p_data is a Gaussian N(mu_data, sd_data^2), a mixture of bell curves, or a density drawn with
the mouse (:class:`DataDensity`); p_g = N(mu_g, sd_g^2). :func:`analytic_state` gives both
densities and the optimal discriminator D* on a display grid, the criterion C(G), the JSD and
the exact gradient of C(G) in (mu_g, sd_g); :func:`analytic_step` is gradient descent on C(G);
:func:`step_feedback` says what a step did (descending, converged, the gradient vanished, a
stationary point, or a step size that overshoots). Problems raise
:class:`~gannet.errors.GannetError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import trapezoid

from gannet.errors import GannetError
from gannet.paper import theory

__all__ = [
    "ANALYTIC_DEFAULTS",
    "DISPLAY_POINTS",
    "DISPLAY_RANGE",
    "DRAWN_POINTS",
    "MAX_COMPONENTS",
    "MU_RANGE",
    "SD_RANGE",
    "DataDensity",
    "analytic_state",
    "analytic_step",
    "step_feedback",
]

ANALYTIC_DEFAULTS: dict[str, float] = {"mu_data": 1.0, "sd_data": 0.8, "mu_g": -2.5, "sd_g": 1.5}
"""The page's starting game: the generator well away from the data."""

MU_RANGE = (-5.0, 5.0)
"""Centres the page allows (and :func:`analytic_step` clips to)."""
SD_RANGE = (0.1, 3.0)
"""Spreads the page allows (and :func:`analytic_step` clips to)."""
DISPLAY_RANGE = (-6.0, 6.0)
DISPLAY_POINTS = 481
DRAWN_POINTS = 121
"""A drawn density is given by its heights at this many evenly spaced x over DISPLAY_RANGE
(every 0.1), linear in between and 0 outside."""
MAX_COMPONENTS = 6
"""Bell curves in a mixture."""
GRID_POINTS = 4001
"""Points of the integration grid (as :func:`gannet.paper.theory.gaussian_grid`)."""
CONVERGED_GAP = 2e-6
"""C(G) within this of -log 4: converged."""
STILL = 1e-6
"""A step that moves mu_g and log sd_g by less than this does nothing visible."""
RISE = 1e-6
"""C(G) going up by more than this (visible in the page's six decimals) is an overshoot."""

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class DataDensity:
    """The data density of the analytic game.

    ``kind`` is ``gaussian`` (``means[0]``, ``sds[0]``), ``mixture`` (bell curves ``means``,
    ``sds`` with ``weights``) or ``drawn`` (``values``: heights at :data:`DRAWN_POINTS` evenly
    spaced x over :data:`DISPLAY_RANGE`, linear in between, 0 outside; any scale, it is
    normalised).
    """

    kind: str = "gaussian"
    means: tuple[float, ...] = (ANALYTIC_DEFAULTS["mu_data"],)
    sds: tuple[float, ...] = (ANALYTIC_DEFAULTS["sd_data"],)
    weights: tuple[float, ...] = (1.0,)
    values: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind == "drawn":
            v = np.asarray(self.values, dtype=np.float64)
            if v.shape != (DRAWN_POINTS,):
                raise GannetError(f"a drawn density needs {DRAWN_POINTS} heights, got {v.size}")
            if not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(v > 1e6):
                raise GannetError("a drawn density's heights must be in [0, 1e6]")
            if not v.sum() > 0:
                raise GannetError("the drawn density is zero everywhere; draw some data")
            return
        if self.kind not in ("gaussian", "mixture"):
            raise GannetError(f"data kind must be gaussian, mixture or drawn, got {self.kind!r}")
        n = len(self.means)
        if not 1 <= n <= MAX_COMPONENTS or len(self.sds) != n or len(self.weights) != n:
            raise GannetError(
                f"a mixture needs 1 to {MAX_COMPONENTS} bell curves, each with a mean, "
                "a spread and a weight"
            )
        for m, s, w in zip(self.means, self.sds, self.weights, strict=True):
            if not MU_RANGE[0] <= m <= MU_RANGE[1] or not SD_RANGE[0] <= s <= SD_RANGE[1]:
                raise GannetError(
                    f"a bell curve's centre must be in [{MU_RANGE[0]:g}, {MU_RANGE[1]:g}] and its "
                    f"spread in [{SD_RANGE[0]:g}, {SD_RANGE[1]:g}]"
                )
            if not (math.isfinite(w) and 0 <= w <= 1e6):
                raise GannetError("a bell curve's weight must be in [0, 1e6]")
        if not sum(self.weights) > 0:
            raise GannetError("the mixture's weights are all 0; give one a positive weight")

    @classmethod
    def gaussian(cls, mu: float, sd: float) -> DataDensity:
        return cls("gaussian", (mu,), (sd,), (1.0,))

    def pdf(self, x: FloatArray) -> FloatArray:
        """The density at x (a drawn one normalised over its own knots)."""
        if self.kind == "drawn":
            knots = np.linspace(*DISPLAY_RANGE, DRAWN_POINTS)
            heights = np.asarray(self.values, dtype=np.float64)
            mass = float(trapezoid(heights, knots))
            return np.interp(x, knots, heights, left=0.0, right=0.0) / mass
        if self.kind == "gaussian":
            return theory.gaussian_pdf(x, self.means[0], self.sds[0])
        return theory.mixture_pdf(x, self.means, self.sds, self.weights)

    def grid(self, mu_g: float, sd_g: float) -> FloatArray:
        """The integration grid for this data and N(mu_g, sd_g^2): ±8 std around every bell
        curve (:func:`gannet.paper.theory.gaussian_grid`), and all of the drawn range."""
        if self.kind == "drawn":
            # A fixed lattice (4001 points over the drawn range, extended by whole cells to
            # cover G's ±8 std), so C(G) is a smooth function of (mu_g, sd_g).
            lo, hi = DISPLAY_RANGE
            h = (hi - lo) / (GRID_POINTS - 1)
            below = max(0, math.ceil((lo - (mu_g - 8 * sd_g)) / h - 1e-9))
            above = max(0, math.ceil(((mu_g + 8 * sd_g) - hi) / h - 1e-9))
            return lo + h * np.arange(-below, GRID_POINTS + above, dtype=np.float64)
        return theory.gaussian_grid([*self.means, mu_g], [*self.sds, sd_g], GRID_POINTS)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "drawn":
            return {"kind": "drawn", "values": list(self.values)}
        if self.kind == "gaussian":
            return {"kind": "gaussian", "mean": self.means[0], "sd": self.sds[0]}
        return {
            "kind": "mixture",
            "means": list(self.means),
            "sds": list(self.sds),
            "weights": list(self.weights),
        }


def _theory(data: DataDensity, mu_g: float, sd_g: float) -> tuple[float, float, float, float]:
    """(C(G), JSD, dC/dmu_g, dC/dsd_g) on the data's integration grid."""
    xs = data.grid(mu_g, sd_g)
    p, q = data.pdf(xs), theory.gaussian_pdf(xs, mu_g, sd_g)
    grad_mu, grad_sd = theory.criterion_gradient_gaussian_g(p, mu_g, sd_g, xs)
    return theory.virtual_criterion(p, q, xs), theory.jsd(p, q, xs), grad_mu, grad_sd


def analytic_state(
    mu_data: float,
    sd_data: float,
    mu_g: float,
    sd_g: float,
    x_min: float = DISPLAY_RANGE[0],
    x_max: float = DISPLAY_RANGE[1],
    n: int = DISPLAY_POINTS,
    data: DataDensity | None = None,
) -> dict[str, Any]:
    """Everything the analytic view shows, computed with :mod:`gannet.paper.theory`.

    ``data`` replaces N(mu_data, sd_data^2) when given. C(G), the JSD and the gradient are
    integrals on :meth:`DataDensity.grid` (for Gaussian data the library's own grid
    :func:`gannet.paper.theory.gaussian_grid`, ±8 std, 4001 points, so C(G) is exactly
    :func:`gannet.paper.theory.criterion_for_gaussians`); the curves are the densities and
    D*(x) = p_data / (p_data + p_g) evaluated pointwise on the display grid ``x_min..x_max``.
    """
    if not x_min < x_max:
        raise GannetError(f"x_min must be below x_max, got {x_min!r} and {x_max!r}")
    if n < 3:
        raise GannetError(f"n must be at least 3, got {n!r}")
    if data is None:
        data = DataDensity.gaussian(mu_data, sd_data)
    criterion, divergence, grad_mu, grad_sd = _theory(data, mu_g, sd_g)
    grid = data.grid(mu_g, sd_g)
    x = np.linspace(x_min, x_max, n)
    p_data = data.pdf(x)
    p_g = theory.gaussian_pdf(x, mu_g, sd_g)
    d_star = theory.optimal_discriminator(p_data, p_g)
    return {
        "params": {"mu_data": mu_data, "sd_data": sd_data, "mu_g": mu_g, "sd_g": sd_g},
        "data": data.to_dict(),
        "grid": {"x_min": float(grid[0]), "x_max": float(grid[-1]), "n": len(grid)},
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


def _update(
    data: DataDensity, mu_g: float, sd_g: float, lr: float
) -> tuple[float, float, float, float]:
    """(new mu_g, new sd_g, the unclipped moves of mu_g and log sd_g) of one descent step."""
    _, _, grad_mu, grad_sd = _theory(data, mu_g, sd_g)
    d_mu, d_log_sd = -lr * grad_mu, -lr * sd_g * grad_sd
    new_mu = min(max(mu_g + d_mu, MU_RANGE[0]), MU_RANGE[1])
    new_sd = min(max(sd_g * math.exp(d_log_sd), SD_RANGE[0]), SD_RANGE[1])
    return new_mu, new_sd, d_mu, d_log_sd


def analytic_step(
    mu_data: float,
    sd_data: float,
    mu_g: float,
    sd_g: float,
    lr: float,
    steps: int = 1,
    data: DataDensity | None = None,
) -> tuple[float, float]:
    """``steps`` gradient-descent steps on C(G) for the generator N(mu_g, sd_g^2).

    The spread moves in log space (so it stays positive): mu <- mu - lr dC/dmu,
    log sd <- log sd - lr sd dC/dsd (the chain rule). Both are clipped to the page's ranges.
    Uses :func:`gannet.paper.theory.criterion_gradient_gaussian_g` (exact, not finite differences).
    """
    if data is None:
        data = DataDensity.gaussian(mu_data, sd_data)
    for _ in range(steps):
        mu_g, sd_g, _, _ = _update(data, mu_g, sd_g, lr)
    return mu_g, sd_g


def step_feedback(
    data: DataDensity, before: tuple[float, float], after: tuple[float, float], lr: float
) -> dict[str, str]:
    """What the last descent step (from ``before`` to ``after``, both (mu_g, sd_g)) did.

    ``verdict`` is ``converged`` (C(G) within 2e-6 of -log 4), ``vanished`` (the next step
    would move nothing visibly while C(G) is flat near 0: no overlap, the saturation the
    paper warns about), ``stationary`` (the gradient is zero but C(G) is above -log 4: the
    best a single bell curve can do for this data), ``overshoot`` (C(G) went up, or the
    centre or spread jumps back and forth by as much as it moved) or ``descending``;
    ``message`` says it in a sentence for the page.
    """
    c_before = _theory(data, *before)[0]
    c_after, _, grad_mu, grad_sd = _theory(data, *after)
    gap = c_after - theory.MINUS_LOG_4
    _, _, next_mu, next_log_sd = _update(data, *after, lr)
    prev = (after[0] - before[0], math.log(after[1]) - math.log(before[1]))
    nxt = (next_mu, next_log_sd)
    if gap < CONVERGED_GAP:
        return {
            "verdict": "converged",
            "message": "Converged: C(G) = −log 4, so p_g = p_data and D* = ½ everywhere.",
        }
    if max(abs(nxt[0]), abs(nxt[1])) < STILL:
        norm = math.hypot(grad_mu, grad_sd)
        if c_after > -1e-3:
            return {
                "verdict": "vanished",
                "message": (
                    f"The gradient has vanished (|∇C| = {norm:.1e}): the curves barely overlap, "
                    f"so D* is 1 on the data and 0 on G's samples, C(G) is flat at 0 "
                    f"(JSD = log 2) and a step of η = {lr:g} moves p_g by less than 10⁻⁶. "
                    "This is the saturation the paper warns about; move the orange curve "
                    "closer or widen it."
                ),
            }
        return {
            "verdict": "stationary",
            "message": (
                f"C(G) stopped at {_signed(c_after, 4)}, above −log 4: the gradient is zero "
                f"(|∇C| = {norm:.1e}), so this is the closest one bell curve gets to this data "
                "from here; p_g can never equal a data density that is not a bell curve."
            ),
        }
    bouncing = any(
        p * q < 0 and abs(q) > 0.9 * abs(p) and abs(p) > STILL
        for p, q in zip(prev, nxt, strict=True)
    )
    rose = c_after > c_before + RISE
    if rose or bouncing:
        what = (
            f"C(G) went up from {_signed(c_before, 6)} to {_signed(c_after, 6)}"
            if rose
            else "the centre or the spread jumps back and forth past the minimum"
        )
        return {
            "verdict": "overshoot",
            "message": f"The step is too large: with η = {lr:g} {what}. Lower the step size η.",
        }
    return {"verdict": "descending", "message": f"C(G) + log 4 = {gap:.6f} and falling."}


def _signed(v: float, digits: int) -> str:
    """``v`` with a real minus sign, and no sign on a value that rounds to zero."""
    text = f"{v:.{digits}f}"
    if float(text) == 0:
        return text.lstrip("-")
    return text.replace("-", "−")
