"""The semi-supervised GAN (Salimans et al., 2016, "Improved techniques for training GANs",
section 5) through the trainer's public steps.

:class:`SemiSupervisedTrainer` is a :class:`~gannet.training.Trainer` whose ``d_step`` and
``g_step`` are the paper's: D (K class logits, the fake logit fixed at 0) descends the
cross-entropy on a labelled minibatch plus the unsupervised cost on the unlabelled real
minibatch and a fake one; G descends feature matching on D's last hidden layer. Everything
else (epochs, data order, EMA, hooks, checkpoints, exact resume) is the trainer's own.

The labelled rows: ``data.labels`` = N rows of the training split, N / K of every class,
chosen by ``train.seed`` (:func:`labelled_rows`). The trainer keeps their labels apart; its
minibatches (``batches``) carry no labels, so the unlabelled stream is the whole training
split without labels (as in the authors' code), and neither the validation nor the test
split is read. Each D step draws its labelled minibatch (``train.batch_size`` rows, with
replacement) from the global torch RNG, and each G step its real minibatch for feature
matching, so a resumed run replays the same draws.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor

from gannet.config import Config
from gannet.data import Dataset, load_dataset
from gannet.data.balanced import balanced_indices
from gannet.errors import GannetError
from gannet.game.losses import DDPM, SEMI_SUPERVISED, SemiSupervised
from gannet.training.distributed import World
from gannet.training.finetune import thaw
from gannet.training.hooks.base import Hook
from gannet.training.loop import Trainer
from gannet.training.networks import update_ema
from gannet.training.stats import DStep
from gannet.training.validate import validate_config


def d_ema_decay(decay: float, step: int) -> float:
    """The decay of D's average in generator step ``step`` (0-based): ``decay``, ramped up
    as min(decay, (1 + step) / (10 + step)) so the random start does not linger."""
    return min(decay, (1.0 + step) / (10.0 + step))


def labelled_rows(data: Dataset, n: int, seed: int) -> Tensor:
    """Indices into ``data.train`` of the ``n`` rows whose labels a semi-supervised run
    keeps: n / K of each of the K classes, chosen by ``seed``. One GannetError line when
    the data has no labels, n does not divide into K classes, or is larger than the split."""
    if data.train_labels is None or data.num_classes < 2:
        raise GannetError(
            f"loss.name={SEMI_SUPERVISED!r} needs a labelled dataset, but {data.name!r} has "
            "no training labels; use e.g. data.name = 'mnist'"
        )
    k, rows = data.num_classes, len(data.train)
    if n > rows:
        raise GannetError(
            f"data.labels = {n} is more than the {rows} training rows of {data.name!r}; "
            f"use at most {rows - rows % k}"
        )
    if n % k:
        raise GannetError(
            f"data.labels = {n} does not divide into {data.name!r}'s {k} classes; use a "
            f"multiple of {k} (e.g. {max(k, n - n % k)})"
        )
    return balanced_indices(data.train_labels, n // k, seed)


def trainer_class(config: Config) -> type[Trainer]:
    """The trainer for ``config``: :class:`SemiSupervisedTrainer` for
    loss.name='semi-supervised', :class:`~gannet.training.diffusion.DiffusionTrainer` for
    loss.name='ddpm', :class:`Trainer` otherwise."""
    if config.loss.name == DDPM:
        from gannet.training.diffusion import DiffusionTrainer

        return DiffusionTrainer
    return SemiSupervisedTrainer if config.loss.name == SEMI_SUPERVISED else Trainer


class SemiSupervisedTrainer(Trainer):
    """Salimans et al.'s semi-supervised GAN: a K-class D, feature matching for G."""

    def __init__(
        self,
        config: Config,
        dataset: Dataset | None = None,
        hooks: Iterable[Hook] = (),
        run_dir: Path | None = None,
        world: World | None = None,
    ) -> None:
        validate_config(config)
        data = dataset if dataset is not None else load_dataset(config.data)
        rows = labelled_rows(data, config.data.labels, config.train.seed)
        assert data.train_labels is not None  # labelled_rows checked it
        if config.model.d_classes != data.num_classes:
            raise GannetError(
                f"model.d_classes = {config.model.d_classes} but {data.name!r} has "
                f"{data.num_classes} classes; set model.d_classes = {data.num_classes}"
            )
        if world is not None and world.distributed:
            raise GannetError(f"loss.name={SEMI_SUPERVISED!r} runs in one process; drop --nproc")
        super().__init__(config, data, hooks, run_dir, world)
        if not callable(getattr(self.D, "features", None)):
            raise GannetError(
                f"loss.name={SEMI_SUPERVISED!r} needs a discriminator with class logits and "
                f"features, e.g. model.discriminator = 'salimans-d' (got "
                f"{config.model.discriminator!r})"
            )
        self.labelled_index = rows.to(self.device)
        """Rows of the training split whose labels the run uses."""
        self.x_labelled = self.batches.x.index_select(0, self.labelled_index)
        self.y_labelled = data.train_labels.to(self.device, torch.long)[self.labelled_index]
        if config.train.d_ema > 0:
            self.D_ema = copy.deepcopy(self.D).requires_grad_(False).eval()

    @property
    def semi_loss(self) -> SemiSupervised:
        """The run's loss, with its semi-supervised costs."""
        assert isinstance(self.loss, SemiSupervised)
        return self.loss

    def labelled_batch(self, n: int) -> tuple[Tensor, Tensor]:
        """``n`` labelled rows and their labels, drawn with replacement (global torch RNG)."""
        idx = torch.randint(len(self.y_labelled), (n,), device=self.device)
        return self.x_labelled.index_select(0, idx), self.y_labelled.index_select(0, idx)

    def features(self, x: Tensor) -> Tensor:
        """D's last hidden layer on ``x`` (training mode: its noise is drawn)."""
        with self.world.rank_rng():
            out: Tensor = self.D.features(x)  # type: ignore[operator]
        return out

    def d_step(self, x: Tensor, y: Tensor | None = None) -> DStep:
        """One D update: cross-entropy on a labelled minibatch, plus the unsupervised cost
        on the unlabelled minibatch ``x`` (its labels ``y`` are never used) and a fake one."""
        x_lab, y_lab = self.labelled_batch(len(x))
        z = self.noise(len(x))
        with torch.no_grad(), self.autocast("g"):
            fake = self.generate(z)
        with self.autocast("d"):
            logits = self.discriminate(torch.cat([x_lab, x, fake.to(x.dtype)])).float()
        l_lab, l_real, l_fake = logits.split([len(x_lab), len(x), len(fake)])
        cost = self.config.loss.d_cost_scale * self.semi_loss.semi_supervised_cost(
            l_lab, y_lab, l_real, l_fake
        )
        self.opt_d.zero_grad(set_to_none=True)
        self.amp.scale(cost, "d").backward()
        self.amp.step(self.opt_d, "d")
        self.clip_d()
        self.sched_d.after_update()
        if self.D_ema is not None:
            update_ema(self.D_ema, self.D, d_ema_decay(self.config.train.d_ema, self.progress.step))
        return DStep(cost, None, l_real.detach().logsumexp(1), l_fake.detach().logsumexp(1))

    def g_step(self) -> Tensor:
        """One G update by feature matching against a real minibatch drawn at random."""
        x_real, _ = self.batches.random(self.m)
        z = self.noise(self.m)
        self.D.requires_grad_(False)
        try:
            with self.autocast("g"):
                fake = self.generate(z)
            with self.autocast("d"):
                with torch.no_grad():
                    f_real = self.features(self.d_input(x_real)).float()
                f_fake = self.features(self.d_input(fake)).float()
            cost = self.semi_loss.feature_matching(f_real, f_fake)
            self.opt_g.zero_grad(set_to_none=True)
            self.amp.scale(cost, "g").backward()
            self.amp.step(self.opt_g, "g")
            self.sched_g.after_update()
        finally:
            thaw(self.D, self.frozen_d)  # FreezeD's blocks stay frozen
        return cost
