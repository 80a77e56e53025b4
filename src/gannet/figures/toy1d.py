"""Figure 1: a 1-D GAN trained by gannet's trainer on ``gaussian-1d``, recorded at four real
moments of its run: (a) a partly trained D, (b) after extra D-only steps (the inner loop of
Algorithm 1, D approaching D* = p_data / (p_data + p_g)), (c) after G steps against that D,
(d) near equilibrium.

This module trains the run and records its frames (:func:`train_toy1d`);
:mod:`gannet.figures.toy1d_draw` draws them (:func:`~gannet.figures.toy1d_draw.draw_toy1d`,
:func:`~gannet.figures.toy1d_draw.animate_toy1d`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import torch
from numpy.typing import NDArray

from gannet.config import Config
from gannet.errors import GannetError
from gannet.figures.common import SQRT3

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training import Trainer

FloatArray: TypeAlias = NDArray[np.float64]

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
    """Train the toy GAN with gannet's :class:`~gannet.training.Trainer` and record Figure 1.

    The run is Algorithm 1 (k = 2, the trainer's own iteration) for ``steps`` generator
    steps, except at one moment, the first time JSD(p_data || p_g) falls to ``jsd_start``
    (p_g overlapping the data but off; a third of the way through if that never happens).
    There each phase of the algorithm is run long enough to be seen: ``lead_steps``
    generator-only steps leave D behind, giving panel (a), a partly accurate D;
    ``d_steps`` discriminator-only steps (the inner loop run long) let D converge towards
    D* = p_data / (p_data + p_g), panel (b); ``g_steps`` generator-only steps against that D
    give panel (c). Training then carries on; panel (d) is its end. About ``frames`` frames
    are recorded along the way for :func:`~gannet.figures.toy1d_draw.animate_toy1d`.

    With ``run_dir`` the run folder (config, run.json, checkpoint) is kept there, for
    ``gannet info``/``gannet sample``; otherwise nothing is written.
    """
    from gannet.training import Trainer, start_run
    from gannet.training.hooks import Checkpoints, StatusFile

    if steps < 1:
        raise GannetError(f"steps must be at least 1, got {steps}")
    if min(lead_steps, d_steps, g_steps) < 0:
        raise GannetError("lead_steps, d_steps and g_steps must be non-negative")
    config = toy1d_config(steps, seed)
    started = time.perf_counter()
    threads = torch.get_num_threads()
    try:
        if run_dir is None:  # no files: the trainer alone
            trainer = Trainer(config)
        else:  # the run folder keeps its config, run.json and checkpoint
            folder = Path(run_dir)
            trainer = start_run(config, folder, hooks=[Checkpoints(folder), StatusFile(folder)])
        history = _record(trainer, steps, lead_steps, d_steps, g_steps, frames, jsd_start)
        if run_dir is not None:
            trainer.checkpoint()
            trainer.finish("finished")
            history.run_dir = Path(run_dir)
    finally:
        torch.set_num_threads(threads)  # the trainer set 1 thread for the tiny nets
    history.seconds = time.perf_counter() - started
    return history


def _record(
    tr: Trainer,
    steps: int,
    lead_steps: int,
    d_steps: int,
    g_steps: int,
    n_frames: int,
    jsd_start: float,
) -> Toy1DHistory:
    """Drive the trainer step by step (its own Algorithm 1 iteration), capturing frames."""
    from gannet.paper.theory import gaussian_pdf

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
    while tr.progress.step < steps:
        tr.step()
        last = tr.progress.step >= steps
        if not started:
            jsd_now = _frame(tr, history, "").jsd if tr.progress.step % 5 == 0 else math.inf
            if jsd_now <= jsd_start or tr.progress.step >= start_at:
                started = True
                _inner_loop(tr, history, lead_steps, d_steps, g_steps)
                continue
        if tr.progress.step % every == 0 and not last:
            history.frames.append(_frame(tr, history, "training (k = 2)"))
    history.frames.append(_frame(tr, history, "near equilibrium"))
    history.panels["d"] = len(history.frames) - 1
    # p_z is symmetric, so z and -z are the same prior: draw the z line in the direction
    # the final G preserves, so that its arrows do not needlessly cross.
    final = _g_values(tr.G, _z_quantiles(200))
    history.z_direction = 1 if np.corrcoef(np.arange(200), final)[0, 1] >= 0 else -1
    return history


def _inner_loop(tr: Trainer, history: Toy1DHistory, lead: int, d_steps: int, g_steps: int) -> None:
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
        tr.d_step(*tr.batches.random(tr.m))  # fresh data and noise, G held fixed
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


def _frame(tr: Trainer, history: Toy1DHistory, label: str) -> Toy1DFrame:
    from gannet.paper.theory import jsd

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
    return Toy1DFrame(tr.progress.step, label, d, p_g, arrows, divergence, spread)


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


def _generator_step(tr: Trainer) -> None:
    """One G update of Algorithm 1 (fresh noise, D held fixed), counted as a step."""
    tr.g_step()
    tr.progress.step += 1
