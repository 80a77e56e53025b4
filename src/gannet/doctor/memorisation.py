"""Finding 6: memorisation: G's samples sit much closer to their nearest training image than
held-out real images do (the paper's Figure 2 shows each sample's nearest training example
"to demonstrate that the model has not memorized the training set"; here it is a number)."""

from __future__ import annotations

from torch import Tensor

from gannet.doctor.report import Finding

RATIO_FAILING = 0.5
"""Median nearest-training distance of samples over that of held-out real images that is
failing: samples twice as close to the training set as new real images are. A G that has
learned the distribution (not the set) draws samples no closer to the training images than
new real images are (ratio near 1 or above); a copy of the training images has ratio 0. The
measured ratios of benchmarks/doctor.py's runs are in docs/doctor.md."""
RATIO_WARNING = 0.75
"""The ratio that is a warning."""

TITLE = "memorisation"
WHY = (
    "G reproduces training images instead of new ones: with little data a strong G "
    "can fit the empirical distribution itself, the GAN objective's optimum (Goodfellow et "
    "al. 2014, Theorem 1) for a finite training set"
)
REMEDIES = [
    "more training data (a larger data.subset, or data.subset=0)",
    "--set train.augment='color,translation,cutout' (DiffAugment)",
    "stop earlier: a snapshot from before it began (--set train.snapshot_every=1)",
]


def detect(sample_nn: Tensor | None, held_out_nn: Tensor | None, image: bool) -> Finding:
    """Failing: median(sample -> train) / median(held-out -> train) < RATIO_FAILING; warning:
    < RATIO_WARNING; not judged for 2-D points (a density's samples are meant to fall on its
    dense regions) or without held-out rows."""
    finding = Finding("memorisation", TITLE, why=WHY, remedies=list(REMEDIES))
    if not image:
        finding.judged = False
        finding.summary = "not judged: not image data"
        return finding
    if sample_nn is None or held_out_nn is None:
        finding.judged = False
        finding.summary = "not judged: needs held-out real images and a checkpoint"
        return finding
    s, h = float(sample_nn.median()), float(held_out_nn.median())
    ratio = s / h if h > 0 else float("inf")
    finding.evidence = {"median_nn_samples": s, "median_nn_held_out": h, "ratio": ratio}
    finding.series = {
        "samples": sample_nn.tolist(),
        "held-out real": held_out_nn.tolist(),
    }
    finding.summary = (
        f"nearest training image: samples {s:.3g}, held-out real {h:.3g} (ratio {ratio:.2f})"
    )
    if ratio < RATIO_FAILING:
        finding.severity = "failing"
    elif ratio < RATIO_WARNING:
        finding.severity = "warning"
    return finding
