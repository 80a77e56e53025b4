"""A trained run, loaded for use (:func:`load_run`): its config, G (the EMA average when kept),
D and metrics. The folder's layout is described in :mod:`gannet.files.rundir`."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gannet.config import Config
from gannet.errors import GannetError
from gannet.files.rundir import (
    CHECKPOINT,
    CONFIG,
    METRICS,
    STATUS,
    MetricsLog,
    default_run_dir,
    is_run_dir,
    read_metrics,
    read_status,
    require_run_dir,
    write_status,
)
from gannet.training.state import Checkpoint, read_checkpoint

__all__ = [
    "CHECKPOINT",
    "CONFIG",
    "METRICS",
    "STATUS",
    "MetricsLog",
    "Run",
    "default_run_dir",
    "is_run_dir",
    "load_run",
    "read_metrics",
    "read_status",
    "require_run_dir",
    "write_status",
]


@dataclass
class Run:
    """A finished or interrupted run, loaded for use: ``gannet.load_run(path)``."""

    path: Path
    config: Config
    generator: nn.Module
    discriminator: nn.Module
    metrics: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    """Generator updates done."""
    epoch: int = 0
    """Epochs completed."""
    checkpoint: Path | None = None
    uses_ema: bool = False
    """True when ``generator`` holds the EMA average of G's weights (train.ema > 0)."""
    num_classes: int = 0
    """Classes of a conditional run (model.conditional); 0 for an unconditional one."""
    discriminator_ema: nn.Module | None = None
    """The moving average of D's weights (semi-supervised runs with train.d_ema > 0)."""

    def sample(
        self,
        n: int,
        seed: int | None = None,
        batch_size: int = 1000,
        labels: int | torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Draw n samples from the generator (eval mode, no gradients), on the CPU.

        Conditional runs: ``labels`` is one class for all n samples or n classes; None draws
        them uniformly (from the seed), i.e. samples the marginal. The noise does not depend
        on ``labels``: the same seed gives the same z whatever the class."""
        return self.sample_labelled(n, seed, batch_size, labels)[0]

    def sample_labelled(
        self,
        n: int,
        seed: int | None = None,
        batch_size: int = 1000,
        labels: int | torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`sample`, also returning the labels used (None for an unconditional run)."""
        from gannet.models import sample_noise

        seed = seed if seed is not None else self.config.train.seed + 12345
        y = self.check_labels(n, labels, seed)
        gen = torch.Generator(device="cpu")
        gen.manual_seed(seed)
        device = next(self.generator.parameters()).device
        out = []
        self.generator.eval()
        with torch.no_grad():
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                z = sample_noise(m, self.config.model.z_dim, self.config.model.noise, "cpu", gen)
                if y is None:
                    x = self.generator(z.to(device))
                else:
                    x = self.generator(z.to(device), y[start : start + m].to(device))
                out.append(x.float().cpu())
        return torch.cat(out), y

    def check_labels(
        self, n: int, labels: int | torch.Tensor | None, seed: int = 0
    ) -> torch.Tensor | None:
        """n int64 labels for G (None for an unconditional run); GannetError if invalid."""
        if not self.config.model.conditional:
            if labels is not None:
                raise GannetError(
                    f"run {str(self.path)!r} is not conditional (model.conditional = false): "
                    "it takes no class"
                )
            return None
        k = self.num_classes
        if labels is None:  # uniform classes, from a stream apart from the noise's
            gen = torch.Generator(device="cpu").manual_seed(seed + 7_919_113)
            return torch.randint(k, (n,), generator=gen)
        y = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        if y.numel() == 1:
            y = y.expand(n).clone()
        if y.numel() != n:
            raise GannetError(f"give one class or {n} classes, got {y.numel()}")
        bad = y[(y < 0) | (y >= k)]
        if bad.numel():
            raise GannetError(
                f"class {int(bad[0])} is out of range: run {str(self.path)!r} has {k} classes "
                f"(0..{k - 1})"
            )
        return y


def load_run(
    path: str | Path,
    checkpoint: str | Path | None = None,
    device: str = "cpu",
    ema: bool = True,
) -> Run:
    """Load a run's config, generator, discriminator and metrics (from its latest checkpoint
    unless ``checkpoint`` names another, e.g. a snapshot). When the run kept an EMA of G's
    weights (``train.ema``), ``generator`` is that average unless ``ema=False``."""
    from gannet.models import build_discriminator, build_generator

    run_dir = require_run_dir(path)
    config = Config.load(run_dir / CONFIG)
    ckpt_path = Path(checkpoint) if checkpoint else run_dir / CHECKPOINT
    if not ckpt_path.is_file() and checkpoint is None:
        raise GannetError(
            f"run {str(run_dir)!r} has no checkpoint yet; train it longer or resume it"
        )
    ckpt = read_checkpoint(ckpt_path, map_location=device)
    shape = tuple(ckpt.sample_shape)
    num_classes = _num_classes(config, ckpt, ckpt_path)
    g = build_generator(config.model, shape, num_classes=num_classes)
    d = build_discriminator(config.model, shape, num_classes=num_classes)
    if config.loss.spectral_norm:  # its weights are stored as parametrizations
        from gannet.game.regularizers import apply_spectral_norm

        with torch.random.fork_rng(devices=[]):  # u, v are loaded below: leave the RNG alone
            apply_spectral_norm(d)
    g_weights, uses_ema = ckpt.generator_weights(ema)
    bad = [k for k, v in g_weights.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise GannetError(
            f"checkpoint {str(ckpt_path)!r} holds non-finite (NaN or Inf) generator weights "
            f"({bad[0]}{' and others' if len(bad) > 1 else ''}): its samples would be "
            "meaningless; use an earlier snapshot (--checkpoint) or retrain with a lower "
            "optim.lr"
        )
    try:
        g.load_state_dict(g_weights)
        d.load_state_dict(ckpt.discriminator)
        d_ema = None
        if ckpt.discriminator_ema is not None:
            d_ema = copy.deepcopy(d)
            d_ema.load_state_dict(ckpt.discriminator_ema)
            d_ema.to(device).eval()
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise GannetError(
            f"checkpoint {str(ckpt_path)!r} does not match the run's config ({first})"
        ) from None
    g.to(device).eval()
    d.to(device).eval()
    return Run(
        path=run_dir,
        config=config,
        generator=g,
        discriminator=d,
        metrics=read_metrics(run_dir / METRICS),
        status=read_status(run_dir),
        step=ckpt.step,
        epoch=ckpt.epochs_completed,
        checkpoint=ckpt_path,
        uses_ema=uses_ema,
        num_classes=num_classes,
        discriminator_ema=d_ema,
    )


def _num_classes(config: Config, ckpt: Checkpoint, ckpt_path: Path) -> int:
    """A conditional run's number of classes, as saved in its checkpoint (older checkpoints
    without it: the size of G's label embedding)."""
    if not config.model.conditional:
        return 0
    if ckpt.num_classes:
        return ckpt.num_classes
    embedding = ckpt.generator.get("label.embedding.weight")
    if embedding is None:
        raise GannetError(
            f"checkpoint {str(ckpt_path)!r} of a conditional run lacks its number of classes"
        )
    return int(embedding.shape[0])
