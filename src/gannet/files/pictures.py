"""Pictures of a run: sample grids (Pillow) and training curves (matplotlib, Agg)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gannet.files.atomic import atomic_write


def image_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile (N, C, H, W) images in [0, 1] into one uint8 array (rows*H, cols*W, C)."""
    images = images.detach().float().cpu().clamp(0, 1)
    n, c, h, w = images.shape
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.float32)
    arr = images.permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, col = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y : y + h, x : x + w] = arr[i]
    return (grid * 255 + 0.5).astype(np.uint8)


def save_png(array: np.ndarray, path: Path, scale: int = 1) -> None:
    """Write a uint8 (H, W, C) array as PNG atomically, optionally upscaled (nearest)."""
    img = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    atomic_write(Path(path), lambda f: img.save(f, format="PNG"))


def save_samples(
    samples: torch.Tensor,
    path: Path,
    nrow: int | None = None,
    labels: torch.Tensor | None = None,
) -> None:
    """Samples as a picture: an image grid, or a histogram / scatter plot for 1-D / 2-D data.
    ``labels`` (conditional runs) colour 1-D / 2-D samples by class; image grids ignore them
    (order the images by class and set ``nrow`` instead)."""
    if samples.dim() == 4:
        save_png(image_grid(samples, nrow), path, scale=2 if samples.shape[-1] <= 32 else 1)
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = samples.detach().float().cpu().reshape(samples.shape[0], -1).numpy()
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    if labels is not None:
        y = labels.detach().cpu().reshape(-1).numpy()
        classes = sorted({int(c) for c in y})
        colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for i, c in enumerate(classes):
            pts = x[y == c]
            colour = colours(i % colours.N)
            if x.shape[1] == 1:
                ax.hist(pts[:, 0], bins=50, color=colour, alpha=0.6, label=str(c))
            else:
                ax.scatter(pts[:, 0], pts[:, 1], s=6, color=colour, alpha=0.8, label=str(c))
        if len(classes) <= 12:
            ax.legend(title="class", fontsize=6, title_fontsize=7, markerscale=2, loc="best")
        if x.shape[1] == 1:
            ax.set_xlabel("x")
        else:
            ax.set_aspect("equal")
    elif x.shape[1] == 1:
        ax.hist(x[:, 0], bins=50, color="tab:green", alpha=0.8)
        ax.set_xlabel("x")
    else:
        ax.scatter(x[:, 0], x[:, 1], s=3, color="tab:green", alpha=0.6)
        ax.set_aspect("equal")
    fig.tight_layout()
    save_figure(fig, path)


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure atomically (format from the suffix, default PNG) and close it."""
    import matplotlib.pyplot as plt

    def write(f: Any) -> None:
        fig.savefig(f, format=Path(path).suffix.lstrip(".") or "png")

    atomic_write(Path(path), write)
    plt.close(fig)


EVAL_PREFIXES = ("fid", "kid", "precision", "recall")
"""Record keys drawn in the feature-metric row (``train.eval_every``): fid_*, kid_*, ..."""


def _plot_measured(axes: Any, metrics: list[dict[str, Any]], keys: list[str]) -> None:
    """Distances (left) and precision/recall (right) at the steps they were measured."""
    for ax, wanted in zip(axes, (("fid", "kid"), ("precision", "recall")), strict=True):
        for key in keys:
            if key.split("_")[0] in wanted and not key.startswith("kid_std"):
                rows = [m for m in metrics if m.get(key) is not None]
                ax.plot([m["step"] for m in rows], [m[key] for m in rows], "o-", label=key)
        ax.set_title("feature distances" if "fid" in wanted else "precision / recall")
        if ax.lines:
            ax.legend()


def plot_curves(metrics: list[dict[str, Any]], path: Path, probabilistic: bool = True) -> None:
    """Losses, D outputs, the value estimate (with -log 4) and gradient norms over steps.

    ``probabilistic=False`` (wasserstein, hinge, least-squares): D's mean raw outputs and
    the loss's own objective for D instead of D(x) probabilities and V(D, G)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not metrics:
        return
    step = [m["step"] for m in metrics]
    measured = sorted({k for m in metrics for k in m if k.split("_")[0] in EVAL_PREFIXES})
    rows = 3 if measured else 2
    fig, axes = plt.subplots(rows, 2, figsize=(10, 3.5 * rows), dpi=90)
    ax = axes[0, 0]
    ax.plot(step, [m["d_loss"] for m in metrics], label="D cost")
    ax.plot(step, [m["g_loss"] for m in metrics], label="G cost")
    ax.set_title("costs")
    ax.legend()
    ax = axes[0, 1]
    if probabilistic:
        ax.plot(step, [m["d_real"] for m in metrics], label="mean D(x)")
        ax.plot(step, [m["d_fake"] for m in metrics], label="mean D(G(z))")
        ax.axhline(0.5, color="grey", ls=":", lw=1)
        ax.set_ylim(-0.02, 1.02)
    else:
        ax.plot(step, [m.get("d_real_raw", math.nan) for m in metrics], label="mean f(x)")
        ax.plot(step, [m.get("d_fake_raw", math.nan) for m in metrics], label="mean f(G(z))")
    ax.set_title("discriminator outputs")
    ax.legend()
    ax = axes[1, 0]
    if probabilistic:
        ax.plot(step, [m["value"] for m in metrics], label="V(D, G) estimate")
        ax.axhline(-math.log(4), color="grey", ls="--", lw=1, label="-log 4")
        ax.set_title("game value")
    else:
        ax.plot(step, [m["value"] for m in metrics], label="-(D cost), no penalty")
        ax.set_title("D's objective")
    ax.legend()
    ax = axes[1, 1]
    ax.semilogy(step, [max(m["grad_norm_g"], 1e-12) for m in metrics], label="|grad G|")
    ax.semilogy(step, [max(m["grad_norm_d"], 1e-12) for m in metrics], label="|grad D|")
    ax.set_title("gradient norms")
    ax.legend()
    if measured:
        _plot_measured(axes[2], metrics, measured)
    for a in axes.flat:
        a.set_xlabel("generator step")
    fig.tight_layout()
    save_figure(fig, path)
