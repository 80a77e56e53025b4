"""Evaluation metrics, by name: ``METRICS.get("parzen")``.

Each entry is a callable; see the module that registers it for its signature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gannet.registry import Registry

METRICS: Registry[Callable[..., Any]] = Registry("metric")

# Imported after METRICS exists: each metric module registers itself into it.
import gannet.metrics.modes  # noqa: E402  (modes-2d, modes-classifier)
import gannet.metrics.parzen  # noqa: E402, F401

__all__ = ["METRICS"]
