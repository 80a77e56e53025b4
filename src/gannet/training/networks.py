"""What a run trains, built from its config: G, D, G's EMA, their optimizers and schedules,
the loss and D's regularizers (spectral norm, weight clipping)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gannet.config import Config
from gannet.errors import GannetError
from gannet.game.losses import Loss, make_loss
from gannet.game.optim import PaperSchedule, make_optimizer
from gannet.game.regularizers import apply_spectral_norm, clip_value, clip_weights_
from gannet.models import build_discriminator, build_generator

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU; a named device must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GannetError(f"train.device {name!r} is not a device; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GannetError(f"train.device is {name!r} but no CUDA GPU is present; use auto or cpu")
    return device


@dataclass
class Networks:
    """The trained objects of one run."""

    G: nn.Module
    D: nn.Module
    G_ema: nn.Module | None
    """Polyak/EMA average of G's weights (evaluation only; never trained directly)."""
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: PaperSchedule
    sched_d: PaperSchedule
    loss: Loss
    clip: float
    """WGAN's weight-clipping bound for D (0 = no clipping)."""
    separate_d_passes: bool
    """A batch-norm D sees real and fake minibatches in separate passes (DCGAN: one pass
    over both mixes their statistics, and on MNIST G then learns nothing), as does a D with
    a module flagged ``mixes_batch`` (stylegan-d's minibatch stddev); any other D sees both
    in one pass."""


def build_networks(
    config: Config,
    sample_shape: tuple[int, ...],
    data_mean: Tensor,
    num_classes: int,
    device: torch.device,
    keep_ema: bool = True,
) -> Networks:
    """Build everything a run trains; draws G's and D's initial weights from the global
    torch RNG (so the run's seed fixes them). ``keep_ema=False`` leaves out G's EMA (the
    ranks of a distributed run other than 0)."""
    mc, oc = config.model, config.optim
    G = build_generator(mc, sample_shape, data_mean, num_classes).to(device)
    D = build_discriminator(mc, sample_shape, num_classes).to(device)
    separate = any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "mixes_batch", False)
        for m in D.modules()
    )
    loss = make_loss(config.loss.name)
    # Regularizers that change D itself, before its optimizer takes its parameters.
    if config.loss.spectral_norm:
        apply_spectral_norm(D)
    clip = clip_value(config.loss)
    if clip > 0:
        clip_weights_(D, clip)
    opt_d = make_optimizer(oc, D.parameters(), oc.lr)
    opt_g = make_optimizer(oc, G.parameters(), oc.lr * oc.g_lr_scale)
    keep = keep_ema and config.train.ema > 0
    G_ema = copy.deepcopy(G).requires_grad_(False) if keep else None
    return Networks(
        G=G,
        D=D,
        G_ema=G_ema,
        opt_g=opt_g,
        opt_d=opt_d,
        sched_g=PaperSchedule(oc, opt_g),
        sched_d=PaperSchedule(oc, opt_d),
        loss=loss,
        clip=clip,
        separate_d_passes=separate,
    )


def ema_decay(decay: float, rampup: float, updates: int) -> float:
    """The EMA decay of update number ``updates`` (1-based): ``decay``, or with ``rampup`` > 0
    the smaller decay whose half-life is ``rampup * updates`` steps (StyleGAN2-ADA's ramp-up:
    the half-life grows with training until it reaches ``decay``'s own)."""
    if rampup <= 0:
        return decay
    return min(decay, 0.5 ** (1.0 / max(rampup * updates, 1e-8)))


def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model (parameters); buffers copied."""
    with torch.no_grad():
        ema_params: list[Tensor] = list(ema.parameters())
        params: list[Tensor] = list(model.parameters())
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
            b_ema.copy_(b)


def grad_norm(module: nn.Module) -> float:
    """The L2 norm of all of ``module``'s parameter gradients (0 when it has none)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))


def has_conv(module: nn.Module) -> bool:
    """True when ``module`` holds a 2-D (transposed) convolution."""
    return any(isinstance(m, nn.Conv2d | nn.ConvTranspose2d) for m in module.modules())


def prefers_channels_last(module: nn.Module, device: torch.device) -> bool:
    """Convolutional models on CUDA run faster with channels-last tensors (tensor cores);
    MLPs and CPU runs keep the default layout."""
    return device.type == "cuda" and has_conv(module)


def prepare_for_device(trainer: TrainerView, compile: bool, sync_bn: bool) -> None:
    """Per-device choices for a trainer's G and D: channels-last memory on CUDA for
    convolutional models, SyncBatchNorm for a distributed CUDA run (``train.sync_bn``), and
    ``torch.compile`` (``train.compile``). The modules keep their parameters, so the
    optimizers built on them are unchanged and checkpoints keep their keys."""
    if sync_bn and trainer.world.distributed:
        if trainer.device.type != "cuda":
            raise GannetError(
                "train.sync_bn needs CUDA (SyncBatchNorm has no CPU kernel); on CPU each "
                "process normalises its own share of the batch: set train.sync_bn = false"
            )
        trainer.G = nn.SyncBatchNorm.convert_sync_batchnorm(trainer.G)
        trainer.D = nn.SyncBatchNorm.convert_sync_batchnorm(trainer.D)
    for module in (trainer.G, trainer.D):
        if prefers_channels_last(module, trainer.device):
            module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if compile:
        trainer.G.compile()
        trainer.D.compile()
