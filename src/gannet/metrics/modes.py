"""Mode coverage: how many modes of the data a generator produces, and how evenly.

Two families, one idea (count samples per mode, compare the histogram with the uniform one):

* **2-D mixtures** (:func:`mixture_mode_stats`, metric ``"modes-2d"``): the ``ring`` (8
  Gaussians on a circle of radius 2, std 0.02) and ``grid`` (25 Gaussians on a 5x5 grid, std
  0.05) of ``mixture-2d``. The protocol of VEEGAN (Srivastava et al., 2017), also used by
  PacGAN (Lin et al., 2018) on the settings of unrolled GANs (Metz et al., 2017):

  - each sample is assigned to its **nearest mode** (Euclidean distance to the centres);
  - it is **high quality** when it lies within :data:`HIGH_QUALITY_STDS` = 3 standard
    deviations of that mode's centre (``||x - c|| <= 3 std``). For an isotropic 2-D Gaussian
    that holds with probability ``1 - exp(-9/2)`` = 98.9 %, the ceiling for perfect samples;
  - a mode is **covered** when at least ``min_count`` high-quality samples fall in it. The
    papers draw 2,500 samples and count a mode with at least one high-quality sample; the
    default here keeps that share as the number of samples changes:
    ``min_count = max(1, ceil(n_samples / 2500))`` (1 for 2,500 samples, 4 for 10,000), so
    a few stray samples in a large draw do not count as a mode;
  - ``kl_uniform`` = KL(p || u) between the histogram p of the high-quality samples over the
    M modes and the uniform distribution u = 1/M:
    ``sum_i p_i log(p_i M)``, with ``0 log 0 = 0`` (an empty mode adds nothing to the sum but
    raises the other p_i). 0 for a perfectly even spread, ``log(M / k)`` when k modes get
    equal shares and the rest none, at most ``log M``. Undefined (NaN, ``null`` in JSON)
    when there is no high-quality sample at all.

* **Classes of an image dataset** (:func:`classifier_mode_stats`, metric
  ``"modes-classifier"``): each sample is labelled by gannet's own classifier
  (:mod:`gannet.metrics.classifier`); a class is **covered** when it receives at least
  ``min_share`` of the samples, by default :data:`DEFAULT_FAIR_SHARE_FRACTION` = 10 % of its
  fair share, ``0.1 / K`` (1 % of the samples for the 10 MNIST digits). A lower bar would count the
  classifier's own mistakes (0.5-1 % of real test images, more on imperfect samples, spread
  over the wrong classes) as coverage; a class produced at a tenth of its rate is clearly
  being produced. ``kl_uniform`` is KL(predicted-class histogram || uniform) over all the
  samples, with the same conventions as above.

Everything is tensor code (no Python loop over samples); points are processed in blocks of
``chunk_size`` rows so memory stays bounded for any number of samples.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import torch
from torch import Tensor

from gannet.errors import GannetError
from gannet.files.jsonfloat import from_json_float, json_float
from gannet.metrics.base import METRICS, as_batch

if TYPE_CHECKING:  # pragma: no cover
    from gannet.metrics.classifier import Classifier

__all__ = [
    "DEFAULT_FAIR_SHARE_FRACTION",
    "HIGH_QUALITY_STDS",
    "LITERATURE_SAMPLES",
    "ClassStats",
    "ModeStats",
    "class_stats",
    "classifier_mode_stats",
    "default_min_count",
    "default_min_share",
    "kl_from_uniform",
    "mixture_mode_stats",
    "mode_stats",
]

HIGH_QUALITY_STDS = 3.0
"""A sample is high quality within this many standard deviations of its nearest mode."""

LITERATURE_SAMPLES = 2500
"""Samples drawn by VEEGAN and PacGAN, where one high-quality sample covers a mode."""

DEFAULT_FAIR_SHARE_FRACTION = 0.1
"""A class is covered when it gets at least this fraction of its fair share 1/K."""

_CHUNK = 65536


# --------------------------------------------------------------------------- shared pieces


def kl_from_uniform(counts: Tensor | np.ndarray | list[int]) -> float:
    """KL(p || uniform) in nats for the histogram ``counts`` over M bins.

    ``p = counts / counts.sum()``; ``KL = sum_i p_i log(p_i M)`` with ``0 log 0 = 0``.
    NaN when the histogram is empty (all counts 0). Computed in float64.
    """
    c = _tensor(counts).detach().to("cpu", torch.float64).reshape(-1)
    if c.numel() == 0:
        raise GannetError("kl_from_uniform needs at least one bin")
    if bool((c < 0).any()) or not bool(torch.isfinite(c).all()):
        raise GannetError("histogram counts must be finite and non-negative")
    total = float(c.sum())
    if total == 0:
        return float("nan")
    p = c / total
    nz = p > 0
    return float((p[nz] * torch.log(p[nz] * c.numel())).sum().clamp(min=0.0))


def default_min_count(n_samples: int) -> int:
    """High-quality samples a mode needs to count as covered: one per 2,500 samples (VEEGAN
    and PacGAN count one sample out of 2,500), at least 1."""
    return max(1, math.ceil(n_samples / LITERATURE_SAMPLES))


def default_min_share(n_classes: int) -> float:
    """Share of the samples a class needs to count as covered: 10 % of its fair share."""
    return DEFAULT_FAIR_SHARE_FRACTION / n_classes


def _tensor(data: Tensor | np.ndarray | list[Any]) -> Tensor:
    return data if isinstance(data, Tensor) else torch.as_tensor(np.asarray(data))


# --------------------------------------------------------------------------- 2-D mixtures


class JsonStats:
    """JSON round trip of a stats dataclass whose ``kl_uniform`` may be NaN (None in JSON)."""

    kl_uniform: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None)."""
        d = asdict(self)  # type: ignore[call-overload]
        d["kl_uniform"] = json_float(self.kl_uniform)
        return dict(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        d = dict(d)
        d["kl_uniform"] = from_json_float(d.get("kl_uniform"))
        return cls(**d)


@dataclass
class ModeStats(JsonStats):
    """Mode coverage of samples from a Gaussian mixture (see the module docstring)."""

    n_samples: int
    n_modes: int
    modes_covered: int
    """Modes holding at least ``min_count`` high-quality samples."""
    high_quality: int
    """Samples within ``threshold`` of their nearest mode."""
    high_quality_fraction: float
    """``high_quality / n_samples`` (at most ~0.989 for samples of the mixture itself)."""
    kl_uniform: float
    """KL(histogram of high-quality samples over modes || uniform), nats; NaN when none."""
    min_count: int
    std: float
    """Standard deviation of each mode."""
    threshold: float
    """Distance from a centre within which a sample is high quality (3 std)."""
    counts: list[int] = field(default_factory=list)
    """High-quality samples per mode, in the order of the centres."""
    kind: str = "custom"
    """``ring``, ``grid`` or ``custom`` (centres passed directly)."""

    @property
    def all_covered(self) -> bool:
        return self.modes_covered == self.n_modes

    def summary(self) -> str:
        """E.g. ``modes 8/8 covered, high quality 97.8 %, KL 0.004 nats``."""
        kl = "n/a" if math.isnan(self.kl_uniform) else f"{self.kl_uniform:.3f} nats"
        return (
            f"modes {self.modes_covered}/{self.n_modes} covered, high quality "
            f"{100 * self.high_quality_fraction:.1f} %, KL {kl}"
        )


def mode_stats(
    samples: Tensor | np.ndarray,
    centres: Tensor | np.ndarray,
    std: float,
    *,
    min_count: int | None = None,
    kind: str = "custom",
    chunk_size: int = _CHUNK,
) -> ModeStats:
    """Mode coverage of ``samples`` (n, d) for isotropic modes at ``centres`` (M, d).

    Args:
        samples: points, shape (n, d) (or (n, ...) flattening to d values).
        centres: the M mode centres.
        std: each mode's standard deviation; high quality = within 3 std of the centre.
        min_count: high-quality samples a mode needs to be covered (default
            :func:`default_min_count`).
        kind: a label copied into the result.
        chunk_size: rows per block of the distance computation.

    Non-finite samples (a diverged generator) count as low quality; they raise no error.
    The work is done on the CPU in float64 (n x d values are copied once).
    """
    x = as_batch("samples", samples)
    x = x.to("cpu").reshape(x.shape[0], -1).to(torch.float64)
    c = _tensor(centres).detach().to("cpu", torch.float64)
    if c.dim() != 2 or c.shape[0] == 0:
        raise GannetError(f"centres must have shape (M, d) with M >= 1, got {tuple(c.shape)}")
    if x.shape[1] != c.shape[1]:
        raise GannetError(
            f"samples have {x.shape[1]} values each but the modes are {c.shape[1]}-dimensional; "
            "pass samples of the mixture's data (e.g. shape (n, 2) for mixture-2d)"
        )
    if not (math.isfinite(std) and std > 0):
        raise GannetError(f"std must be positive and finite, got {std}")
    if chunk_size < 1:
        raise GannetError(f"chunk_size must be at least 1, got {chunk_size}")
    n, m = x.shape[0], c.shape[0]
    if min_count is None:
        min_count = default_min_count(n)
    if min_count < 1:
        raise GannetError(f"min_count must be at least 1, got {min_count}")
    threshold = HIGH_QUALITY_STDS * std
    # Nearest centre by ||x||^2 - 2 x.c + ||c||^2 (one matrix product per block), then the
    # distance to that centre recomputed directly, so the quality test is exact.
    c_sq = c.square().sum(dim=1)
    nearest = torch.empty(n, dtype=torch.int64)
    for start in range(0, n, chunk_size):
        block = x[start : start + chunk_size]
        d2 = torch.addmm(c_sq.unsqueeze(0), block, c.T, alpha=-2.0)  # (b, M), minus ||x||^2
        nearest[start : start + block.shape[0]] = d2.argmin(dim=1)
    dist2 = (x - c.index_select(0, nearest)).square().sum(dim=1)
    good = dist2 <= threshold * threshold  # NaN compares False: non-finite rows are not good
    counts = torch.bincount(nearest[good], minlength=m)
    n_good = int(good.sum())
    return ModeStats(
        n_samples=n,
        n_modes=m,
        modes_covered=int((counts >= min_count).sum()),
        high_quality=n_good,
        high_quality_fraction=n_good / n,
        kl_uniform=kl_from_uniform(counts),
        min_count=int(min_count),
        std=float(std),
        threshold=float(threshold),
        counts=[int(v) for v in counts.tolist()],
        kind=kind,
    )


@METRICS.register("modes-2d")
def mixture_mode_stats(
    samples: Tensor | np.ndarray, kind: str, *, min_count: int | None = None
) -> ModeStats:
    """Mode coverage of samples of the ``ring`` or ``grid`` mixture of ``mixture-2d``.

    Cheap enough to call during training (2,500 samples x 25 modes: well under a
    millisecond of arithmetic). See :func:`mode_stats` for the arguments.
    """
    from gannet.data.synthetic import mixture_2d_modes

    centres, std = mixture_2d_modes(kind)
    return mode_stats(samples, centres, std, min_count=min_count, kind=kind)


# --------------------------------------------------------------------------- image classes


@dataclass
class ClassStats(JsonStats):
    """Class coverage of samples as labelled by a classifier (see the module docstring)."""

    n_samples: int
    n_classes: int
    classes_covered: int
    """Classes receiving at least ``min_count`` (= ceil(min_share * n_samples)) samples."""
    kl_uniform: float
    """KL(predicted-class histogram || uniform), nats."""
    min_share: float
    min_count: int
    counts: list[int] = field(default_factory=list)
    """Samples per predicted class."""
    accuracy: float | None = None
    """Classifier accuracy on these rows, when their true labels were given (real data)."""

    @property
    def all_covered(self) -> bool:
        return self.classes_covered == self.n_classes

    def summary(self) -> str:
        """E.g. ``classes 10/10 covered, KL 0.012 nats``."""
        kl = "n/a" if math.isnan(self.kl_uniform) else f"{self.kl_uniform:.3f} nats"
        text = f"classes {self.classes_covered}/{self.n_classes} covered, KL {kl}"
        if self.accuracy is not None:
            text += f", classifier accuracy {100 * self.accuracy:.2f} %"
        return text


def class_stats(
    predictions: Tensor | np.ndarray,
    n_classes: int,
    *,
    min_share: float | None = None,
    labels: Tensor | np.ndarray | None = None,
) -> ClassStats:
    """Class coverage from predicted labels (n,) in [0, n_classes).

    ``labels`` (true classes, optional) adds the accuracy of the predictions.
    """
    p = _tensor(predictions).detach().to("cpu").reshape(-1)
    if p.numel() == 0:
        raise GannetError("no predictions to count; pass at least one sample")
    if p.is_floating_point() or p.is_complex():
        raise GannetError(f"predictions must be integer class indices, got {p.dtype}")
    if n_classes < 1:
        raise GannetError(f"n_classes must be at least 1, got {n_classes}")
    if int(p.min()) < 0 or int(p.max()) >= n_classes:
        raise GannetError(
            f"predicted classes range over [{int(p.min())}, {int(p.max())}], "
            f"outside [0, {n_classes - 1}]"
        )
    n = p.numel()
    if min_share is None:
        min_share = default_min_share(n_classes)
    if not (math.isfinite(min_share) and 0 < min_share <= 1):
        raise GannetError(f"min_share must be in (0, 1], got {min_share}")
    min_count = max(1, math.ceil(min_share * n - 1e-9))
    counts = torch.bincount(p.to(torch.int64), minlength=n_classes)
    accuracy = None
    if labels is not None:
        y = _tensor(labels).detach().to("cpu").reshape(-1)
        if y.numel() != n:
            raise GannetError(f"{y.numel()} labels for {n} predictions; pass one label each")
        accuracy = float((y.to(torch.int64) == p.to(torch.int64)).double().mean())
    return ClassStats(
        n_samples=n,
        n_classes=n_classes,
        classes_covered=int((counts >= min_count).sum()),
        kl_uniform=kl_from_uniform(counts),
        min_share=float(min_share),
        min_count=min_count,
        counts=[int(v) for v in counts.tolist()],
        accuracy=accuracy,
    )


@METRICS.register("modes-classifier")
def classifier_mode_stats(
    samples: Tensor | np.ndarray,
    classifier: Classifier,
    *,
    min_share: float | None = None,
    labels: Tensor | np.ndarray | None = None,
    batch_size: int = 1000,
) -> ClassStats:
    """Class coverage of image samples in [0, 1] labelled by ``classifier``.

    Args:
        samples: images (n, C, H, W) (or flattened) matching the classifier's input.
        classifier: a :class:`gannet.metrics.classifier.Classifier` (e.g. from
            :func:`gannet.metrics.classifier.cached_classifier`).
        min_share: share of the samples a class needs (default 10 % of 1/K).
        labels: true classes of ``samples`` (real data): adds the classifier's accuracy.
        batch_size: images per forward pass.
    """
    x = as_batch("samples", samples)
    if not bool(torch.isfinite(x).all()):
        raise GannetError("samples contain NaN or infinite values; check the model")
    predictions = classifier.predict(x, batch_size=batch_size)
    return class_stats(predictions, classifier.num_classes, min_share=min_share, labels=labels)
