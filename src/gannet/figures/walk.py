"""Latent walks: a looping animation of G along paths through several latents.

Through seeds (:func:`seed_walk`): ``keys`` noise vectors drawn from the run's prior (one
seeded generator), visited in order and back to the first, each leg ``steps`` frames long
(its start included, its end left to the next leg), so the loop has keys x steps frames and
plays seamlessly. Legs are spherical (slerp, :func:`gannet.figures.interpolation.interpolate`)
and, for a uniform prior, clamped into its cube [-sqrt 3, sqrt 3]^d, as ``figure interpolate
--slerp`` does. A conditional run walks one class (``label``, default 0).

Through projected latents (:func:`latent_walk`, the ``.npz`` files of ``gannet project``):
z's by slerp as above (a conditional run's files must share one class); a StyleGAN run's w+
linearly (w space is not a Gaussian's: StyleGAN interpolates it linearly), its noise images
linearly too, so each key frame is exactly that file's reconstruction.
"""

from __future__ import annotations

import numpy as np
import torch

from gannet.errors import GannetError
from gannet.figures.common import SQRT3, generate, image_shape, noise_generator
from gannet.figures.interpolation import interpolate
from gannet.files.pictures import image_grid
from gannet.models import sample_noise
from gannet.models.stylegan import StyleGenerator
from gannet.models.stylegan_layers import NoiseInput
from gannet.trained.projection.files import Latent
from gannet.trained.run import Run


def loop_path(keys: torch.Tensor, steps: int, spherical: bool) -> torch.Tensor:
    """(K, ...) key points -> (K * steps, ...): K legs key_i -> key_{i+1 mod K}, each without
    its end point."""
    if len(keys) < 2:
        raise GannetError(f"a walk needs at least 2 key latents, got {len(keys)}")
    if steps < 1:
        raise GannetError(f"--steps must be at least 1, got {steps}")
    flat = keys.reshape(len(keys), -1)
    legs = interpolate(flat, flat.roll(-1, 0), steps + 1, spherical=spherical)[:, :-1]
    return legs.reshape(len(keys) * steps, *keys.shape[1:])


def frames_of(images: torch.Tensor, scale: int) -> list[np.ndarray]:
    """(N, C, H, W) images in [0, 1] -> N uint8 (H*scale, W*scale, C) frames."""
    out = []
    for img in images:
        frame = image_grid(img[None], nrow=1, pad=0)
        out.append(np.kron(frame, np.ones((scale, scale, 1), dtype=np.uint8)))
    return out


def seed_walk(
    run: Run,
    keys: int = 4,
    steps: int = 24,
    seed: int | None = None,
    label: int | None = None,
) -> torch.Tensor:
    """The walk's images (keys * steps, C, H, W) through ``keys`` seeded prior draws."""
    shape = image_shape(run)
    mc = run.config.model
    z = sample_noise(keys, mc.z_dim, mc.noise, "cpu", noise_generator(run, seed))
    path = loop_path(z, steps, spherical=True)
    if mc.noise == "uniform":
        path = path.clamp(-SQRT3, SQRT3)
    if mc.conditional and label is None:
        label = 0
    labels = run.check_labels(len(path), label)  # None for an unconditional run (no --class)
    return generate(run, path, labels=labels).reshape(len(path), *shape)


def latent_walk(run: Run, latents: list[Latent], steps: int = 24) -> torch.Tensor:
    """The walk's images through projected latents, in the order given."""
    shape = image_shape(run)
    kinds = {lat.kind for lat in latents}
    if len(kinds) != 1:
        raise GannetError("the latent files mix z and w+ projections; walk one kind at a time")
    g = run.generator
    if kinds == {"ws"}:
        if not isinstance(g, StyleGenerator):
            raise GannetError("these are w+ latents of a StyleGAN run; this run is not one")
        return ws_walk(g, latents, steps)
    labels = {lat.label for lat in latents}
    if len(labels) != 1:
        raise GannetError(
            f"the projected latents have classes {sorted(str(v) for v in labels)}; a walk holds "
            "one class: project with --class, or walk files of one class"
        )
    z = torch.stack([lat.value for lat in latents])
    if z.shape[1:] != (run.config.model.z_dim,):
        raise GannetError(f"the latents have shape {tuple(z.shape[1:])}, not this run's z")
    path = loop_path(z, steps, spherical=True)
    if run.config.model.noise == "uniform":
        path = path.clamp(-SQRT3, SQRT3)
    (label,) = labels
    y = run.check_labels(len(path), label) if run.config.model.conditional else None
    return generate(run, path, labels=y).reshape(len(path), *shape)


def ws_walk(g: StyleGenerator, latents: list[Latent], steps: int) -> torch.Tensor:
    """w+ and noise images interpolated linearly between projected StyleGAN latents."""
    ws = torch.stack([lat.value for lat in latents])
    if ws.shape[1:] != (g.num_ws, g.mapping.w_avg.shape[0]):
        raise GannetError(f"the w+ latents have shape {tuple(ws.shape[1:])}, not this run's")
    inputs = [m for m in g.modules() if isinstance(m, NoiseInput)]
    noises = []
    for i, m in enumerate(inputs):
        maps = [lat.noise[i] if i < len(lat.noise) else m.fixed.cpu() for lat in latents]
        noises.append(loop_path(torch.stack(maps), steps, spherical=False))
    path = loop_path(ws, steps, spherical=False)
    device = next(g.parameters()).device
    saved = [m.fixed for m in inputs]
    frames = []
    g.eval()
    try:
        with torch.no_grad():
            for t in range(len(path)):
                for m, n in zip(inputs, noises, strict=True):
                    m.fixed = n[t].to(device)
                frames.append(g.render(path[t : t + 1].to(device)).float().cpu())
    finally:
        for m, old in zip(inputs, saved, strict=True):
            m.fixed = old
    return torch.cat(frames)
