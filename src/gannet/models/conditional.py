"""Conditional GANs: p(x | c), with the class label c fed to both G and D.

The paper's first extension ("a conditional generative model p(x | c) can be obtained by
adding c as input to both G and D"; Mirza & Osindero, 2014). Any registered model becomes
conditional by wrapping, with no change to the model itself:

* G(z, y): the base generator is built for noise of size ``z_dim + label_embedding`` and is
  fed ``[z, embed(y)]``. Called without labels, it draws them uniformly from the global torch
  RNG (a sample of the marginal p(x) = sum_c p(c) p(x | c)).
* D(x, y), ``model.d_conditioning = "concat"``: MLP discriminators are built for
  ``prod(sample_shape) + label_embedding`` inputs and fed ``[flatten(x), embed(y)]`` (the
  paper models' input dropout applies to the label code too); conv discriminators (entries
  with ``build_with_label_channels``) get the code as ``label_embedding`` constant maps,
  extra input channels.
* D(x, y), ``"projection"`` (Miyato & Koyama, 2018): logit = psi(phi(x)) + <V[y], phi(x)>,
  where phi is the base D's penultimate features (its ``features`` module, or all of its
  ``net`` but the last linear layer) and psi its output unit. V starts with the spread of
  psi's weights, so both terms begin on the same scale.

``label_embedding = 0`` uses a fixed one-hot code (``num_classes`` wide) instead of a learned
embedding. The learned embedding of G starts from N(0, 1), the scale of the noise.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from gannet.config import ModelConfig
from gannet.errors import GannetError
from gannet.models.base import ModelEntry


class LabelCode(nn.Module):
    """Labels (B,) -> codes (B, size): a learned embedding, or one-hot when size is 0."""

    def __init__(self, num_classes: int, size: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.size = size if size > 0 else num_classes
        self.embedding = nn.Embedding(num_classes, size) if size > 0 else None

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.embedding is None:
            return F.one_hot(y, self.num_classes).float()
        out: torch.Tensor = self.embedding(y)
        return out


def _labels(y: torch.Tensor | None, n: int, who: str) -> torch.Tensor:
    if y is None:
        raise GannetError(f"this {who} is conditional: call it with labels, e.g. D(x, y)")
    if y.shape != (n,):
        raise GannetError(f"labels must have shape ({n},) for a batch of {n}, got {tuple(y.shape)}")
    return y


class ConditionalGenerator(nn.Module):
    """G(z, y) = base([z, code(y)])."""

    def __init__(self, base: nn.Module, num_classes: int, label_size: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.base = base
        self.label = LabelCode(num_classes, label_size)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            y = torch.randint(self.num_classes, (z.shape[0],), device=z.device)
        y = _labels(y, z.shape[0], "generator")
        out: torch.Tensor = self.base(torch.cat([z, self.label(y).to(z.dtype)], 1))
        return out


class ConcatDiscriminator(nn.Module):
    """D(x, y) = base([flatten(x), code(y)]), or base(x with code(y) as extra channels)."""

    def __init__(
        self, base: nn.Module, num_classes: int, label_size: int, as_channels: bool
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.as_channels = as_channels
        self.base = base
        self.label = LabelCode(num_classes, label_size)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        code = self.label(_labels(y, x.shape[0], "discriminator")).to(x.dtype)
        if self.as_channels:
            maps = code[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            out: torch.Tensor = self.base(torch.cat([x, maps], 1))
        else:
            out = self.base(torch.cat([x.flatten(1), code], 1))
        return out


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + <V[y], phi(x)> (Miyato & Koyama, 2018)."""

    def __init__(self, base: nn.Module, num_classes: int, name: str = "") -> None:
        super().__init__()
        self.num_classes = num_classes
        self.base = base
        phi, psi = split_discriminator(base, name)
        # A plain tuple: the parts stay registered under `base` only (one copy in state_dict).
        self._parts = (phi, psi)
        self.projection = nn.Embedding(num_classes, psi.in_features)
        std = float(psi.weight.detach().std()) if psi.weight.numel() > 1 else 0.02
        nn.init.normal_(self.projection.weight, 0.0, std if math.isfinite(std) else 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        y = _labels(y, x.shape[0], "discriminator")
        phi, psi = self._parts
        h = phi(x).flatten(1)
        return psi(h).view(-1) + (self.projection(y).to(h.dtype) * h).sum(1)


def split_discriminator(d: nn.Module, name: str = "") -> tuple[nn.Module, nn.Linear]:
    """(phi, psi): a discriminator's penultimate features and its final linear unit."""
    features, output = getattr(d, "features", None), getattr(d, "output", None)
    if isinstance(features, nn.Module) and isinstance(output, nn.Linear):
        return features, output
    net = getattr(d, "net", None)
    if isinstance(net, nn.Sequential) and len(net) > 1 and isinstance(net[-1], nn.Linear):
        return net[:-1], net[-1]
    raise GannetError(
        f"discriminator {name or type(d).__name__!r} does not expose its penultimate features "
        "(a `features` module and an `output` linear layer), so it cannot use "
        "model.d_conditioning = 'projection'; use 'concat'"
    )


def _check(cfg: ModelConfig, num_classes: int) -> None:
    if num_classes < 1:
        raise GannetError(
            "model.conditional = true needs a labelled dataset (the number of classes comes "
            "from the data); set model.conditional = false"
        )
    if cfg.label_embedding < 0:
        raise GannetError(
            f"model.label_embedding must be 0 (one-hot) or positive, got {cfg.label_embedding}"
        )


def conditional_generator(
    entry: ModelEntry,
    cfg: ModelConfig,
    shape: tuple[int, ...],
    data_mean: torch.Tensor | None,
    num_classes: int,
) -> nn.Module:
    """The registered generator ``entry``, built for noise widened by the label code."""
    _check(cfg, num_classes)
    size = cfg.label_embedding or num_classes
    base = entry.build(dataclasses.replace(cfg, z_dim=cfg.z_dim + size), shape, data_mean)
    return ConditionalGenerator(base, num_classes, cfg.label_embedding)


def conditional_discriminator(
    entry: ModelEntry, name: str, cfg: ModelConfig, shape: tuple[int, ...], num_classes: int
) -> nn.Module:
    """The registered discriminator ``entry``, conditioned by concat or projection."""
    _check(cfg, num_classes)
    if cfg.d_conditioning == "projection":
        return ProjectionDiscriminator(entry.build(cfg, shape, None), num_classes, name)
    size = cfg.label_embedding or num_classes
    if entry.build_with_label_channels is not None:
        base = entry.build_with_label_channels(cfg, shape, size)
        return ConcatDiscriminator(base, num_classes, cfg.label_embedding, as_channels=True)
    base = entry.build(cfg, (math.prod(shape) + size,), None)
    return ConcatDiscriminator(base, num_classes, cfg.label_embedding, as_channels=False)
