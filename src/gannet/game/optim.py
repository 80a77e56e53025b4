"""Optimizers and the paper's schedules.

``paper-sgd`` is the authors' momentum rule (Pylearn2): inc = mu * inc - lr * grad;
param += inc. It differs from ``torch.optim.SGD`` (buf = mu * buf + grad; param -= lr * buf)
whenever lr changes, and the paper's lr changes after every update: lr <- max(lr / 1.000004,
1e-6). Momentum rises linearly from 0.5 at epoch 1 to 0.7 at epoch 250.

``adam`` and ``rmsprop`` (WGAN's optimizer) are PyTorch's, with a constant lr.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from gannet.config import OptimConfig


class PaperSGD(torch.optim.Optimizer):
    """inc = momentum * inc - lr * grad; param += inc (foreach kernels, no Python per element)."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            incs = []
            for p in params:
                state = self.state[p]
                if "inc" not in state:
                    state["inc"] = torch.zeros_like(p)
                incs.append(state["inc"])
            torch._foreach_mul_(incs, group["momentum"])
            torch._foreach_add_(incs, grads, alpha=-group["lr"])
            torch._foreach_add_(params, incs)


def make_optimizer(
    cfg: OptimConfig, params: Iterable[torch.nn.Parameter], lr: float
) -> torch.optim.Optimizer:
    if cfg.name == "paper-sgd":
        return PaperSGD(params, lr=lr, momentum=cfg.momentum_init)
    if cfg.name == "adam":
        b1, b2 = cfg.betas
        return torch.optim.Adam(params, lr=lr, betas=(b1, b2), foreach=True)
    if cfg.name == "rmsprop":
        # WGAN (Arjovsky et al., 2017): RMSProp, lr 5e-5, PyTorch's defaults otherwise.
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    raise ValueError(f"unknown optimizer {cfg.name!r}")


def momentum_at(cfg: OptimConfig, epoch: int) -> float:
    """Momentum for 1-based ``epoch``: linear from momentum_init (momentum_start) to
    momentum_final (momentum_saturate), constant outside."""
    span = max(cfg.momentum_saturate - cfg.momentum_start, 1)
    alpha = min(max((epoch - cfg.momentum_start) / span, 0.0), 1.0)
    return cfg.momentum_init + (cfg.momentum_final - cfg.momentum_init) * alpha


class PaperSchedule:
    """Applies the paper's schedules to one optimizer; its only state lives in the optimizer
    (the current lr) and the trainer's epoch counter, so resume needs nothing extra."""

    def __init__(self, cfg: OptimConfig, optimizer: torch.optim.Optimizer) -> None:
        self.cfg, self.optimizer = cfg, optimizer

    def after_update(self) -> None:
        if self.cfg.name != "paper-sgd":
            return
        for group in self.optimizer.param_groups:
            group["lr"] = max(group["lr"] / self.cfg.lr_decay, self.cfg.lr_min)

    def start_epoch(self, epoch: int) -> None:
        if self.cfg.name != "paper-sgd":
            return
        for group in self.optimizer.param_groups:
            group["momentum"] = momentum_at(self.cfg, epoch)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def momentum(self) -> float:
        group = self.optimizer.param_groups[0]
        if "momentum" in group:
            return float(group["momentum"])
        return float(group.get("betas", (0.0,))[0])


def linear_lr(
    cfg: OptimConfig, opt_d: torch.optim.Optimizer, opt_g: torch.optim.Optimizer, done: float
) -> None:
    """optim.lr_schedule = "linear": lr = lr0 * (1 - done), ``done`` the fraction of the
    run's steps taken (D's lr0 is optim.lr, G's optim.lr * optim.g_lr_scale)."""
    fraction = max(0.0, 1.0 - done)
    for opt, lr0 in ((opt_d, cfg.lr), (opt_g, cfg.lr * cfg.g_lr_scale)):
        for group in opt.param_groups:
            group["lr"] = lr0 * fraction
