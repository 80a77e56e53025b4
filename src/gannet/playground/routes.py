"""The playground's JSON API: one function per route, from checked input to an answer.

Each route takes the server, typed as a :class:`~gannet.playground.context.RouteContext` (for
its sessions and training lock), and the request's fields (a query string's or a JSON body's)
and returns a JSON-able dict, or raises :class:`~gannet.playground.fields.ApiError`. The HTTP
layer, :mod:`gannet.playground.server`, imports these tables; this module does not import it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from gannet.errors import GannetError
from gannet.playground.analytic import (
    ANALYTIC_DEFAULTS,
    DISPLAY_POINTS,
    DISPLAY_RANGE,
    MU_RANGE,
    SD_RANGE,
    DataDensity,
    analytic_state,
    analytic_step,
    step_feedback,
)
from gannet.playground.context import Route, RouteContext
from gannet.playground.fields import ApiError, Field, choice, integer, number, parse
from gannet.playground.live import LIVE_DATA, LIVE_LOSSES, LiveSession

__all__ = ["GET_ROUTES", "POST_ROUTES"]

_GAUSSIANS = {
    "mu_data": number(ANALYTIC_DEFAULTS["mu_data"], *MU_RANGE),
    "sd_data": number(ANALYTIC_DEFAULTS["sd_data"], *SD_RANGE),
    "mu_g": number(ANALYTIC_DEFAULTS["mu_g"], *MU_RANGE),
    "sd_g": number(ANALYTIC_DEFAULTS["sd_g"], *SD_RANGE),
}
_DISPLAY = {
    "x_min": number(DISPLAY_RANGE[0], -50.0, 50.0),
    "x_max": number(DISPLAY_RANGE[1], -50.0, 50.0),
    "n": integer(DISPLAY_POINTS, 3, 4001),
}
_DATA = {"data": Field("any", {})}
_ANALYTIC_SPEC = {**_GAUSSIANS, **_DISPLAY}
_ANALYTIC_POST_SPEC = {**_ANALYTIC_SPEC, **_DATA}
_STEP_SPEC = {
    **_GAUSSIANS,
    "lr": number(0.5, 1e-4, 5.0),
    "steps": integer(1, 1, 200),
    **_DISPLAY,
    **_DATA,
}
_START_SPEC = {
    "data": choice("gaussian-1d", LIVE_DATA),
    "loss": choice("non-saturating", LIVE_LOSSES),
    "k": integer(1, 1, 10),
    "lr": number(1e-3, 1e-5, 0.05),
    "seed": integer(0, 0, 2**31 - 1),
    "points": Field("any", []),
    "density": Field("any", []),
}
_SESSION_STEP_SPEC = {"session": Field("string"), "n": integer(1, 1, 500)}
_SESSION_SPEC = {"session": Field("string")}


def _data_density(raw: Any, mu_data: float, sd_data: float) -> DataDensity:
    """The ``data`` field: {} or {"kind": "gaussian"} (mu_data, sd_data), {"kind": "mixture",
    "means", "sds", "weights"} or {"kind": "drawn", "values"}."""
    if not isinstance(raw, dict):
        raise ApiError("field 'data' must be an object with a 'kind'")
    kind = raw.get("kind", "gaussian")
    if kind == "gaussian" or not raw:
        parse(raw, {"kind": Field("string", "gaussian")}, strings=False)
        return DataDensity.gaussian(mu_data, sd_data)
    keys = {"mixture": ("means", "sds", "weights"), "drawn": ("values",)}.get(kind)
    if keys is None:
        raise ApiError("data 'kind' must be one of: gaussian, mixture, drawn")
    parse(raw, {"kind": Field("string"), **{k: Field("any") for k in keys}}, strings=False)
    lists = [_numbers(f"data '{key}'", raw[key]) for key in keys]
    try:
        if kind == "drawn":
            return DataDensity("drawn", values=lists[0])
        return DataDensity("mixture", lists[0], lists[1], lists[2])
    except GannetError as e:
        raise ApiError(str(e)) from None


def _numbers(what: str, values: Any) -> tuple[float, ...]:
    """A list of at most 200 finite numbers in [-1e6, 1e6]."""
    if not isinstance(values, list) or len(values) > 200:
        raise ApiError(f"{what} must be a list of at most 200 numbers")
    spec = {"value": number(None, -1e6, 1e6)}
    try:
        return tuple(parse({"value": v}, spec, strings=False)["value"] for v in values)
    except ApiError as e:
        raise ApiError(f"{what}: {e}") from None


def health(server: RouteContext, query: dict[str, Any]) -> dict[str, Any]:
    import gannet

    parse(query, {}, strings=True)
    return {"ok": True, "version": gannet.__version__}


def analytic(server: RouteContext, query: dict[str, Any]) -> dict[str, Any]:
    a = parse(query, _ANALYTIC_SPEC, strings=True)
    try:
        return analytic_state(**a)
    except GannetError as e:
        raise ApiError(str(e)) from None


def analytic_post(server: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _ANALYTIC_POST_SPEC, strings=False)
    a["data"] = _data_density(a["data"], a["mu_data"], a["sd_data"])
    try:
        return analytic_state(**a)
    except GannetError as e:
        raise ApiError(str(e)) from None


def analytic_train(server: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _STEP_SPEC, strings=False)
    data = _data_density(a["data"], a["mu_data"], a["sd_data"])
    try:
        before = analytic_step(
            a["mu_data"], a["sd_data"], a["mu_g"], a["sd_g"], a["lr"], a["steps"] - 1, data
        )
        after = analytic_step(a["mu_data"], a["sd_data"], *before, a["lr"], 1, data)
        state = analytic_state(
            a["mu_data"], a["sd_data"], *after, a["x_min"], a["x_max"], a["n"], data
        )
        state["feedback"] = step_feedback(data, before, after, a["lr"])
        return state
    except GannetError as e:
        raise ApiError(str(e)) from None


def live_start(server: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _START_SPEC, strings=False)
    if a["data"] != "painted" and a["points"]:
        raise ApiError("field 'points' goes with data 'painted' only")
    if a["data"] != "drawn-1d" and a["density"]:
        raise ApiError("field 'density' goes with data 'drawn-1d' only")
    density = _numbers("density", a["density"])
    with server.training:
        try:
            session = LiveSession(
                a["data"], a["loss"], a["k"], a["lr"], a["seed"], a["points"], density
            )
        except GannetError as e:
            raise ApiError(str(e)) from None
        state = session.state()
    server.sessions.add(session)
    return state


def _session(server: RouteContext, session_id: str) -> LiveSession:
    session = server.sessions.get(session_id)
    if session is None:
        raise ApiError(
            f"no live session {session_id[:40]!r} (it ended or was never started); "
            "start one with POST /api/live/start",
            HTTPStatus.NOT_FOUND,
        )
    return session


def live_step(server: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _SESSION_STEP_SPEC, strings=False)
    session = _session(server, a["session"])
    with server.training, session.lock:
        session.step(a["n"])
        return session.state()


def live_phase(server: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _SESSION_SPEC, strings=False)
    session = _session(server, a["session"])
    with server.training, session.lock:
        session.phase()
        return session.state()


def live_stop(server: RouteContext, body: dict[str, Any]) -> dict[str, Any]:
    a = parse(body, _SESSION_SPEC, strings=False)
    if not server.sessions.remove(a["session"]):
        raise ApiError(f"no live session {a['session'][:40]!r}", HTTPStatus.NOT_FOUND)
    return {"stopped": a["session"]}


GET_ROUTES: dict[str, Route] = {"/api/health": health, "/api/analytic": analytic}
POST_ROUTES: dict[str, Route] = {
    "/api/analytic": analytic_post,
    "/api/analytic/step": analytic_train,
    "/api/live/start": live_start,
    "/api/live/step": live_step,
    "/api/live/phase": live_phase,
    "/api/live/stop": live_stop,
}
