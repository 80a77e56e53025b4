"""The HTTP layer of ``gannet playground``: static page + a small JSON API.

Standard library only (:class:`http.server.ThreadingHTTPServer`). Routes:

``GET /`` (also ``/index.html``, ``/app.js``, ``/style.css``)
    The page, from the package's ``static/`` folder.
``GET /api/health``
    ``{"ok": true, "version": ...}``.
``GET /api/analytic?mu_data=&sd_data=&mu_g=&sd_g=[&x_min=&x_max=&n=]``
    :func:`~gannet.playground.analytic.analytic_state` for p_data = N(mu_data, sd_data^2) and
    p_g = N(mu_g, sd_g^2): densities and D* on a display grid, C(G), JSD, gradient of C(G).
``POST /api/analytic/step`` ``{mu_data, sd_data, mu_g, sd_g, lr, steps, [x_min, x_max, n]}``
    ``steps`` gradient-descent steps on C(G) (:func:`~gannet.playground.analytic.analytic_step`),
    then the state at the new generator (as ``GET /api/analytic``).
``POST /api/live/start`` ``{data, loss, k, lr, [seed]}``
    A new :class:`~gannet.playground.live.LiveSession`: a real gannet Trainer (small MLPs, Adam,
    batch 256), in memory. Returns the session id and its state.
``POST /api/live/step`` ``{session, n}``
    ``n`` iterations of Algorithm 1 (``Trainer.alternating_iteration``), then the state.
``POST /api/live/stop`` ``{session}``
    Ends a session and frees it.

Malformed requests get a JSON error ``{"error": ...}`` with a 4xx status (400 bad input,
404 unknown path or session, 405 wrong method, 411/413 missing or oversized body) and the
server keeps serving.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, ClassVar

from gannet.errors import GannetError
from gannet.playground.analytic import (
    ANALYTIC_DEFAULTS,
    DISPLAY_POINTS,
    DISPLAY_RANGE,
    MU_RANGE,
    SD_RANGE,
    analytic_state,
    analytic_step,
)
from gannet.playground.live import LIVE_DATA, LIVE_LOSSES, LiveSession, SessionStore

__all__ = [
    "DEFAULT_PORT",
    "MAX_BODY_BYTES",
    "ApiError",
    "PlaygroundHandler",
    "PlaygroundServer",
    "serve",
]

DEFAULT_PORT = 8765
MAX_BODY_BYTES = 64 * 1024

_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}


class ApiError(Exception):
    """A request the API refuses: becomes ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = int(status)


# --------------------------------------------------------------------------- input checking


@dataclass(frozen=True)
class _Field:
    kind: str  # "number", "integer", "choice", "string"
    default: Any = None  # None: required
    lo: float = -math.inf
    hi: float = math.inf
    choices: tuple[str, ...] = ()


def _number(default: float | None, lo: float, hi: float) -> _Field:
    return _Field("number", default, lo, hi)


def _integer(default: int | None, lo: int, hi: int) -> _Field:
    return _Field("integer", default, lo, hi)


def _parse(
    values: Mapping[str, Any], spec: Mapping[str, _Field], *, strings: bool
) -> dict[str, Any]:
    """Check ``values`` against ``spec``: no unknown or missing fields, types, ranges.

    With ``strings=True`` (a query string) numbers arrive as text and are parsed here.
    """
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise ApiError(f"unknown field {unknown[0]!r}; expected fields: {', '.join(spec)}")
    out: dict[str, Any] = {}
    for name, field in spec.items():
        if name not in values:
            if field.default is None:
                raise ApiError(f"missing field {name!r}")
            out[name] = field.default
            continue
        raw = values[name]
        if field.kind in ("choice", "string"):
            if not isinstance(raw, str):
                raise ApiError(f"field {name!r} must be a string")
            if field.kind == "choice" and raw not in field.choices:
                raise ApiError(f"field {name!r} must be one of: {', '.join(field.choices)}")
            out[name] = raw
            continue
        value = _to_number(name, raw, integer=field.kind == "integer", strings=strings)
        if not field.lo <= value <= field.hi:
            raise ApiError(f"field {name!r} must be in [{field.lo:g}, {field.hi:g}], got {value!r}")
        out[name] = value
    return out


def _to_number(name: str, raw: Any, *, integer: bool, strings: bool) -> Any:
    what = "an integer" if integer else "a number"
    if strings and isinstance(raw, str):
        try:
            raw = int(raw) if integer else float(raw)
        except ValueError:
            raise ApiError(f"field {name!r} must be {what}, got {raw!r}") from None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ApiError(f"field {name!r} must be {what}, got {raw!r}")
    if integer and not isinstance(raw, int):
        if not (isinstance(raw, float) and raw.is_integer()):
            raise ApiError(f"field {name!r} must be {what}, got {raw!r}")
        raw = int(raw)
    if not math.isfinite(raw):
        raise ApiError(f"field {name!r} must be finite, got {raw!r}")
    return int(raw) if integer else float(raw)


_GAUSSIANS = {
    "mu_data": _number(ANALYTIC_DEFAULTS["mu_data"], *MU_RANGE),
    "sd_data": _number(ANALYTIC_DEFAULTS["sd_data"], *SD_RANGE),
    "mu_g": _number(ANALYTIC_DEFAULTS["mu_g"], *MU_RANGE),
    "sd_g": _number(ANALYTIC_DEFAULTS["sd_g"], *SD_RANGE),
}
_DISPLAY = {
    "x_min": _number(DISPLAY_RANGE[0], -50.0, 50.0),
    "x_max": _number(DISPLAY_RANGE[1], -50.0, 50.0),
    "n": _integer(DISPLAY_POINTS, 3, 4001),
}
_ANALYTIC_SPEC = {**_GAUSSIANS, **_DISPLAY}
_STEP_SPEC = {**_GAUSSIANS, "lr": _number(0.5, 1e-4, 5.0), "steps": _integer(1, 1, 200), **_DISPLAY}
_START_SPEC = {
    "data": _Field("choice", "gaussian-1d", choices=LIVE_DATA),
    "loss": _Field("choice", "non-saturating", choices=LIVE_LOSSES),
    "k": _integer(1, 1, 10),
    "lr": _number(1e-3, 1e-5, 0.05),
    "seed": _integer(0, 0, 2**31 - 1),
}
_SESSION_STEP_SPEC = {"session": _Field("string"), "n": _integer(1, 1, 500)}
_SESSION_SPEC = {"session": _Field("string")}


# --------------------------------------------------------------------------- HTTP


class PlaygroundHandler(BaseHTTPRequestHandler):
    """Routes requests to the static files and the JSON API; never lets an error escape."""

    server: PlaygroundServer
    server_version = "gannet-playground"
    timeout = 30  # seconds a connection may sit idle (no stuck threads)

    GET_ROUTES: ClassVar[dict[str, str]] = {
        "/api/health": "_health",
        "/api/analytic": "_analytic",
    }
    POST_ROUTES: ClassVar[dict[str, str]] = {
        "/api/analytic/step": "_analytic_step",
        "/api/live/start": "_live_start",
        "/api/live/step": "_live_step",
        "/api/live/stop": "_live_stop",
    }

    # -- dispatch --------------------------------------------------------------------

    def _dispatch(self) -> None:
        method = self.command
        try:
            parsed = urllib.parse.urlsplit(self.path)
            path = parsed.path
            if path in _STATIC:
                self._require(method, ("GET", "HEAD"))
                self._static(*_STATIC[path], head=method == "HEAD")
                return
            if path in self.GET_ROUTES:
                self._require(method, ("GET",))
                self._json(getattr(self, self.GET_ROUTES[path])(self._query(parsed.query)))
                return
            if path in self.POST_ROUTES:
                self._require(method, ("POST",))
                self._json(getattr(self, self.POST_ROUTES[path])(self._body()))
                return
            raise ApiError(f"no such path {path!r}", HTTPStatus.NOT_FOUND)
        except ApiError as e:
            self._json({"error": str(e)}, e.status)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # a bug: answer 500, keep serving
            self.log_error("internal error on %s %s: %r", method, self.path, e)
            self._json({"error": f"internal error: {type(e).__name__}: {e}"}, 500)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def _require(self, method: str, allowed: tuple[str, ...]) -> None:
        if method not in allowed:
            raise ApiError(
                f"{method} is not allowed here; use {' or '.join(allowed)}",
                HTTPStatus.METHOD_NOT_ALLOWED,
            )

    def _query(self, query: str) -> dict[str, str]:
        try:
            pairs = urllib.parse.parse_qsl(query, strict_parsing=bool(query), max_num_fields=32)
        except ValueError as e:
            raise ApiError(f"malformed query string: {e}") from None
        out: dict[str, str] = {}
        for key, value in pairs:
            if key in out:
                raise ApiError(f"field {key!r} is given twice")
            out[key] = value
        return out

    def _body(self) -> dict[str, Any]:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise ApiError("a POST needs a Content-Length header", HTTPStatus.LENGTH_REQUIRED)
        try:
            length = int(length_header)
        except ValueError:
            raise ApiError(f"bad Content-Length {length_header!r}") from None
        if length < 0:
            raise ApiError(f"bad Content-Length {length_header!r}")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            if length <= 16 * MAX_BODY_BYTES:  # read it, so the client sees our answer
                self.rfile.read(length)
            raise ApiError(
                f"request body too large ({length} bytes; at most {MAX_BODY_BYTES})",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        raw = self.rfile.read(length) if length else b""
        if len(raw) != length:
            raise ApiError("request body shorter than its Content-Length")
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ApiError(f"request body is not valid JSON: {e}") from None
        if not isinstance(body, dict):
            raise ApiError("request body must be a JSON object")
        return body

    # -- responses -------------------------------------------------------------------

    def _send(self, status: int, content_type: str, payload: bytes, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
        )
        self.end_headers()
        if not head:
            self.wfile.write(payload)

    def _json(self, obj: Any, status: int = HTTPStatus.OK) -> None:
        payload = json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()
        self._send(status, "application/json; charset=utf-8", payload)

    def _static(self, name: str, content_type: str, head: bool) -> None:
        payload = self.server.static(name)
        self._send(HTTPStatus.OK, content_type, payload, head=head)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def log_error(self, format: str, *args: Any) -> None:
        super().log_message(format, *args)  # errors are always shown

    # -- API -------------------------------------------------------------------------

    def _health(self, query: dict[str, str]) -> dict[str, Any]:
        import gannet

        _parse(query, {}, strings=True)
        return {"ok": True, "version": gannet.__version__}

    def _analytic(self, query: dict[str, str]) -> dict[str, Any]:
        a = _parse(query, _ANALYTIC_SPEC, strings=True)
        try:
            return analytic_state(**a)
        except GannetError as e:
            raise ApiError(str(e)) from None

    def _analytic_step(self, body: dict[str, Any]) -> dict[str, Any]:
        a = _parse(body, _STEP_SPEC, strings=False)
        try:
            mu_g, sd_g = analytic_step(
                a["mu_data"], a["sd_data"], a["mu_g"], a["sd_g"], a["lr"], a["steps"]
            )
            return analytic_state(
                a["mu_data"], a["sd_data"], mu_g, sd_g, a["x_min"], a["x_max"], a["n"]
            )
        except GannetError as e:
            raise ApiError(str(e)) from None

    def _live_start(self, body: dict[str, Any]) -> dict[str, Any]:
        a = _parse(body, _START_SPEC, strings=False)
        with self.server.training:
            try:
                session = LiveSession(a["data"], a["loss"], a["k"], a["lr"], a["seed"])
            except GannetError as e:
                raise ApiError(str(e)) from None
            state = session.state()
        self.server.sessions.add(session)
        return state

    def _live_step(self, body: dict[str, Any]) -> dict[str, Any]:
        a = _parse(body, _SESSION_STEP_SPEC, strings=False)
        session = self.server.sessions.get(a["session"])
        if session is None:
            raise ApiError(
                f"no live session {a['session']!r} (it ended or was never started); "
                "start one with POST /api/live/start",
                HTTPStatus.NOT_FOUND,
            )
        with self.server.training, session.lock:
            session.step(a["n"])
            return session.state()

    def _live_stop(self, body: dict[str, Any]) -> dict[str, Any]:
        a = _parse(body, _SESSION_SPEC, strings=False)
        if not self.server.sessions.remove(a["session"]):
            raise ApiError(f"no live session {a['session']!r}", HTTPStatus.NOT_FOUND)
        return {"stopped": a["session"]}


class PlaygroundServer(ThreadingHTTPServer):
    """The playground's HTTP server. Bound on creation; run it with :meth:`serve_forever`
    (blocking) or :meth:`start` (a daemon thread); :meth:`close` stops it and ends sessions."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, verbose: bool = False) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.verbose = verbose
        self.sessions = SessionStore()
        self.training = threading.Lock()
        """Serialises training and measuring: torch's RNG and thread pool are process-wide."""
        self._static_cache: dict[str, bytes] = {}
        self._running = False
        self._thread: threading.Thread | None = None
        super().__init__((host, port), PlaygroundHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def static(self, name: str) -> bytes:
        """A file of the page, read once from the package data."""
        if name not in self._static_cache:
            self._static_cache[name] = (
                resources.files(__package__).joinpath("static", name).read_bytes()
            )
        return self._static_cache[name]

    def serve_forever(self, poll_interval: float = 0.25) -> None:
        self._running = True
        try:
            super().serve_forever(poll_interval)
        finally:
            self._running = False

    def start(self) -> threading.Thread:
        """Serve in a daemon thread (for tests and notebooks); returns the thread."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="playground")
        self._thread.start()
        while not self._running and self._thread.is_alive():
            time.sleep(0.005)
        return self._thread

    def close(self) -> None:
        """Stop serving (if running), close the socket and end every live session."""
        if self._running:
            self.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.server_close()
        self.sessions.close_all()

    def __enter__(self) -> PlaygroundServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, verbose: bool = False
) -> PlaygroundServer:
    """Bind the playground server on ``host:port`` (port 0 = any free port) and return it.

    It is not serving yet: call ``serve_forever()`` (blocking) or ``start()`` (a background
    thread); ``close()`` stops it. Raises :class:`GannetError` when the address cannot be bound.
    """
    try:
        return PlaygroundServer(host, port, verbose=verbose)
    except OSError as e:
        hint = " (it is in use; choose another --port, or 0 for any free port)" if port else ""
        raise GannetError(f"cannot serve on {host}:{port}: {e.strerror or e}{hint}") from None
