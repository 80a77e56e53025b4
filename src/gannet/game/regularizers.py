"""Regularizers of the discriminator (critic), used by the losses after 2014.

* :func:`gradient_penalty`: WGAN-GP's two-sided penalty on random interpolates
  (Gulrajani et al., 2017, "Improved Training of Wasserstein GANs", equation 3).
* :func:`r1_penalty`: the zero-centred penalty on real data (Mescheder, Geiger and Nowozin,
  2018, "Which Training Methods for GANs do actually Converge?", equation 9).
* :func:`apply_spectral_norm`: spectral normalisation of every weight (Miyato, Kataoka,
  Koyama and Yoshida, 2018, "Spectral Normalization for Generative Adversarial Networks").
* :func:`clip_weights_`: WGAN's weight clipping (Arjovsky, Chintala and Bottou, 2017).

The penalties take D as any callable from a batch of samples to D's raw outputs (logits or
critic values), so a caller can bind extra inputs (``lambda x: D(x, y)``). Their only
randomness (the interpolation weights) comes from the global torch RNG on the samples'
device, which the trainer checkpoints, so exact resume is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from gannet.config import LossConfig
from gannet.errors import GannetError
from gannet.game.losses import make_loss

Critic = Callable[[Tensor], Tensor]
"""x (B, *sample_shape) -> D's raw outputs (B,) or (B, 1)."""

SPECTRAL_NORM_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
"""Layer types whose ``weight`` :func:`apply_spectral_norm` normalises."""


def _per_sample_norm(grad: Tensor) -> Tensor:
    """The L2 norm over all of each sample's dimensions: (B, ...) -> (B,)."""
    return torch.linalg.vector_norm(grad.flatten(1), ord=2, dim=1)


def _input_gradient(D: Critic, x: Tensor) -> Tensor:
    """grad_x sum_i D(x_i), kept in the graph so that the penalty can be descended."""
    x = x.detach().requires_grad_(True)
    out = D(x).float()
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad


def gradient_penalty(
    D: Critic,
    real: Tensor,
    fake: Tensor,
    weight: float = 10.0,
    alpha: Tensor | None = None,
) -> Tensor:
    """lambda * mean_i (||grad_xhat D(xhat_i)||_2 - 1)^2, xhat_i = a_i x_i + (1 - a_i) G(z_i).

    One a_i ~ U(0, 1) per sample, broadcast over the sample's dimensions, drawn from the
    global torch RNG on ``real``'s device (or given as ``alpha``, shape (B,)); the norm runs
    over all of a sample's dimensions. Gradients flow into D's parameters only: ``real``
    and ``fake`` are detached.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} differ")
    m = real.shape[0]
    if alpha is None:
        alpha = torch.rand(m, device=real.device, dtype=real.dtype)
    if alpha.shape != (m,):
        raise ValueError(f"alpha must have shape ({m},), got {tuple(alpha.shape)}")
    a = alpha.view(m, *([1] * (real.dim() - 1)))
    xhat = a * real.detach() + (1.0 - a) * fake.detach()
    norms = _per_sample_norm(_input_gradient(D, xhat))
    return weight * (norms - 1.0).square().mean()


def r1_penalty(D: Critic, real: Tensor, gamma: float) -> Tensor:
    """gamma / 2 * mean_i ||grad_x D(x_i)||_2^2 on real samples, D's raw output."""
    grad = _input_gradient(D, real)
    return 0.5 * gamma * grad.flatten(1).square().sum(1).mean()


def spectral_layers(module: nn.Module) -> list[nn.Module]:
    """The layers of ``module`` that :func:`apply_spectral_norm` wraps (or has wrapped)."""
    return [m for m in module.modules() if isinstance(m, SPECTRAL_NORM_LAYERS)]


def apply_spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Replace the weight W of every Linear / Conv2d / ConvTranspose2d layer of ``module`` by
    W / sigma(W) (``torch.nn.utils.parametrizations.spectral_norm``), in place.

    sigma is estimated by ``n_power_iterations`` power-iteration steps per training-mode
    forward pass; the iteration vectors u, v are buffers, so they are in the state dict
    (plain tensors: checkpoints stay ``weights_only``-loadable and resume is exact). Their
    random initialisation uses the global torch RNG. Returns ``module``.
    """
    layers = spectral_layers(module)
    if not layers:
        raise GannetError(
            f"loss.spectral_norm is on but the discriminator ({type(module).__name__}) has no "
            "Linear, Conv2d or ConvTranspose2d layer to normalise; turn it off"
        )
    for layer in layers:
        if parametrize.is_parametrized(layer, "weight"):
            continue
        spectral_norm(layer, name="weight", n_power_iterations=n_power_iterations)
    return module


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c] in place (WGAN: c = 0.01, after every
    critic update). With spectral norm on, the raw (unnormalised) weights are clipped."""
    if c <= 0:
        raise ValueError(f"the clip value must be positive, got {c}")
    params: list[Tensor] = list(module.parameters())
    if params:
        torch._foreach_clamp_min_(params, -c)
        torch._foreach_clamp_max_(params, c)


def clip_value(cfg: LossConfig) -> float:
    """The weight clip c that ``cfg`` asks for (0 = no clipping): ``loss.clip`` when > 0,
    none when < 0, and the loss's default when 0 (0.01 for wasserstein, none otherwise)."""
    if cfg.clip > 0:
        return cfg.clip
    if cfg.clip < 0:
        return 0.0
    return make_loss(cfg.name).default_clip
