"""Floats in JSON files: NaN and infinity written as ``null``, read back as NaN.

JSON has no NaN or infinity. Python's :mod:`json` writes them anyway, as the tokens ``NaN``
and ``Infinity`` that strict readers (browsers' ``JSON.parse``, ``jq``) reject. gannet writes
such a value as ``null`` instead, with :func:`json_float`, and reads ``null`` back as NaN with
:func:`from_json_float`::

    d = {"kl_uniform": json_float(stats.kl_uniform)}      # NaN -> None -> null
    kl = from_json_float(d.get("kl_uniform"))              # null/missing -> NaN

An infinite value comes back as NaN too (both mean "no number"). This module imports nothing
from gannet, so any module can use it.
"""

from __future__ import annotations

import math

__all__ = ["from_json_float", "json_float"]


def json_float(v: float) -> float | None:
    """``v`` itself when it is finite, else None (JSON ``null``) for NaN, +inf and -inf."""
    return v if math.isfinite(v) else None


def from_json_float(v: float | None) -> float:
    """Inverse of :func:`json_float`: None becomes NaN, a number becomes a float."""
    return float("nan") if v is None else float(v)
