"""Feature metrics by name: which metric of which extractor, and their values named as they
appear in results, metrics.jsonl and ``gannet info`` (``fid_mnist-classifier``,
``kid_inception``, ``precision_cifar10-classifier``, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gannet.errors import GannetError
from gannet.metrics.base import METRICS

FEATURE_METRICS = ("fid", "kid", "prc")
"""The metrics that compare two feature sets (registered in :data:`METRICS`)."""


def parse_metric(spec: str, default_extractor: str) -> tuple[str, str]:
    """``"fid"`` -> (fid, default_extractor); ``"kid_inception"`` -> (kid, inception);
    ``"fid_mnist-classifier"`` -> (fid, mnist-classifier-v1): the name results carry."""
    from gannet.metrics.features import EXTRACTORS, canonical_extractor

    metric, _, extractor = spec.partition("_")
    extractor = extractor or default_extractor
    if metric not in FEATURE_METRICS or extractor not in EXTRACTORS:
        raise GannetError(
            f"unknown feature metric {spec!r}; write METRIC or METRIC_EXTRACTOR with METRIC "
            f"one of {', '.join(FEATURE_METRICS)} and EXTRACTOR one of "
            f"{', '.join(EXTRACTORS.names())} (e.g. fid_mnist-classifier)"
        )
    return metric, canonical_extractor(extractor)


def named_scores(
    metrics: list[str], extractor: str, real: np.ndarray, fake: np.ndarray, **options: Any
) -> dict[str, float]:
    """Each metric of ``metrics`` on one pair of feature sets, its values keyed
    ``<value>_<extractor>`` (e.g. ``fid_inception``, ``recall_mnist-classifier``)."""
    out: dict[str, float] = {}
    for metric in dict.fromkeys(metrics):
        if metric not in FEATURE_METRICS:
            raise GannetError(f"{metric!r} is not a feature metric ({', '.join(FEATURE_METRICS)})")
        for key, value in METRICS.get(metric)(real, fake, **options).items():
            out[f"{key}_{extractor}"] = value
    return out


def classifier_fid(samples: Any, reference: Any, dataset: str) -> dict[str, float]:
    """``{"fid_<dataset>-classifier-v<N>": value}`` of ``samples`` against ``reference``
    (images or flattened rows) with gannet's shipped classifier of ``dataset`` (else the one
    cached on this machine, named without a version); ``{}`` when there is none."""
    from gannet.metrics.classifier import SUPPORTED, has_classifier
    from gannet.metrics.features import as_images, make_extractor

    if dataset not in SUPPORTED or not has_classifier(dataset):
        return {}
    extractor = make_extractor(f"{dataset}-classifier")
    real = as_images(reference)
    fake = as_images(samples, tuple(real.shape[1:]))
    return named_scores(["fid"], extractor.name, extractor.features(real), extractor.features(fake))
