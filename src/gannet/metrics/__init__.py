"""Evaluation metrics, by name: ``METRICS.get("parzen")``.

Each entry is a callable; see the module that registers it for its signature. The registry
itself is in :mod:`gannet.metrics.base`; importing this package imports the metric modules,
which register themselves into it.
"""

from gannet.metrics import (  # noqa: F401  (each registers its metrics)
    cas,  # cas
    classify,  # classify
    frechet,  # fid
    kid,  # kid
    modes,  # modes-2d, modes-classifier
    parzen,  # parzen
    prc,  # prc
)
from gannet.metrics.base import METRICS

__all__ = ["METRICS"]
