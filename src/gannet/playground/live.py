"""The playground's live view: gannet's own trainer on toy data, stepped on request.

:class:`LiveSession` is one game (a :class:`~gannet.training.Trainer` with small MLPs and no
hooks, so it writes no files) and measures what the page draws; :class:`SessionStore` keeps the
sessions of a server. Mode coverage on the 2-D mixtures is :mod:`gannet.metrics.modes`:
the numbers ``gannet eval modes`` reports, on as many fresh samples as it draws (2,500).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from gannet import theory
from gannet.jsonfloat import json_float

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

__all__ = [
    "LIVE_DATA",
    "LIVE_GAUSSIAN",
    "LIVE_LOSSES",
    "MAX_SESSIONS",
    "LiveSession",
    "SessionStore",
]

MAX_SESSIONS = 4
"""Live sessions kept at once; starting another ends the least recently used one."""

LIVE_DATA = ("gaussian-1d", "ring", "grid")
LIVE_LOSSES = ("minimax", "non-saturating")
LIVE_GAUSSIAN = (3.0, 0.5)
"""Mean and std of the live 1-D data: away from where an untrained G puts its mass (near 0)."""


class LiveSession:
    """One live game: a gannet Trainer on toy data, stepped on request.

    Training is gannet's own Algorithm 1 (``Trainer.alternating_iteration``); this class only
    drives it through its public ``Trainer.step()`` (the same bookkeeping as ``fit``), and
    measures the state for the page (losses on a fresh evaluation batch, p_g, D on a grid, and
    on 2-D data the mode coverage of :func:`gannet.metrics.modes.mixture_mode_stats`).
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
        from gannet.training import Trainer

        self.id = secrets.token_hex(8)
        self.settings = {"data": data, "loss": loss, "k": k, "lr": lr, "seed": seed}
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self.seconds = 0.0
        self.dim = 1 if data == "gaussian-1d" else 2
        self.mixture: str | None = None
        """``ring`` or ``grid`` on 2-D data (the ``kind`` of the mode metric), else None."""
        self.mode_samples: Tensor | None = None
        """The samples of G behind the last 2-D ``coverage`` (the page draws the first
        ``CLOUD_POINTS``)."""
        config = Config()
        dc, mc, tc = config.data, config.model, config.train
        if data == "gaussian-1d":
            dc.name, (dc.mean, dc.std) = "gaussian-1d", LIVE_GAUSSIAN
            lo, hi = min(-2.0, dc.mean - 5 * dc.std), max(2.0, dc.mean + 5 * dc.std)
            self.modes: list[list[float]] = []
            self.mode_std = dc.std
        else:
            dc.name, dc.mixture = "mixture-2d", "ring" if data == "ring" else "grid"
            self.mixture = dc.mixture
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
        self.trainer = Trainer(config)  # no hooks: the live game writes no files

    # -- training --------------------------------------------------------------------

    def step(self, n: int) -> None:
        """``n`` iterations of Algorithm 1 with gannet's trainer."""
        start = time.perf_counter()
        for _ in range(n):
            self.trainer.step()
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
            "step": tr.progress.step,
            "epoch": tr.progress.epoch,
            "iterations_per_epoch": tr.iterations_per_epoch,
            "seconds": round(self.seconds, 3),
            "diverged": not all(math.isfinite(v) for v in numbers),
            "losses": {"d": json_float(d_cost), "g": json_float(g_cost)},
            "d_real": json_float(mean_real),
            "d_fake": json_float(mean_fake),
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
            "g_mean": json_float(float(np.mean(samples))),
            "g_std": json_float(float(np.std(samples))),
            "data_mean": mean,
            "data_std": std,
        }

    def _view_2d(self) -> dict[str, Any]:
        import torch

        from gannet.metrics.modes import LITERATURE_SAMPLES, mixture_mode_stats

        tr = self.trainer
        lo, hi = self.range
        assert self.mixture is not None
        # Coverage is gannet's mode metric (nearest mode; high quality within 3 std; covered
        # with at least min_count high-quality samples) on as many samples as `gannet eval
        # modes` draws (2,500), exactly what it reports for them. The page draws the first
        # CLOUD_POINTS of them.
        samples = tr.G(tr.noise(LITERATURE_SAMPLES)).float()
        self.mode_samples = samples
        stats = mixture_mode_stats(samples, self.mixture)
        cloud = samples[: self.CLOUD_POINTS]
        # Cell centres, row-major with row 0 at the top (largest y), as the page draws them.
        size = self.HEAT_SIZE
        centres = lo + (torch.arange(size, dtype=torch.float32) + 0.5) * ((hi - lo) / size)
        ys, xs = torch.meshgrid(centres.flip(0), centres, indexing="ij")
        heat = torch.sigmoid(tr.D(torch.stack([xs.reshape(-1), ys.reshape(-1)], 1)).float())
        return {
            "samples": _rounded(cloud.numpy()),
            "heat": {"size": size, "values": _rounded(heat.numpy().reshape(size, size), 4)},
            "modes": self.modes,
            "mode_std": self.mode_std,
            "coverage": stats.to_dict(),
        }

    def close(self) -> None:
        """Nothing to release: the live game keeps no files (kept for the session store)."""


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

    def get(self, session_id: str) -> LiveSession | None:
        """The session (now the most recently used one), or None when there is none."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
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


def _rounded(a: Any, digits: int = 5) -> Any:
    """A nested list with values rounded (short JSON) and non-finite values as null."""
    arr = np.asarray(a, dtype=np.float64)
    out = np.round(arr, digits).astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()
