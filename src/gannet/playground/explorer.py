"""The latent explorer's model side: the runs found in a folder, a small cache of opened
runs, and frames (G over a batch of noise vectors) with their timing.

Nothing here writes a file: runs are read with :func:`gannet.load_run` (and their
``metrics.jsonl`` and ``eval/*.json``) and every frame is an in-memory PNG.

**Eager or exported G.** A frame comes from a :class:`FrameSource`: the noise's size and
prior, the classes, whether truncation applies, and ``generate(z, labels, psi)``.
:func:`open_source` picks it by the explorer's backend (``gannet playground --runs DIR
--backend``): :class:`EagerSource` (G as ``gannet.load_run`` rebuilds it, in eval mode, no
gradients) or :class:`ExportedSource` (G exported by ``gannet export`` into a private temporary
folder when the run is opened, and every frame drawn by that file through
``gannet.trained.exporting.load_exported``: what a deployment would run).
"""

from __future__ import annotations

import base64
import io
import json
import math
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from PIL import Image

from gannet.errors import GannetError
from gannet.files.rundir import CHECKPOINT, CONFIG, METRICS, is_run_dir

__all__ = [
    "ANCHORS",
    "BACKENDS",
    "CACHE_SIZE",
    "MAX_IMAGES",
    "MAX_RUNS",
    "MAX_VALUES",
    "EagerSource",
    "Explorer",
    "ExportedSource",
    "Frame",
    "FrameSource",
    "find_runs",
    "open_source",
    "run_summary",
]

MAX_RUNS = 200
"""Runs listed at most (the first by path)."""
CACHE_SIZE = 2
"""Opened runs kept in memory; the least recently used is dropped past this."""
MAX_IMAGES = 100
"""Images in one frame at most (a 10 x 10 plane, 10 paths of 10 steps)."""
MAX_VALUES = 2_000_000
"""Output values (images x channels x height x width) in one frame at most."""
ANCHORS = 64
"""Samples a seed gives to pick from: sample i of seed s is row i of 64 draws of the prior."""
TAIL_BYTES = 64 * 1024
"""The end of ``metrics.jsonl`` read for a run's latest metrics."""
EVAL_FILES = 12
"""``eval/*.json`` files summarised per run at most."""
BACKENDS = ("eager", "pt2", "onnx")
"""What draws the frames: the eager G, or G exported as a torch.export program or for ONNX
Runtime (fp32)."""


class FrameSource(Protocol):
    """What a frame needs of a generator, eager or exported."""

    z_dim: int
    noise: str  # "uniform" or "normal", as model.noise
    num_classes: int  # 0: unconditional
    truncation: bool  # whether generate() takes psi < 1
    sample_shape: tuple[int, ...]
    kind: str  # what draws the frames: "eager", "pt2 fp32", "onnx fp32"

    def drawn_by(self, psi: float | None) -> str:
        """What draws a frame with truncation ``psi`` (as the page shows it)."""
        ...

    def generate(
        self, z: torch.Tensor, labels: torch.Tensor | None, psi: float | None
    ) -> torch.Tensor:
        """G(z[, labels]) as float32 (N, C, H, W) in [0, 1], on the CPU."""
        ...


class EagerSource:
    """A run's G (the EMA average when it kept one) as :func:`gannet.load_run` builds it."""

    kind = "eager"
    """What draws the frames, as the page shows it."""

    def __init__(self, path: Path) -> None:
        from gannet.trained.run import load_run
        from gannet.trained.truncation import supports_truncation

        with torch.random.fork_rng(devices=[]):  # building G draws initial weights
            run = load_run(path)
        self.run = run
        mc = run.config.model
        self.z_dim = int(mc.z_dim)
        self.noise = str(mc.noise)
        self.num_classes = int(run.num_classes)
        self.truncation = supports_truncation(run.generator)
        self.step = run.step
        self.uses_ema = run.uses_ema
        z = torch.zeros(1, self.z_dim)
        self.sample_shape = tuple(self.generate(z, self._labels(1), None).shape[1:])

    def drawn_by(self, psi: float | None) -> str:
        return self.kind

    def _labels(self, n: int) -> torch.Tensor | None:
        return torch.zeros(n, dtype=torch.long) if self.num_classes else None

    def generate(
        self, z: torch.Tensor, labels: torch.Tensor | None, psi: float | None
    ) -> torch.Tensor:
        g = self.run.generator
        extra = {"truncation": psi} if psi is not None and psi < 1.0 else {}
        with torch.inference_mode():
            out = g(z, **extra) if labels is None else g(z, labels, **extra)
        return out.float().cpu()


class ExportedSource:
    """A run's G exported in ``fmt`` (fp32) to a temporary folder of its own (never into the
    run) and served from that file. The truncation slider needs psi per frame, which an export
    bakes in once: frames with psi < 1 are drawn by the eager G, and say so."""

    def __init__(self, path: Path, fmt: str) -> None:
        from gannet.trained.exporting import export_generator, load_exported

        self.eager = EagerSource(path)
        self.z_dim, self.noise = self.eager.z_dim, self.eager.noise
        self.num_classes, self.truncation = self.eager.num_classes, self.eager.truncation
        self.sample_shape, self.step = self.eager.sample_shape, self.eager.step
        self.uses_ema = self.eager.uses_ema
        self.kind = f"{fmt} fp32"
        self.folder = tempfile.TemporaryDirectory(prefix="gannet-explorer-")
        out = Path(self.folder.name) / ("g.onnx" if fmt == "onnx" else "g.pt2")
        export_generator(self.eager.run, out, fmt=fmt)
        self.exported = load_exported(out, threads=torch.get_num_threads())

    def drawn_by(self, psi: float | None) -> str:
        return self.eager.kind if psi is not None and psi < 1.0 else self.kind

    def generate(
        self, z: torch.Tensor, labels: torch.Tensor | None, psi: float | None
    ) -> torch.Tensor:
        if self.drawn_by(psi) == self.eager.kind:
            return self.eager.generate(z, labels, psi)
        return self.exported(z, labels)  # float32 on the CPU, under inference mode already


def check_backend(backend: str) -> None:
    """Refuse an unknown backend, or one this machine cannot run, in one line."""
    if backend not in BACKENDS:
        raise GannetError(
            f"unknown explorer backend {backend!r}; choose one of: {', '.join(BACKENDS)}"
        )
    if backend != "eager":
        from gannet.trained.exporting.formats import missing_for

        if reason := missing_for(backend, "fp32"):
            raise GannetError(reason)


def open_source(path: Path, backend: str = "eager") -> FrameSource:
    """The generator behind the explorer's frames for the run at ``path``."""
    if backend == "eager":
        return EagerSource(path)
    return ExportedSource(path, backend)


@dataclass
class Frame:
    """One answer's picture: a PNG of the image grid, its layout and what it took."""

    png: bytes
    rows: int
    cols: int
    cell: tuple[int, int]
    pad: int
    generate_ms: float
    encode_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "image": "data:image/png;base64," + base64.b64encode(self.png).decode("ascii"),
            "rows": self.rows,
            "cols": self.cols,
            "cell": list(self.cell),
            "pad": self.pad,
            "count": self.rows * self.cols,
            "ms": {"generate": round(self.generate_ms, 3), "encode": round(self.encode_ms, 3)},
        }


def render(
    source: FrameSource,
    z: torch.Tensor,
    cols: int,
    labels: torch.Tensor | None = None,
    psi: float | None = None,
    pad: int = 2,
) -> Frame:
    """G over the rows of ``z`` as a grid of ``cols`` columns, timed (generating, encoding)."""
    from gannet.files.pictures import image_grid

    start = time.perf_counter()
    images = source.generate(z, labels, psi)
    mid = time.perf_counter()
    grid = image_grid(images, nrow=cols, pad=pad)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    end = time.perf_counter()
    rows = math.ceil(len(z) / cols)
    cell = (int(images.shape[-2]), int(images.shape[-1]))
    return Frame(buffer.getvalue(), rows, cols, cell, pad, (mid - start) * 1e3, (end - mid) * 1e3)


# --------------------------------------------------------------------------- the runs folder


def find_runs(root: Path, depth: int = 2) -> list[Path]:
    """Run folders at ``root`` or up to ``depth`` levels under it (sorted, at most MAX_RUNS);
    hidden folders and a run's own sub-folders are not searched."""
    found: list[Path] = []
    level = [root]
    for _ in range(depth + 1):
        below: list[Path] = []
        for folder in level:
            if is_run_dir(folder):
                found.append(folder)
                continue
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir())
            except OSError:
                continue
            below += [p for p in children if not p.name.startswith(".")]
        level = below
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())[:MAX_RUNS]


def _last_record(path: Path) -> dict[str, Any]:
    """The last logging record of ``metrics.jsonl`` (reading only its end; event lines such
    as a rollback's are skipped); {} if none."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - TAIL_BYTES))
            lines = f.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "event" not in record:
            return record
    return {}


def _numbers(record: dict[str, Any], limit: int) -> dict[str, float | int]:
    """The finite numeric top-level values of ``record`` (at most ``limit``)."""
    out: dict[str, float | int] = {}
    for key, value in record.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        out[str(key)[:60]] = value
        if len(out) >= limit:
            break
    return out


def _evals(folder: Path) -> dict[str, dict[str, float | int]]:
    out: dict[str, dict[str, float | int]] = {}
    for p in sorted(folder.glob("*.json"))[:EVAL_FILES]:
        try:
            result = json.loads(p.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(result, dict):
            out[p.stem] = _numbers(result, 6)
    return out


def run_summary(root: Path, path: Path) -> dict[str, Any]:
    """What the run picker shows of a run: its id (path under ``root``), data, models,
    progress, latest metrics and evaluations. A damaged file leaves its part empty."""
    from gannet.config import Config

    summary: dict[str, Any] = {"id": path.relative_to(root).as_posix(), "name": path.name}
    try:
        c = Config.load(path / CONFIG)
        summary.update(
            dataset=c.data.name,
            generator=c.model.generator,
            z_dim=c.model.z_dim,
            noise=c.model.noise,
            conditional=bool(c.model.conditional),
        )
    except (GannetError, OSError, ValueError) as e:
        summary["problem"] = str(e).splitlines()[0][:200]
    try:
        status = json.loads((path / "run.json").read_text())
    except (OSError, ValueError):
        status = {}
    if isinstance(status, dict):
        summary.update({k: status.get(k) for k in ("status", "step", "epoch") if k in status})
    summary["has_checkpoint"] = (path / CHECKPOINT).is_file()
    summary["metrics"] = _numbers(_last_record(path / METRICS), 12)
    summary["eval"] = _evals(path / "eval")
    return summary


class Explorer:
    """The explorer's state in a server: the runs folder and a small cache of opened runs.

    ``root`` None: no runs folder was given (``gannet playground`` without ``--runs``)."""

    def __init__(self, root: Path | None, backend: str = "eager") -> None:
        check_backend(backend)
        self.backend = backend
        """What draws the frames (:data:`BACKENDS`)."""
        self.root = root.resolve() if root is not None else None
        self.lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int, int], FrameSource] = OrderedDict()
        self._found: dict[str, Path] = {}

    def _scan(self) -> list[Path]:
        assert self.root is not None
        found = find_runs(self.root)
        self._found = {p.relative_to(self.root).as_posix(): p for p in found}
        return found

    def runs(self) -> list[dict[str, Any]]:
        if self.root is None:
            return []
        return [run_summary(self.root, p) for p in self._scan()]

    def locate(self, run_id: str) -> Path | None:
        """The folder of a listed run by its id; None for anything that is not one (no path
        outside the runs folder can be named: ids come only from scanning the folder)."""
        if self.root is None:
            return None
        path = self._found.get(run_id)
        if path is None or not is_run_dir(path):  # a run added or removed since: look again
            self._scan()
            path = self._found.get(run_id)
        return path

    def source(self, path: Path, loading: AbstractContextManager[Any] | None = None) -> FrameSource:
        """The opened run at ``path``: from the cache unless its checkpoint changed since.
        ``loading`` (e.g. the server's training lock) is held while a run is loaded only."""
        try:
            st = (path / CHECKPOINT).stat()
            key = (str(path), st.st_mtime_ns, st.st_size)
        except OSError:
            key = (str(path), 0, 0)
        with self.lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            with loading if loading is not None else nullcontext():
                source = open_source(path, self.backend)
            for old in [k for k in self._cache if k[0] == key[0]]:
                del self._cache[old]
            self._cache[key] = source
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return source
