"""Checks of a config's values that the typed config cannot express (ranges, and
combinations such as a gradient penalty with no weight): one GannetError line each."""

from __future__ import annotations

import math

from gannet.config import Config
from gannet.errors import GannetError
from gannet.losses import make_loss


def validate_config(config: Config) -> None:
    """Every value range a training run relies on; the first bad one is a GannetError."""
    tc = config.train
    checks = [
        (tc.k >= 1, "train.k must be at least 1"),
        (tc.batch_size >= 1, "train.batch_size must be at least 1"),
        (tc.epochs >= 1, "train.epochs must be at least 1"),
        (tc.max_steps >= 0, "train.max_steps must be 0 (no limit) or positive"),
        (tc.log_every >= 1, "train.log_every must be at least 1"),
        (tc.checkpoint_every >= 1, "train.checkpoint_every must be at least 1"),
        (config.model.z_dim >= 1, "model.z_dim must be at least 1"),
        (config.optim.lr > 0, "optim.lr must be positive"),
        (0 < config.model.d_input_keep <= 1, "model.d_input_keep must be in (0, 1]"),
        (0 < config.model.d_hidden_keep <= 1, "model.d_hidden_keep must be in (0, 1]"),
        (len(config.optim.betas) == 2, "optim.betas must be two numbers"),
        (0 <= tc.ema < 1, "train.ema must be in [0, 1) (0 = off; e.g. 0.999)"),
    ]
    for ok, message in checks:
        if not ok:
            raise GannetError(message)
    validate_loss(config)


def validate_loss(config: Config) -> None:
    """The loss and its regularizers: one GannetError line for a bad value."""
    lc = config.loss
    loss = make_loss(lc.name)  # an unknown name lists the registered losses
    for key, value, hint in (
        ("loss.gp_weight", lc.gp_weight, "the gradient penalty's lambda; the paper used 10"),
        ("loss.r1_gamma", lc.r1_gamma, "0 turns R1 off"),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise GannetError(f"{key} must be a finite number >= 0 ({hint}), got {value}")
    if loss.gradient_penalty and lc.gp_weight == 0:
        raise GannetError(
            "loss.gp_weight must be > 0 for loss.name='wgan-gp' (the paper used 10); "
            "for no penalty use loss.name='wasserstein'"
        )
    if not math.isfinite(lc.clip):
        raise GannetError(
            f"loss.clip must be a finite number (0 = the loss's default, < 0 = off), got {lc.clip}"
        )
