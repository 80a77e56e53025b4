"""gannet.files.jsonfloat: non-finite floats are written as JSON null and read back as NaN."""

from __future__ import annotations

import json
import math

import pytest

from gannet.files.jsonfloat import from_json_float, json_float


@pytest.mark.parametrize("v", [0.0, -1.5, 1e300, 3])
def test_finite_values_pass_through(v):
    assert json_float(v) == v and type(json_float(v)) is type(v)
    assert from_json_float(json_float(v)) == v and isinstance(from_json_float(v), float)


@pytest.mark.parametrize("v", [math.nan, math.inf, -math.inf])
def test_non_finite_values_become_null_and_come_back_as_nan(v):
    text = json.dumps({"x": json_float(v)}, allow_nan=False)  # strict JSON
    assert text == '{"x": null}'
    assert math.isnan(from_json_float(json.loads(text)["x"]))
