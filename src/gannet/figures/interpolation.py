"""Figure 3: rows of images along paths between noise vectors."""

from __future__ import annotations

import numpy as np
import torch

from gannet.errors import GannetError
from gannet.figures.common import PAD, SQRT3, generate, image_shape, noise_generator
from gannet.files.pictures import image_grid
from gannet.models import sample_noise
from gannet.trained.run import Run


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
    gen = noise_generator(run, seed)
    z0 = sample_noise(rows, mc.z_dim, mc.noise, "cpu", gen)
    z1 = sample_noise(rows, mc.z_dim, mc.noise, "cpu", gen)
    z = interpolate(z0, z1, steps, spherical=spherical).reshape(rows * steps, mc.z_dim)
    if spherical and mc.noise == "uniform":
        z = z.clamp(-SQRT3, SQRT3)
    labels = None  # conditional runs: row r is class r mod num_classes
    if run.config.model.conditional:
        labels = (torch.arange(rows) % run.num_classes).repeat_interleave(steps)
    return image_grid(generate(run, z, labels=labels), nrow=steps, pad=PAD)
