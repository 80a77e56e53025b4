"""The HTTP server behind ``gannet playground``: static page + a small JSON API.

Standard library only (:class:`http.server.ThreadingHTTPServer`). Routes:

``GET /`` (also ``/index.html``, ``/app.js``, ``/style.css``)
    The page, from the package's ``static/`` folder.
``GET /api/health``
    ``{"ok": true, "version": ...}``.
``GET /api/analytic?mu_data=&sd_data=&mu_g=&sd_g=[&x_min=&x_max=&n=]``
    The game for p_data = N(mu_data, sd_data^2) and p_g = N(mu_g, sd_g^2), computed with
    :mod:`gannet.theory`: both densities and D* on a display grid, C(G), JSD and the gradient of
    C(G) in (mu_g, sd_g).
``POST /api/analytic/step`` ``{mu_data, sd_data, mu_g, sd_g, lr, steps, [x_min, x_max, n]}``
    ``steps`` gradient-descent steps on C(G) in the centre mu_g and the log-spread log sd_g,
    then the state at the new generator (as ``GET /api/analytic``).
``POST /api/live/start`` ``{data, loss, k, lr, [seed]}``
    A new live session: a real gannet :class:`~gannet.trainer.Trainer` (small MLPs, Adam,
    batch 256) in a temporary run folder. Returns the session id and its state.
``POST /api/live/step`` ``{session, n}``
    ``n`` iterations of Algorithm 1 (``Trainer.alternating_iteration``), then the state.
``POST /api/live/stop`` ``{session}``
    Ends a session and deletes its temporary folder.

Malformed requests get a JSON error ``{"error": ...}`` with a 4xx status (400 bad input,
404 unknown path or session, 405 wrong method, 411/413 missing or oversized body) and the
server keeps serving.
"""

from __future__ import annotations

import json
import math
import secrets
import shutil
import socket
import tempfile
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gannet import theory
from gannet.errors import GannetError

__all__ = [
    "ANALYTIC_DEFAULTS",
    "DEFAULT_PORT",
    "LIVE_DATA",
    "LIVE_LOSSES",
    "ApiError",
    "LiveSession",
    "PlaygroundServer",
    "analytic_state",
    "analytic_step",
    "serve",
]

DEFAULT_PORT = 8765
MAX_BODY_BYTES = 64 * 1024
MAX_SESSIONS = 4
"""Live sessions kept at once; starting another ends the least recently used one."""

ANALYTIC_DEFAULTS: dict[str, float] = {"mu_data": 1.0, "sd_data": 0.8, "mu_g": -2.5, "sd_g": 1.5}
"""The page's starting game: the generator well away from the data."""

MU_RANGE = (-5.0, 5.0)
SD_RANGE = (0.1, 3.0)
DISPLAY_RANGE = (-6.0, 6.0)
DISPLAY_POINTS = 481

LIVE_DATA = ("gaussian-1d", "ring", "grid")
LIVE_LOSSES = ("minimax", "non-saturating")
LIVE_GAUSSIAN = (3.0, 0.5)
"""Mean and std of the live 1-D data: away from where an untrained G puts its mass (near 0)."""

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


# --------------------------------------------------------------------------- the analytic game


def analytic_state(
    mu_data: float,
    sd_data: float,
    mu_g: float,
    sd_g: float,
    x_min: float = DISPLAY_RANGE[0],
    x_max: float = DISPLAY_RANGE[1],
    n: int = DISPLAY_POINTS,
) -> dict[str, Any]:
    """Everything the analytic view shows, computed with :mod:`gannet.theory`.

    C(G), the JSD and the gradient are integrals on the library's own grid
    (:func:`gannet.theory.gaussian_grid`, ±8 std, 4001 points); the curves are the densities and
    D*(x) = p_data / (p_data + p_g) evaluated pointwise on the display grid ``x_min..x_max``.
    """
    if not x_min < x_max:
        raise ApiError(f"x_min must be below x_max, got {x_min!r} and {x_max!r}")
    if n < 3:
        raise ApiError(f"n must be at least 3, got {n!r}")
    try:
        grid = theory.gaussian_grid([mu_data, mu_g], [sd_data, sd_g])
        criterion = theory.criterion_for_gaussians(mu_data, sd_data, mu_g, sd_g)
        divergence = theory.jsd(
            theory.gaussian_pdf(grid, mu_data, sd_data), theory.gaussian_pdf(grid, mu_g, sd_g), grid
        )
        grad_mu, grad_sd = theory.criterion_gradient_gaussians(mu_data, sd_data, mu_g, sd_g)
        x = np.linspace(x_min, x_max, n)
        p_data = theory.gaussian_pdf(x, mu_data, sd_data)
        p_g = theory.gaussian_pdf(x, mu_g, sd_g)
        d_star = theory.optimal_discriminator(p_data, p_g)
    except GannetError as e:
        raise ApiError(str(e)) from None
    return {
        "params": {"mu_data": mu_data, "sd_data": sd_data, "mu_g": mu_g, "sd_g": sd_g},
        "x": x.tolist(),
        "p_data": p_data.tolist(),
        "p_g": p_g.tolist(),
        "d_star": d_star.tolist(),
        "criterion": criterion,
        "jsd": divergence,
        "minus_log_4": theory.MINUS_LOG_4,
        "log_2": theory.LOG_2,
        "gradient": {"mu_g": grad_mu, "sd_g": grad_sd},
    }


def analytic_step(
    mu_data: float, sd_data: float, mu_g: float, sd_g: float, lr: float, steps: int = 1
) -> tuple[float, float]:
    """``steps`` gradient-descent steps on C(G) for the generator N(mu_g, sd_g^2).

    The spread moves in log space (so it stays positive): mu <- mu - lr dC/dmu,
    log sd <- log sd - lr sd dC/dsd (the chain rule). Both are clipped to the page's ranges.
    Uses :func:`gannet.theory.criterion_gradient_gaussians` (exact, not finite differences).
    """
    for _ in range(steps):
        try:
            grad_mu, grad_sd = theory.criterion_gradient_gaussians(mu_data, sd_data, mu_g, sd_g)
        except GannetError as e:
            raise ApiError(str(e)) from None
        mu_g = min(max(mu_g - lr * grad_mu, MU_RANGE[0]), MU_RANGE[1])
        sd_g = min(max(sd_g * math.exp(-lr * sd_g * grad_sd), SD_RANGE[0]), SD_RANGE[1])
    return mu_g, sd_g


# --------------------------------------------------------------------------- the real game


class LiveSession:
    """One live game: a gannet Trainer on toy data, stepped on request.

    Training is gannet's own Algorithm 1 (``Trainer.alternating_iteration``); this class only
    keeps the epoch bookkeeping that ``Trainer.fit`` would keep, and measures the state for the
    page (losses on a fresh evaluation batch, p_g, D on a grid).
    """

    EVAL_BATCH = 1024
    HIST_SAMPLES = 20000
    HIST_BINS = 90
    CURVE_POINTS = 241
    CLOUD_POINTS = 1000
    HEAT_SIZE = 40

    def __init__(self, data: str, loss: str, k: int, lr: float, seed: int = 0) -> None:
        from gannet.config import Config
        from gannet.data.synthetic import mixture_2d_modes
        from gannet.trainer import Trainer

        self.id = secrets.token_hex(8)
        self.settings = {"data": data, "loss": loss, "k": k, "lr": lr, "seed": seed}
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self.seconds = 0.0
        self.dim = 1 if data == "gaussian-1d" else 2
        config = Config()
        dc, mc, tc = config.data, config.model, config.train
        if data == "gaussian-1d":
            dc.name, (dc.mean, dc.std) = "gaussian-1d", LIVE_GAUSSIAN
            lo, hi = min(-2.0, dc.mean - 5 * dc.std), max(2.0, dc.mean + 5 * dc.std)
            self.modes: list[list[float]] = []
            self.mode_std = dc.std
        else:
            dc.name, dc.mixture = "mixture-2d", "ring" if data == "ring" else "grid"
            centres, self.mode_std = mixture_2d_modes(dc.mixture)
            self.modes = centres.tolist()
            edge = float(centres.abs().max()) + 1.0
            lo, hi = -edge, edge
        self.range = (lo, hi)
        dc.n_samples = 20000
        mc.generator, mc.discriminator = "mlp-g", "mlp-d"
        mc.z_dim, mc.noise = (2 if self.dim == 1 else 4), "normal"
        mc.g_hidden, mc.d_hidden = [64, 64], [64, 64]
        config.loss.name = loss
        config.optim.name, config.optim.lr, config.optim.betas = "adam", lr, [0.5, 0.999]
        tc.k, tc.batch_size, tc.seed = k, 256, seed
        tc.device, tc.threads, tc.progress, tc.n_fixed_samples = "cpu", 1, "none", 16
        self.tmp = Path(tempfile.mkdtemp(prefix="gannet-playground-"))
        try:
            self.trainer = Trainer.create(config, self.tmp / "run")
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self._epoch_started = False

    # -- training --------------------------------------------------------------------

    def step(self, n: int) -> None:
        """``n`` iterations of Algorithm 1 with gannet's trainer."""
        tr = self.trainer
        start = time.perf_counter()
        for _ in range(n):
            if tr.iteration_in_epoch == 0 or not self._epoch_started:
                tr._start_epoch()
                self._epoch_started = True
            tr.alternating_iteration()
            tr.step += 1
            tr.iteration_in_epoch += 1
            if tr.iteration_in_epoch == tr.iterations_per_epoch:
                tr.epoch += 1
                tr.iteration_in_epoch = 0
        self.seconds += time.perf_counter() - start

    # -- measuring -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the page draws: losses, D(x) and D(G(z)) means, p_g and D."""
        import torch

        tr = self.trainer
        G, D = tr.G, tr.D
        with torch.no_grad():
            x = tr.x_train[torch.randint(len(tr.x_train), (self.EVAL_BATCH,))]
            d_real = D(x).float()
            d_fake = D(G(tr.noise(self.EVAL_BATCH))).float()
            d_cost = float(tr.config.loss.d_cost_scale * tr.loss.d_cost(d_real, d_fake))
            g_cost = float(tr.loss.g_cost(d_fake))
            mean_real = float(torch.sigmoid(d_real).mean())
            mean_fake = float(torch.sigmoid(d_fake).mean())
            view = self._view_1d() if self.dim == 1 else self._view_2d()
        numbers = [d_cost, g_cost, mean_real, mean_fake]
        return {
            "session": self.id,
            "settings": self.settings,
            "dim": self.dim,
            "step": tr.step,
            "epoch": tr.epoch,
            "iterations_per_epoch": tr.iterations_per_epoch,
            "seconds": round(self.seconds, 3),
            "diverged": not all(math.isfinite(v) for v in numbers),
            "losses": {"d": _finite(d_cost), "g": _finite(g_cost)},
            "d_real": _finite(mean_real),
            "d_fake": _finite(mean_fake),
            "range": list(self.range),
            **view,
        }

    def _view_1d(self) -> dict[str, Any]:
        import torch

        tr = self.trainer
        lo, hi = self.range
        samples = tr.G(tr.noise(self.HIST_SAMPLES)).float().view(-1).numpy().astype(np.float64)
        counts, edges = np.histogram(samples, bins=self.HIST_BINS, range=(lo, hi))
        width = (hi - lo) / self.HIST_BINS
        density = counts / (len(samples) * width)  # mass outside the range is not drawn
        x = np.linspace(lo, hi, self.CURVE_POINTS)
        d = torch.sigmoid(tr.D(torch.from_numpy(x).float().view(-1, 1)).float()).numpy()
        mean, std = LIVE_GAUSSIAN
        return {
            "x": _rounded(x),
            "p_data": _rounded(theory.gaussian_pdf(x, mean, std)),
            "d": _rounded(d),
            "hist": {"edges": _rounded(edges), "density": _rounded(density)},
            "outside": float(np.mean((samples < lo) | (samples > hi))),
            "g_mean": _finite(float(np.mean(samples))),
            "g_std": _finite(float(np.std(samples))),
            "data_mean": mean,
            "data_std": std,
        }

    def _view_2d(self) -> dict[str, Any]:
        import torch

        tr = self.trainer
        lo, hi = self.range
        cloud = tr.G(tr.noise(self.CLOUD_POINTS)).float()
        # Cell centres, row-major with row 0 at the top (largest y), as the page draws them.
        size = self.HEAT_SIZE
        centres = lo + (torch.arange(size, dtype=torch.float32) + 0.5) * ((hi - lo) / size)
        ys, xs = torch.meshgrid(centres.flip(0), centres, indexing="ij")
        heat = torch.sigmoid(tr.D(torch.stack([xs.reshape(-1), ys.reshape(-1)], 1)).float())
        modes = torch.tensor(self.modes)
        nearest, which = torch.cdist(cloud, modes).min(1)
        # A sample belongs to its nearest mode when it lies within a quarter of the spacing
        # between modes; a mode is covered when it gets at least a fifth of its fair share.
        # "On target" is the strict measure of the mode-collapse papers: within 3 std.
        gaps = torch.cdist(modes, modes) + torch.eye(len(modes)) * 1e9
        radius = 0.25 * float(gaps.min())
        near = nearest < radius
        per_mode = torch.bincount(which[near], minlength=len(self.modes))
        fair = self.CLOUD_POINTS / len(self.modes)
        return {
            "samples": _rounded(cloud.numpy()),
            "heat": {"size": size, "values": _rounded(heat.numpy().reshape(size, size), 4)},
            "modes": self.modes,
            "mode_std": self.mode_std,
            "coverage": {
                "per_mode": per_mode.tolist(),
                "radius": round(radius, 4),
                "covered": int((per_mode >= 0.2 * fair).sum()),
                "modes": len(self.modes),
                "near": float(near.float().mean()),
                "high_quality": float((nearest < 3 * self.mode_std).float().mean()),
            },
        }

    def close(self) -> None:
        """Delete the temporary run folder."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _rounded(a: Any, digits: int = 5) -> Any:
    """A nested list with values rounded (short JSON) and non-finite values as null."""
    arr = np.asarray(a, dtype=np.float64)
    out = np.round(arr, digits).astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


class SessionStore:
    """Live sessions by id; at most ``MAX_SESSIONS`` (least recently used ones are ended)."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self._sessions: OrderedDict[str, LiveSession] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session: LiveSession) -> None:
        with self._lock:
            self._sessions[session.id] = session
            evicted = []
            while len(self._sessions) > self.limit:
                evicted.append(self._sessions.popitem(last=False)[1])
        for old in evicted:
            with old.lock:
                old.close()

    def get(self, session_id: str) -> LiveSession:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise ApiError(
                    f"no live session {session_id!r} (it ended or was never started); "
                    "start one with POST /api/live/start",
                    HTTPStatus.NOT_FOUND,
                )
            self._sessions.move_to_end(session_id)
            session.last_used = time.monotonic()
            return session

    def remove(self, session_id: str) -> bool:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        with session.lock:
            session.close()
        return True

    def close_all(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for s in sessions:
            s.close()

    def __len__(self) -> int:
        return len(self._sessions)


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

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
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
        return analytic_state(**_parse(query, _ANALYTIC_SPEC, strings=True))

    def _analytic_step(self, body: dict[str, Any]) -> dict[str, Any]:
        a = _parse(body, _STEP_SPEC, strings=False)
        mu_g, sd_g = analytic_step(
            a["mu_data"], a["sd_data"], a["mu_g"], a["sd_g"], a["lr"], a["steps"]
        )
        return analytic_state(
            a["mu_data"], a["sd_data"], mu_g, sd_g, a["x_min"], a["x_max"], a["n"]
        )

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
