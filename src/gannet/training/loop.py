"""Algorithm 1 (Goodfellow et al., 2014): the training loop and nothing around it.

``Trainer.alternating_iteration`` is Algorithm 1 as printed: k discriminator steps, each on a
fresh minibatch of data and noise, then one generator step on fresh noise.
``Trainer.simultaneous_iteration`` is the authors' released code: both gradients from one
minibatch, applied in one update. ``step()`` adds the bookkeeping of one iteration (epoch
order, EMA, schedules, counters, logging interval); ``fit()`` repeats it to the end.
Files, console output, checks and monitors are hooks (:mod:`gannet.training.hooks`).

Exact resume: all randomness comes from the global torch RNG (noise, dropout, the gradient
penalty's interpolation weights, spectral norm's initial vectors), whose state is
checkpointed (:mod:`gannet.training.state`), and from per-epoch data permutations derived
from (seed, epoch). A run killed at any moment and resumed from its last checkpoint replays
the same operations and ends with the same weights, bit for bit on the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gannet.config import Config
from gannet.data import Dataset, load_dataset
from gannet.data.base import float_mean
from gannet.errors import GannetError
from gannet.game.ada import adaptive_augment
from gannet.game.optim import linear_lr
from gannet.training import accumulate
from gannet.training.batches import Batches
from gannet.training.distributed import World
from gannet.training.finetune import freeze_d, thaw, trainable
from gannet.training.hooks.base import Hook, HookList
from gannet.training.hooks.schedule import EpochEndSchedule
from gannet.training.networks import (
    build_networks,
    ema_decay,
    grad_norm,
    prepare_for_device,
    resolve_device,
    update_ema,
)
from gannet.training.passes import ModelPasses
from gannet.training.precision import Precision, resolve_policy
from gannet.training.rollback import RollbackRequested, roll_back
from gannet.training.state import seed_everything
from gannet.training.stats import DStep, IntervalStats, StepResult
from gannet.training.validate import validate_config
from gannet.training.view import Progress


class Trainer(ModelPasses):
    """Algorithm 1 on one config: models, optimizers, data, and the hooks to tell."""

    def __init__(
        self,
        config: Config,
        dataset: Dataset | None = None,
        hooks: Iterable[Hook] = (),
        run_dir: Path | None = None,
        world: World | None = None,
    ) -> None:
        validate_config(config)
        tc = config.train
        self.config, self.run_dir = config, run_dir
        self.world = world if world is not None else World()
        self.device = self.world.device_for(resolve_device(tc.device))
        if tc.threads > 0:
            torch.set_num_threads(tc.threads)
        seed_everything(tc.seed)
        self.world.seed_rank_stream(tc.seed)
        shown = tc.progress if self.world.is_main else "none"
        self.data = (
            dataset
            if dataset is not None
            else load_dataset(config.data, progress=shown, threads=tc.threads)
        )
        self.num_classes = count_classes(config, self.data)
        labels = self.data.train_labels if self.num_classes else None
        self.m = self.world.check_batch(tc.batch_size)  # this process's share of the batch
        part = (self.world.rank, self.world.size)
        self.batches = Batches(self.data.train, labels, tc.batch_size, tc.seed, self.device, part)
        self.iterations_per_epoch = iterations_per_epoch(
            self.batches, self.d_steps_per_iteration, self.m, tc.k
        )
        x = self.batches.x
        nets = build_networks(
            config,
            self.data.sample_shape,
            float_mean(x),
            self.num_classes,
            x.device,
            self.world.is_main,
        )
        self.G, self.D, self.G_ema, self.loss = nets.G, nets.D, nets.G_ema, nets.loss
        self.D_ema: nn.Module | None = None
        """A moving average of D's weights (the semi-supervised trainer's train.d_ema)."""
        self.opt_g, self.opt_d, self.sched_g, self.sched_d = (
            nets.opt_g, nets.opt_d, nets.sched_g, nets.sched_d,
        )  # fmt: skip
        self.clip, self.separate_d_passes = nets.clip, nets.separate_d_passes
        self.amp = Precision(
            resolve_policy(tc.precision, tc.precision_g, tc.precision_d), self.device
        )
        self.ada = adaptive_augment(tc, self.m)
        prepare_for_device(self, tc.compile, tc.sync_bn)
        # FreezeD's fixed D parameters; micro-batches per update (train.batch_gpu); what
        # run.json records of train.init_from (set by start_run).
        self.frozen_d = freeze_d(self.D, tc.freeze_d, config.model.discriminator)
        self.micro = accumulate.micro_batches(tc.batch_gpu, self.m, self.world.size)
        self.initialised_from: dict[str, Any] | None = None
        self.world.broadcast_weights([self.G, self.D])
        self.rank_rng: list[Tensor] | None = None
        """Every rank's dropout stream at the last checkpoint (distributed runs)."""
        self.progress = Progress()
        self.stats = IntervalStats(self.loss)
        self.stop_requested = False
        self.out_of_time = False
        self.epoch_end = EpochEndSchedule()
        """Whether an epoch end does the epoch-end work (checkpoint, grid, curves)."""
        self.unsaved = False
        """True when iterations ran since the last checkpoint event."""
        self.iteration_started = time.perf_counter()
        """When the iteration in progress began (for ``progress.elapsed``)."""
        self.hooks = HookList(hooks)
        self.hooks.on_attach(self)

    # ------------------------------------------------------------------ Algorithm 1

    def d_step(self, x: Tensor, y: Tensor | None = None) -> DStep:
        """One discriminator update on the real minibatch ``x`` (labels ``y``) and a fresh
        fake one: D ascends its stochastic gradient (descends its cost, penalties added);
        then WGAN's clipping and the paper's lr decay. With train.batch_gpu, the gradient
        is accumulated over micro-batches of the same draws (:mod:`.accumulate`)."""
        z, y_fake = self.noise(len(x)), self.fake_labels(len(x))
        self.opt_d.zero_grad(set_to_none=True)
        parts = []
        for xs, ys, zs, yfs in accumulate.split(self.micro, x, y, z, y_fake):
            with torch.no_grad(), self.autocast("g"):
                fake = self.generate(zs, yfs)
            with self.autocast("d"):
                d_real, d_fake = self.d_real_fake(xs, fake, ys, yfs)
            cost = self.config.loss.d_cost_scale * self.loss.d_cost(d_real, d_fake)
            penalty = self.d_penalty(xs, fake, ys)
            if penalty is not None:
                cost = cost + penalty
            self.amp.scale(accumulate.share(cost, self.micro), "d").backward()
            parts.append(DStep(cost, penalty, d_real, d_fake))
        self.world.average_grads(self.D)
        self.amp.step(self.opt_d, "d")
        self.clip_d()
        self.sched_d.after_update()
        return accumulate.combine(parts)

    def g_step(self) -> Tensor:
        """One generator update on fresh noise, D held fixed: G descends its cost (over
        micro-batches with train.batch_gpu)."""
        z, y_fake = self.noise(self.m), self.fake_labels(self.m)
        self.D.requires_grad_(False)  # no weight gradients for D here
        try:
            self.opt_g.zero_grad(set_to_none=True)
            costs = []
            for zs, yfs in accumulate.split(self.micro, z, y_fake):
                with self.autocast("g"):
                    fake = self.generate(zs, yfs)
                with self.autocast("d"):
                    d_fake = self.discriminate(fake, yfs).float()
                costs.append(self.loss.g_cost(d_fake))
                self.amp.scale(accumulate.share(costs[-1], self.micro), "g").backward()
            self.world.average_grads(self.G)
            self.amp.step(self.opt_g, "g")
            self.sched_g.after_update()
        finally:
            thaw(self.D, self.frozen_d)  # FreezeD's blocks stay frozen
        return costs[0] if self.micro == 1 else torch.stack(costs).detach().mean()

    def alternating_iteration(self) -> StepResult:
        """One iteration of Algorithm 1: k D updates on fresh minibatches, then one G update."""
        k = self.config.train.k
        for j in range(k):
            d = self.d_step(*self.batches.get(self.progress.iteration_in_epoch * k + j))
        return StepResult(d, self.g_step(), self.m * k)

    def simultaneous_iteration(self) -> StepResult:
        """The authors' update: D's and G's gradients at the same (old) parameters, from one
        minibatch and one dropped-out D pass over it, applied together."""
        x, y_real = self.batches.get(self.progress.iteration_in_epoch)
        z, y_fake = self.noise(self.m), self.fake_labels(self.m)
        with self.autocast("g"):
            fake = self.generate(z, y_fake)
        with self.autocast("d"):
            d_real, d_fake = self.d_real_fake(x, fake, y_real, y_fake)
        d_cost = self.config.loss.d_cost_scale * self.loss.d_cost(d_real, d_fake)
        penalty = self.d_penalty(x, fake, y_real)  # its own D passes, on detached inputs
        if penalty is not None:
            d_cost = d_cost + penalty
        g_cost = self.loss.g_cost(d_fake)
        d_params, g_params = trainable(self.D.parameters()), list(self.G.parameters())
        d_grads = torch.autograd.grad(self.amp.scale(d_cost, "d"), d_params, retain_graph=True)
        g_grads = torch.autograd.grad(self.amp.scale(g_cost, "g"), g_params)
        for p, g in zip(d_params + g_params, d_grads + g_grads, strict=True):
            p.grad = g
        self.world.average_grads(self.D)
        self.world.average_grads(self.G)
        self.amp.step(self.opt_d, "d")
        self.amp.step(self.opt_g, "g")
        self.clip_d()
        self.sched_d.after_update()
        self.sched_g.after_update()
        return StepResult(DStep(d_cost, penalty, d_real, d_fake), g_cost, self.m)

    # ------------------------------------------------------------------ the run

    def step(self) -> StepResult:
        """One iteration with its bookkeeping: :meth:`begin_iteration`, Algorithm 1's
        iteration for train.schedule, :meth:`end_iteration`."""
        self.begin_iteration()
        if self.config.train.schedule == "alternating":
            result = self.alternating_iteration()
        else:
            result = self.simultaneous_iteration()
        self.end_iteration(result)
        return result

    def begin_iteration(self) -> None:
        """Before an iteration: at an epoch's start, its data order and momentum. Code that
        runs an iteration's updates itself (the playground's slow motion) calls this, then
        ``d_step`` on ``batches.get(...)`` and ``g_step``, then :meth:`end_iteration`."""
        p = self.progress
        self.iteration_started = time.perf_counter()
        if p.iteration_in_epoch == 0 or self.batches.epoch != p.epoch:
            self.batches.start_epoch(p.epoch)
            self.sched_d.start_epoch(p.epoch)
            self.sched_g.start_epoch(p.epoch)

    def end_iteration(self, result: StepResult) -> None:
        """After an iteration: EMA, the lr schedule, the counters, the logging interval, and
        the epoch-end and checkpoint events."""
        tc, p = self.config.train, self.progress
        if self.G_ema is not None:
            update_ema(self.G_ema, self.G, ema_decay(tc.ema, tc.ema_rampup, p.step + 1))
        p.step += 1
        if self.config.optim.lr_schedule == "linear":
            total = tc.max_steps or tc.epochs * self.iterations_per_epoch
            linear_lr(self.config.optim, self.opt_d, self.opt_g, p.step / total)
        p.iteration_in_epoch += 1
        self.stats.add(result)
        p.elapsed += time.perf_counter() - self.iteration_started
        if p.step % tc.log_every == 0:
            self.log()
        self.unsaved = True
        due = False  # epoch-end work (checkpoint, grid, curves): hooks/schedule.py
        if p.iteration_in_epoch == self.iterations_per_epoch:
            p.epoch, p.iteration_in_epoch = p.epoch + 1, 0
            due = self.epoch_end.decide(self, p.epoch - 1)
            self.hooks.on_epoch_end(self, p.epoch - 1)
        if due or p.step % tc.checkpoint_every == 0:
            self.checkpoint()
        self.hooks.on_step_end(self, result)

    def fit(self) -> Path | None:
        """Train until train.epochs (or train.max_steps) is reached, or a stop is requested
        (:meth:`request_stop`); returns the run folder (None without one)."""
        self.hooks.on_fit_start(self)
        self.stats.restart_clock()
        self.check_time_budget()
        try:
            while not self.done and not self.stop_requested:
                try:
                    self.step()
                except RollbackRequested as e:  # train.on_divergence = "rollback"
                    roll_back(self, e.reason)
                self.stop_requested = self.world.any(self.stop_requested)
                self.check_time_budget()
            if self.stop_requested:
                self.checkpoint()
                self.finish("interrupted")
                return self.run_dir
            if self.stats.count:
                self.log()
            if self.unsaved:  # stopped mid-epoch, or at an epoch end that was not due
                self.checkpoint()
        except BaseException as e:
            self.hooks.on_error(self, e)
            raise
        self.finish("finished")
        return self.run_dir

    @property
    def done(self) -> bool:
        """True once train.max_steps (when set), train.epochs or train.max_minutes (when
        set) is reached."""
        tc, p = self.config.train, self.progress
        steps_done = bool(tc.max_steps and p.step >= tc.max_steps)
        return steps_done or p.epoch > tc.epochs or self.out_of_time

    def check_time_budget(self) -> None:
        """Set ``out_of_time`` once train.max_minutes (when set) of training have run; the
        ranks of a distributed run agree on it (one all_reduce)."""
        minutes = self.config.train.max_minutes
        if minutes:
            self.out_of_time = self.world.any(self.progress.elapsed >= minutes * 60)

    def checkpoint(self) -> None:
        """Tell the hooks the state is consistent and should be saved (``on_checkpoint``);
        a distributed run first gathers every rank's dropout stream (all ranks call this)."""
        self.rank_rng = self.world.gather_rank_rng()
        self.hooks.on_checkpoint(self)
        self.unsaved = False

    def finish(self, status: str = "finished") -> None:
        """Tell the hooks the run ended with ``status`` (``on_fit_end``), for code that
        drives :meth:`step` itself instead of :meth:`fit`."""
        self.hooks.on_fit_end(self, status)

    def request_stop(self) -> None:
        """Ask :meth:`fit` to stop after the current iteration (checkpointed)."""
        self.stop_requested = True

    def log(self) -> dict[str, Any]:
        """Close the logging interval: build its record (:func:`interval_record`), let hooks
        add to it (``on_measure``) and read it (``on_log``); returns the record."""
        self.stats.average_over(self.world)
        record = interval_record(self)
        self.hooks.on_measure(self, record)
        self.hooks.on_log(self, record)
        self.stats.reset()
        return record

    def say(self, text: str) -> None:
        """A line for the user, through whichever hooks show messages."""
        self.hooks.on_message(self, text)

    # ------------------------------------------------------------------ pieces

    @property
    def d_steps_per_iteration(self) -> int:
        """Minibatches D sees per iteration: k (alternating) or 1 (simultaneous)."""
        return self.config.train.k if self.config.train.schedule == "alternating" else 1

    @property
    def x_train(self) -> Tensor:
        """The training examples, on the device, as stored (float32, or uint8 images: see
        :func:`gannet.data.base.as_float`)."""
        return self.batches.x

    @property
    def G_eval(self) -> nn.Module:
        """The generator used for samples and evaluation: the EMA average when kept."""
        return self.G_ema if self.G_ema is not None else self.G


def count_classes(config: Config, data: Dataset) -> int:
    """The classes a conditional run's G and D take (0 when model.conditional is off)."""
    if not config.model.conditional:
        return 0
    if data.train_labels is None or data.num_classes < 1:
        raise GannetError(
            f"model.conditional = true needs a labelled dataset, but {data.name!r} "
            "has no labels; set model.conditional = false"
        )
    return int(data.num_classes)


def iterations_per_epoch(batches: Batches, per_iteration: int, m: int, k: int) -> int:
    """Iterations in one epoch: the minibatches of a pass over the data, ``per_iteration``
    of them per iteration; too small a data set is one error line."""
    n = batches.per_epoch // per_iteration
    if n < 1:
        raise GannetError(
            f"the training set has {len(batches)} examples, too few for "
            f"train.batch_size={m} and k={k}; lower the batch size or k"
        )
    return n


def interval_record(trainer: Trainer) -> dict[str, Any]:
    """A logging interval's metrics.jsonl record: epoch and step, the interval's means
    (costs, D's outputs), both gradient norms, lr and momentum, speed and time, and ADA's
    state when it runs."""
    p = trainer.progress
    return {
        "epoch": p.epoch,
        "step": p.step,
        **trainer.stats.means(),
        "grad_norm_g": grad_norm(trainer.G),
        "grad_norm_d": grad_norm(trainer.D),
        "lr": trainer.sched_g.lr,
        "momentum": trainer.sched_g.momentum,
        "images_per_s": trainer.stats.images_per_s(),
        "wall_time": p.elapsed,
        **(trainer.ada.record() if trainer.ada is not None else {}),
    }
