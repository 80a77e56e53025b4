"""The playground's live view: gannet's own trainer on toy data, stepped on request.

:class:`LiveSession` is one game (a :class:`~gannet.training.Trainer` with small MLPs and no
hooks, so it writes no files) and measures what the page draws; :class:`SessionStore` keeps the
sessions of a server. Data: a 1-D Gaussian, a 1-D density drawn on the page, the
``mixture-2d`` ring and grid, or points painted on the page
(:mod:`gannet.playground.painted`). Mode coverage is :mod:`gannet.metrics.modes`: for the ring
and grid the numbers ``gannet eval modes`` reports, on as many fresh samples as it draws
(2,500); for a painted set the same metric with a mode at each dot.

Measuring never changes training: it runs under ``torch.random.fork_rng``, so a session
trained in one request of 100 iterations, in 100 requests of one, or one phase at a time
(:meth:`LiveSession.phase`) ends with the same weights.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from gannet.playground import measure
from gannet.playground.analytic import DataDensity
from gannet.playground.painted import (
    DRAWN_RANGE,
    PAINT_RANGE,
    PAINT_STD,
    check_heights,
    check_points,
    drawn_dataset,
    painted_dataset,
    painted_mode_stats,
)
from gannet.training.stats import DStep, StepResult

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

    from gannet.metrics.modes import ModeStats

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

LIVE_DATA = ("gaussian-1d", "drawn-1d", "ring", "grid", "painted")
LIVE_LOSSES = ("minimax", "non-saturating")
LIVE_GAUSSIAN = (3.0, 0.5)
"""Mean and std of the live 1-D data: away from where an untrained G puts its mass (near 0)."""


class LiveSession:
    """One live game: a gannet Trainer on toy data, stepped on request.

    Training is gannet's own Algorithm 1, driven through the trainer's public API:
    :meth:`step` calls ``Trainer.step()`` (the same bookkeeping as ``fit``); :meth:`phase`
    runs one iteration in slow motion, one ``Trainer.d_step`` or ``Trainer.g_step`` per call.
    """

    CLOUD_POINTS = 1000

    def __init__(
        self,
        data: str,
        loss: str,
        k: int,
        lr: float,
        seed: int = 0,
        points: Sequence[Sequence[float]] | None = None,
        density: Sequence[float] | None = None,
    ) -> None:
        from gannet.config import Config
        from gannet.data.synthetic import mixture_2d_modes
        from gannet.training import Trainer

        self.id = secrets.token_hex(8)
        self.settings: dict[str, Any] = {"data": data, "loss": loss, "k": k, "lr": lr, "seed": seed}
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self.seconds = 0.0
        self.dim = 1 if data.endswith("-1d") else 2
        self.mixture: str | None = None
        """``ring`` or ``grid`` on those 2-D data (the ``kind`` of the mode metric), else None."""
        self.points: Tensor | None = None
        """The painted dots (data ``painted``), else None."""
        self.mode_samples: Tensor | None = None
        """The samples of G behind the last 2-D ``coverage`` (the page draws the first
        ``CLOUD_POINTS``)."""
        self.phase_index = 0
        """The next phase of the iteration in progress: 0..k-1 D updates, k the G update."""
        self.last_phase: dict[str, Any] | None = None
        self.last_d: DStep | None = None
        """The last D update of the iteration in progress (slow motion)."""
        config = Config()
        dc, mc, tc = config.data, config.model, config.train
        dataset = None
        self.modes: list[list[float]] = []
        self.pdf = DataDensity.gaussian(*LIVE_GAUSSIAN).pdf
        """The 1-D data density (the page draws it)."""
        if data == "gaussian-1d":
            dc.name, (dc.mean, dc.std) = "gaussian-1d", LIVE_GAUSSIAN
            lo, hi = min(-2.0, dc.mean - 5 * dc.std), max(2.0, dc.mean + 5 * dc.std)
            self.mode_std = dc.std
        elif data == "drawn-1d":
            heights = check_heights(density or [])
            self.settings["density"] = heights.tolist()
            self.pdf = DataDensity("drawn", values=tuple(heights.tolist())).pdf
            dataset = drawn_dataset(heights, seed)
            (lo, hi), self.mode_std = DRAWN_RANGE, 0.0
        elif data == "painted":
            self.points = check_points(points or [])
            self.settings["points"] = self.points.tolist()
            dataset = painted_dataset(self.points, seed)
            self.modes, self.mode_std = self.points.tolist(), PAINT_STD
            lo, hi = PAINT_RANGE
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
        mc.z_dim, mc.noise = 2, "normal"  # 2-D noise: the manifold view shows all of it
        mc.g_hidden, mc.d_hidden = [64, 64], [64, 64]
        config.loss.name = loss
        config.optim.name, config.optim.lr, config.optim.betas = "adam", lr, [0.5, 0.999]
        tc.k, tc.batch_size, tc.seed = k, 256, seed
        tc.device, tc.threads, tc.progress, tc.n_fixed_samples = "cpu", 1, "none", 16
        self.trainer = Trainer(config, dataset)  # no hooks: the live game writes no files

    # -- training --------------------------------------------------------------------

    def step(self, n: int) -> None:
        """``n`` iterations of Algorithm 1 with gannet's trainer (``Trainer.step()``); an
        iteration left half-done by :meth:`phase` is finished first (it counts as one)."""
        start = time.perf_counter()
        if self.phase_index:
            while self.phase_index:
                self._phase()
            n -= 1
        for _ in range(n):
            self.trainer.step()
        self.seconds += time.perf_counter() - start

    def phase(self) -> dict[str, Any]:
        """One phase of Algorithm 1 in slow motion: the next of the iteration's k
        discriminator updates (``Trainer.d_step`` on the minibatch ``Trainer.step()`` would
        use), or its generator update (``Trainer.g_step``), which ends the iteration. The
        same updates, in the same order, on the same minibatches and noise as ``step()``."""
        start = time.perf_counter()
        done = self._phase()
        self.seconds += time.perf_counter() - start
        return done

    def _phase(self) -> dict[str, Any]:
        tr, p, k = self.trainer, self.trainer.progress, self.trainer.config.train.k
        j = self.phase_index
        if j == 0:
            tr.begin_iteration()  # as Trainer.step() does
        if j < k:
            self.last_d = tr.d_step(*tr.batches.get(p.iteration_in_epoch * k + j))
            self.phase_index += 1
            done = {"name": "d", "index": j + 1, "k": k}
        else:
            assert self.last_d is not None
            tr.end_iteration(StepResult(self.last_d, tr.g_step(), tr.m * k))
            self.phase_index = 0
            done = {"name": "g", "index": 1, "k": k}
        self.last_phase = done
        return done

    # -- measuring -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the page draws, measured on fresh samples without changing training."""
        tr = self.trainer
        with torch.random.fork_rng(devices=[]):
            numbers = measure.losses(tr)
            view = self._view_1d() if self.dim == 1 else self._view_2d()
        k = tr.config.train.k
        return {
            "session": self.id,
            "settings": self.settings,
            "dim": self.dim,
            "step": tr.progress.step,
            "epoch": tr.progress.epoch,
            "iterations_per_epoch": tr.iterations_per_epoch,
            "seconds": round(self.seconds, 3),
            "phase": self.last_phase,
            "next_phase": (
                {"name": "d", "index": self.phase_index + 1, "k": k}
                if self.phase_index < k
                else {"name": "g", "index": 1, "k": k}
            ),
            "range": list(self.range),
            **numbers,
            **view,
        }

    def _view_1d(self) -> dict[str, Any]:
        lo, hi = self.range
        return measure.view_1d(self.trainer, lo, hi, self.pdf)

    def _view_2d(self) -> dict[str, Any]:
        from gannet.metrics.modes import LITERATURE_SAMPLES, mixture_mode_stats

        tr = self.trainer
        lo, hi = self.range
        # Coverage is gannet's mode metric (nearest mode; high quality within 3 std; covered
        # with at least min_count high-quality samples) on as many samples as `gannet eval
        # modes` draws (2,500). The page draws the first CLOUD_POINTS of them.
        with torch.no_grad():
            samples = tr.G(tr.noise(LITERATURE_SAMPLES)).float()
        self.mode_samples = samples
        stats: ModeStats
        if self.points is not None:
            stats = painted_mode_stats(samples, self.points)
        else:
            assert self.mixture is not None
            stats = mixture_mode_stats(samples, self.mixture)
        return {
            "samples": measure.rounded(samples[: self.CLOUD_POINTS].numpy()),
            "heat": measure.heat_map(tr, lo, hi),
            "manifold": measure.manifold(tr),
            "arrows": measure.arrows(tr, samples[: measure.ARROWS]),
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
