"""The checks a config must pass before a trainer is built: every key's type and range
(declared beside the fields in :mod:`gannet.config`, checked by
:func:`gannet.config.check_config`), then the combinations no single range expresses (a
gradient penalty with no weight, an unknown loss): one GannetError line each."""

from __future__ import annotations

from gannet.config import Config, check_config
from gannet.errors import GannetError
from gannet.game.ada import check_ada
from gannet.game.augment import check_augment
from gannet.game.losses import DDPM, SEMI_SUPERVISED, make_loss


def validate_config(config: Config) -> None:
    """Every value a training run relies on; the first bad one is a GannetError."""
    check_config(config)
    validate_loss(config)
    validate_semi_supervised(config)
    validate_diffusion(config)
    check_augment(config.train.augment, is_synthetic(config.data.name))
    check_ada(config.train.augment_p, config.train.augment, config.loss.name)
    if config.train.ema_rampup and not config.train.ema:
        raise GannetError(
            "train.ema_rampup needs an average to ramp up: set train.ema (e.g. 0.999) or "
            "train.ema_rampup = 0"
        )
    validate_finetuning(config)
    if config.train.eval_every or config.train.eval_metrics:  # names checked even when off
        from gannet.training.hooks.evaluation import parse_eval_metrics

        parse_eval_metrics(config.train.eval_metrics, config.data.name)
    if config.train.tensorboard:
        from gannet.training.hooks.tensorboard import check_tensorboard

        check_tensorboard()


def validate_finetuning(config: Config) -> None:
    """train.freeze_d needs weights worth freezing; train.batch_gpu the loops that
    accumulate (the alternating one, with a loss whose costs are means over examples)."""
    tc = config.train
    if tc.freeze_d and not tc.init_from:
        raise GannetError(
            "train.freeze_d keeps a trained D's first blocks fixed: set train.init_from (a "
            "trained run) or train.freeze_d = 0"
        )
    if tc.batch_gpu and tc.schedule == "simultaneous":
        raise GannetError(
            "train.batch_gpu (gradient accumulation) runs with train.schedule = "
            "'alternating'; set train.batch_gpu = 0"
        )
    if tc.batch_gpu and config.loss.name == SEMI_SUPERVISED:
        raise GannetError(
            f"train.batch_gpu cannot split loss.name={SEMI_SUPERVISED!r}: feature matching "
            "compares batch means; set train.batch_gpu = 0"
        )


def validate_loss(config: Config) -> None:
    """The loss and its regularizers beyond their ranges: one GannetError line."""
    lc = config.loss
    loss = make_loss(lc.name)  # an unknown name lists the registered losses
    if loss.gradient_penalty and lc.gp_weight == 0:
        raise GannetError(
            "loss.gp_weight must be > 0 for loss.name='wgan-gp' (the paper used 10); "
            "for no penalty use loss.name='wasserstein'"
        )


def is_synthetic(name: str) -> bool:
    """True for the 1-D / 2-D synthetic data sets (points, not images); False for image
    data sets and for names the registry does not know (refused when the data is loaded)."""
    from gannet.data import DATASETS
    from gannet.data.synthetic import locate_synthetic

    return name in DATASETS and DATASETS.get(name).locate is locate_synthetic


def validate_semi_supervised(config: Config) -> None:
    """data.labels and loss.name='semi-supervised' go together, with the settings its loop
    supports (the checks that need the data are in :mod:`gannet.training.semisup`)."""
    semi = config.loss.name == SEMI_SUPERVISED
    if config.data.labels and not semi:
        raise GannetError(
            f"data.labels is for loss.name={SEMI_SUPERVISED!r}; set data.labels = 0 or "
            f"loss.name = {SEMI_SUPERVISED!r}"
        )
    if config.train.d_ema and not semi:
        raise GannetError(
            f"train.d_ema averages the classifier D of loss.name={SEMI_SUPERVISED!r} runs; "
            "set train.d_ema = 0 (train.ema averages G)"
        )
    if not semi:
        return
    if not config.data.labels:
        raise GannetError(
            f"loss.name={SEMI_SUPERVISED!r} needs data.labels = N, the labelled training rows "
            "to keep (e.g. 100: 10 per class)"
        )
    unsupported = {
        "train.schedule='simultaneous'": config.train.schedule == "simultaneous",
        "model.conditional": config.model.conditional,
        "loss.r1_gamma > 0": config.loss.r1_gamma > 0,
        "loss.spectral_norm": config.loss.spectral_norm,
    }
    for what, on in unsupported.items():
        if on:
            raise GannetError(
                f"loss.name={SEMI_SUPERVISED!r} does not support {what}; remove it "
                "(the semi-supervised loop is alternating, unconditional, without penalties)"
            )


def validate_diffusion(config: Config) -> None:
    """loss.name='ddpm' and model.generator='ddpm-unet' go together, with no discriminator,
    normal noise (z is the starting image x_T) and the settings its loop supports."""
    mc, diffusion = config.model, config.loss.name == DDPM
    if diffusion != (mc.generator == "ddpm-unet"):
        raise GannetError(
            "loss.name = 'ddpm' and model.generator = 'ddpm-unet' go together; set both "
            "(a diffusion run) or neither"
        )
    if not diffusion:
        if mc.discriminator == "none":
            raise GannetError(
                "model.discriminator = 'none' is for diffusion runs (loss.name "
                "= 'ddpm'); a GAN needs a discriminator"
            )
        return
    if mc.sample_steps > mc.diffusion_steps:
        raise GannetError(
            f"model.sample_steps = {mc.sample_steps} is more than model.diffusion_steps = "
            f"{mc.diffusion_steps}; use at most {mc.diffusion_steps}"
        )
    unsupported = {
        "model.discriminator other than 'none'": mc.discriminator != "none",
        "model.noise = 'uniform' (x_T is standard normal: use 'normal')": mc.noise != "normal",
        "model.conditional": mc.conditional,
        "train.k > 1": config.train.k > 1,
        "train.schedule = 'simultaneous'": config.train.schedule == "simultaneous",
        "train.augment": bool(config.train.augment),
        "loss.r1_gamma > 0": config.loss.r1_gamma > 0,
        "loss.spectral_norm": config.loss.spectral_norm,
    }
    for what, on in unsupported.items():
        if on:
            raise GannetError(f"loss.name = {DDPM!r} does not support {what}; remove it")
