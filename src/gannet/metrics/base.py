"""The metric registry. Each metric module registers its entries here (and
:mod:`gannet.metrics` imports those modules), so the modules import the registry, never the
package that imports them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gannet.registry import Registry

METRICS: Registry[Callable[..., Any]] = Registry("metric")

__all__ = ["METRICS"]
