"""The HTTP layer of ``gannet playground``: static page + a small JSON API.

Standard library only (:class:`http.server.ThreadingHTTPServer`). Routes (the API itself is
:mod:`gannet.playground.routes`):

``GET /`` (also ``/index.html``, ``/style.css`` and the page's ES modules, ``/main.js`` ...)
    The page, from the package's ``static/`` folder: only the files named in PAGE_FILES.
``GET /api/health``
    ``{"ok": true, "version": ...}``.
``GET /api/analytic?mu_data=&sd_data=&mu_g=&sd_g=[&x_min=&x_max=&n=]``
    :func:`~gannet.playground.analytic.analytic_state` for p_data = N(mu_data, sd_data^2) and
    p_g = N(mu_g, sd_g^2): densities and D* on a display grid, C(G), JSD, gradient of C(G).
``POST /api/analytic`` the same fields as JSON, and ``data`` (a mixture or a drawn density).
``POST /api/analytic/step`` ``{..., lr, steps}``
    ``steps`` gradient-descent steps on C(G), then the state at the new generator and
    ``feedback`` on the last step.
``POST /api/live/start`` ``{data, loss, k, lr, [seed], [points]}``
    A new :class:`~gannet.playground.live.LiveSession`: a real gannet Trainer (small MLPs, Adam,
    batch 256), in memory. Returns the session id and its state.
``POST /api/live/step`` ``{session, n}``
    ``n`` iterations of Algorithm 1 (``Trainer.step()``), then the state.
``POST /api/live/phase`` ``{session}``
    One phase of an iteration (a D update or the G update), then the state.
``POST /api/live/stop`` ``{session}``
    Ends a session and frees it.
``GET /api/explorer/runs``, ``POST /api/explorer/{open,samples,plane,path,point}``
    The latent explorer over the runs folder given with ``--runs``
    (:mod:`gannet.playground.explorer_routes`).

Malformed requests get a JSON error ``{"error": ...}`` with a 4xx status (400 bad input,
404 unknown path or session, 405 wrong method, 411/413 missing or oversized body, 501 an
HTTP method the server does not implement) and the server keeps serving. HEAD answers carry
no body; a body that arrives more slowly than BODY_TIMEOUT seconds is refused.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, cast

from gannet.errors import GannetError
from gannet.playground.context import Route
from gannet.playground.explorer import Explorer, check_backend
from gannet.playground.explorer_routes import EXPLORER_GET_ROUTES, EXPLORER_POST_ROUTES
from gannet.playground.fields import ApiError, parse_json_object, short_repr
from gannet.playground.live import SessionStore
from gannet.playground.routes import GET_ROUTES as PAGE_GET_ROUTES
from gannet.playground.routes import POST_ROUTES as PAGE_POST_ROUTES

__all__ = [
    "BODY_TIMEOUT",
    "DEFAULT_PORT",
    "MAX_BODY_BYTES",
    "PAGE_FILES",
    "ApiError",
    "PlaygroundHandler",
    "PlaygroundServer",
    "serve",
]

DEFAULT_PORT = 8765
MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT = 2.0
"""Seconds a request body may take to arrive once its headers are in."""
IDLE_TIMEOUT = 10.0
"""Seconds a kept-alive connection may sit idle between requests."""
BACKLOG = 128
"""Connections the listening socket queues before refusing (64 parallel clients fit)."""

_MODULES = """main state api format plot analytic density live live-plot share
    explorer explorer-runs explorer-pad"""
PAGE_FILES = ("index.html", "style.css", *(f"{m}.js" for m in _MODULES.split()))
"""The files of static/ the server answers, an allow-list: the page, its style sheet and its
ES modules (main.js is the entry; index.html loads it, it imports the others)."""
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # ES modules need a JavaScript MIME type
}
_STATIC = {
    "/": ("index.html", _TYPES[".html"]),
    **{f"/{name}": (name, _TYPES[Path(name).suffix]) for name in PAGE_FILES},
}

GET_ROUTES: dict[str, Route] = {**PAGE_GET_ROUTES, **EXPLORER_GET_ROUTES}
POST_ROUTES: dict[str, Route] = {**PAGE_POST_ROUTES, **EXPLORER_POST_ROUTES}


class PlaygroundHandler(BaseHTTPRequestHandler):
    """Routes requests to the static files and the JSON API; never lets an error escape.
    Every answer, errors of the HTTP machinery included, is JSON (the page's files aside)."""

    server: PlaygroundServer
    server_version = "gannet-playground"
    timeout = IDLE_TIMEOUT  # no connection holds a thread for long
    error_sent = False
    error_content_type = "application/json; charset=utf-8"

    # -- dispatch --------------------------------------------------------------------

    def handle_one_request(self) -> None:
        """One request, as :class:`BaseHTTPRequestHandler` reads it, except that every
        request line it cannot serve gets a JSON 4xx: garbage, binary junk, an HTTP version
        other than 1.x (``HTTP/9.9``), an HTTP/0.9 line without a version, a blank line, or a
        line that does not end within BODY_TIMEOUT seconds of its first byte. (The standard
        handler answers HTTP/0.9-style, without a status line, or closes the connection.)"""
        self.error_sent = False
        try:
            if not cast(io.BufferedReader, self.rfile).peek(1):  # the client closed: no answer
                self.close_connection = True
                return
        except (TimeoutError, ConnectionError):  # an idle kept-alive connection
            self.close_connection = True
            return
        self.requestline = self.request_version = self.command = ""
        try:
            self.connection.settimeout(BODY_TIMEOUT)
            self.raw_requestline = self.rfile.readline(65537)
        except TimeoutError:
            self.send_error(
                HTTPStatus.REQUEST_TIMEOUT,
                f"the request line did not end within {BODY_TIMEOUT:g} s",
            )
            return
        except ConnectionError:
            self.close_connection = True
            return
        finally:
            self.connection.settimeout(self.timeout)
        try:
            if len(self.raw_requestline) > 65536:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.parse_request():
                if not self.error_sent:  # a blank request line
                    self.send_error(HTTPStatus.BAD_REQUEST, "empty request line")
                return
            if self.request_version == "HTTP/0.9":
                self.send_error(
                    HTTPStatus.BAD_REQUEST,
                    "a request line needs an HTTP version (e.g. 'GET / HTTP/1.1')",
                )
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(
                    HTTPStatus.NOT_IMPLEMENTED, f"unsupported method {short_repr(self.command)}"
                )
                return
            method()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True
        finally:
            if self.error_sent:
                self._drain()

    def _drain(self) -> None:
        """Read what the client already sent after a refused request line (its headers, the
        rest of the junk), so that closing does not reset the connection before it has read
        the answer. At most 1 MiB, waiting 0.1 s at most for each piece."""
        got = 0
        try:
            self.connection.settimeout(0.1)
            while got < 1 << 20 and (chunk := self.rfile.read1(65536)):
                got += len(chunk)
        except (TimeoutError, OSError):
            pass

    def _dispatch(self) -> None:
        method = self.command
        try:
            try:
                parsed = urllib.parse.urlsplit(self.path)
            except ValueError as e:
                raise ApiError(f"malformed request path: {e}") from None
            path = parsed.path
            if path in _STATIC:
                self._require(method, ("GET", "HEAD"))
                self._static(*_STATIC[path])
                return
            route: Route | None = None
            if method in ("GET", "HEAD") and path in GET_ROUTES:
                route, data = GET_ROUTES[path], self._query(parsed.query)
            elif method == "POST" and path in POST_ROUTES:
                route, data = POST_ROUTES[path], self._body()
            elif path in GET_ROUTES or path in POST_ROUTES:
                allowed = ["GET"] if path in GET_ROUTES else []
                allowed += ["POST"] if path in POST_ROUTES else []
                self._require(method, tuple(allowed))
            if route is None:
                raise ApiError(f"no such path {short_repr(path)}", HTTPStatus.NOT_FOUND)
            self._json(route(self.server, data))
        except ApiError as e:
            self._json({"error": str(e)}, e.status)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # a bug: answer 500, keep serving
            self.log_error("internal error on %s %s: %r", method, self.path[:200], e)
            self._json({"error": f"internal error: {type(e).__name__}: {e}"}, 500)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch
    do_OPTIONS = do_TRACE = do_CONNECT = _dispatch

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
                raise ApiError(f"field {short_repr(key)} is given twice")
            out[key] = value
        return out

    def _body(self) -> dict[str, Any]:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise ApiError("a POST needs a Content-Length header", HTTPStatus.LENGTH_REQUIRED)
        text = length_header.strip()
        if not text.isdigit() or len(text) > 12:
            self.close_connection = True
            raise ApiError(f"bad Content-Length {short_repr(length_header)}")
        length = int(text)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            if length <= 16 * MAX_BODY_BYTES:  # read it, so the client sees our answer
                self._read(length)
            raise ApiError(
                f"request body too large ({length} bytes; at most {MAX_BODY_BYTES})",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        raw = self._read(length)
        if len(raw) != length:
            self.close_connection = True
            raise ApiError(
                f"request body shorter than its Content-Length ({len(raw)} of {length} bytes "
                f"within {BODY_TIMEOUT:g} s)"
            )
        return parse_json_object(raw)

    def _read(self, length: int) -> bytes:
        """Up to ``length`` bytes of body, waiting at most BODY_TIMEOUT seconds in all."""
        chunks: list[bytes] = []
        got = 0
        deadline = time.monotonic() + BODY_TIMEOUT
        try:
            while got < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.connection.settimeout(left)
                chunk = self.rfile.read1(length - got)
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        except TimeoutError:
            pass
        finally:
            self.connection.settimeout(self.timeout)
        return b"".join(chunks)

    # -- responses -------------------------------------------------------------------

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'",
        )
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has headers only
            self.wfile.write(payload)

    def _json(self, obj: Any, status: int = HTTPStatus.OK) -> None:
        payload = json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()
        self._send(status, "application/json; charset=utf-8", payload)

    def _static(self, name: str, content_type: str) -> None:
        self._send(HTTPStatus.OK, content_type, self.server.static(name))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors of the HTTP machinery itself (a malformed request line, headers too long):
        JSON like every other answer, and no body for HEAD."""
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:  # a malformed request: a 4xx
            code, message = HTTPStatus.BAD_REQUEST, f"{message}; use HTTP/1.0 or HTTP/1.1"
        try:
            short, _ = self.responses.get(HTTPStatus(code), ("Error", ""))
        except ValueError:
            short = "Error"
        self.log_error("code %d, message %s", code, message)
        self.error_sent = True
        self.close_connection = True
        if not getattr(self, "request_version", "").startswith("HTTP/1."):
            self.request_version = "HTTP/1.0"  # a status line and headers, whatever was sent
        text = message or short
        payload = json.dumps({"error": f"{text} (HTTP {code})"}).encode()
        self.send_response(code, short)  # the details, which may echo junk, go in the body
        self.send_header("Content-Type", self.error_content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def log_error(self, format: str, *args: Any) -> None:
        if self.server.verbose or not format.startswith("code "):
            super().log_message(format, *args)  # bugs are always shown


class PlaygroundServer(ThreadingHTTPServer):
    """The playground's HTTP server. Bound on creation; run it with :meth:`serve_forever`
    (blocking) or :meth:`start` (a daemon thread); :meth:`close` stops it and ends sessions.

    It is the :class:`~gannet.playground.context.RouteContext` every route gets: its
    ``sessions``, ``explorer`` and ``training`` lock."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG

    def __init__(
        self,
        host: str,
        port: int,
        verbose: bool = False,
        runs: str | Path | None = None,
        backend: str = "eager",
    ) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.verbose = verbose
        self.sessions = SessionStore()
        self.explorer = Explorer(Path(runs) if runs is not None else None, backend)
        """The latent explorer's runs folder (None: no ``--runs``) and opened runs."""
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
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    verbose: bool = False,
    runs: str | Path | None = None,
    backend: str = "eager",
) -> PlaygroundServer:
    """Bind the playground server on ``host:port`` (port 0 = any free port) and return it.
    ``runs``: a folder of trained runs for the latent explorer tab (checked here);
    ``backend``: what draws its frames, ``eager``, ``pt2`` or ``onnx`` (an exported G).

    It is not serving yet: call ``serve_forever()`` (blocking) or ``start()`` (a background
    thread); ``close()`` stops it. Raises :class:`GannetError` when the address cannot be bound.
    """
    check_backend(backend)
    if runs is not None and not Path(runs).is_dir():
        raise GannetError(
            f"--runs {str(runs)!r} is not a folder; give the folder that holds your runs "
            "(e.g. runs/, where 'gannet train' writes them)"
        )
    try:
        return PlaygroundServer(host, port, verbose=verbose, runs=runs, backend=backend)
    except OSError as e:
        hint = " (it is in use; choose another --port, or 0 for any free port)" if port else ""
        raise GannetError(f"cannot serve on {host}:{port}: {e.strerror or e}{hint}") from None
