"""The paper's theory (Proposition 1, C(G), Theorem 1) for 1-D densities on a grid, in float64.

Everything here works on a grid ``x``: a 1-D, strictly increasing array (uniform spacing is the
intended use; the trapezoid rule works for any increasing grid). A density may be given either as
an array of its values on ``x`` or as any callable pdf, which is then evaluated on ``x``.

Integrals use the trapezoid rule (:func:`scipy.integrate.trapezoid`). Before any integral that
involves densities, each density is divided by its own trapezoid integral on the grid, so that it
integrates to exactly 1 there. This matters: the identity C(G) = -log 4 + 2 JSD(p_data || p_g)
needs both densities to have the same mass, and with normalised densities the grid quantities are
the exact KL/JSD/V of two discrete distributions (weights = trapezoid weights), so the theory's
inequalities (C >= -log 4, V <= C, 0 <= JSD <= log 2, KL >= 0) hold up to rounding, not just up
to discretisation error. A grid that cuts off a visible part of a density therefore computes the
quantities for the truncated, renormalised density.

Conventions: 0 * log 0 = 0, so where a density is 0 its term contributes nothing, even where
D is 0 or 1; where both densities are 0, D* is defined as 1/2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import trapezoid

from gannet.errors import GannetError

__all__ = [
    "LOG_2",
    "MINUS_LOG_4",
    "Density",
    "criterion_for_gaussians",
    "criterion_gradient_gaussian_g",
    "criterion_gradient_gaussians",
    "gaussian_grid",
    "gaussian_pdf",
    "jsd",
    "kl",
    "mixture_pdf",
    "optimal_discriminator",
    "optimal_logit",
    "value",
    "virtual_criterion",
]

FloatArray: TypeAlias = NDArray[np.float64]
Density: TypeAlias = ArrayLike | Callable[[FloatArray], ArrayLike]
"""A density on the grid: its values as an array, or a callable pdf evaluated on the grid."""

MINUS_LOG_4: float = -math.log(4.0)
"""Theorem 1: the global minimum of C(G), reached iff p_g = p_data (about -1.3863)."""

LOG_2: float = math.log(2.0)
"""The largest value of JSD (natural log), reached for disjoint supports."""

_SQRT_2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- densities


def gaussian_pdf(x: ArrayLike, mean: float, std: float) -> FloatArray:
    """The N(mean, std^2) density at x."""
    if not (math.isfinite(std) and std > 0):
        raise GannetError(f"gaussian std must be a positive finite number, got {std!r}")
    if not math.isfinite(mean):
        raise GannetError(f"gaussian mean must be finite, got {mean!r}")
    xs = np.asarray(x, dtype=np.float64)
    u = (xs - mean) / std
    return np.asarray(np.exp(-0.5 * u * u) / (std * _SQRT_2PI), dtype=np.float64)


def mixture_pdf(
    x: ArrayLike,
    means: Sequence[float] | ArrayLike,
    stds: Sequence[float] | ArrayLike,
    weights: Sequence[float] | ArrayLike | None = None,
) -> FloatArray:
    """A mixture of Gaussians at x; weights default to equal and are rescaled to sum to 1."""
    mu = np.atleast_1d(np.asarray(means, dtype=np.float64))
    sd = np.atleast_1d(np.asarray(stds, dtype=np.float64))
    if mu.ndim != 1 or sd.shape != mu.shape or mu.size == 0:
        raise GannetError(
            f"mixture needs equally long, non-empty 1-D means and stds, got shapes "
            f"{mu.shape} and {sd.shape}"
        )
    if weights is None:
        w = np.full(mu.shape, 1.0 / mu.size)
    else:
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        if w.shape != mu.shape:
            raise GannetError(
                f"mixture weights must match the means in length, got {w.shape} vs {mu.shape}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise GannetError("mixture weights must be finite, non-negative, with positive sum")
        w = w / w.sum()
    xs = np.asarray(x, dtype=np.float64)
    out = np.zeros(xs.shape, dtype=np.float64)
    for m, s, wk in zip(mu.tolist(), sd.tolist(), w.tolist(), strict=True):
        out += wk * gaussian_pdf(xs, m, s)
    return out


def gaussian_grid(
    means: Sequence[float] | ArrayLike,
    stds: Sequence[float] | ArrayLike,
    num: int = 4001,
    width: float = 8.0,
) -> FloatArray:
    """A uniform grid from min(mean) - width*max(std) to max(mean) + width*max(std).

    At 8 standard deviations the Gaussian tail mass (~1e-15) is below float64 resolution of the
    total, so integrals over this grid are those over the real line.
    """
    mu = np.atleast_1d(np.asarray(means, dtype=np.float64))
    sd = np.atleast_1d(np.asarray(stds, dtype=np.float64))
    if mu.size == 0 or sd.size == 0 or not np.all(np.isfinite(mu)):
        raise GannetError("gaussian_grid needs at least one finite mean and one std")
    if not np.all(np.isfinite(sd)) or np.any(sd <= 0):
        raise GannetError("gaussian_grid needs positive finite stds")
    if num < 3:
        raise GannetError(f"gaussian_grid needs at least 3 points, got num={num}")
    spread = width * float(sd.max())
    return np.linspace(float(mu.min()) - spread, float(mu.max()) + spread, num)


# --------------------------------------------------------------------------- grid plumbing


def _grid(x: ArrayLike) -> FloatArray:
    xs = np.asarray(x, dtype=np.float64)
    if xs.ndim != 1 or xs.size < 2:
        raise GannetError(f"the grid x must be a 1-D array of at least 2 points, got {xs.shape}")
    if not np.all(np.isfinite(xs)):
        raise GannetError("the grid x must be finite")
    if not np.all(np.diff(xs) > 0):
        raise GannetError("the grid x must be strictly increasing")
    return xs


def _on_grid(
    f: ArrayLike | Callable[[FloatArray], ArrayLike], x: FloatArray, what: str
) -> FloatArray:
    """Values of an array-or-callable on the grid, as float64 of the grid's shape."""
    vals = f(x) if callable(f) else f
    arr = np.asarray(vals, dtype=np.float64)
    if arr.shape != x.shape:
        raise GannetError(f"{what} must have the grid's shape {x.shape}, got {arr.shape}")
    return arr


def _density(p: Density, x: FloatArray, what: str) -> FloatArray:
    """A density on the grid, checked and normalised to trapezoid integral 1 (see module doc)."""
    arr = _on_grid(p, x, what)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise GannetError(f"{what} must be finite and non-negative on the grid")
    mass = float(trapezoid(arr, x))
    if not mass > 0:
        raise GannetError(f"{what} is zero everywhere on the grid; widen or move the grid")
    return arr / mass


def _xlogy(a: FloatArray, b: FloatArray) -> FloatArray:
    """a * log(b) with 0 * log(anything) = 0 (so 0 * log 0 = 0, never nan)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a * np.log(b)
    return np.where(a == 0, 0.0, out)


def _dstar(p: FloatArray, q: FloatArray) -> FloatArray:
    return _dstar_pair(p, q)[0]


def _dstar_pair(p: FloatArray, q: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(D*, 1 - D*), each as its own ratio: 1 - p/(p+q) would round to 0 where q << p."""
    total = p + q
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(total > 0, p / total, 0.5)
        e = np.where(total > 0, q / total, 0.5)
    return d, e


# --------------------------------------------------------------------------- the theory


def _pair(p_data: Density, p_g: Density, x: ArrayLike | None) -> tuple[FloatArray, FloatArray]:
    """Both densities as arrays: as given without a grid, normalised on the grid with one."""
    if x is not None:
        xs = _grid(x)
        return _density(p_data, xs, "p_data"), _density(p_g, xs, "p_g")
    if callable(p_data) or callable(p_g):
        raise GannetError("pass the grid x to evaluate a callable pdf")
    p = np.asarray(p_data, dtype=np.float64)
    q = np.asarray(p_g, dtype=np.float64)
    if p.shape != q.shape:
        raise GannetError(f"p_data and p_g differ in shape: {p.shape} vs {q.shape}")
    for what, arr in (("p_data", p), ("p_g", q)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise GannetError(f"{what} must be finite and non-negative")
    return p, q


def optimal_discriminator(p_data: Density, p_g: Density, x: ArrayLike | None = None) -> FloatArray:
    """Proposition 1: D*(x) = p_data / (p_data + p_g), and 1/2 where both densities are 0.

    Without ``x`` the ratio is taken of the arrays as given (pointwise; callables need ``x``).
    With ``x`` both densities are first normalised on the grid, as in :func:`value` and
    :func:`virtual_criterion`. Caution: where p_g < ~1e-16 p_data (far in p_g's tail) D* rounds
    to exactly 1.0, and ``value`` then rightly gives -inf for that D; to evaluate V at D*
    use :func:`optimal_logit` with ``value(..., logits=True)``, or just :func:`virtual_criterion`.
    """
    return _dstar(*_pair(p_data, p_g, x))


def optimal_logit(p_data: Density, p_g: Density, x: ArrayLike | None = None) -> FloatArray:
    """logit D* = log p_data - log p_g: D* without rounding to 0 or 1 in the tails.

    +inf where only p_data > 0, -inf where only p_g > 0, 0 where both are 0 (D* = 1/2).
    Normalisation as in :func:`optimal_discriminator`.
    """
    p, q = _pair(p_data, p_g, x)
    with np.errstate(divide="ignore", invalid="ignore"):  # -inf - -inf where both are 0
        out = np.log(p) - np.log(q)
    return np.where((p == 0) & (q == 0), 0.0, out)


def value(
    d: ArrayLike | Callable[[FloatArray], ArrayLike],
    p_data: Density,
    p_g: Density,
    x: ArrayLike,
    *,
    logits: bool = False,
) -> float:
    """V(D, G) = ∫ p_data log D + ∫ p_g log(1 - D): the game's value for any D in [0, 1].

    0 * log 0 = 0: where p_data is 0, D = 0 costs nothing (and where p_g is 0, D = 1 costs
    nothing). The result is -inf when D is 0 where p_data > 0, or 1 where p_g > 0.
    With ``logits=True``, ``d`` is D's logit l (D = sigmoid(l), ±inf allowed), and the logs are
    taken stably as log D = -softplus(-l), log(1 - D) = -softplus(l), as in the losses.
    """
    xs = _grid(x)
    p = _density(p_data, xs, "p_data")
    q = _density(p_g, xs, "p_g")
    dv = _on_grid(d, xs, "the discriminator D")
    if logits:
        if np.any(np.isnan(dv)):
            raise GannetError("the discriminator's logits must not be nan")
        with np.errstate(invalid="ignore"):  # 0 * -inf, masked out just below
            pl = p * -np.logaddexp(0.0, -dv)
            ql = q * -np.logaddexp(0.0, dv)
        integrand = np.where(p == 0, 0.0, pl) + np.where(q == 0, 0.0, ql)
    else:
        if not np.all(np.isfinite(dv)) or np.any(dv < 0) or np.any(dv > 1):
            raise GannetError("the discriminator D must take values in [0, 1] on the grid")
        integrand = _xlogy(p, dv) + _xlogy(q, 1.0 - dv)
    return float(trapezoid(integrand, xs))


def virtual_criterion(p_data: Density, p_g: Density, x: ArrayLike) -> float:
    """C(G) = max_D V(D, G) = V(D*, G); equals -log 4 + 2 JSD(p_data || p_g) (Theorem 1)."""
    xs = _grid(x)
    p = _density(p_data, xs, "p_data")
    q = _density(p_g, xs, "p_g")
    return _criterion(p, q, xs)


def _criterion(p: FloatArray, q: FloatArray, xs: FloatArray) -> float:
    d, one_minus_d = _dstar_pair(p, q)
    return float(trapezoid(_xlogy(p, d) + _xlogy(q, one_minus_d), xs))


def kl(p: Density, q: Density, x: ArrayLike) -> float:
    """KL(p || q) = ∫ p log(p / q) in nats; +inf if q = 0 at a grid point where p > 0.

    Rounding-level negatives are clipped to 0 (the discrete KL of normalised densities is >= 0).
    Note that a q that underflows to 0 far in its tail, where p is still > 0, gives +inf.
    """
    xs = _grid(x)
    pp = _density(p, xs, "p")
    qq = _density(q, xs, "q")
    if np.any((pp > 0) & (qq == 0)):
        return math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pp > 0, pp / np.where(qq > 0, qq, 1.0), 1.0)
    return max(0.0, float(trapezoid(_xlogy(pp, ratio), xs)))


def jsd(p: Density, q: Density, x: ArrayLike) -> float:
    """Jensen-Shannon divergence in nats: (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2.

    Symmetric, always finite, in [0, log 2] (clipped there against rounding); log 2 exactly
    when the supports are disjoint.
    """
    xs = _grid(x)
    pp = _density(p, xs, "p")
    qq = _density(q, xs, "q")
    total = pp + qq
    with np.errstate(divide="ignore", invalid="ignore"):
        rp = np.where(total > 0, 2.0 * pp / total, 1.0)
        rq = np.where(total > 0, 2.0 * qq / total, 1.0)
    out = 0.5 * float(trapezoid(_xlogy(pp, rp) + _xlogy(qq, rq), xs))
    return min(LOG_2, max(0.0, out))


# --------------------------------------------------------------------------- Gaussian case


def _gauss_setup(
    mu_data: float, sd_data: float, mu_g: float, sd_g: float, x: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    for name, v in (("mu_data", mu_data), ("mu_g", mu_g)):
        if not math.isfinite(v):
            raise GannetError(f"{name} must be finite, got {v!r}")
    for name, v in (("sd_data", sd_data), ("sd_g", sd_g)):
        if not (math.isfinite(v) and v > 0):
            raise GannetError(f"{name} must be a positive finite number, got {v!r}")
    xs = gaussian_grid([mu_data, mu_g], [sd_data, sd_g]) if x is None else _grid(x)
    return xs, gaussian_pdf(xs, mu_data, sd_data), gaussian_pdf(xs, mu_g, sd_g)


def criterion_for_gaussians(
    mu_data: float, sd_data: float, mu_g: float, sd_g: float, x: ArrayLike | None = None
) -> float:
    """C(G) for p_data = N(mu_data, sd_data^2), p_g = N(mu_g, sd_g^2).

    Without ``x`` the grid is :func:`gaussian_grid` over both (±8 max std, 4001 points).
    """
    xs, p, q = _gauss_setup(mu_data, sd_data, mu_g, sd_g, x)
    return virtual_criterion(p, q, xs)


def criterion_gradient_gaussians(
    mu_data: float, sd_data: float, mu_g: float, sd_g: float, x: ArrayLike | None = None
) -> tuple[float, float]:
    """(dC/dmu_g, dC/dsd_g): the exact gradient of :func:`criterion_for_gaussians` on its grid.

    Analytic, not finite differences (see :func:`criterion_gradient_gaussian_g`, which this
    is for Gaussian data). Descending it moves p_g towards p_data; it vanishes when they are
    equal and (the paper's saturation problem, in the limit) when they barely overlap.
    """
    xs, p_raw, _ = _gauss_setup(mu_data, sd_data, mu_g, sd_g, x)
    return criterion_gradient_gaussian_g(p_raw, mu_g, sd_g, xs)


def criterion_gradient_gaussian_g(
    p_data: Density, mu_g: float, sd_g: float, x: ArrayLike
) -> tuple[float, float]:
    """(dC/dmu_g, dC/dsd_g) of C(G) = :func:`virtual_criterion` (p_data, N(mu_g, sd_g^2), x)
    for any data density ``p_data`` on the grid ``x`` (a drawn one, a mixture).

    Because D* maximises V pointwise (envelope theorem), the derivative of C with respect to
    p_g at a grid point is just log(1 - D*), so dC/dθ = ∫ (∂p_g/∂θ) log(1 - D*), with ∂p_g the
    derivative of the grid-normalised p_g.
    """
    xs = _grid(x)
    p = _density(p_data, xs, "p_data")
    q_raw = gaussian_pdf(xs, mu_g, sd_g)
    zq = float(trapezoid(q_raw, xs))
    if not zq > 0:
        raise GannetError("p_g is zero everywhere on the grid; widen or move the grid")
    q = q_raw / zq
    u = (xs - mu_g) / sd_g
    dq_dmu = q_raw * u / sd_g
    dq_dsd = q_raw * (u * u - 1.0) / sd_g
    one_minus_d = _dstar_pair(p, q)[1]
    log_1m_d = np.log(np.where(q > 0, one_minus_d, 1.0))  # finite: q > 0 gives 1 - D* > 0

    def along(dq_raw: FloatArray) -> float:
        dz = float(trapezoid(dq_raw, xs))
        dq = (dq_raw - q * dz) / zq  # derivative of q_raw / zq
        return float(trapezoid(np.where(q > 0, dq * log_1m_d, 0.0), xs))

    return along(dq_dmu), along(dq_dsd)
