"""Feature metrics that check themselves: ``gannet eval selftest``.

Bugs in metric code go unnoticed because a wrong FID is still a number: Inception left in
training mode (pytorch-fid #118), precision and recall swapped (torch-fidelity #58). The
self-test runs an extractor and the metrics on cases whose answers are known and checks
each against its expectation. Two disjoint random halves A and B of a real split (``n``
rows each, seeded) give:

* **eval mode**: the features of 16 images computed alone equal their rows in a batch of
  ``n`` (a network in training mode, with batch statistics or dropout, fails);
* **real vs real**: FID(A, B) near the extractor's floor (:data:`FLOORS`, pinned per
  extractor at ``n`` rows; below the sigma 0.1 noised set's where none is pinned), KID within 4
  standard errors of 0 (from 10 independent block estimates), precision and recall high;
* **collapse**: B's most typical image repeated ``n`` times: precision 1 (it is a real
  image), recall 0 (one point covers no real image), FID far above the floor;
* **noise**: ``clamp(B + sigma eps, 0, 1)`` at three sigmas: FID and KID rise with sigma;
* **swap**: FID and KID(A, B) = (B, A), and precision(A, B) = recall(B, A).

The result is a pass/fail table (:meth:`SelfTest.table`); CI runs it on the shipped MNIST
extractor (``tests/test_selftest.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from gannet.errors import GannetError
from gannet.metrics.features import Extractor, as_images, check_input
from gannet.metrics.frechet import feature_stats, frechet_distance
from gannet.metrics.kid import kernel_distance, mmd2_unbiased
from gannet.metrics.prc import precision_recall

DEFAULT_N = 1000
"""Rows per half."""
NOISE = (0.05, 0.1, 0.2)
"""Pixel noise levels of the noised sets."""

FLOORS: dict[str, tuple[int, float]] = {
    "mnist-classifier-v1": (1000, 14.2721),
    "fashion-mnist-classifier-v1": (1000, 9.5286),
}
"""Extractor -> (rows per half, FID of two random halves of its dataset's test split at
that size with seed 0), measured with ``gannet eval selftest --extractor NAME``. The
real-vs-real check accepts 0.5x to 2x the floor scaled to ``n`` rows (FID's bias falls as
1/n); for an extractor not listed it only asks for a value below the sigma 0.1 set's."""


@dataclass
class Check:
    """One line of the table."""

    name: str
    value: float
    expected: str
    passed: bool


@dataclass
class SelfTest:
    """The checks of one extractor on one dataset."""

    extractor: str
    weights_sha256: str
    dataset: str
    n: int
    seed: int
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def add(self, name: str, value: float, expected: str, passed: bool) -> None:
        self.checks.append(Check(name, float(value), expected, bool(passed)))

    def table(self) -> str:
        """The pass/fail table, one check a line."""
        width = max(len(c.name) for c in self.checks)
        wide = max(len(c.expected) for c in self.checks)
        lines = [f"{'check':{width}s}  {'value':>12s}  {'expected':{wide}s}  result"]
        for c in self.checks:
            result = "pass" if c.passed else "FAIL"
            lines.append(f"{c.name:{width}s}  {c.value:12.6g}  {c.expected:{wide}s}  {result}")
        failed = sum(not c.passed for c in self.checks)
        verdict = "all passed" if not failed else f"{failed} FAILED"
        lines.append(f"{len(self.checks)} checks, {verdict}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def _fid(a: np.ndarray, b: np.ndarray) -> float:
    return frechet_distance(*feature_stats(a), *feature_stats(b))


def _kid(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    # Whole sets (one subset of every row): the estimate is then symmetric.
    m = min(len(a), len(b))
    return kernel_distance(a[:m], b[:m], subsets=1, subset_size=m, seed=seed)[0]


def _kid_spread(a: np.ndarray, b: np.ndarray, blocks: int = 10) -> float:
    """The standard error of the whole-set KID of two samples of one distribution, from the
    spread of ``blocks`` independent block estimates: under that null the unbiased MMD²'s
    standard deviation falls as 1/m with m rows, so a block's is ``blocks`` times the
    whole set's."""
    m = min(len(a), len(b)) // blocks
    values = [mmd2_unbiased(a[i * m : (i + 1) * m], b[i * m : (i + 1) * m]) for i in range(blocks)]
    return float(np.std(values, ddof=1)) / blocks


def run_selftest(
    extractor: Extractor, images: torch.Tensor, dataset: str, n: int = DEFAULT_N, seed: int = 0
) -> SelfTest:
    """Run every check of the module docstring with ``extractor`` on ``images`` (a real
    split, at least ``2 n`` rows, in [0, 1])."""
    if n < 20:
        raise GannetError(f"the self-test needs at least 20 rows per half, got {n}")
    images = as_images(images)
    if len(images) < 2 * n:
        raise GannetError(
            f"the {dataset} split has {len(images)} rows, fewer than the 2 x {n} the "
            "self-test needs; lower --samples"
        )
    check_input(extractor, images, f"{dataset} images")
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(images), generator=gen)
    a_img, b_img = images[perm[:n]].float(), images[perm[n : 2 * n]].float()
    result = SelfTest(extractor.name, extractor.weights_sha256, dataset, n, seed)

    a = extractor.features(a_img)
    alone = extractor.features(a_img[:16])
    gap = float(np.abs(alone - a[:16]).max() / max(float(np.abs(a[:16]).max()), 1e-12))
    result.add("eval mode: batch of 16 = same rows of a batch of n", gap, "<= 1e-4", gap <= 1e-4)

    b = extractor.features(b_img)
    floor = _fid(a, b)
    noised = []
    for sigma in NOISE:
        noise = torch.randn(b_img.shape, generator=gen)
        noised.append(extractor.features((b_img + sigma * noise).clamp(0, 1)))
    fid_noise = [_fid(a, x) for x in noised]
    kid_noise = [_kid(a, x, seed) for x in noised]
    _real_vs_real(result, a, b, floor, fid_noise, seed)
    _collapse(result, a, b, b_img, extractor, floor)
    for i in range(1, len(NOISE)):
        lo, hi = NOISE[i - 1], NOISE[i]
        result.add(
            f"noise: FID rises, sigma {lo} -> {hi}",
            fid_noise[i] - fid_noise[i - 1],
            "> 0",
            fid_noise[i] > fid_noise[i - 1],
        )
        result.add(
            f"noise: KID rises, sigma {lo} -> {hi}",
            kid_noise[i] - kid_noise[i - 1],
            "> 0",
            kid_noise[i] > kid_noise[i - 1],
        )
    _swap(result, a, b, floor, seed)
    return result


def _real_vs_real(
    result: SelfTest,
    a: np.ndarray,
    b: np.ndarray,
    floor: float,
    fid_noise: list[float],
    seed: int,
) -> None:
    pinned = FLOORS.get(result.extractor)
    if pinned is not None:
        rows, value = pinned
        scaled = value * rows / result.n
        result.add(
            "real vs real: FID at its floor",
            floor,
            f"{0.5 * scaled:.4g} .. {2 * scaled:.4g} (pinned {value:.4g} at n={rows})",
            0.5 * scaled <= floor <= 2 * scaled,
        )
    else:
        result.add(
            f"real vs real: FID below the sigma {NOISE[1]} set's",
            floor,
            f"< {fid_noise[1]:.4g} (no floor pinned)",
            floor < fid_noise[1],
        )
    kid = _kid(a, b, seed)
    bound = 4 * _kid_spread(a, b)
    result.add(
        "real vs real: KID near 0",
        kid,
        f"|KID| <= {bound:.3g} (4 standard errors)",
        abs(kid) <= bound,
    )
    precision, recall = precision_recall(a, b)
    result.add("real vs real: precision high", precision, ">= 0.6", precision >= 0.6)
    result.add("real vs real: recall high", recall, ">= 0.6", recall >= 0.6)


def _collapse(
    result: SelfTest,
    a: np.ndarray,
    b: np.ndarray,
    b_img: torch.Tensor,
    extractor: Extractor,
    floor: float,
) -> None:
    typical = int(((b - a.mean(axis=0)) ** 2).sum(axis=1).argmin())
    one = extractor.features(b_img[typical : typical + 1])
    collapsed = np.repeat(one, len(b), axis=0)
    precision, recall = precision_recall(a, collapsed)
    result.add("collapse: precision 1", precision, ">= 0.99", precision >= 0.99)
    result.add("collapse: recall 0", recall, "<= 0.01", recall <= 0.01)
    fid = frechet_distance(*feature_stats(collapsed), *feature_stats(a))
    result.add("collapse: FID far above the floor", fid, f"> {10 * floor:.4g}", fid > 10 * floor)


def _swap(result: SelfTest, a: np.ndarray, b: np.ndarray, floor: float, seed: int) -> None:
    back = _fid(b, a)
    gap = abs(back - floor) / max(abs(floor), 1e-12)
    result.add("swap: FID(A, B) = FID(B, A), relative gap", gap, "<= 1e-9", gap <= 1e-9)
    kid_ab, kid_ba = _kid(a, b, seed), _kid(b, a, seed)
    gap = abs(kid_ab - kid_ba) / max(abs(kid_ab), 1e-12)
    result.add("swap: KID(A, B) = KID(B, A), relative gap", gap, "<= 1e-9", gap <= 1e-9)
    p_ab, r_ab = precision_recall(a, b)
    p_ba, r_ba = precision_recall(b, a)
    gap = abs(p_ab - r_ba) + abs(r_ab - p_ba)
    result.add("swap: precision(A, B) = recall(B, A)", gap, "= 0", gap == 0)
