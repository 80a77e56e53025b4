"""FID, KID and precision/recall on feature arrays: closed forms, brute force, known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg

from gannet.errors import GannetError
from gannet.metrics import METRICS
from gannet.metrics.frechet import feature_stats, frechet_distance
from gannet.metrics.kid import kernel_distance
from gannet.metrics.prc import precision_recall


def _pair(
    a: np.ndarray, b: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Two Gaussians sharing an eigenbasis (eigenvalues a and b): then
    tr((S1 S2)^1/2) = sum sqrt(a b) and d² = |mu1 - mu2|² + sum (sqrt a - sqrt b)²."""
    rng = np.random.default_rng(seed)
    d = len(a)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    exact = float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    return mu1, s1, mu2, s2, exact


def test_frechet_distance_equals_the_closed_form() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.2, 4.0, 12), rng.uniform(0.2, 4.0, 12)
    mu1, s1, mu2, s2, exact = _pair(a, b, 1)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(exact, abs=1e-8)
    # Isotropic covariances in 1-D: (m1 - m2)² + (s1 - s2)².
    d = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]]))
    assert d == pytest.approx(4.0 + 1.0, abs=1e-12)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)


def test_both_routes_of_the_trace_term_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast eigenvalue route (well-conditioned) and the SVD route give the same
    tr((S1 S2)^1/2); the well-conditioned pair above takes the fast route."""
    from gannet.metrics import frechet

    rng = np.random.default_rng(3)
    f1, f2 = rng.normal(size=(400, 64)), rng.normal(size=(400, 64)) * 1.5 + 0.2
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    calls: list[str] = []
    real_svdvals = scipy.linalg.svdvals
    monkeypatch.setattr(
        frechet.scipy.linalg,
        "svdvals",
        lambda *a, **k: calls.append("svd") or real_svdvals(*a, **k),
    )
    fast = frechet.trace_sqrt_product(s1, s2)
    assert calls == []
    monkeypatch.setattr(frechet, "WELL_CONDITIONED", 2.0)  # never well enough: the SVD route
    slow = frechet.trace_sqrt_product(s1, s2)
    assert calls == ["svd"]
    assert fast == pytest.approx(slow, rel=1e-11)


def test_frechet_distance_nearly_singular_and_complex_sqrtm() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 3.0, 16), rng.uniform(0.5, 3.0, 16)
    a[:3], b[:3] = [1e-9, 1e-8, 2e-9], [1e-9, 3e-9, 1e-8]  # condition number ~1e9
    mu1, s1, mu2, s2, exact = _pair(a, b, 0)
    assert np.linalg.cond(s1) > 1e8
    # The naive route goes complex here (what pytorch-fid discards); ours stays exact.
    assert np.iscomplexobj(scipy.linalg.sqrtm(s1 @ s2))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(exact, abs=1e-8)
    # Exactly singular (rank-deficient, as with fewer samples than features).
    a[0] = 0.0
    mu1, s1, mu2, s2, exact = _pair(a, b, 0)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(exact, abs=1e-8)


def test_frechet_distance_rejects_mismatched_or_non_finite_statistics() -> None:
    with pytest.raises(GannetError, match="one D"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(GannetError, match="NaN"):
        frechet_distance(np.zeros(2), np.eye(2) * np.nan, np.zeros(2), np.eye(2))
    with pytest.raises(GannetError, match="at least 2"):
        feature_stats(np.zeros((1, 4)))


def test_fid_of_samples_approaches_the_population_value() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 1.0, (20000, 3))
    y = rng.normal(0.5, 2.0, (20000, 3))
    # d² = 3 * 0.5² + 3 * (1 - 2)² = 3.75
    assert METRICS.get("fid")(x, y)["fid"] == pytest.approx(3.75, rel=0.03)


def test_kid_equals_a_brute_force_double_loop() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 5)), rng.normal(0.3, 1.2, size=(7, 5))
    d, m = x.shape[1], len(x)

    def k(u: np.ndarray, v: np.ndarray) -> float:
        return float((sum(ui * vi for ui, vi in zip(u, v, strict=True)) / d + 1) ** 3)

    kxx = sum(k(x[i], x[j]) for i, j in itertools.product(range(m), repeat=2) if i != j)
    kyy = sum(k(y[i], y[j]) for i, j in itertools.product(range(m), repeat=2) if i != j)
    kxy = sum(k(x[i], y[j]) for i, j in itertools.product(range(m), repeat=2))
    brute = (kxx + kyy) / (m * (m - 1)) - 2 * kxy / (m * m)
    # One subset of every row: the subset is the whole set, whatever the draw.
    mean, std = kernel_distance(x, y, subsets=1, subset_size=m)
    assert mean == pytest.approx(brute, rel=1e-12, abs=1e-12)
    assert std == 0.0
    registry = METRICS.get("kid")(x, y, subsets=3, subset_size=m)
    assert registry["kid"] == pytest.approx(brute, rel=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_seeded() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    z = rng.normal(0.5, 1.0, size=(600, 8))
    same, _ = kernel_distance(x, y, subsets=20, subset_size=200, seed=1)
    shifted, _ = kernel_distance(x, z, subsets=20, subset_size=200, seed=1)
    assert abs(same) < 0.1 * shifted
    assert kernel_distance(x, z, 5, 100, seed=2) == kernel_distance(x, z, 5, 100, seed=2)


def test_precision_recall_of_a_set_with_itself_and_with_noise() -> None:
    rng = np.random.default_rng(6)
    real = rng.normal(size=(400, 6))
    assert precision_recall(real, real) == (1.0, 1.0)
    fake = real.copy()
    fake[200:] = rng.uniform(-30, 30, size=(200, 6))  # half replaced by far-off noise
    precision, recall = precision_recall(real, fake)
    assert precision == pytest.approx(0.5, abs=0.02)
    assert recall < 1.0
    assert METRICS.get("prc")(real, real) == {"precision": 1.0, "recall": 1.0}
    with pytest.raises(GannetError, match="more than k=3"):
        precision_recall(real[:3], real[:3])
