"""Checking the playground API's input: JSON bodies and query strings against a field spec.

Every problem is an :class:`ApiError` (a 4xx answer with one message), never another
exception: huge integers, 5,000-digit literals, deeply nested JSON, wrong types, values out of
range, unknown or missing fields.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

__all__ = [
    "MAX_DIGITS",
    "MAX_NESTING",
    "ApiError",
    "Field",
    "choice",
    "integer",
    "number",
    "parse",
    "parse_json_object",
    "short_repr",
]

MAX_DIGITS = 30
"""Longest integer literal accepted (any field's range fits in far fewer digits)."""
MAX_NESTING = 8
"""Deepest JSON nesting accepted (the API's deepest input, a list of points, needs 3)."""


class ApiError(Exception):
    """A request the API refuses: becomes ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = int(status)


@dataclass(frozen=True)
class Field:
    kind: str  # "number", "integer", "choice", "string", "any" (checked by the route)
    default: Any = None  # None: required
    lo: float = -math.inf
    hi: float = math.inf
    choices: tuple[str, ...] = ()


def number(default: float | None, lo: float, hi: float) -> Field:
    return Field("number", default, lo, hi)


def integer(default: int | None, lo: int, hi: int) -> Field:
    return Field("integer", default, lo, hi)


def choice(default: str | None, choices: tuple[str, ...]) -> Field:
    return Field("choice", default, choices=choices)


def short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 5,000-digit number is not echoed back)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for str()
        return "<a number too long to show>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse(values: Mapping[str, Any], spec: Mapping[str, Field], *, strings: bool) -> dict[str, Any]:
    """Check ``values`` against ``spec``: no unknown or missing fields, types, ranges.

    With ``strings=True`` (a query string) numbers arrive as text and are parsed here.
    """
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise ApiError(
            f"unknown field {short_repr(unknown[0])}; expected fields: {', '.join(spec) or 'none'}"
        )
    out: dict[str, Any] = {}
    for name, field in spec.items():
        if name not in values:
            if field.default is None:
                raise ApiError(f"missing field {name!r}")
            out[name] = field.default
            continue
        raw = values[name]
        if field.kind == "any":
            out[name] = raw
            continue
        if field.kind in ("choice", "string"):
            if not isinstance(raw, str):
                raise ApiError(f"field {name!r} must be a string")
            if field.kind == "choice" and raw not in field.choices:
                raise ApiError(f"field {name!r} must be one of: {', '.join(field.choices)}")
            out[name] = raw
            continue
        value = to_number(name, raw, integer=field.kind == "integer", strings=strings)
        if not field.lo <= value <= field.hi:
            raise ApiError(
                f"field {name!r} must be in [{field.lo:g}, {field.hi:g}], got {short_repr(value)}"
            )
        out[name] = value
    return out


def to_number(name: str, raw: Any, *, integer: bool, strings: bool) -> Any:
    """``raw`` as a finite float (or an int), or an :class:`ApiError` naming the field."""
    what = "an integer" if integer else "a number"
    if strings and isinstance(raw, str):
        if len(raw) > 64:
            raise ApiError(f"field {name!r} must be {what} of at most 64 characters")
        try:
            raw = int(raw) if integer else float(raw)
        except ValueError:
            raise ApiError(f"field {name!r} must be {what}, got {short_repr(raw)}") from None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ApiError(f"field {name!r} must be {what}, got {short_repr(raw)}")
    if integer and not isinstance(raw, int):
        if not (math.isfinite(raw) and raw.is_integer()):
            raise ApiError(f"field {name!r} must be {what}, got {short_repr(raw)}")
        raw = int(raw)
    if integer:
        return raw  # exact; the range check follows
    try:
        value = float(raw)
    except OverflowError:
        raise ApiError(f"field {name!r} is too large, got {short_repr(raw)}") from None
    if not math.isfinite(value):
        raise ApiError(f"field {name!r} must be finite, got {short_repr(raw)}")
    return value


def _int_literal(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ApiError(f"an integer of {len(text)} digits; numbers have at most {MAX_DIGITS}")
    return int(text)


def _float_literal(text: str) -> float:
    if len(text) > 64:
        raise ApiError(f"a number literal of {len(text)} characters; at most 64")
    return float(text)


def _constant(text: str) -> float:
    raise ApiError(f"{text} is not a number JSON allows; send finite numbers")


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, stopping once past ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object; an :class:`ApiError` for anything else."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(f"request body is not UTF-8: {e}") from None
    if not text.strip():
        return {}
    # Nesting is bounded before parsing (the parser recurses): count brackets outside strings.
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                raise ApiError(f"request body nests deeper than {MAX_NESTING} levels")
        elif ch in "]}":
            depth -= 1
    try:
        body = json.loads(
            text, parse_int=_int_literal, parse_float=_float_literal, parse_constant=_constant
        )
    except (json.JSONDecodeError, RecursionError, ValueError) as e:
        raise ApiError(f"request body is not valid JSON: {short_repr(str(e), 120)}") from None
    if not isinstance(body, dict):
        raise ApiError("request body must be a JSON object")
    if _depth(body, MAX_NESTING) > MAX_NESTING:  # belt and braces
        raise ApiError(f"request body nests deeper than {MAX_NESTING} levels")
    return body
