"""The model passes Algorithm 1 is made of: noise and labels, G's and D's forward passes
(with bf16 autocast and, in a distributed run, each rank's dropout stream), D's penalties
and WGAN's clipping. :class:`gannet.training.Trainer` inherits them; they hold no state of
their own."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from gannet.config import Config
from gannet.game.ada import AdaptiveAugment
from gannet.game.augment import diff_augment
from gannet.game.losses import Loss
from gannet.game.regularizers import clip_weights_, gradient_penalty, r1_penalty
from gannet.models import sample_noise
from gannet.training.distributed import World
from gannet.training.precision import Precision

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import Progress


class ModelPasses:
    """G's and D's passes on a trainer's models, config and world."""

    config: Config
    world: World
    device: torch.device
    G: nn.Module
    D: nn.Module
    loss: Loss
    num_classes: int
    clip: float
    separate_d_passes: bool
    amp: Precision
    progress: Progress
    ada: AdaptiveAugment | None

    def noise(self, n: int) -> Tensor:
        """n draws from the noise prior p_z, from the global torch RNG (in a distributed run,
        this rank's slice of the n * world-size draws every rank makes)."""
        mc = self.config.model
        return self.world.local(sample_noise(n * self.world.size, mc.z_dim, mc.noise, self.device))

    def fake_labels(self, n: int) -> Tensor | None:
        """Conditional runs: n classes for G, uniform, from the global torch RNG (so exact
        resume holds); None (and no random draw) when unconditional."""
        if not self.num_classes:
            return None
        y = torch.randint(self.num_classes, (n * self.world.size,), device=self.device)
        return self.world.local(y)

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """G(z) (or G(z, y) for a conditional run)."""
        with self.world.rank_rng():
            out: Tensor = self.G(z) if y is None else self.G(z, y)
        return out

    def discriminate(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """D's raw output on x (and labels y for a conditional run), x first augmented by
        train.augment (DiffAugment; differentiably, so G's gradient flows through); dropout
        and the augmentation draw from this rank's own stream in a distributed run."""
        with self.world.rank_rng():
            x = self.augment(self.d_input(x))
            out: Tensor = self.D(x) if y is None else self.D(x, y)
        return out

    def d_input(self, x: Tensor) -> Tensor:
        """x in the dtype D's first op reads: fp32 when DiffAugment runs first (its draws and
        arithmetic stay as they were), else D's precision (:meth:`Precision.input_for`); on
        G's grid either way (:meth:`Precision.shared_grid`)."""
        if self.config.train.augment:
            return self.amp.shared_grid(x).float()
        return self.amp.input_for("d", x)

    def augment(self, x: Tensor) -> Tensor:
        """x through train.augment's policies at strength train.augment_p, or ADA's p
        (x itself when there are none)."""
        return diff_augment(x, self.config.train.augment, self.augment_strength)

    @property
    def augment_strength(self) -> float:
        """The probability each policy is applied to an image: ADA's current p with
        train.augment_p = "ada", else train.augment_p."""
        p = self.config.train.augment_p
        return self.ada.p if self.ada is not None else float(p)

    def penalty_critic(self, y: Tensor | None) -> Callable[[Tensor], Tensor]:
        """D as the penalties see it: on train.augment's augmentation of its input (the
        StyleGAN2-ADA and DiffAugment practice: R1's gradient is taken with respect to the
        un-augmented reals, through the augmentation), with the labels y of a conditional run."""

        def critic(v: Tensor) -> Tensor:
            v = self.augment(v)
            out: Tensor = self.D(v) if y is None else self.D(v, y)
            return out

        return critic

    def d_real_fake(
        self, x: Tensor, fake: Tensor, y_real: Tensor | None, y_fake: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """D's outputs (float) on a real and a fake minibatch: one pass over both, or two
        passes for a batch-norm D. With ADA, the real outputs are counted towards r_t (this
        is called once per D update on real data, in both schedules)."""
        if self.separate_d_passes:
            d_real = self.discriminate(x, y_real).float()
            d_fake = self.discriminate(fake, y_fake).float()
        else:
            y = None if y_real is None or y_fake is None else torch.cat([y_real, y_fake])
            dtype = torch.float32 if self.config.train.augment else self.amp.join_dtype
            both = torch.cat([x.to(dtype), fake.to(dtype)])
            d_real, d_fake = self.discriminate(both, y).float().split(x.shape[0])
        if self.ada is not None:  # ADA's overfitting heuristic reads D on the reals
            self.ada.observe(d_real, self.world.total)
        return d_real, d_fake

    def d_penalty(self, x: Tensor, fake: Tensor, y: Tensor | None = None) -> Tensor | None:
        """The penalties added to D's cost: WGAN-GP's gradient penalty and R1 (None when
        there are none). Each runs its own D passes on detached inputs; a conditional D is
        evaluated with the real batch's labels ``y`` (also at WGAN-GP's interpolates). R1
        is lazy with loss.r1_every > 1 (:meth:`r1_due`)."""
        lc = self.config.loss
        critic = self.penalty_critic(y)
        total: Tensor | None = None
        with self.autocast("d"):
            if self.loss.gradient_penalty:
                total = gradient_penalty(critic, x, fake, lc.gp_weight)
            if self.r1_due():  # lazy R1: gamma scaled by the interval (StyleGAN2)
                r1 = r1_penalty(critic, x, lc.r1_gamma * lc.r1_every)
                total = r1 if total is None else total + r1
        return total

    def r1_due(self) -> bool:
        """Whether this D step adds R1: loss.r1_gamma > 0 and the iteration's index (the
        generator steps done, ``progress.step``, checkpointed) is a multiple of
        loss.r1_every; with train.k > 1, all k D steps of such an iteration add it."""
        lc = self.config.loss
        return lc.r1_gamma > 0 and self.progress.step % lc.r1_every == 0

    def clip_d(self) -> None:
        """WGAN's weight clipping after a D update (when loss.clip resolves to c > 0)."""
        if self.clip > 0:
            clip_weights_(self.D, self.clip)

    def autocast(self, net: str = "both") -> contextlib.AbstractContextManager[Any]:
        """``net``'s forward passes' autocast ("g" or "d": train.precision_g / precision_d,
        bf16 or fp16; nothing for fp32). One region per network and update, so autocast's
        weight cache casts each weight once. "both": one region for G and D, in their common
        dtype (fp32 when they differ)."""
        return self.amp.autocast(net)
