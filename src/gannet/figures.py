"""The paper's figures, drawn from gannet's own runs.

* Figure 1 (:func:`train_toy1d`, :func:`draw_toy1d`, :func:`animate_toy1d`): a 1-D GAN trained
  by gannet's trainer on ``gaussian-1d``, shown at four real moments of its run: (a) a partly
  trained D, (b) after extra D-only steps (the inner loop of Algorithm 1, D approaching
  D* = p_data / (p_data + p_g)), (c) after G steps against that D, (d) near equilibrium.
* Figure 2 (:func:`samples_with_neighbours`): a grid of samples whose last column holds, for
  the sample beside it, its nearest training example (evidence that G did not memorise).
* Figure 3 (:func:`interpolation_grid`): rows of images along paths between noise vectors.
* Conditional runs (:func:`class_samples`, :func:`class_grid`): one row per class, the same
  noise in every row (the paper's future work #1, p(x | c)).

The image figures work for every image run (any (C, H, W), grayscale or RGB); runs on vector
data (1-D, 2-D) raise :class:`GannetError`. All arrays returned are uint8 (H, W, C) pictures,
ready for :func:`gannet.plotting.save_png`.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import torch
from numpy.typing import NDArray

from gannet.config import Config, DataConfig
from gannet.errors import GannetError
from gannet.models import sample_noise
from gannet.plotting import image_grid
from gannet.run import Run

FloatArray: TypeAlias = NDArray[np.float64]

SQRT3 = math.sqrt(3.0)
"""The uniform prior's support is [-sqrt 3, sqrt 3] (unit variance)."""

NEIGHBOUR_COLOUR = (255, 204, 0)
"""The outline of the nearest-neighbour column (the paper outlines it in yellow)."""

PAD = 2
"""White pixels between images, as in :func:`gannet.plotting.image_grid`."""

GAP = 4
"""Extra white pixels between the samples and the outlined neighbour column."""

SAMPLE_BLOCK = 256
"""Samples per block of the nearest-neighbour search (see :func:`nearest_neighbours`)."""


# =========================================================================== Figure 2


def nearest_neighbours(
    samples: torch.Tensor | np.ndarray,
    train: torch.Tensor | np.ndarray,
    batch: int = 2048,
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample, the index of its nearest training example and the Euclidean distance.

    Exhaustive over the whole of ``train`` (no approximate search: the figure's claim is that
    the *nearest* example differs), using ||a||^2 + ||b||^2 - 2 a.b as matrix products in
    float64 on blocks of ``batch`` training rows x :data:`SAMPLE_BLOCK` samples, so memory
    stays bounded (about (batch + SAMPLE_BLOCK) x features + batch x SAMPLE_BLOCK doubles)
    whatever the size of the training set. Blocks are large on purpose: on a busy CPU each
    small matrix product pays a fixed thread-synchronisation cost. The returned distances are
    recomputed directly from the winning pairs, free of the expansion's cancellation error.
    Ties go to the lowest index.
    """
    a_all = torch.as_tensor(samples)
    b_all = torch.as_tensor(train)
    if batch < 1:
        raise GannetError(f"batch must be at least 1, got {batch}")
    if a_all.shape[0] == 0:
        raise GannetError("no samples to find neighbours for")
    if b_all.shape[0] == 0:
        raise GannetError("the training set is empty: no neighbours to find")
    a_all = a_all.reshape(a_all.shape[0], -1).to(torch.float64)
    b_all = b_all.reshape(b_all.shape[0], -1)
    if a_all.shape[1] != b_all.shape[1]:
        raise GannetError(
            f"samples have {a_all.shape[1]} values each but training examples have "
            f"{b_all.shape[1]}: they are not from the same space"
        )
    n = a_all.shape[0]
    a2 = (a_all * a_all).sum(1, keepdim=True)
    best_d2 = torch.full((n,), math.inf, dtype=torch.float64)
    best_i = torch.zeros(n, dtype=torch.long)
    for t0 in range(0, b_all.shape[0], batch):
        b = b_all[t0 : t0 + batch].to(torch.float64)
        b2 = (b * b).sum(1)
        for s0 in range(0, n, SAMPLE_BLOCK):
            s1 = s0 + SAMPLE_BLOCK
            d2 = a2[s0:s1] + b2 - 2.0 * (a_all[s0:s1] @ b.T)
            d, i = d2.min(1)
            d_best, i_best = best_d2[s0:s1], best_i[s0:s1]  # views: updated in place
            better = d < d_best
            d_best[better] = d[better]
            i_best[better] = i[better] + t0
    diff = a_all - b_all[best_i].to(torch.float64)
    return best_i, torch.linalg.vector_norm(diff, dim=1)


def samples_with_neighbours(
    run: Run,
    rows: int = 5,
    cols: int = 6,
    seed: int | None = None,
    *,
    train: torch.Tensor | None = None,
    data_dir: str | None = None,
    batch: int = 2048,
) -> np.ndarray:
    """Figure 2: ``rows`` x (``cols`` - 1) samples, then an outlined column holding, for the
    last sample of each row, its nearest training example in pixel space.

    ``train`` is the training set to search (N, C, H, W) in [0, 1]; by default the run's own
    training set is reloaded (``load_dataset(run.config.data)``, so a ``data.subset`` run
    searches the rows it was trained on), with ``data_dir`` overriding where its files are.
    Pass ``train`` for a run trained on an in-memory dataset, which cannot be reloaded.
    Samples are clamped to [0, 1] before the search, so the distance is between the
    pictures as shown. Returns an RGB uint8 array (the outline needs colour); see
    :func:`neighbour_layout` for where each image sits.
    """
    if rows < 1 or cols < 2:
        raise GannetError(
            f"need at least 1 row and 2 columns (samples + the neighbour column), "
            f"got rows={rows}, cols={cols}"
        )
    shape = image_shape(run)
    samples = run.sample(rows * (cols - 1), seed=seed).clamp(0, 1)
    if train is None:
        train = _load_train(run, data_dir)
    if tuple(train.shape[1:]) != shape:
        raise GannetError(
            f"the training set has examples of shape {tuple(train.shape[1:])}, but the run's "
            f"generator makes {shape}"
        )
    last = samples.view(rows, cols - 1, *shape)[:, -1]
    index, _ = nearest_neighbours(last, train, batch=batch)
    return compose_with_neighbours(samples, train[index].float(), cols)


def compose_with_neighbours(
    samples: torch.Tensor, neighbours: torch.Tensor, cols: int
) -> np.ndarray:
    """Tile samples (rows * (cols - 1), C, H, W) with image_grid, then the neighbours
    (rows, C, H, W) as one more column, outlined in :data:`NEIGHBOUR_COLOUR`."""
    rows = neighbours.shape[0]
    if samples.shape[0] != rows * (cols - 1):
        raise GannetError(f"expected {rows * (cols - 1)} samples, got {samples.shape[0]}")
    left = _rgb(image_grid(samples, nrow=cols - 1, pad=PAD))
    right = _rgb(image_grid(neighbours, nrow=1, pad=PAD))
    h, w = neighbours.shape[-2:]
    inside = np.zeros(right.shape[:2], dtype=bool)
    for r in range(rows):
        y = PAD + r * (h + PAD)
        inside[y : y + h, PAD : PAD + w] = True
    right[~inside] = NEIGHBOUR_COLOUR  # the padding around each neighbour is its outline
    gap = np.full((left.shape[0], GAP, 3), 255, dtype=np.uint8)
    body = np.concatenate([left, gap, right], axis=1)
    return np.pad(body, ((PAD, PAD), (PAD, PAD), (0, 0)), constant_values=255)


@dataclass(frozen=True)
class NeighbourLayout:
    """Where the images sit in :func:`compose_with_neighbours`' picture (unscaled pixels)."""

    rows: int
    cols: int
    height: int
    width: int

    def cell(self, row: int, col: int) -> tuple[int, int]:
        """Top-left (y, x) of the image at (row, col); col = cols - 1 is the neighbour."""
        y = 2 * PAD + row * (self.height + PAD)
        if col < self.cols - 1:
            return y, 2 * PAD + col * (self.width + PAD)
        left_width = (self.cols - 1) * (self.width + PAD) + PAD
        return y, PAD + left_width + GAP + PAD

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the whole picture."""
        grid_height = self.rows * (self.height + PAD) + PAD
        left_width = (self.cols - 1) * (self.width + PAD) + PAD
        right_width = self.width + 2 * PAD
        return grid_height + 2 * PAD, left_width + GAP + right_width + 2 * PAD


def neighbour_layout(run_or_shape: Run | tuple[int, ...], rows: int, cols: int) -> NeighbourLayout:
    """The layout of a Figure 2 picture, for finding (and checking) its cells."""
    shape = image_shape(run_or_shape) if isinstance(run_or_shape, Run) else run_or_shape
    return NeighbourLayout(rows, cols, shape[-2], shape[-1])


def _rgb(grid: np.ndarray) -> np.ndarray:
    return np.repeat(grid, 3, axis=2) if grid.shape[2] == 1 else grid.copy()


def _load_train(run: Run, data_dir: str | None) -> torch.Tensor:
    """The run's training set, reloaded from its config; refuses when the count differs from
    what the run trained on (e.g. a run on an in-memory dataset, whose config still names the
    default dataset)."""
    from gannet.data import load_dataset

    cfg = run.config.data
    if data_dir:
        cfg = DataConfig(**{**cfg.__dict__, "data_dir": data_dir})
    train = load_dataset(cfg).train
    trained = run.status.get("train_examples")
    if trained is not None and int(trained) != len(train):
        raise GannetError(
            f"the run trained on {trained} examples, but its config's dataset "
            f"{cfg.name!r} has {len(train)}; was it trained on in-memory data? pass the "
            "training tensor as train="
        )
    return train


# =========================================================================== Figure 3


def interpolate(
    z0: torch.Tensor, z1: torch.Tensor, steps: int, spherical: bool = False
) -> torch.Tensor:
    """Points from z0 to z1 (both included): shape (..., steps, d) for z0, z1 of shape (..., d).

    Linear: (1 - t) z0 + t z1, the paper's Figure 3. Spherical (``spherical=True``): slerp
    along the great circle, sin((1-t)w)/sin(w) z0 + sin(tw)/sin(w) z1 with w the angle
    between them. Slerp is meant for Gaussian priors: in high dimensions N(0, I) puts its mass
    near the sphere of radius sqrt(d), and the linear midpoint of two samples falls well
    inside it (norm about sqrt(d/2)), where G saw no training noise; slerp between equal-norm
    points keeps the norm. For nearly parallel or opposite vectors, or a zero vector, the
    angle is undefined and the path falls back to linear. Endpoints are returned exactly.
    """
    if steps < 2:
        raise GannetError(f"an interpolation needs at least 2 steps (its endpoints), got {steps}")
    if z0.shape != z1.shape or z0.dim() < 1:
        raise GannetError(
            f"z0 and z1 must have the same shape (..., d), got {z0.shape}, {z1.shape}"
        )
    a = z0.to(torch.float64).unsqueeze(-2)  # (..., 1, d)
    b = z1.to(torch.float64).unsqueeze(-2)
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64).unsqueeze(-1)  # (steps, 1)
    out = (1.0 - t) * a + t * b
    if spherical:
        na = torch.linalg.vector_norm(a, dim=-1, keepdim=True)
        nb = torch.linalg.vector_norm(b, dim=-1, keepdim=True)
        cos = ((a * b).sum(-1, keepdim=True) / (na * nb).clamp_min(1e-300)).clamp(-1.0, 1.0)
        omega = torch.arccos(cos)
        sin = torch.sin(omega)
        ok = (sin.abs() > 1e-6) & (na > 0) & (nb > 0)
        safe = torch.where(ok, sin, torch.ones_like(sin))
        slerp = (torch.sin((1.0 - t) * omega) * a + torch.sin(t * omega) * b) / safe
        out = torch.where(ok, slerp, out)
    out = out.to(z0.dtype)
    out[..., 0, :] = z0
    out[..., -1, :] = z1
    return out


def interpolation_grid(
    run: Run,
    rows: int = 8,
    steps: int = 10,
    spherical: bool = False,
    seed: int | None = None,
) -> np.ndarray:
    """Figure 3: each row shows G along a path from one noise vector to another.

    The pairs come from the run's prior with ``seed`` (default: the run's seed + 12345, as in
    :meth:`Run.sample`). Linear paths stay inside the uniform prior's cube (it is convex);
    a spherical path may leave it, so for a uniform prior its points are clamped into
    [-sqrt 3, sqrt 3]^d, where G was trained. Returns a uint8 (H, W, C) grid, one row per pair.
    """
    if rows < 1:
        raise GannetError(f"rows must be at least 1, got {rows}")
    image_shape(run)
    mc = run.config.model
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed if seed is not None else run.config.train.seed + 12345)
    z0 = sample_noise(rows, mc.z_dim, mc.noise, "cpu", gen)
    z1 = sample_noise(rows, mc.z_dim, mc.noise, "cpu", gen)
    z = interpolate(z0, z1, steps, spherical=spherical).reshape(rows * steps, mc.z_dim)
    if spherical and mc.noise == "uniform":
        z = z.clamp(-SQRT3, SQRT3)
    labels = None  # conditional runs: row r is class r mod num_classes
    if run.config.model.conditional:
        labels = (torch.arange(rows) % run.num_classes).repeat_interleave(steps)
    return image_grid(_generate(run, z, labels=labels), nrow=steps, pad=PAD)


def class_samples(
    run: Run, per_class: int = 10, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(samples, labels) of a conditional run, class-major: ``per_class`` samples of class 0,
    then of class 1, ...; sample j of every class uses the same noise z_j (drawn from the
    run's prior with ``seed``, default the run's seed + 12345), so a column shows what the
    class alone changes."""
    if not run.config.model.conditional:
        raise GannetError(
            f"run {str(run.path)!r} is not conditional (model.conditional = false); per-class "
            "samples need a run trained with model.conditional = true"
        )
    if per_class < 1:
        raise GannetError(f"per_class must be at least 1, got {per_class}")
    mc = run.config.model
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed if seed is not None else run.config.train.seed + 12345)
    z = sample_noise(per_class, mc.z_dim, mc.noise, "cpu", gen).repeat(run.num_classes, 1)
    labels = torch.arange(run.num_classes).repeat_interleave(per_class)
    return _generate(run, z, labels=labels), labels


def class_grid(run: Run, per_class: int = 10, seed: int | None = None) -> np.ndarray:
    """A uint8 (H, W, C) grid of an image run's :func:`class_samples`: row c holds class c."""
    image_shape(run)
    samples, _ = class_samples(run, per_class, seed)
    return image_grid(samples, nrow=per_class, pad=PAD)


def image_shape(run: Run | tuple[int, ...]) -> tuple[int, int, int]:
    """The (C, H, W) of a run's samples; GannetError unless they are 1- or 3-channel images."""
    if isinstance(run, Run):
        with torch.no_grad():
            shape = tuple(run.sample(1, seed=0).shape[1:])
        where = f"run {str(run.path)!r} (dataset {run.config.data.name!r})"
    else:
        shape, where = tuple(run), "these samples"
    if len(shape) != 3:
        raise GannetError(
            f"{where} makes vectors of shape {shape}, not images; figure samples/interpolate "
            "draw image grids (use 'gannet sample' for a histogram or scatter plot of 1-D/2-D "
            "data, or 'gannet figure toy1d')"
        )
    if shape[0] not in (1, 3):
        raise GannetError(f"{where} makes images with {shape[0]} channels; only 1 or 3 are drawn")
    return shape[0], shape[1], shape[2]


def _generate(
    run: Run, z: torch.Tensor, batch: int = 1000, labels: torch.Tensor | None = None
) -> torch.Tensor:
    device = next(run.generator.parameters()).device
    run.generator.eval()
    parts = []
    with torch.no_grad():
        for i in range(0, len(z), batch):
            zi = z[i : i + batch].to(device)
            if labels is None:
                parts.append(run.generator(zi).float().cpu())
            else:
                yi = labels[i : i + batch].to(device)
                parts.append(run.generator(zi, yi).float().cpu())
    return torch.cat(parts)


def png_scale(width: int) -> int:
    """Upscale small images 2x in PNGs, as ``gannet sample`` does."""
    return 2 if width <= 32 else 1


# =========================================================================== Figure 1

TOY1D_STEPS = 1200
"""Default generator steps of the toy run: near equilibrium in about 20 s on 2 CPU cores."""

ARROWS = 12
"""z -> G(z) arrows drawn under each panel."""


def toy1d_config(steps: int = TOY1D_STEPS, seed: int = 0) -> Config:
    """The toy run of Figure 1: uniform 1-D z, small MLPs, N(4, 0.5^2) data.

    Chosen so the run reaches p_g ~ p_data in about a thousand generator steps and stays
    there: Adam with beta1 = 0.5, k = 2 discriminator steps per generator step and a generator
    learning rate 5x lower than D's, so D is kept near its optimum (Proposition 2's
    assumption); with k = 1 and equal rates, G's spread stayed ~30% too narrow, or oscillated.
    """
    return Config().with_overrides(
        [
            'data.name="gaussian-1d"',
            "data.mean=4.0",
            "data.std=0.5",
            'model.generator="mlp-g"',
            'model.discriminator="mlp-d"',
            "model.z_dim=1",
            'model.noise="uniform"',
            "model.g_hidden=[32, 32]",
            "model.d_hidden=[64, 64]",
            'loss.name="non-saturating"',
            'optim.name="adam"',
            "optim.lr=0.002",
            "optim.g_lr_scale=0.2",
            "train.k=2",
            "train.batch_size=256",
            f"train.max_steps={max(steps, 1)}",
            "train.epochs=100000",
            f"train.seed={seed}",
            "train.threads=1",
            'train.progress="none"',
            "train.checkpoint_every=100000",
        ]
    )


@dataclass
class Toy1DFrame:
    """One moment of the toy run, as drawn: curves on the history's grid."""

    step: int
    """Generator updates done."""
    label: str
    d: FloatArray
    """D(x) = sigmoid(logit) on the grid, D in eval mode."""
    p_g: FloatArray
    """Density of G(z), estimated from G at many evenly spaced z quantiles."""
    arrows: FloatArray
    """G(z) for the arrow z's of the history."""
    jsd: float
    """JSD(p_data || p_g) on the grid, in nats (0 at p_g = p_data, log 2 when disjoint)."""
    spread: tuple[float, float]
    """The 0.5% and 99.5% quantiles of G(z)."""


@dataclass
class Toy1DHistory:
    """What :func:`train_toy1d` saw: frames of the run and the four panels of Figure 1."""

    config: Config
    x: FloatArray
    """The x grid every curve is evaluated on."""
    p_data: FloatArray
    z_arrows: FloatArray
    frames: list[Toy1DFrame] = field(default_factory=list)
    panels: dict[str, int] = field(default_factory=dict)
    """Panel letter (a-d) -> index into ``frames``."""
    z_direction: int = 1
    """+1 or -1: the direction the z line is drawn in (see :func:`train_toy1d`)."""
    before_g: int | None = None
    """Index of the frame just before panel (c)'s G steps (drawn faintly in (c))."""
    seconds: float = 0.0
    run_dir: Path | None = None
    """The run folder, when it was kept."""


def train_toy1d(
    steps: int = TOY1D_STEPS,
    seed: int = 0,
    run_dir: str | Path | None = None,
    *,
    lead_steps: int = 30,
    d_steps: int = 1000,
    g_steps: int = 30,
    frames: int = 60,
    jsd_start: float = 0.15,
) -> Toy1DHistory:
    """Train the toy GAN with gannet's :class:`~gannet.trainer.Trainer` and record Figure 1.

    The run is Algorithm 1 (k = 2, the trainer's own iteration) for ``steps`` generator
    steps, except at one moment, the first time JSD(p_data || p_g) falls to ``jsd_start``
    (p_g overlapping the data but off; a third of the way through if that never happens).
    There each phase of the algorithm is run long enough to be seen: ``lead_steps``
    generator-only steps leave D behind, giving panel (a), a partly accurate D;
    ``d_steps`` discriminator-only steps (the inner loop run long) let D converge towards
    D* = p_data / (p_data + p_g), panel (b); ``g_steps`` generator-only steps against that D
    give panel (c). Training then carries on; panel (d) is its end. About ``frames`` frames
    are recorded along the way for :func:`animate_toy1d`.

    With ``run_dir`` the run folder (config, run.json, checkpoint) is kept there, for
    ``gannet info``/``gannet sample``; otherwise it lives in a temporary folder.
    """
    from gannet.trainer import Trainer

    if steps < 1:
        raise GannetError(f"steps must be at least 1, got {steps}")
    if min(lead_steps, d_steps, g_steps) < 0:
        raise GannetError("lead_steps, d_steps and g_steps must be non-negative")
    config = toy1d_config(steps, seed)
    started = time.perf_counter()
    threads = torch.get_num_threads()
    with _run_folder(run_dir) as folder:
        try:
            trainer = Trainer.create(config, folder)
            history = _record(trainer, steps, lead_steps, d_steps, g_steps, frames, jsd_start)
            if run_dir is not None:
                trainer.save_checkpoint()
                trainer._write_status("finished")
                history.run_dir = Path(run_dir)
        finally:
            torch.set_num_threads(threads)  # the trainer set 1 thread for the tiny nets
    history.seconds = time.perf_counter() - started
    return history


@contextlib.contextmanager
def _run_folder(run_dir: str | Path | None) -> Iterator[Path]:
    if run_dir is not None:
        yield Path(run_dir)
        return
    tmp = tempfile.mkdtemp(prefix="gannet-toy1d-")
    try:
        yield Path(tmp) / "run"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _record(
    tr: Any,
    steps: int,
    lead_steps: int,
    d_steps: int,
    g_steps: int,
    n_frames: int,
    jsd_start: float,
) -> Toy1DHistory:
    """Drive the trainer step by step (its own Algorithm 1 iteration), capturing frames."""
    from gannet.theory import gaussian_pdf

    dc = tr.config.data
    z_arrows = np.asarray(-SQRT3 + (np.arange(ARROWS) + 0.5) * (2 * SQRT3 / ARROWS), np.float64)
    g0 = _g_values(tr.G, _z_quantiles(2000))
    lo = min(dc.mean - 5 * dc.std, float(np.quantile(g0, 0.005)) - dc.std)
    hi = max(dc.mean + 5 * dc.std, float(np.quantile(g0, 0.995)) + dc.std)
    x = np.linspace(lo, hi, 801)
    history = Toy1DHistory(tr.config, x, gaussian_pdf(x, dc.mean, dc.std), z_arrows)
    every = max(1, steps // max(n_frames, 1))
    start_at = max(1, steps // 3)
    history.frames.append(_frame(tr, history, "initial G and D"))
    started = False
    while tr.step < steps:
        _iteration(tr)
        last = tr.step >= steps
        if not started:
            jsd_now = _frame(tr, history, "").jsd if tr.step % 5 == 0 else math.inf
            if jsd_now <= jsd_start or tr.step >= start_at:
                started = True
                _inner_loop(tr, history, lead_steps, d_steps, g_steps)
                continue
        if tr.step % every == 0 and not last:
            history.frames.append(_frame(tr, history, "training (k = 2)"))
    history.frames.append(_frame(tr, history, "near equilibrium"))
    history.panels["d"] = len(history.frames) - 1
    # p_z is symmetric, so z and -z are the same prior: draw the z line in the direction
    # the final G preserves, so that its arrows do not needlessly cross.
    final = _g_values(tr.G, _z_quantiles(200))
    history.z_direction = 1 if np.corrcoef(np.arange(200), final)[0, 1] >= 0 else -1
    return history


def _inner_loop(tr: Any, history: Toy1DHistory, lead: int, d_steps: int, g_steps: int) -> None:
    """Panels (a)-(c), each phase of Algorithm 1 made long enough to see.

    ``lead`` G-only steps first leave D behind G, so in (a) D is only partly accurate (with
    k = 2 and a slower G, the run's D otherwise stays so close to D* that (b) would look
    like (a)); ``d_steps`` D-only steps then let D converge towards D* (b); ``g_steps``
    G-only steps against that D move G(z) towards where D says "data" (c).
    """
    frames = history.frames
    for i in range(1, lead + 1):
        _generator_step(tr)
        if i % max(1, lead // 4) == 0 and i < lead:
            frames.append(_frame(tr, history, f"{i} G-only steps: D falls behind"))
    frames.append(_frame(tr, history, "(a) D partly accurate"))
    history.panels["a"] = len(frames) - 1
    for i in range(1, d_steps + 1):
        _discriminator_step(tr)
        if i % max(1, d_steps // 8) == 0 and i < d_steps:
            frames.append(_frame(tr, history, f"inner loop: {i} D-only steps"))
    frames.append(_frame(tr, history, f"(b) after {d_steps} D-only steps"))
    history.panels["b"] = history.before_g = len(frames) - 1
    for i in range(1, g_steps + 1):
        _generator_step(tr)
        if i % max(1, g_steps // 5) == 0 and i < g_steps:
            frames.append(_frame(tr, history, f"{i} G steps against this D"))
    frames.append(_frame(tr, history, f"(c) after {g_steps} G steps"))
    history.panels["c"] = len(frames) - 1


def _iteration(tr: Any) -> None:
    """One Algorithm 1 iteration with the trainer's epoch bookkeeping (as in Trainer.fit)."""
    if tr.iteration_in_epoch == 0 or tr._perm is None:
        tr._start_epoch()
    tr.alternating_iteration()
    tr.step += 1
    tr.iteration_in_epoch += 1
    if tr.iteration_in_epoch == tr.iterations_per_epoch:
        tr.epoch += 1
        tr.iteration_in_epoch = 0


def _discriminator_step(tr: Any) -> None:
    """One D update of Algorithm 1's inner loop (fresh data and noise), G held fixed."""
    m = tr.m
    x = tr.x_train[torch.randint(tr.x_train.shape[0], (m,), device=tr.device)]
    with torch.no_grad():
        fake = tr.G(tr.noise(m))
    d_real, d_fake = tr.D(torch.cat([x, fake])).float().split(m)
    cost = tr.config.loss.d_cost_scale * tr.loss.d_cost(d_real, d_fake)
    tr.opt_d.zero_grad(set_to_none=True)
    cost.backward()
    tr.opt_d.step()
    tr.sched_d.after_update()


def _generator_step(tr: Any) -> None:
    """One G update of Algorithm 1 (fresh noise), D held fixed."""
    tr.D.requires_grad_(False)
    try:
        cost = tr.loss.g_cost(tr.D(tr.G(tr.noise(tr.m))).float())
        tr.opt_g.zero_grad(set_to_none=True)
        cost.backward()
        tr.opt_g.step()
        tr.sched_g.after_update()
    finally:
        tr.D.requires_grad_(True)
    tr.step += 1


def _z_quantiles(n: int) -> torch.Tensor:
    """n evenly spaced quantiles of the uniform prior: G at these is p_g without sampling
    noise."""
    return (-SQRT3 + (torch.arange(n, dtype=torch.float32) + 0.5) * (2 * SQRT3 / n))[:, None]


def _g_values(g: torch.nn.Module, z: torch.Tensor) -> FloatArray:
    g.eval()
    try:
        with torch.no_grad():
            device = next(g.parameters()).device
            return np.asarray(g(z.to(device)).reshape(-1).double().cpu().numpy())
    finally:
        g.train()


def _frame(tr: Any, history: Toy1DHistory, label: str) -> Toy1DFrame:
    from gannet.theory import jsd

    x = history.x
    gz = _g_values(tr.G, _z_quantiles(4000))
    p_g = density_1d(gz, x)
    tr.D.eval()
    try:
        with torch.no_grad():
            grid = torch.as_tensor(x, dtype=torch.float32, device=tr.device)[:, None]
            d = torch.sigmoid(tr.D(grid).float()).double().cpu().numpy()
    finally:
        tr.D.train()
    arrows = _g_values(tr.G, torch.as_tensor(history.z_arrows, dtype=torch.float32)[:, None])
    divergence = jsd(history.p_data, p_g, x) if p_g.sum() > 0 else math.log(2.0)
    spread = (float(np.quantile(gz, 0.005)), float(np.quantile(gz, 0.995)))
    return Toy1DFrame(tr.step, label, d, p_g, arrows, divergence, spread)


def density_1d(points: np.ndarray, x: FloatArray) -> FloatArray:
    """A Gaussian kernel density of ``points`` on the uniform grid ``x`` (binned: a histogram
    smoothed by a Gaussian filter, fast enough for every frame of an animation).

    Bandwidth 0.2 x the points' std (at least 1.5 grid steps): enough to smooth the kinks of a
    piecewise-linear ReLU G, while fattening a Gaussian p_g by only 2%. Mass outside the grid
    is dropped.
    """
    from scipy.ndimage import gaussian_filter1d

    dx = float(x[1] - x[0])
    edges = np.concatenate([x - dx / 2, [x[-1] + dx / 2]])
    counts, _ = np.histogram(points, bins=edges)
    density = counts / (len(points) * dx)
    bandwidth = max(0.2 * float(np.std(points)), 1.5 * dx)
    return np.asarray(gaussian_filter1d(density, bandwidth / dx, mode="constant"), np.float64)


# --------------------------------------------------------------------------- drawing

_PANEL_TEXT = {
    "a": "(a) D partly accurate",
    "b": "(b) D trained in the inner loop",
    "c": "(c) after G updates",
    "d": "(d) near equilibrium",
}


def draw_toy1d(history: Toy1DHistory, out: str | Path, dpi: int = 100) -> None:
    """Figure 1: the four panels side by side, written as PNG (or any matplotlib format)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gannet.plotting import _save_figure

    missing = [p for p in "abcd" if p not in history.panels]
    if missing:
        raise GannetError(f"the history lacks panels {missing}; was the run cut short?")
    chosen = [history.frames[history.panels[p]] for p in "abcd"]
    xlim = _xlim(history, chosen)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.4), dpi=dpi)
    for letter, ax, frame in zip("abcd", axes, chosen, strict=True):
        before = history.frames[history.before_g] if letter == "c" and history.before_g else None
        _draw_panel(ax, history, frame, xlim, d_star=letter == "b", before=before)
        ax.set_title(f"{_PANEL_TEXT[letter]}\nstep {frame.step}, JSD {frame.jsd:.3f}", fontsize=9)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    _save_figure(fig, Path(out))


def animate_toy1d(history: Toy1DHistory, out: str | Path, fps: int = 8, dpi: int = 80) -> int:
    """The whole run, one frame per recorded moment: a GIF (Pillow) or, when ffmpeg is on
    PATH, an MP4. Returns the number of frames."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import animation

    out = Path(out)
    suffix = out.suffix.lower()
    writer = _animation_writer(suffix, fps)
    xlim = (float(history.x[0]), float(history.x[-1]))
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=dpi)
    fig.legend(handles=_legend_handles(), loc="lower center", ncol=2, fontsize=7, frameon=False)

    def draw(i: int) -> list[Any]:
        ax.clear()
        frame = history.frames[i]
        _draw_panel(ax, history, frame, xlim, d_star=frame.label.startswith(("(b)", "inner")))
        ax.set_title(f"step {frame.step}: {frame.label}  (JSD {frame.jsd:.3f})", fontsize=9)
        return []

    fig.tight_layout(rect=(0, 0.14, 1, 1))
    anim = animation.FuncAnimation(fig, draw, frames=len(history.frames), blit=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=suffix)
    os.close(fd)
    try:
        anim.save(tmp, writer=writer, dpi=dpi)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return len(history.frames)


def _legend_handles() -> list[Any]:
    """Legend entries for the curves of :func:`_draw_panel` (animation frames redraw them)."""
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], color="black", ls=":", lw=1.8, label="data p_data"),
        Line2D([], [], color="tab:green", lw=1.8, label="generator p_g"),
        Line2D([], [], color="tab:blue", ls="--", lw=1.5, label="discriminator D"),
        Line2D([], [], color="grey", lw=0.8, label="D* = p_data/(p_data+p_g)"),
    ]


def check_animation_path(path: str | Path) -> None:
    """Fail before training when the animation cannot be written."""
    _animation_writer(Path(path).suffix.lower(), 8)


def _animation_writer(suffix: str, fps: int) -> Any:
    from matplotlib import animation

    if suffix == ".gif":
        return animation.PillowWriter(fps=fps)
    if suffix == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise GannetError(
                "writing an .mp4 needs ffmpeg on PATH, and it was not found; install ffmpeg "
                "or write a .gif instead"
            )
        return animation.FFMpegWriter(fps=fps)
    raise GannetError(f"--animate must name a .gif or .mp4 file, got {suffix or 'no suffix'!r}")


def _xlim(history: Toy1DHistory, frames: list[Toy1DFrame]) -> tuple[float, float]:
    dc = history.config.data
    lo = min([dc.mean - 4 * dc.std] + [f.spread[0] for f in frames])
    hi = max([dc.mean + 4 * dc.std] + [f.spread[1] for f in frames])
    margin = 0.05 * (hi - lo)
    return max(lo - margin, float(history.x[0])), min(hi + margin, float(history.x[-1]))


def _draw_panel(
    ax: Any,
    history: Toy1DHistory,
    frame: Toy1DFrame,
    xlim: tuple[float, float],
    d_star: bool = False,
    before: Toy1DFrame | None = None,
) -> None:
    """One panel in the paper's style: densities and D above the x line, the z line below,
    arrows z -> G(z)."""
    from gannet.theory import optimal_discriminator

    x = history.x
    z_y, x_y = -0.55, 0.0
    if before is not None:
        ax.plot(x, before.p_g, color="tab:green", lw=1, alpha=0.35, label="p_g before")
    ax.plot(x, history.p_data, color="black", ls=":", lw=1.8, label="data p_data")
    ax.plot(x, frame.p_g, color="tab:green", lw=1.8, label="generator p_g")
    ax.plot(x, frame.d, color="tab:blue", ls="--", lw=1.5, label="discriminator D")
    if d_star:
        target = optimal_discriminator(history.p_data, frame.p_g)
        # Only where either density is visible: elsewhere D* is a ratio of two vanishing
        # tails (and D itself gets no training signal).
        both = np.maximum(history.p_data, frame.p_g)
        target = np.where(both > 0.03 * both.max(), target, np.nan)
        ax.plot(x, target, color="grey", lw=0.8, label="D* = p_data/(p_data+p_g)")
    ax.axhline(x_y, color="black", lw=0.8)
    centre, half = (xlim[0] + xlim[1]) / 2, 0.4 * (xlim[1] - xlim[0])
    ax.plot([centre - half, centre + half], [z_y, z_y], color="black", lw=0.8)
    ax.text(xlim[0], x_y + 0.03, "x", fontsize=9, style="italic")
    ax.text(centre - half - 0.04 * (xlim[1] - xlim[0]), z_y - 0.03, "z", fontsize=9, style="italic")
    for z, gz in zip(history.z_arrows, frame.arrows, strict=True):
        tip = min(max(float(gz), xlim[0]), xlim[1])
        ax.annotate(
            "",
            xy=(tip, x_y),
            xytext=(centre + half * history.z_direction * z / SQRT3, z_y),
            arrowprops={
                "arrowstyle": "->",
                "lw": 0.7,
                "color": "black",
                "shrinkA": 0,
                "shrinkB": 0,
            },
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(z_y - 0.12, 1.12)
    ax.set_yticks([0, 0.5, 1])
    ax.tick_params(labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_bounds(0, 1)
    ax.spines["bottom"].set_visible(False)
    ax.set_xticks([])
