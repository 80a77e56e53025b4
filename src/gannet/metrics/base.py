"""The metric registry. Each metric module registers its entries here (and
:mod:`gannet.metrics` imports those modules), so the modules import the registry, never the
package that imports them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gannet.errors import GannetError
from gannet.registry import Registry

METRICS: Registry[Callable[..., Any]] = Registry("metric")

__all__ = ["METRICS", "as_batch"]


def as_batch(name: str, data: Tensor | np.ndarray | list[Any]) -> Tensor:
    """``data`` as a detached tensor of at least one example, shape (n, ...), of real
    numbers; anything else is one GannetError line naming ``name``."""
    t = data if isinstance(data, Tensor) else torch.as_tensor(np.asarray(data))
    if t.is_complex():
        raise GannetError(f"{name} must be real numbers, got {t.dtype}")
    if t.dim() < 2:
        raise GannetError(
            f"{name} must be a batch of examples, shape (n, ...), got shape {tuple(t.shape)}; "
            "add a leading dimension for a single example"
        )
    if t.shape[0] == 0 or t[0].numel() == 0:
        raise GannetError(f"{name} is empty (shape {tuple(t.shape)}); pass at least one example")
    return t.detach()
