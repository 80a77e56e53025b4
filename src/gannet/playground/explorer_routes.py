"""The latent explorer's JSON API (``gannet playground --runs DIR``): list the runs, open
one, and answer frames of its G over chosen noise vectors.

``GET /api/explorer/runs``
    ``{"enabled", "runs": [...]}``: each run's id, data, models, progress, latest metrics
    (the last line of ``metrics.jsonl``) and evaluations (``eval/*.json``).
``POST /api/explorer/open`` ``{run}``
    Loads the run (cached) and describes its G: z size and prior, classes, truncation.
``POST /api/explorer/samples`` ``{run, seed, count, [class], [truncation]}``
    The first ``count`` of the seed's 64 samples (:data:`~gannet.playground.explorer.ANCHORS`),
    the ones the page picks from.
``POST /api/explorer/plane`` ``{run, seed, a, b, u, v, span, size, ...}``
    A ``size`` x ``size`` grid of the plane ``z = u z_a + v z_b`` spanned by samples a and b
    (through the origin; (1, 0) is sample a, (0, 1) sample b), centred on (u, v), ``span``
    wide: columns go along u, rows down v.
``POST /api/explorer/path`` ``{run, seed, pairs: [[a, b], ...], steps, spherical, ...}``
    Figure 3: one row per pair, ``steps`` points from z_a to z_b (linear by default, as in the
    paper; great-circle slerp with ``spherical``).
``POST /api/explorer/point`` ``{run, (seed, index) or z, ...}``
    One image of one z (the per-dimension sliders), and that z.

Frames are bounded (:data:`~gannet.playground.explorer.MAX_IMAGES` images and
:data:`~gannet.playground.explorer.MAX_VALUES` output values); larger asks are a 400. Noise of
the uniform prior is clamped to its cube [-sqrt 3, sqrt 3]^d, where G was trained.
"""

from __future__ import annotations

import math
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import torch

from gannet.errors import GannetError
from gannet.playground.context import Route, RouteContext
from gannet.playground.explorer import (
    ANCHORS,
    MAX_IMAGES,
    MAX_VALUES,
    FrameSource,
    render,
)
from gannet.playground.fields import ApiError, Field, integer, number, parse, short_repr

__all__ = ["EXPLORER_GET_ROUTES", "EXPLORER_POST_ROUTES"]

MAX_SPAN = 20.0
"""Widest window on the plane, in units of the two samples."""
UV_RANGE = 50.0


_FRAME = {
    "run": Field("string"),
    "class": integer(-1, -1, 100_000),
    "truncation": number(1.0, 0.01, 1.0),
}
_SEED = {"seed": integer(0, 0, 2**31 - 1)}
_SAMPLES_SPEC = {**_FRAME, **_SEED, "count": integer(ANCHORS, 1, ANCHORS)}
_PLANE_SPEC = {
    **_FRAME,
    **_SEED,
    "a": integer(0, 0, ANCHORS - 1),
    "b": integer(1, 0, ANCHORS - 1),
    "u": number(0.5, -UV_RANGE, UV_RANGE),
    "v": number(0.5, -UV_RANGE, UV_RANGE),
    "span": number(2.0, 0.0, MAX_SPAN),
    "size": integer(5, 1, 10),
}
_PATH_SPEC = {
    **_FRAME,
    **_SEED,
    "pairs": Field("any"),
    "steps": integer(8, 2, 32),
    "spherical": Field("any", False),
}
_POINT_SPEC = {**_FRAME, **_SEED, "index": integer(0, 0, ANCHORS - 1), "z": Field("any", [])}


def _path(host: RouteContext, run_id: str) -> Path:
    if host.explorer.root is None:
        raise ApiError(
            "no runs folder: start the playground with --runs DIR to explore trained runs",
            HTTPStatus.NOT_FOUND,
        )
    path = host.explorer.locate(run_id)
    if path is None:
        raise ApiError(
            f"no run {short_repr(run_id)} in the runs folder; GET /api/explorer/runs lists them",
            HTTPStatus.NOT_FOUND,
        )
    return path


def _open(host: RouteContext, run_id: str) -> FrameSource:
    path = _path(host, run_id)
    try:
        # Loading builds modules and forks torch's global RNG meanwhile: not while a live
        # session trains (the training lock); a cached run needs no lock.
        source = host.explorer.source(path, host.training)
    except GannetError as e:
        raise ApiError(f"cannot open run {short_repr(run_id)}: {e}") from None
    if len(source.sample_shape) != 3 or source.sample_shape[0] not in (1, 3):
        raise ApiError(
            f"run {short_repr(run_id)} makes samples of shape {tuple(source.sample_shape)}, not "
            "1- or 3-channel images; the explorer shows image grids"
        )
    return source


def _labels(source: FrameSource, klass: int, n: int, run_id: str) -> torch.Tensor | None:
    if not source.num_classes:
        if klass != -1:
            raise ApiError(f"run {short_repr(run_id)} is not conditional: send no 'class'")
        return None
    if not 0 <= klass < source.num_classes:
        raise ApiError(
            f"run {short_repr(run_id)} is conditional: 'class' must be in "
            f"[0, {source.num_classes - 1}], got {klass}"
        )
    return torch.full((n,), klass, dtype=torch.long)


def _psi(source: FrameSource, psi: float, run_id: str) -> float | None:
    if psi == 1.0:
        return None
    if not source.truncation:
        raise ApiError(
            f"run {short_repr(run_id)}'s generator has no truncation trick (StyleGAN has it); "
            "send 'truncation' 1 or none"
        )
    return psi


def _anchors(source: FrameSource, seed: int) -> torch.Tensor:
    """The seed's 64 samples of the prior: sample i is row i."""
    from gannet.models import sample_noise

    gen = torch.Generator(device="cpu").manual_seed(seed)
    return sample_noise(ANCHORS, source.z_dim, source.noise, "cpu", gen)


def _bounded(source: FrameSource, z: torch.Tensor) -> torch.Tensor:
    if source.noise == "uniform":
        return z.clamp(-math.sqrt(3.0), math.sqrt(3.0))
    return z


def _frame(
    host: RouteContext, a: dict[str, Any], source: FrameSource, z: torch.Tensor, cols: int
) -> dict[str, Any]:
    n = len(z)
    values = n * math.prod(source.sample_shape)
    if n > MAX_IMAGES or values > MAX_VALUES:
        raise ApiError(
            f"a frame of {n} images ({values:,} values) is too large: at most {MAX_IMAGES} "
            f"images and {MAX_VALUES:,} values; ask for fewer"
        )
    labels = _labels(source, a["class"], n, a["run"])
    psi = _psi(source, a["truncation"], a["run"])
    start = time.perf_counter()
    frame = render(source, _bounded(source, z), cols, labels, psi)
    out = frame.to_json()
    out["ms"]["server"] = round((time.perf_counter() - start) * 1e3, 3)
    out["run"] = a["run"]
    out["drawn_by"] = source.drawn_by(psi)
    return out


# --------------------------------------------------------------------------- the routes


def explorer_runs(host: RouteContext, query: dict[str, Any]) -> dict[str, Any]:
    parse(query, {}, strings=True)
    ex = host.explorer
    return {
        "enabled": ex.root is not None,
        "root": str(ex.root) if ex.root is not None else None,
        "runs": ex.runs(),
    }


def explorer_open(host: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, {"run": Field("string")}, strings=False)
    source = _open(host, a["run"])
    return {
        "run": a["run"],
        "z_dim": source.z_dim,
        "noise": source.noise,
        "num_classes": source.num_classes,
        "truncation": source.truncation,
        "sample_shape": list(source.sample_shape),
        "anchors": ANCHORS,
        "max_images": MAX_IMAGES,
        "z_range": math.sqrt(3.0) if source.noise == "uniform" else 3.0,
        "generator": source.kind,
    }


def explorer_samples(host: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _SAMPLES_SPEC, strings=False)
    source = _open(host, a["run"])
    z = _anchors(source, a["seed"])[: a["count"]]
    return _frame(host, a, source, z, min(8, a["count"]))


def explorer_plane(host: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _PLANE_SPEC, strings=False)
    source = _open(host, a["run"])
    anchors = _anchors(source, a["seed"]).double()
    za, zb = anchors[a["a"]], anchors[a["b"]]
    size, half = a["size"], a["span"] / 2 if a["size"] > 1 else 0.0
    offsets = torch.linspace(-half, half, size, dtype=torch.float64)
    us, vs = a["u"] + offsets, a["v"] - offsets
    uu, vv = torch.meshgrid(us, vs, indexing="xy")  # rows: v from high to low; columns: u
    z = uu.reshape(-1, 1) * za + vv.reshape(-1, 1) * zb
    out = _frame(host, a, source, z.float(), size)
    out["plane"] = {"u": us.tolist(), "v": vs.tolist()}
    return out


def _pairs(raw: Any) -> list[tuple[int, int]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_IMAGES // 2:
        raise ApiError(f"field 'pairs' must be a list of 1 to {MAX_IMAGES // 2} [a, b] pairs")
    spec = {"i": integer(None, 0, ANCHORS - 1)}
    out = []
    for pair in raw:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ApiError("each of 'pairs' must be [a, b], two sample numbers")
        try:
            i, j = (parse({"i": v}, spec, strings=False)["i"] for v in pair)
        except ApiError as e:
            raise ApiError(f"pairs: {e}") from None
        out.append((i, j))
    return out


def explorer_path(host: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    from gannet.figures.interpolation import interpolate

    a = parse(body, _PATH_SPEC, strings=False)
    pairs = _pairs(a["pairs"])
    if not isinstance(a["spherical"], bool):
        raise ApiError("field 'spherical' must be true (slerp) or false (linear)")
    if len(pairs) * a["steps"] > MAX_IMAGES:
        raise ApiError(
            f"{len(pairs)} paths of {a['steps']} steps are {len(pairs) * a['steps']} images; "
            f"a frame holds at most {MAX_IMAGES}"
        )
    source = _open(host, a["run"])
    anchors = _anchors(source, a["seed"])
    z0 = anchors[[i for i, _ in pairs]]
    z1 = anchors[[j for _, j in pairs]]
    z = interpolate(z0, z1, a["steps"], spherical=a["spherical"]).reshape(-1, source.z_dim)
    out = _frame(host, a, source, z, a["steps"])
    out["path"] = {"spherical": a["spherical"], "pairs": [list(p) for p in pairs]}
    return out


def explorer_point(host: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _POINT_SPEC, strings=False)
    source = _open(host, a["run"])
    raw = a["z"]
    if raw == []:
        z = _anchors(source, a["seed"])[a["index"]]
    else:
        if not isinstance(raw, list) or len(raw) != source.z_dim:
            raise ApiError(f"field 'z' must be a list of {source.z_dim} numbers (this run's z)")
        spec = {"value": number(None, -100.0, 100.0)}
        try:
            z = torch.tensor([parse({"value": v}, spec, strings=False)["value"] for v in raw])
        except ApiError as e:
            raise ApiError(f"z: {e}") from None
    z = _bounded(source, z.float().reshape(1, -1))
    out = _frame(host, a, source, z, 1)
    out["z"] = [round(float(v), 6) for v in z[0]]
    return out


EXPLORER_GET_ROUTES: dict[str, Route] = {"/api/explorer/runs": explorer_runs}
EXPLORER_POST_ROUTES: dict[str, Route] = {
    "/api/explorer/open": explorer_open,
    "/api/explorer/samples": explorer_samples,
    "/api/explorer/plane": explorer_plane,
    "/api/explorer/path": explorer_path,
    "/api/explorer/point": explorer_point,
}
