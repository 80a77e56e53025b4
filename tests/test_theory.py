"""The paper's theory on 1-D grids: Proposition 1, C(G) = -log 4 + 2 JSD, Theorem 1."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gannet.errors import GannetError
from gannet.paper.theory import (
    LOG_2,
    MINUS_LOG_4,
    criterion_for_gaussians,
    criterion_gradient_gaussians,
    gaussian_grid,
    gaussian_pdf,
    jsd,
    kl,
    mixture_pdf,
    optimal_discriminator,
    optimal_logit,
    value,
    virtual_criterion,
)


def random_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two random densities (Gaussian or mixture of up to 3) on a grid that covers both."""
    specs = []
    for _ in range(2):
        k = int(rng.integers(1, 4))
        means = rng.uniform(-3, 3, size=k)
        stds = rng.uniform(0.3, 2.0, size=k)
        weights = rng.uniform(0.1, 1.0, size=k)
        specs.append((means, stds, weights))
    all_means = np.concatenate([s[0] for s in specs])
    all_stds = np.concatenate([s[1] for s in specs])
    x = gaussian_grid(all_means, all_stds, num=4001)
    p, q = (mixture_pdf(x, *s) for s in specs)
    return x, p, q


def box(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.where((x >= lo) & (x <= hi), 1.0, 0.0)


# --------------------------------------------------------------------------- densities


def test_densities_integrate_to_one_and_mixture_weights() -> None:
    x = gaussian_grid([0.0, 5.0], [1.0, 2.0])
    assert np.trapezoid(gaussian_pdf(x, 0.0, 1.0), x) == pytest.approx(1.0, abs=1e-12)
    mix = mixture_pdf(x, [0.0, 5.0], [1.0, 2.0], weights=[3.0, 1.0])
    assert np.trapezoid(mix, x) == pytest.approx(1.0, abs=1e-12)
    expected = 0.75 * gaussian_pdf(x, 0.0, 1.0) + 0.25 * gaussian_pdf(x, 5.0, 2.0)
    np.testing.assert_allclose(mix, expected, rtol=1e-14, atol=0)
    assert gaussian_pdf(0.0, 0.0, 1.0) == pytest.approx(1.0 / math.sqrt(2 * math.pi))


def test_gaussian_grid_spans_both_densities() -> None:
    x = gaussian_grid([-1.0, 2.0], [0.5, 1.5])
    assert x.size >= 4001
    assert x[0] == pytest.approx(-1.0 - 12.0) and x[-1] == pytest.approx(2.0 + 12.0)
    assert np.allclose(np.diff(x), x[1] - x[0])


# --------------------------------------------------------------------------- C(G) and JSD


def test_criterion_is_minus_log4_plus_twice_jsd_on_random_pairs() -> None:
    rng = np.random.default_rng(20140610)
    for _ in range(40):
        x, p, q = random_pair(rng)
        c = virtual_criterion(p, q, x)
        j = jsd(p, q, x)
        assert c == pytest.approx(MINUS_LOG_4 + 2.0 * j, abs=1e-9)
        assert c >= MINUS_LOG_4 - 1e-12
        assert 0.0 <= j <= LOG_2


def test_criterion_identity_holds_even_for_unnormalised_inputs() -> None:
    # Densities are normalised on the grid first, so scaling an input changes nothing.
    x, p, q = random_pair(np.random.default_rng(1))
    c = virtual_criterion(p, q, x)
    assert virtual_criterion(3.0 * p, 0.5 * q, x) == pytest.approx(c, abs=1e-12)
    assert virtual_criterion(3.0 * p, q, x) == pytest.approx(
        MINUS_LOG_4 + 2 * jsd(p, q, x), abs=1e-9
    )


def test_theorem1_minimum_iff_equal() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        x, p, _ = random_pair(rng)
        assert virtual_criterion(p, p.copy(), x) == pytest.approx(MINUS_LOG_4, abs=1e-9)
        assert jsd(p, p, x) == pytest.approx(0.0, abs=1e-12)
    # Different densities: strictly above -log 4 by a clear margin.
    x = gaussian_grid([0.0, 0.5], [1.0, 1.0])
    c = virtual_criterion(gaussian_pdf(x, 0, 1), gaussian_pdf(x, 0.5, 1), x)
    assert c > MINUS_LOG_4 + 1e-2
    c_sd = virtual_criterion(gaussian_pdf(x, 0, 1), gaussian_pdf(x, 0, 1.3), x)
    assert c_sd > MINUS_LOG_4 + 5e-3
    rng = np.random.default_rng(8)
    for _ in range(20):
        x, p, q = random_pair(rng)
        if np.max(np.abs(p - q)) > 1e-2:
            assert virtual_criterion(p, q, x) > MINUS_LOG_4 + 1e-6


def test_criterion_is_zero_for_disjoint_supports() -> None:
    x = np.linspace(-5, 5, 2001)
    p, q = box(x, -4, -1), box(x, 1, 4)
    assert jsd(p, q, x) == pytest.approx(LOG_2, abs=1e-12)
    assert virtual_criterion(p, q, x) == pytest.approx(0.0, abs=1e-12)


def test_jsd_symmetric_and_bounded() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        x, p, q = random_pair(rng)
        j = jsd(p, q, x)
        assert j == pytest.approx(jsd(q, p, x), abs=1e-14)
        assert 0.0 <= j <= LOG_2
    # Far apart Gaussians approach log 2 from below.
    x = gaussian_grid([0.0, 30.0], [1.0, 1.0])
    assert jsd(gaussian_pdf(x, 0, 1), gaussian_pdf(x, 30, 1), x) == pytest.approx(LOG_2, abs=1e-9)


# --------------------------------------------------------------------------- D* and V(D, G)


def test_optimal_discriminator_is_half_where_densities_agree() -> None:
    x = np.linspace(-6, 6, 1201)
    p = gaussian_pdf(x, 0, 1)
    np.testing.assert_array_equal(optimal_discriminator(p, p), 0.5)
    # Equal on the left half only: D* = 1/2 exactly there, not elsewhere.
    q = np.where(x < 0, p, gaussian_pdf(x, 0, 2) * p[600] / gaussian_pdf(0.0, 0, 2))
    d = optimal_discriminator(p, q)
    np.testing.assert_array_equal(d[x < 0], 0.5)
    assert np.all(d[x > 1] != 0.5)
    # Both zero: defined as 1/2; only data: 1; only model: 0.
    d = optimal_discriminator([0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(d, [0.5, 1.0, 0.0, 0.5])


def test_optimal_discriminator_matches_formula_and_callables() -> None:
    x = gaussian_grid([0.0, 1.0], [1.0, 0.5])
    p, q = gaussian_pdf(x, 0, 1), gaussian_pdf(x, 1, 0.5)
    np.testing.assert_allclose(optimal_discriminator(p, q), p / (p + q), rtol=1e-15)
    from_callables = optimal_discriminator(
        lambda t: gaussian_pdf(t, 0, 1), lambda t: gaussian_pdf(t, 1, 0.5), x
    )
    np.testing.assert_allclose(from_callables, p / (p + q), rtol=1e-9)
    with pytest.raises(GannetError):
        optimal_discriminator(lambda t: t, p)


def test_value_at_dstar_is_criterion_and_dstar_is_the_maximiser() -> None:
    rng = np.random.default_rng(11)
    for _ in range(15):
        x, p, q = random_pair(rng)
        c = virtual_criterion(p, q, x)
        logit = optimal_logit(p, q, x)
        assert value(logit, p, q, x, logits=True) == pytest.approx(c, abs=1e-12)
        dstar = optimal_discriminator(p, q, x)
        np.testing.assert_allclose(dstar, 1.0 / (1.0 + np.exp(-logit)), rtol=1e-12)
        # D = 1/2 gives exactly -log 4 for every G (the step in Theorem 1's proof).
        assert value(np.full_like(x, 0.5), p, q, x) == pytest.approx(MINUS_LOG_4, abs=1e-12)
        for _ in range(10):
            # Random smooth discriminators, and small perturbations of D*.
            coef = rng.normal(size=4)
            d_rand = 1.0 / (1.0 + np.exp(-np.polyval(coef, x / 5.0)))
            assert value(d_rand, p, q, x) <= c + 1e-12
            noise = rng.normal(scale=0.05, size=x.shape)
            v_near = value(logit + noise, p, q, x, logits=True)
            assert v_near < c  # strictly: D* is the unique maximiser where p + q > 0
            assert v_near > c - 0.01  # ...and V is continuous there


def test_dstar_as_probabilities_rounds_in_the_tails() -> None:
    # Documented hazard: far in p_g's tail D* rounds to 1.0 and V at that D is -inf;
    # the logit form keeps the exact value.
    x = gaussian_grid([0.0, 0.0], [3.0, 0.5])
    p, q = gaussian_pdf(x, 0, 3), gaussian_pdf(x, 0, 0.5)
    dstar = optimal_discriminator(p, q, x)
    assert np.any((dstar == 1.0) & (q > 0))
    assert value(dstar, p, q, x) == -math.inf
    c = virtual_criterion(p, q, x)
    assert math.isfinite(c)
    assert value(optimal_logit(p, q, x), p, q, x, logits=True) == pytest.approx(c, abs=1e-12)


def test_value_logits_equals_probabilities() -> None:
    x = gaussian_grid([0.0, 1.0], [1.0, 1.0])
    p, q = gaussian_pdf(x, 0, 1), gaussian_pdf(x, 1, 1)
    logit = 0.7 * (0.5 - x)
    d = 1.0 / (1.0 + np.exp(-logit))
    assert value(logit, p, q, x, logits=True) == pytest.approx(value(d, p, q, x), abs=1e-12)
    lg = np.array([np.inf, -np.inf, 0.0])
    assert optimal_logit([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]).tolist() == lg.tolist()


def test_value_zero_log_zero() -> None:
    x = np.linspace(-5, 5, 2001)
    p, q = box(x, -4, -1), box(x, 1, 4)
    # D = 1 on p's support, 0 elsewhere: every log 0 is multiplied by a zero density.
    d = np.where(x < 0, 1.0, 0.0)
    assert value(d, p, q, x) == 0.0
    assert value(lambda t: np.where(t < 0, 1.0, 0.0), p, q, x) == 0.0
    inf_logit = np.where(x < 0, np.inf, -np.inf)
    assert value(inf_logit, p, q, x, logits=True) == 0.0
    assert value(-inf_logit, p, q, x, logits=True) == -math.inf
    # But D = 0 where the data has mass costs -inf.
    assert value(np.zeros_like(x), p, q, x) == -math.inf
    assert value(np.ones_like(x), p, q, x) == -math.inf
    # A proper value is never nan even with D in {0, 1} on overlapping densities.
    assert not math.isnan(value(d, gaussian_pdf(x, 0, 1), gaussian_pdf(x, 1, 1), x))


def test_callable_input_equals_array_input() -> None:
    x = gaussian_grid([0.0, 2.0], [1.0, 0.7])

    def pf(t: np.ndarray) -> np.ndarray:
        return mixture_pdf(t, [0.0, 1.0], [1.0, 0.3], [0.7, 0.3])

    def qf(t: np.ndarray) -> np.ndarray:
        return gaussian_pdf(t, 2.0, 0.7)

    def df(t: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(t - 1.0)))

    p, q, d = pf(x), qf(x), df(x)
    assert value(df, pf, qf, x) == value(d, p, q, x)
    assert virtual_criterion(pf, qf, x) == virtual_criterion(p, q, x)
    assert jsd(pf, q, x) == jsd(p, q, x)
    assert kl(p, qf, x) == kl(p, q, x)
    assert virtual_criterion(list(p), tuple(q), list(x)) == virtual_criterion(p, q, x)


# --------------------------------------------------------------------------- KL


def test_kl_matches_gaussian_closed_form() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        m1, m2 = rng.uniform(-2, 2, size=2)
        s1, s2 = rng.uniform(0.7, 1.5, size=2)
        x = gaussian_grid([m1, m2], [s1, s2], num=8001)
        expected = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
        got = kl(gaussian_pdf(x, m1, s1), gaussian_pdf(x, m2, s2), x)
        assert got == pytest.approx(expected, abs=1e-6)


def test_kl_nonnegative_zero_iff_equal_and_infinite_off_support() -> None:
    rng = np.random.default_rng(6)
    for _ in range(20):
        x, p, q = random_pair(rng)
        assert kl(p, p, x) == 0.0
        assert kl(p, q, x) > 0.0
        assert kl(q, p, x) > 0.0
    x = np.linspace(-5, 5, 2001)
    assert kl(box(x, -2, 2), box(x, -3, 3), x) == pytest.approx(math.log(1.5), abs=1e-3)
    assert kl(box(x, -3, 3), box(x, -2, 2), x) == math.inf
    # JSD stays finite where KL does not.
    assert 0.0 < jsd(box(x, -3, 3), box(x, -2, 2), x) < LOG_2


# --------------------------------------------------------------------------- Gaussian helpers


def test_criterion_for_identical_gaussians_is_minus_log4() -> None:
    for mu, sd in [(0.0, 1.0), (3.0, 0.2), (-7.5, 4.0)]:
        assert criterion_for_gaussians(mu, sd, mu, sd) == pytest.approx(MINUS_LOG_4, abs=1e-9)
        gm, gs = criterion_gradient_gaussians(mu, sd, mu, sd)
        assert abs(gm) < 1e-9 and abs(gs) < 1e-9


def test_criterion_for_gaussians_matches_generic_path() -> None:
    x = gaussian_grid([0.0, 1.5], [1.0, 0.6])
    expected = virtual_criterion(gaussian_pdf(x, 0, 1), gaussian_pdf(x, 1.5, 0.6), x)
    assert criterion_for_gaussians(0.0, 1.0, 1.5, 0.6) == pytest.approx(expected, abs=1e-12)
    assert criterion_for_gaussians(0.0, 1.0, 1.5, 0.6, x=x) == expected


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(9)
    h = 1e-5
    for _ in range(10):
        mu_d, mu_g = rng.uniform(-2, 2, size=2)
        sd_d, sd_g = rng.uniform(0.5, 2.0, size=2)
        x = gaussian_grid([mu_d, mu_g], [sd_d, sd_g])
        gm, gs = criterion_gradient_gaussians(mu_d, sd_d, mu_g, sd_g)

        def c(
            m: float, s: float, mu_d: float = mu_d, sd_d: float = sd_d, x: np.ndarray = x
        ) -> float:
            return criterion_for_gaussians(mu_d, sd_d, m, s, x=x)

        fd_m = (c(mu_g + h, sd_g) - c(mu_g - h, sd_g)) / (2 * h)
        fd_s = (c(mu_g, sd_g + h) - c(mu_g, sd_g - h)) / (2 * h)
        assert gm == pytest.approx(fd_m, abs=1e-7)
        assert gs == pytest.approx(fd_s, abs=1e-7)


def test_gradient_points_toward_the_data() -> None:
    # Descending the gradient moves mu_g towards mu_data and sd_g towards sd_data.
    gm, _ = criterion_gradient_gaussians(0.0, 1.0, 2.0, 1.0)
    assert gm > 1e-3
    gm, _ = criterion_gradient_gaussians(0.0, 1.0, -2.0, 1.0)
    assert gm < -1e-3
    gm, gs = criterion_gradient_gaussians(0.0, 1.0, 0.0, 2.0)
    assert gs > 1e-3 and abs(gm) < 1e-12
    _, gs = criterion_gradient_gaussians(0.0, 1.0, 0.0, 0.5)
    assert gs < -1e-3


def test_gradient_descent_reaches_the_global_minimum() -> None:
    mu, sd = 4.0, 2.0
    c0 = criterion_for_gaussians(0.0, 1.0, mu, sd)
    assert c0 > MINUS_LOG_4 + 0.5
    history = [c0]
    for _ in range(100):
        gm, gs = criterion_gradient_gaussians(0.0, 1.0, mu, sd)
        mu, sd = mu - 0.5 * gm, sd - 0.5 * gs
        history.append(criterion_for_gaussians(0.0, 1.0, mu, sd))
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(history))
    assert history[-1] == pytest.approx(MINUS_LOG_4, abs=1e-6)
    assert mu == pytest.approx(0.0, abs=1e-2) and sd == pytest.approx(1.0, abs=1e-2)


def test_gradient_saturates_when_densities_barely_overlap() -> None:
    # The JSD's flat plateau: far from the data, C is near 0 and its gradient near 0.
    assert criterion_for_gaussians(0.0, 1.0, 20.0, 1.0) == pytest.approx(0.0, abs=1e-9)
    gm, gs = criterion_gradient_gaussians(0.0, 1.0, 20.0, 1.0)
    assert abs(gm) < 1e-9 and abs(gs) < 1e-9


# --------------------------------------------------------------------------- bad input


def test_bad_input_raises_gannet_error() -> None:
    x = np.linspace(-3, 3, 101)
    p = gaussian_pdf(x, 0, 1)
    with pytest.raises(GannetError):
        virtual_criterion(p, p, x[::-1])
    with pytest.raises(GannetError):
        virtual_criterion(p, p[:-1], x)
    with pytest.raises(GannetError):
        virtual_criterion(-p, p, x)
    with pytest.raises(GannetError):
        virtual_criterion(np.zeros_like(x), p, x)
    with pytest.raises(GannetError):
        value(np.full_like(x, 1.5), p, p, x)
    with pytest.raises(GannetError):
        gaussian_pdf(x, 0.0, 0.0)
    with pytest.raises(GannetError):
        criterion_for_gaussians(0.0, 1.0, 0.0, -1.0)
    with pytest.raises(GannetError):
        mixture_pdf(x, [0.0, 1.0], [1.0])
