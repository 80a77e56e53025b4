"""Projection: the latent whose image under G matches a target, found by optimisation.

For every run but an unconditional StyleGAN one, the latent is G's noise input z. It starts
at the best of ``candidates`` draws from the run's prior (lowest loss; for a conditional
run, over every class unless one is given, and the class of the best draw is then kept
fixed), and Adam descends the loss; a uniform prior's z is clamped into its cube
[-sqrt 3, sqrt 3]^d after every step (where G was trained), a normal prior's is left free.

For an unconditional StyleGAN (``stylegan-g``) run the latent is w+ (one w per layer)
together with every noise input's noise image, as in the StyleGAN2 paper's projector
(Karras et al., 2020, "Analyzing and Improving the Image Quality of StyleGAN", section 5
and appendix): w+ starts at the mean w of 10,000 mapped prior draws; during the first 75 %
of the steps a Gaussian of standard deviation 0.05 sigma_w (1 - t / 0.75)^2 is added to w
(sigma_w: the root mean squared distance of those w from their mean), so early steps explore;
the noise images start as the run's own fixed noise images (the N(0, I) draws every image
the run renders uses; the paper starts from fresh N(0, I) draws), are pushed towards being
uncorrelated by the paper's regulariser (at each scale from the noise image's own down
to 8 x 8, halving by 2 x 2 averages: the squared mean of the products of horizontally, and
of vertically, neighbouring pixels, wrapping round), weighted ``noise_weight`` (the paper's
1e5), and are renormalised to zero mean and unit variance after every step. gannet inverts
to w+ (one w per layer, each optimised), not the paper's single w: w+ can fit more images,
at the cost of latents that may lie outside what the mapping network produces.

Every run: Adam (betas 0.9, 0.999) at learning rate ``lr`` (0.1) ramped up linearly over
the first 5 % of the steps and down to 0 over the last 25 % by a half cosine (the paper's
schedule); the loss is the mean squared pixel error (a target pixel at 0 or 1 matched by
any value beyond it, as the run clamps its images) plus ``feature_weight`` x the squared
distance between the target's and G's features in gannet's own classifier of the run's
dataset (its penultimate layer, relative to the target features' squared norm), when that
classifier is cached and takes the run's images (``gannet classifier train DATASET``); LPIPS,
the paper's choice, needs torchvision, which gannet does not use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gannet.models import sample_noise
from gannet.models.noise import UNIFORM_BOUND
from gannet.models.stylegan import StyleGenerator
from gannet.models.stylegan_layers import NoiseInput
from gannet.trained.run import Run

NOISE_RAMP = 0.75
"""StyleGAN: the fraction of the steps during which w is perturbed."""
NOISE_SCALE = 0.05
"""StyleGAN: the perturbation's initial standard deviation, in units of sigma_w."""
LR_RAMP_UP = 0.05
LR_RAMP_DOWN = 0.25
W_AVG_SAMPLES = 10_000


@dataclass
class Settings:
    """How a projection runs (see the module docstring)."""

    steps: int = 500
    lr: float = 0.1
    feature_weight: float = 0.1
    noise_weight: float = 1e5
    candidates: int = 64
    seed: int = 0
    snapshots: int = 8
    """Images of the progress strip, the first and last step included."""
    frames: int = 60
    """Images of the progress video (when one is written)."""


@dataclass
class Result:
    """One projected image."""

    kind: str
    """'z' (G's noise input) or 'ws' (a StyleGAN run's w+)."""
    latent: Tensor
    """z (z_dim,) or w+ (num_ws, style_dim)."""
    label: int | None
    noise: list[Tensor]
    """StyleGAN: the optimised noise images; else empty."""
    image: Tensor
    """G's image of the latent, (C, H, W) in [0, 1], as the run renders it."""
    mse: float
    """Mean squared pixel error of ``image`` against the target (pixels in [0, 1])."""
    losses: list[float] = field(default_factory=list)
    strip: list[Tensor] = field(default_factory=list)
    """Reconstructions at evenly spaced steps (progress strip)."""
    frames: list[Tensor] = field(default_factory=list)

    @property
    def psnr(self) -> float:
        """10 log10(1 / mse), in dB."""
        return 10 * math.log10(1 / self.mse) if self.mse > 0 else math.inf


Features = Callable[[Tensor], Tensor]


def lr_at(t: float, lr: float) -> float:
    """The learning rate at fraction t of the steps: linear ramp-up, half-cosine ramp-down."""
    down = min(1.0, (1.0 - t) / LR_RAMP_DOWN)
    return lr * min(1.0, t / LR_RAMP_UP) * (0.5 - 0.5 * math.cos(down * math.pi))


def noise_regularizer(maps: list[Tensor]) -> Tensor:
    """The StyleGAN2 projector's penalty on spatially correlated noise images."""
    total = maps[0].new_zeros(())
    for n in maps:
        while True:
            total = total + (n * n.roll(1, dims=3)).mean() ** 2
            total = total + (n * n.roll(1, dims=2)).mean() ** 2
            if n.shape[2] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return total


def uses_w_plus(run: Run) -> bool:
    """True for an unconditional StyleGAN run (projected into w+ and noise)."""
    return isinstance(run.generator, StyleGenerator)


class Objective:
    """Pixel + feature loss against one target (1, C, H, W)."""

    def __init__(self, target: Tensor, features: Features | None, weight: float) -> None:
        self.target, self.features, self.weight = target, features, weight
        self.target_features: Tensor | None = None
        if features is not None and weight > 0:
            with torch.no_grad():
                self.target_features = features(target)

    def __call__(self, images: Tensor) -> Tensor:
        """One loss per image of ``images`` (N, C, H, W), G's unclamped output: a target
        pixel at 0 (1) is matched by any value at or below 0 (above 1), since the run's
        images are clamped into [0, 1]; other pixels by their value."""
        t = self.target
        matched = torch.where(t >= 1, images.clamp(max=1), images)
        matched = torch.where(t <= 0, matched.clamp(min=0), matched)
        loss = ((matched - t) ** 2).flatten(1).mean(1)
        if self.features is not None and self.target_features is not None:
            f = self.features(images.clamp(0, 1))
            scale = self.target_features.pow(2).sum().clamp_min(1e-8)
            loss = loss + self.weight * (f - self.target_features).pow(2).sum(1) / scale
        return loss


def project(
    run: Run,
    target: Tensor,
    settings: Settings,
    features: Features | None = None,
    label: int | None = None,
) -> Result:
    """Project ``target`` (C, H, W) in [0, 1] into ``run``'s latent space."""
    g = run.generator
    g.eval()
    g.requires_grad_(False)
    objective = Objective(target.unsqueeze(0), features, settings.feature_weight)
    try:
        if uses_w_plus(run):
            assert isinstance(g, StyleGenerator)
            return project_w_plus(g, objective, settings)
        return project_z(run, objective, settings, label)
    finally:
        g.requires_grad_(True)


def as_images(x: Tensor, like: Tensor) -> Tensor:
    """G's output shaped as the target's (N, C, H, W) (flattened MLP outputs)."""
    return x.reshape(x.shape[0], *like.shape[1:])


def progress_indices(steps: int, count: int) -> set[int]:
    """``count`` evenly spaced step indices from 0 to ``steps`` (both included)."""
    return {round(i * steps / max(1, count - 1)) for i in range(count)}


def project_z(run: Run, objective: Objective, s: Settings, label: int | None) -> Result:
    """Optimise z (the label fixed) for any generator."""
    g, mc = run.generator, run.config.model
    device = next(g.parameters()).device
    gen = torch.Generator().manual_seed(s.seed)
    classes: list[int | None] = (
        [label] if label is not None else [*range(run.num_classes)] or [None]
    )

    def render(z: Tensor, y: int | None) -> Tensor:
        out = g(z) if y is None else g(z, torch.full((len(z),), y, device=device))
        return as_images(out, objective.target)

    best: tuple[float, Tensor, int | None] | None = None
    for y in classes:
        z0 = sample_noise(s.candidates, mc.z_dim, mc.noise, "cpu", gen).to(device)
        with torch.no_grad():
            losses = objective(render(z0, y))
        i = int(losses.argmin())
        if best is None or float(losses[i]) < best[0]:
            best = (float(losses[i]), z0[i : i + 1].clone(), y)
    assert best is not None
    _, z, chosen = best
    z.requires_grad_(True)
    opt = torch.optim.Adam([z], lr=s.lr)
    history: list[float] = []
    strip_at, frame_at = progress_indices(s.steps, s.snapshots), progress_indices(s.steps, s.frames)
    strip: list[Tensor] = []
    frames: list[Tensor] = []
    for step in range(s.steps + 1):
        image = render(z, chosen)
        loss = objective(image).sum()
        history.append(float(loss.detach()))
        keep(image, step, strip_at, strip, frame_at, frames)
        if step == s.steps:
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(step / s.steps, s.lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if mc.noise == "uniform":
            with torch.no_grad():
                z.clamp_(-UNIFORM_BOUND, UNIFORM_BOUND)
    with torch.no_grad():
        final = render(z.detach(), chosen).clamp(0, 1)
    return finish("z", z.detach()[0], chosen, [], final, objective, history, strip, frames)


def keep(
    image: Tensor,
    step: int,
    strip_at: set[int],
    strip: list[Tensor],
    frame_at: set[int],
    frames: list[Tensor],
) -> None:
    """Record the image of ``step`` for the strip and the video."""
    if step in strip_at:
        strip.append(image.detach()[0].clamp(0, 1).cpu())
    if step in frame_at:
        frames.append(image.detach()[0].clamp(0, 1).cpu())


def finish(
    kind: str,
    latent: Tensor,
    label: int | None,
    noise: list[Tensor],
    final: Tensor,
    objective: Objective,
    history: list[float],
    strip: list[Tensor],
    frames: list[Tensor],
) -> Result:
    mse = float(((final - objective.target) ** 2).mean())
    return Result(kind, latent.cpu(), label, noise, final[0].cpu(), mse, history, strip, frames)


def w_statistics(g: StyleGenerator, seed: int) -> tuple[Tensor, float]:
    """(mean w, sigma_w) over W_AVG_SAMPLES mapped prior draws."""
    gen = torch.Generator().manual_seed(seed)
    device = next(g.parameters()).device
    z = sample_noise(W_AVG_SAMPLES, g.z_dim, g.noise_kind, "cpu", gen).to(device)
    with torch.no_grad():
        w = g.mapping(z)
    mean = w.mean(0)
    sigma = float(((w - mean) ** 2).sum(1).mean().sqrt())
    return mean, sigma


def noise_inputs(g: nn.Module) -> list[NoiseInput]:
    return [m for m in g.modules() if isinstance(m, NoiseInput)]


def project_w_plus(g: StyleGenerator, objective: Objective, s: Settings) -> Result:
    """Optimise w+ and the noise images (StyleGAN2's projector, see the module docstring)."""
    device = next(g.parameters()).device
    w_mean, sigma_w = w_statistics(g, s.seed)
    gen = torch.Generator().manual_seed(s.seed + 1)
    ws = w_mean.view(1, 1, -1).repeat(1, g.num_ws, 1).clone().requires_grad_(True)
    inputs = noise_inputs(g)
    saved = [m.fixed for m in inputs]
    maps = [m.fixed.detach().clone().requires_grad_(True) for m in inputs]
    opt = torch.optim.Adam([ws, *maps], lr=s.lr)
    history: list[float] = []
    strip_at, frame_at = progress_indices(s.steps, s.snapshots), progress_indices(s.steps, s.frames)
    strip: list[Tensor] = []
    frames: list[Tensor] = []
    try:
        for m, n in zip(inputs, maps, strict=True):
            m.fixed = n
        for step in range(s.steps + 1):
            t = step / s.steps
            spread = sigma_w * NOISE_SCALE * max(0.0, 1.0 - t / NOISE_RAMP) ** 2
            jitter = torch.randn(ws.shape, generator=gen).to(device) * spread
            image = 0.5 + 0.5 * g.synthesis(ws + jitter if step < s.steps else ws)
            loss = objective(image).sum()
            history.append(float(loss.detach()))
            keep(image, step, strip_at, strip, frame_at, frames)
            if step == s.steps:
                break
            total = loss + s.noise_weight * noise_regularizer(maps)
            for group in opt.param_groups:
                group["lr"] = lr_at(t, s.lr)
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            with torch.no_grad():
                for n in maps:
                    n.sub_(n.mean()).div_(n.std().clamp_min(1e-8))
        with torch.no_grad():
            final = g.render(ws.detach())
    finally:
        for m, old in zip(inputs, saved, strict=True):
            m.fixed = old
    noise = [n.detach().cpu() for n in maps]
    return finish("ws", ws.detach()[0], None, noise, final, objective, history, strip, frames)


def describe(result: Result) -> dict[str, Any]:
    """The numbers a report prints for one projection."""
    return {
        "kind": result.kind,
        "label": result.label,
        "mse": result.mse,
        "psnr_db": result.psnr,
        "first_loss": result.losses[0],
        "last_loss": result.losses[-1],
    }
