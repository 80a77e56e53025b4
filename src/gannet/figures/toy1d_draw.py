"""Figure 1, drawn: the four panels of a :class:`~gannet.figures.toy1d.Toy1DHistory` side by
side (:func:`draw_toy1d`), or the whole run as an animation (:func:`animate_toy1d`)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from gannet.errors import GannetError
from gannet.figures.common import SQRT3
from gannet.figures.toy1d import Toy1DFrame, Toy1DHistory
from gannet.files.pictures import save_figure

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
    save_figure(fig, Path(out))


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
    from gannet.paper.theory import optimal_discriminator

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
