"""Differentiable augmentation (DiffAugment; Zhao, Liu, Lin, Zhu and Han, 2020, "Differentiable
Augmentation for Data-Efficient GAN Training").

``train.augment = "color,translation,cutout"`` makes every image D sees in training, real or
generated, go through the same random transformations first: in D's step both minibatches,
in G's step the generated one (G's gradient flows back through the transformation, which is
why it must be differentiable), and in D's penalties (R1, WGAN-GP) the penalised inputs.
D never sees an un-augmented image, so it cannot tell real from fake by what the
augmentation changes, and G is not pushed to generate augmented-looking images.

Policies (each sample gets its own random parameters; images are in [0, 1]):

* ``color``: brightness (add U(-0.25, 0.25), DiffAugment's U(-0.5, 0.5) on [-1, 1] images),
  saturation (scale the deviation from the per-pixel channel mean by U(0, 2); no change on
  1-channel images) and contrast (scale the deviation from the image mean by U(0.5, 1.5));
* ``translation``: shift by up to 1/8 of the height and width (whole pixels, each direction
  independently), the uncovered border zero;
* ``cutout``: zero a square of half the height and width whose centre is uniform over the
  image (clipped at the borders, so from 1/16 to 1/4 of the image is zeroed).

All randomness comes from the global torch RNG on the input's device, which a trainer
checkpoints, so a resumed run draws the same augmentations as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import torch
from torch import Tensor

from gannet.errors import GannetError

BRIGHTNESS = 0.25
"""color: brightness shifts are U(-BRIGHTNESS, BRIGHTNESS) (images in [0, 1])."""
TRANSLATION = 1 / 8
"""translation: the largest shift, as a fraction of the height (width)."""
CUTOUT = 1 / 2
"""cutout: the square's side, as a fraction of the height (width)."""


def _per_sample(x: Tensor) -> Tensor:
    """One U(0, 1) draw per sample, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def color(x: Tensor) -> Tensor:
    """Random brightness, then saturation, then contrast, per sample."""
    x = x + (_per_sample(x) - 0.5) * (2 * BRIGHTNESS)
    mean = x.mean(dim=1, keepdim=True)  # 1 channel: mean == x, so saturation is exact identity
    x = (x - mean) * (_per_sample(x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_per_sample(x) + 0.5) + mean


def _shifts(n: int, size: int, device: torch.device) -> tuple[Tensor, int]:
    """n random integer shifts in [-s, s], s = round(size * TRANSLATION), and s."""
    s = int(size * TRANSLATION + 0.5)
    return torch.randint(-s, s + 1, (n,), device=device), s


def translation(x: Tensor) -> Tensor:
    """Shift each image by its own (dy, dx), |dy| <= H/8, |dx| <= W/8; zeros come in.

    out[n, :, i, j] = x[n, :, i + dy_n, j + dx_n] where that lies inside the image, else 0:
    a gather from the zero-padded batch, differentiable with respect to ``x``."""
    n, _, h, w = x.shape
    dy, sy = _shifts(n, h, x.device)
    dx, sx = _shifts(n, w, x.device)
    padded = torch.nn.functional.pad(x, (sx, sx, sy, sy))
    rows = torch.arange(h, device=x.device).view(1, h, 1) + (dy + sy).view(n, 1, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) + (dx + sx).view(n, 1, 1)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _window(n: int, size: int, device: torch.device) -> Tensor:
    """(n, size) bool: True inside each sample's cutout interval along one axis."""
    side = int(size * CUTOUT + 0.5)
    centre = torch.randint(0, size + (1 - side % 2), (n, 1), device=device)
    position = torch.arange(size, device=device).view(1, size)
    start = centre - side // 2
    return (position >= start) & (position < start + side)


def cutout(x: Tensor) -> Tensor:
    """Zero one square of side H/2 x W/2 per image, its centre uniform over the image."""
    n, _, h, w = x.shape
    rows = _window(n, h, x.device).view(n, 1, h, 1)
    cols = _window(n, w, x.device).view(n, 1, 1, w)
    keep = ~(rows & cols)
    return x * keep.to(x.dtype)


POLICIES: dict[str, Callable[[Tensor], Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}
"""The DiffAugment policies by name, in the order the paper applies them."""


@cache
def parse_policy(text: str) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> the policy names in that order; ``""`` -> ().
    An unknown or repeated name is one GannetError line listing the choices."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    choices = ", ".join(POLICIES)
    for name in names:
        if name not in POLICIES:
            raise GannetError(
                f"train.augment: unknown policy {name!r}; use a comma-separated list of "
                f'{choices} (e.g. "color,translation,cutout"), or "" for none'
            )
    if len(set(names)) != len(names):
        raise GannetError(
            f"train.augment {text!r} names a policy twice; list each of {choices} at most once"
        )
    return names


def diff_augment(x: Tensor, policy: str | Sequence[str], p: float = 1.0) -> Tensor:
    """``x`` (N, C, H, W) through each policy in order (a comma-separated string or a
    sequence of names); no policy returns ``x`` itself. Differentiable with respect to
    ``x``; random parameters from the global torch RNG on ``x``'s device.

    ``p`` < 1 (ADA's strength, :mod:`gannet.game.ada`): each policy is applied to each image
    with probability ``p`` (one U(0, 1) draw per image and policy, before the policy's own
    draws, which are made for the chosen images only); ``p`` <= 0 returns ``x`` itself and
    draws nothing; ``p`` >= 1 is DiffAugment (every policy on every image, no extra draw)."""
    names = parse_policy(policy) if isinstance(policy, str) else tuple(policy)
    if not names or p <= 0:
        return x
    if x.dim() != 4:
        raise GannetError(
            f"train.augment needs images (N, C, H, W), but the data has shape "
            f'{tuple(x.shape[1:])} per sample; set train.augment = "" for this data'
        )
    for name in names:
        if name not in POLICIES:
            parse_policy(name)  # the one-line error listing the choices
        x = POLICIES[name](x) if p >= 1 else apply_some(POLICIES[name], x, p)
    return x


def apply_some(policy: Callable[[Tensor], Tensor], x: Tensor, p: float) -> Tensor:
    """``policy`` applied to each image of ``x`` with probability ``p`` (differentiably:
    the chosen images are replaced by their transformed copies)."""
    chosen = torch.rand(x.shape[0], device=x.device) < p
    if not bool(chosen.any()):
        return x
    out = x.clone()
    out[chosen] = policy(x[chosen])
    return out


def check_augment(policy: str, synthetic_data: bool) -> None:
    """Config validation: ``policy`` names known policies, and is empty for the 1-D / 2-D
    synthetic data sets (no images to augment)."""
    names = parse_policy(policy)
    if names and synthetic_data:
        raise GannetError(
            f"train.augment = {policy!r} augments images, but this data set has 1-D or 2-D "
            'points; set train.augment = ""'
        )
