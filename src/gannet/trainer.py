"""Training by Algorithm 1 (Goodfellow et al., 2014), and the run around it.

The body of the loop is ``Trainer.alternating_iteration`` (Algorithm 1 as printed: k
discriminator steps, each on a fresh minibatch of data and noise, then one generator step
on fresh noise) or ``Trainer.simultaneous_iteration`` (the authors' released code: both
gradients from one minibatch, applied in one update). Everything else (schedules,
logging, samples, checkpoints, resume) lives outside those two methods.

Exact resume: all randomness comes from the global torch RNG (noise, dropout, the gradient
penalty's interpolation weights, spectral norm's initial vectors), whose state
is checkpointed, and from per-epoch data permutations derived from (seed, epoch). A run
killed at any moment and resumed from its last checkpoint therefore replays the same
operations and ends with the same weights, bit for bit on the CPU. (The mode-coverage check
of 2-D mixture runs uses a fixed noise batch from a private generator: it draws nothing from
the global stream.)
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import signal
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

import gannet
from gannet.checkpoint import load_checkpoint, save_checkpoint
from gannet.config import Config
from gannet.data import Dataset, load_dataset
from gannet.errors import GannetError
from gannet.losses import make_loss
from gannet.models import build_discriminator, build_generator, sample_noise
from gannet.optim import PaperSchedule, make_optimizer
from gannet.plotting import plot_curves, save_samples
from gannet.regularizers import (
    apply_spectral_norm,
    clip_value,
    clip_weights_,
    gradient_penalty,
    r1_penalty,
)
from gannet.run import (
    CHECKPOINT,
    CONFIG,
    METRICS,
    MetricsLog,
    default_run_dir,
    is_run_dir,
    read_status,
    require_run_dir,
    write_status,
)

if TYPE_CHECKING:  # pragma: no cover
    from gannet.metrics.modes import ClassStats, ModeStats

# Keys that may change when a run is resumed without breaking exact reproducibility.
RESUMABLE_OVERRIDES = {
    "data.data_dir",  # where the (checksum-verified) files are; not what they hold
    "train.epochs",
    "train.max_steps",
    "train.log_every",
    "train.checkpoint_every",
    "train.progress",
    "train.snapshot_every",
    "train.mode_check",  # measures G on its own fixed noise; touches no training state
}

# Fields of a metrics line accumulated over each logging interval. d_loss is D's whole cost
# (penalties included), d_penalty the penalties' part of it; value is the loss's objective
# for D (V(D, G) for the 2014 losses); d_real / d_fake are mean sigmoid(D output) (D(x),
# meaningful for the 2014 losses only), d_real_raw / d_fake_raw the mean raw outputs.
_ACCUMULATED = (
    "d_loss",
    "g_loss",
    "value",
    "d_real",
    "d_fake",
    "d_real_raw",
    "d_fake_raw",
    "d_penalty",
)

MODE_CHECK_SAMPLES = 2500
"""Samples drawn by the mode-coverage check (the 2,500 of VEEGAN and PacGAN)."""
MODE_CHECK_MIN_STEPS = 25
"""The check runs at the logging steps that are multiples of the first multiple of
train.log_every >= this (every interval for log_every >= 25): a check costs ~5 ms on a
3x128 MLP generator, about 1 % of 25 steps of the ring configs on one loaded core."""
MODE_CHECK_IMAGE_SAMPLES = 1000
"""Samples the class-coverage check of image runs labels with gannet's classifier."""
MODE_CHECK_IMAGE_MIN_STEPS = 1000
"""Image runs are checked at most this often (two epochs of the paper's MNIST model): a
classifier pass over 1,000 images took 1.9 s on one loaded core, 2-4 % of 1,000 steps of
the paper's model there."""
MODE_FALL = 2
"""Warn when the modes covered fall this many below the best seen so far."""
MODE_CHECK_SEED_OFFSET = 2
"""The check's fixed noise comes from seed + this (the sample grid's noise uses seed + 1)."""


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GannetError(f"train.device {name!r} is not a device; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GannetError(f"train.device is {name!r} but no CUDA GPU is present; use auto or cpu")
    return device


class Trainer:
    """Owns the models, optimizers, data and run directory of one training run."""

    def __init__(self, config: Config, run_dir: Path, dataset: Dataset | None = None) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        tc = config.train
        _validate(config)
        self.device = resolve_device(tc.device)
        if tc.threads > 0:
            torch.set_num_threads(tc.threads)
        torch.manual_seed(tc.seed)
        random.seed(tc.seed)
        np.random.seed(tc.seed % 2**32)

        self.data = dataset if dataset is not None else load_dataset(config.data)
        self.x_train = self.data.train.to(self.device).contiguous()
        # Conditional GANs: the labels, gathered with the same indices as the images.
        self.num_classes = 0
        self.y_train: Tensor | None = None
        if config.model.conditional:
            labels = self.data.train_labels
            if labels is None or self.data.num_classes < 1:
                raise GannetError(
                    f"model.conditional = true needs a labelled dataset, but "
                    f"{self.data.name!r} has no labels; set model.conditional = false"
                )
            self.num_classes = int(self.data.num_classes)
            self.y_train = labels.to(self.device, torch.long).contiguous()
        self.m = tc.batch_size
        batches = self.x_train.shape[0] // self.m
        per_iteration = tc.k if tc.schedule == "alternating" else 1
        self.iterations_per_epoch = batches // per_iteration
        if self.iterations_per_epoch < 1:
            raise GannetError(
                f"the training set has {self.x_train.shape[0]} examples, too few for "
                f"train.batch_size={self.m} and k={tc.k}; lower the batch size or k"
            )

        shape = self.data.sample_shape
        mean, classes = self.x_train.mean(0), self.num_classes
        self.G = build_generator(config.model, shape, mean, classes).to(self.device)
        self.D = build_discriminator(config.model, shape, classes).to(self.device)
        # A batch-norm D sees real and fake minibatches in separate passes (DCGAN: one pass
        # over both mixes their statistics, and on MNIST G then learns nothing); any other D
        # sees both in one pass, as before.
        self._separate_d_passes = any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.D.modules()
        )
        self.loss = make_loss(config.loss.name)
        # Regularizers that change D itself, before its optimizer takes its parameters.
        if config.loss.spectral_norm:
            apply_spectral_norm(self.D)
        self.clip = clip_value(config.loss)
        if self.clip > 0:
            clip_weights_(self.D, self.clip)
        oc = config.optim
        self.opt_d = make_optimizer(oc, self.D.parameters(), oc.lr)
        self.opt_g = make_optimizer(oc, self.G.parameters(), oc.lr * oc.g_lr_scale)
        self.sched_d = PaperSchedule(oc, self.opt_d)
        self.sched_g = PaperSchedule(oc, self.opt_g)
        # Polyak/EMA average of G's weights (evaluation only; never trained directly).
        self.G_ema: nn.Module | None = None
        if tc.ema > 0:
            self.G_ema = copy.deepcopy(self.G).requires_grad_(False)

        fixed = torch.Generator(device="cpu").manual_seed(tc.seed + 1)
        mc = config.model
        self.fixed_y: Tensor | None = None
        if self.num_classes:  # one row per class, the same noise in every row
            per_class = max(1, tc.n_fixed_samples // self.num_classes)
            z = sample_noise(per_class, mc.z_dim, mc.noise, "cpu", fixed)
            self.fixed_z = z.repeat(self.num_classes, 1).to(self.device)
            classes_col = torch.arange(self.num_classes).repeat_interleave(per_class)
            self.fixed_y = classes_col.to(self.device)
        else:
            z = sample_noise(tc.n_fixed_samples, mc.z_dim, mc.noise, "cpu", fixed)
            self.fixed_z = z.to(self.device)

        # Progress counters: `step` counts generator updates (Algorithm 1 iterations).
        self.step = 0
        self.epoch = 1
        self.iteration_in_epoch = 0
        self.elapsed = 0.0  # training seconds, summed over sessions
        self.metrics = MetricsLog(self.run_dir / METRICS)
        self._perm: Tensor | None = None
        self._acc = torch.zeros(len(_ACCUMULATED), dtype=torch.float64)
        self._acc_n = 0
        self._interval_start = time.perf_counter()
        self._interval_images = 0
        self._stop_requested = False
        self._low_d_fake_intervals = 0
        self._warned: set[str] = set()
        self._bar: Any = None
        self._init_mode_check()

    # ------------------------------------------------------------------ construction

    @classmethod
    def create(
        cls, config: Config, out: str | Path | None = None, dataset: Dataset | None = None
    ) -> Trainer:
        """A trainer for a new run in ``out`` (default: the next runs/NNNNN-<data> folder)."""
        run_dir = Path(out) if out else default_run_dir(f"{config.data.name}")
        if run_dir.exists() and any(run_dir.iterdir()):
            hint = " (resume it with --resume)" if is_run_dir(run_dir) else ""
            raise GannetError(
                f"output folder {str(run_dir)!r} already exists and is not empty{hint}; "
                "choose another --out"
            )
        trainer = cls(config, run_dir, dataset)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "samples").mkdir(exist_ok=True)
        config.save(run_dir / CONFIG)
        trainer._write_status("created")
        return trainer

    @classmethod
    def resume(
        cls, run_dir: str | Path, overrides: list[str] | None = None, dataset: Dataset | None = None
    ) -> Trainer:
        """Continue a run from its last checkpoint, exactly where it stopped."""
        run_dir = require_run_dir(run_dir)
        overrides = overrides or []
        for item in overrides:
            key = item.split("=", 1)[0].strip()
            if key not in RESUMABLE_OVERRIDES:
                raise GannetError(
                    f"cannot change {key!r} when resuming (it would break exact resume); "
                    f"allowed: {', '.join(sorted(RESUMABLE_OVERRIDES))}"
                )
        config = Config.load(run_dir / CONFIG, overrides)
        trainer = cls(config, run_dir, dataset)
        ckpt = run_dir / CHECKPOINT
        # Killed before its first checkpoint: the fresh trainer is exactly the start state.
        if ckpt.is_file():
            trainer.load_state(load_checkpoint(ckpt, map_location=trainer.device))
        trainer.metrics.truncate_after(trainer.step)
        trainer._replay_mode_history(trainer.metrics.read())
        if overrides:
            config.save(run_dir / CONFIG)
        return trainer

    # ------------------------------------------------------------------ Algorithm 1

    def alternating_iteration(self) -> None:
        """One iteration of Algorithm 1."""
        D, loss, m = self.D, self.loss, self.m
        for j in range(self.config.train.k):
            # Sample m noise samples and m examples from the data generating distribution.
            z = self.noise(m)
            index = self.iteration_in_epoch * self.config.train.k + j
            x, y_real = self.batch(index), self.batch_labels(index)
            y_fake = self.fake_labels(m)  # conditional runs: uniform classes for G
            # Update D by ascending its stochastic gradient (descending its cost).
            with torch.no_grad(), self.autocast():
                fake = self._g(z, y_fake)
            with self.autocast():
                d_real, d_fake = self._d_real_fake(x, fake, y_real, y_fake)
            d_cost = self.config.loss.d_cost_scale * loss.d_cost(d_real, d_fake)
            penalty = self._d_penalty(x, fake, y_real)
            if penalty is not None:
                d_cost = d_cost + penalty
            self.opt_d.zero_grad(set_to_none=True)
            d_cost.backward()
            self.opt_d.step()
            self._clip_d()
            self.sched_d.after_update()

        # Sample m fresh noise samples; update G by descending its cost.
        z = self.noise(m)
        y_fake = self.fake_labels(m)
        D.requires_grad_(False)  # D is held fixed: no weight gradients for it here
        with self.autocast():
            d_fake_g = self._d(self._g(z, y_fake), y_fake).float()
        g_cost = loss.g_cost(d_fake_g)
        self.opt_g.zero_grad(set_to_none=True)
        g_cost.backward()
        self.opt_g.step()
        self.sched_g.after_update()
        D.requires_grad_(True)

        self._accumulate(d_cost, g_cost, d_real, d_fake, penalty)

    def simultaneous_iteration(self) -> None:
        """The authors' update: D's and G's gradients at the same (old) parameters, from one
        minibatch and one dropped-out D pass over it, applied together."""
        G, D, loss, m = self.G, self.D, self.loss, self.m
        z = self.noise(m)
        x, y_real = self.batch(self.iteration_in_epoch), self.batch_labels(self.iteration_in_epoch)
        y_fake = self.fake_labels(m)
        with self.autocast():
            fake = self._g(z, y_fake)
            d_real, d_fake = self._d_real_fake(x, fake, y_real, y_fake)
        d_cost = self.config.loss.d_cost_scale * loss.d_cost(d_real, d_fake)
        penalty = self._d_penalty(x, fake, y_real)  # its own D passes, on detached inputs
        if penalty is not None:
            d_cost = d_cost + penalty
        g_cost = loss.g_cost(d_fake)
        d_params, g_params = list(D.parameters()), list(G.parameters())
        d_grads = torch.autograd.grad(d_cost, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_cost, g_params)
        for p, g in zip(d_params + g_params, d_grads + g_grads, strict=True):
            p.grad = g
        self.opt_d.step()
        self.opt_g.step()
        self._clip_d()
        self.sched_d.after_update()
        self.sched_g.after_update()
        self._accumulate(d_cost, g_cost, d_real, d_fake, penalty)

    def _d_penalty(self, x: Tensor, fake: Tensor, y: Tensor | None = None) -> Tensor | None:
        """The penalties added to D's cost (after loss.d_cost_scale), from a real and a fake
        batch: WGAN-GP's gradient penalty (loss wgan-gp) and R1 (loss.r1_gamma > 0); None
        when there are none. Each runs its own D pass(es) on detached inputs; extra inputs of
        D (e.g. class labels) are bound in ``critic``: a conditional D is evaluated with the
        real batch's labels ``y`` (also at WGAN-GP's interpolates)."""
        lc = self.config.loss
        critic: Callable[[Tensor], Tensor] = self.D if y is None else partial(self.D, y=y)
        total: Tensor | None = None
        with self.autocast():
            if self.loss.gradient_penalty:
                total = gradient_penalty(critic, x, fake, lc.gp_weight)
            if lc.r1_gamma > 0:
                r1 = r1_penalty(critic, x, lc.r1_gamma)
                total = r1 if total is None else total + r1
        return total

    def _clip_d(self) -> None:
        """WGAN's weight clipping after a D update (when loss.clip resolves to c > 0)."""
        if self.clip > 0:
            clip_weights_(self.D, self.clip)

    # ------------------------------------------------------------------ the run

    def fit(self) -> Path:
        """Train until train.epochs (or train.max_steps) is reached; returns the run folder."""
        tc = self.config.train
        iteration = (
            self.alternating_iteration
            if tc.schedule == "alternating"
            else self.simultaneous_iteration
        )
        self._write_status("running")
        self._print(
            f"gannet: training {self.config.data.name} ({self.x_train.shape[0]} examples, "
            f"{tc.schedule}, k={tc.k}, batch {self.m}) on {self.device}; run: {self.run_dir}"
        )
        self._reset_interval()
        session_start = time.perf_counter()
        elapsed_before = self.elapsed
        with self._signals(), self._progress():
            while not self._done():
                if self.iteration_in_epoch == 0 or self._perm is None:
                    self._start_epoch()
                iteration()
                self.update_ema()
                self.step += 1
                self._linear_lr()
                self.iteration_in_epoch += 1
                self.elapsed = elapsed_before + time.perf_counter() - session_start
                if self.step % tc.log_every == 0:
                    self._log()
                if self.iteration_in_epoch == self.iterations_per_epoch:
                    self._end_epoch()
                elif self.step % tc.checkpoint_every == 0:
                    self.save_checkpoint()
                if self._stop_requested:
                    self.save_checkpoint()
                    self._write_status("interrupted")
                    self._print(
                        f"gannet: interrupted at step {self.step}; checkpoint saved. "
                        f"Resume with: gannet train --resume {self.run_dir}"
                    )
                    return self.run_dir
        if self._acc_n:
            self._log()
        if self.iteration_in_epoch != 0:  # stopped mid-epoch by max_steps
            self.save_checkpoint()
        self._write_status("finished")
        plot_curves(self.metrics.read(), self.run_dir / "curves.png", self.loss.probabilistic)
        self._print(f"gannet: finished at epoch {self.epoch - 1}, step {self.step}: {self.run_dir}")
        return self.run_dir

    def _linear_lr(self) -> None:
        """optim.lr_schedule = "linear": lr(step) = lr0 * (1 - step / total_steps)."""
        oc, tc = self.config.optim, self.config.train
        if oc.lr_schedule != "linear":
            return
        total = tc.max_steps or tc.epochs * self.iterations_per_epoch
        fraction = max(0.0, 1.0 - self.step / total)
        for opt, lr0 in ((self.opt_d, oc.lr), (self.opt_g, oc.lr * oc.g_lr_scale)):
            for group in opt.param_groups:
                group["lr"] = lr0 * fraction

    def _done(self) -> bool:
        tc = self.config.train
        if tc.max_steps and self.step >= tc.max_steps:
            return True
        return self.epoch > tc.epochs

    def _start_epoch(self) -> None:
        self._perm = epoch_permutation(
            self.x_train.shape[0], self.config.train.seed, self.epoch, self.device
        )
        self.sched_d.start_epoch(self.epoch)
        self.sched_g.start_epoch(self.epoch)

    def _end_epoch(self) -> None:
        self.save_samples(self.run_dir / "samples" / f"epoch-{self.epoch:04d}.png")
        every = self.config.train.snapshot_every
        if every and self.epoch % every == 0:
            self.save_snapshot()
        self.epoch += 1
        self.iteration_in_epoch = 0
        self.save_checkpoint()
        plot_curves(self.metrics.read(), self.run_dir / "curves.png", self.loss.probabilistic)

    # ------------------------------------------------------------------ pieces

    def update_ema(self) -> None:
        """ema <- decay * ema + (1 - decay) * G, after every generator update."""
        if self.G_ema is None:
            return
        with torch.no_grad():
            ema_params: list[Tensor] = list(self.G_ema.parameters())
            g_params: list[Tensor] = list(self.G.parameters())
            torch._foreach_lerp_(ema_params, g_params, 1.0 - self.config.train.ema)
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
                b_ema.copy_(b)

    @property
    def G_eval(self) -> nn.Module:
        """The generator used for samples and evaluation: the EMA average when kept."""
        return self.G_ema if self.G_ema is not None else self.G

    def noise(self, n: int) -> Tensor:
        mc = self.config.model
        return sample_noise(n, mc.z_dim, mc.noise, self.device)

    def batch(self, index: int) -> Tensor:
        """The index-th minibatch of this epoch's shuffled order (one gather, no Python loop)."""
        assert self._perm is not None
        idx = self._perm[index * self.m : (index + 1) * self.m]
        return self.x_train.index_select(0, idx)

    def batch_labels(self, index: int) -> Tensor | None:
        """The labels of :meth:`batch` ``index`` (same indices); None when unconditional."""
        if self.y_train is None:
            return None
        assert self._perm is not None
        return self.y_train.index_select(0, self._perm[index * self.m : (index + 1) * self.m])

    def fake_labels(self, n: int) -> Tensor | None:
        """Conditional runs: n classes for G, uniform, from the global torch RNG (so exact
        resume holds); None (and no random draw) when unconditional."""
        if not self.num_classes:
            return None
        return torch.randint(self.num_classes, (n,), device=self.device)

    def _g(self, z: Tensor, y: Tensor | None) -> Tensor:
        out: Tensor = self.G(z) if y is None else self.G(z, y)
        return out

    def _d(self, x: Tensor, y: Tensor | None) -> Tensor:
        out: Tensor = self.D(x) if y is None else self.D(x, y)
        return out

    def _d_real_fake(
        self, x: Tensor, fake: Tensor, y_real: Tensor | None, y_fake: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """D's outputs (float) on a real and a fake minibatch: one pass over both, or two
        passes for a batch-norm D."""
        if self._separate_d_passes:
            return self._d(x, y_real).float(), self._d(fake, y_fake).float()
        y = None if y_real is None or y_fake is None else torch.cat([y_real, y_fake])
        d_real, d_fake = self._d(torch.cat([x, fake]), y).float().split(x.shape[0])
        return d_real, d_fake

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.config.train.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def save_samples(self, path: Path) -> None:
        G = self.G_eval
        G.eval()
        with torch.no_grad():
            if self.fixed_y is None:
                samples = G(self.fixed_z).float()
            else:
                samples = G(self.fixed_z, self.fixed_y).float()
        G.train()
        if self.fixed_y is None:
            save_samples(samples, path)
        else:  # one row per class
            per_class = self.fixed_z.shape[0] // self.num_classes
            save_samples(samples, path, nrow=per_class, labels=self.fixed_y)

    def _accumulate(
        self,
        d_cost: Tensor,
        g_cost: Tensor,
        d_real: Tensor,
        d_fake: Tensor,
        penalty: Tensor | None = None,
    ) -> None:
        with torch.no_grad():
            row = torch.stack(
                [
                    d_cost.detach(),
                    g_cost.detach(),
                    self.loss.value(d_real, d_fake),
                    torch.sigmoid(d_real).mean(),
                    torch.sigmoid(d_fake).mean(),
                    d_real.mean(),
                    d_fake.mean(),
                    penalty.detach() if penalty is not None else torch.zeros_like(d_cost),
                ]
            )
            self._acc += row.double().cpu()
        self._acc_n += 1
        per_iteration = self.config.train.k if self.config.train.schedule == "alternating" else 1
        self._interval_images += self.m * per_iteration

    def _reset_interval(self) -> None:
        self._acc.zero_()
        self._acc_n = 0
        self._interval_images = 0
        self._interval_start = time.perf_counter()

    def _log(self) -> None:
        if not self._acc_n:
            return
        means = (self._acc / self._acc_n).tolist()
        seconds = max(time.perf_counter() - self._interval_start, 1e-9)
        record: dict[str, Any] = {
            "epoch": self.epoch,
            "step": self.step,
            **dict(zip(_ACCUMULATED, means, strict=True)),
            "grad_norm_g": _grad_norm(self.G),
            "grad_norm_d": _grad_norm(self.D),
            "lr": self.sched_g.lr,
            "momentum": self.sched_g.momentum,
            "images_per_s": self._interval_images / seconds,
            "wall_time": self.elapsed,
        }
        if not all(math.isfinite(v) for v in means):
            self.metrics.append(record)
            self._write_status("diverged")
            raise GannetError(
                f"training diverged at step {self.step} (a loss is NaN or Inf); the last good "
                f"checkpoint is kept in {self.run_dir}; lower optim.lr or change the loss"
            )
        self._check_modes(record)
        self.metrics.append(record)
        self._health(record)
        self._mode_health(record)
        self._report(record)
        self._reset_interval()

    def _health(self, record: dict[str, Any]) -> None:
        """Warn once when D(G(z)) stays near 0 (the saturating-gradient regime); only for
        losses whose D output is a probability's logit."""
        if not self.loss.probabilistic:
            return
        self._low_d_fake_intervals = (
            self._low_d_fake_intervals + 1 if record["d_fake"] < 0.01 else 0
        )
        if self._low_d_fake_intervals >= 10 and "saturated" not in self._warned:
            self._warned.add("saturated")
            self._print(
                f"gannet: warning: mean D(G(z)) has stayed below 0.01 for "
                f"{self._low_d_fake_intervals} logging intervals (step {self.step}): D rejects "
                "every sample and G's gradient may vanish; consider loss.name='non-saturating'"
            )

    # ------------------------------------------------------------------ mode coverage

    def _init_mode_check(self) -> None:
        """Set up the mode-coverage check (2-D mixtures with train.mode_check only): a
        fixed noise batch of its own, drawn from a private generator, so the check is the
        same at every call and never advances the global RNG that training (and exact
        resume) depends on."""
        self.mode_kind: str | None = None
        self._mode_z: Tensor | None = None
        self._mode_y: Tensor | None = None
        self._mode_best = -1  # best modes_covered seen so far (-1: none measured yet)
        self._mode_fallen = False  # in a fall that was warned about; ends on recovery
        self._classifier: Any = None
        cfg = self.config
        if not cfg.train.mode_check:
            return
        n = MODE_CHECK_SAMPLES
        if (
            self.data.name == "mixture-2d"
            and cfg.data.mixture in ("ring", "grid")
            and tuple(self.data.sample_shape) == (2,)
        ):
            self.mode_kind = cfg.data.mixture
        elif self._image_classifier_cached():
            self.mode_kind, n = "classes", MODE_CHECK_IMAGE_SAMPLES
        else:
            return
        mc = cfg.model
        gen = torch.Generator(device="cpu").manual_seed(cfg.train.seed + MODE_CHECK_SEED_OFFSET)
        z = sample_noise(n, mc.z_dim, mc.noise, "cpu", gen)
        self._mode_z = z.to(self.device)
        if self.num_classes:  # conditional: every class equally often, in a fixed order
            y = torch.arange(n) % self.num_classes
            self._mode_y = y.to(self.device)

    def _image_classifier_cached(self) -> bool:
        """An MNIST-like run whose dataset has a cached gannet classifier
        (``gannet classifier train DATASET``); image runs are checked only then."""
        from gannet.metrics.classifier import SUPPORTED, classifier_path

        name = self.data.name
        return (
            name in SUPPORTED
            and tuple(self.data.sample_shape) in ((1, 28, 28), (784,))
            and classifier_path(name).is_file()
        )

    def mode_check(self) -> ModeStats | ClassStats | None:
        """Mode coverage of ``G_eval`` on the check's fixed noise (eval mode, no
        gradients): a :class:`gannet.metrics.modes.ModeStats` for ring and grid runs, a
        :class:`gannet.metrics.modes.ClassStats` for image runs with a cached classifier,
        or None when the check is off (other data, or train.mode_check = false)."""
        if self.mode_kind is None or self._mode_z is None:
            return None
        from gannet.metrics.modes import classifier_mode_stats, mixture_mode_stats

        G = self.G_eval
        was_training = G.training
        G.eval()
        try:
            with torch.no_grad():
                if self._mode_y is None:
                    samples = G(self._mode_z)
                else:
                    samples = G(self._mode_z, self._mode_y)
        finally:
            G.train(was_training)
        if self.mode_kind != "classes":
            return mixture_mode_stats(samples.float(), self.mode_kind)
        if self._classifier is None:
            from gannet.metrics.classifier import cached_classifier

            try:
                self._classifier, _ = cached_classifier(self.data.name)
            except GannetError as e:  # a corrupt cache must not stop training
                self._print(f"gannet: warning: class-coverage check off: {e}")
                self.mode_kind = None
                return None
        x = samples.float().cpu().reshape(-1, 1, 28, 28)
        return classifier_mode_stats(x, self._classifier)

    def _mode_fell(self, covered: int) -> int | None:
        """Track the best coverage; return the best it fell from when ``covered`` opens a
        new fall (at least MODE_FALL below the best), else None. A fall lasts until the
        coverage is back at the best (or above it), so one fall warns once."""
        if covered >= self._mode_best:
            self._mode_best = covered
            self._mode_fallen = False
            return None
        if self._mode_fallen or covered > self._mode_best - MODE_FALL:
            return None
        self._mode_fallen = True
        return self._mode_best

    def _replay_mode_history(self, records: list[dict[str, Any]]) -> None:
        """On resume: rebuild the best coverage and the open fall from metrics.jsonl, so
        the warnings come as in an uninterrupted run."""
        for r in records:
            covered = r.get("modes_covered")
            if isinstance(covered, int):
                self._mode_fell(covered)

    @property
    def mode_check_every(self) -> int:
        """Steps between mode checks: log_every, or its first multiple >= 25 (2-D
        mixtures) or >= 500 (image classes)."""
        every = self.config.train.log_every
        least = MODE_CHECK_IMAGE_MIN_STEPS if self.mode_kind == "classes" else MODE_CHECK_MIN_STEPS
        return every * math.ceil(least / every)

    def _check_modes(self, record: dict[str, Any]) -> None:
        """Add modes_covered, high_quality (fraction of samples) and n_modes to the record
        (2-D mixtures only, every mode_check_every steps)."""
        if self.mode_kind is None or self.step % self.mode_check_every:
            return
        from gannet.metrics.modes import ClassStats

        stats = self.mode_check()
        if stats is None:
            return
        if isinstance(stats, ClassStats):
            record["modes_covered"] = stats.classes_covered
            record["class_kl"] = stats.kl_uniform
            record["n_modes"] = stats.n_classes
            return
        record["modes_covered"] = stats.modes_covered
        record["high_quality"] = stats.high_quality_fraction
        record["n_modes"] = stats.n_modes

    def _mode_health(self, record: dict[str, Any]) -> None:
        """Warn once per fall when the modes covered drop MODE_FALL or more below the best."""
        covered = record.get("modes_covered")
        if covered is None:
            return
        best = self._mode_fell(int(covered))
        if best is None:
            return
        unit = "classes" if self.mode_kind == "classes" else "modes"
        self._print(
            f"gannet: warning: mode coverage fell from {best} to {covered} of "
            f"{record['n_modes']} {unit} at step {self.step}: the generator may be collapsing; "
            "try more D steps per G step (train.k), spectral norm on D "
            "(loss.spectral_norm = true) or a lower learning rate (optim.lr)"
        )

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly (plain tensors and primitives only)."""
        rng: dict[str, Any] = {
            "torch": torch.get_rng_state(),
            "python": _python_rng_state(),
            "numpy": _numpy_rng_state(),
        }
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        state: dict[str, Any] = {
            "config": self.config.to_dict(),
            "gannet_version": gannet.__version__,
            "sample_shape": list(self.data.sample_shape),
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "epochs_completed": self.epoch - 1,
            "iteration_in_epoch": self.iteration_in_epoch,
            "elapsed": self.elapsed,
            "rng": rng,
            "num_classes": self.num_classes,
        }
        if self.G_ema is not None:
            state["generator_ema"] = self.G_ema.state_dict()
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        if list(state.get("sample_shape", [])) != list(self.data.sample_shape):
            raise GannetError(
                f"the checkpoint was trained on samples of shape {state.get('sample_shape')}, "
                f"but the data now has shape {list(self.data.sample_shape)}"
            )
        try:
            self.G.load_state_dict(state["generator"])
            self.D.load_state_dict(state["discriminator"])
            if self.G_ema is not None:
                self.G_ema.load_state_dict(state["generator_ema"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            self.step = int(state["step"])
            self.epoch = int(state["epoch"])
            self.iteration_in_epoch = int(state["iteration_in_epoch"])
            self.elapsed = float(state.get("elapsed", 0.0))
            rng = state["rng"]
            torch.set_rng_state(rng["torch"].cpu())
            random.setstate(_to_python_rng_state(rng["python"]))
            np.random.set_state(_to_numpy_rng_state(rng["numpy"]))
            if "cuda" in rng and torch.cuda.is_available():
                torch.cuda.set_rng_state_all([s.cpu() for s in rng["cuda"]])
        except (KeyError, RuntimeError, ValueError, TypeError) as e:
            raise GannetError(f"the checkpoint does not match this run ({e})") from None

    def save_checkpoint(self) -> None:
        save_checkpoint(self.run_dir / CHECKPOINT, self.state())
        self._write_status("running")

    def save_snapshot(self) -> None:
        """Weights only, kept along the way for evaluation at several epochs."""
        state = self.state()
        names = (
            "config",
            "sample_shape",
            "generator",
            "discriminator",
            "generator_ema",
            "num_classes",
        )
        keep = {k: state[k] for k in names if k in state}
        keep.update(step=self.step, epochs_completed=self.epoch)
        save_checkpoint(self.run_dir / "snapshots" / f"epoch-{self.epoch:04d}.pt", keep)

    def _write_status(self, status: str) -> None:
        previous = read_status(self.run_dir) if (self.run_dir / "run.json").is_file() else {}
        write_status(
            self.run_dir,
            {
                "status": status,
                "created": previous.get("created", _now()),
                "updated": _now(),
                "gannet_version": gannet.__version__,
                "torch_version": torch.__version__,
                "device": str(self.device),
                "data_source": self.data.source,
                "train_examples": int(self.x_train.shape[0]),
                "step": self.step,
                "epoch": self.epoch - (1 if self.iteration_in_epoch == 0 else 0),
                "iterations_per_epoch": self.iterations_per_epoch,
                "elapsed_seconds": round(self.elapsed, 3),
            },
        )

    # ------------------------------------------------------------------ output

    def _progress(self) -> contextlib.AbstractContextManager[Any]:
        mode = self.config.train.progress
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self._mode = mode
        if mode != "bar":
            return contextlib.nullcontext()
        from tqdm import tqdm

        total = self.config.train.epochs * self.iterations_per_epoch
        if self.config.train.max_steps:
            total = min(total, self.config.train.max_steps)
        self._bar = tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True)
        return _closing(self)

    def _report(self, r: dict[str, Any]) -> None:
        modes = f"modes {r['modes_covered']}/{r['n_modes']} " if "modes_covered" in r else ""
        if self._mode == "bar" and self._bar is not None:
            self._bar.n = self.step
            self._bar.set_postfix_str(
                f"ep {r['epoch']} D {r['d_loss']:.3f} G {r['g_loss']:.3f} "
                f"{self._outputs(r, 2)} {modes}{r['images_per_s']:.0f} img/s"
            )
        elif self._mode == "lines":
            print(
                f"epoch {r['epoch']:4d} step {r['step']:7d} | D {r['d_loss']:.4f} "
                f"G {r['g_loss']:.4f} V {r['value']:.4f} | {self._outputs(r, 3)} | "
                f"{modes and modes + '| '}{r['images_per_s']:.0f} img/s",
                flush=True,
            )

    def _outputs(self, r: dict[str, Any], digits: int) -> str:
        """Mean D(x), D(G(z)) for the 2014 losses; mean raw outputs f(x), f(G(z)) otherwise."""
        if self.loss.probabilistic:
            return f"D(x) {r['d_real']:.{digits}f} D(G(z)) {r['d_fake']:.{digits}f}"
        return f"f(x) {r['d_real_raw']:.{digits}f} f(G(z)) {r['d_fake_raw']:.{digits}f}"

    def _print(self, message: str) -> None:
        if self.config.train.progress == "none":
            return
        if self._bar is not None:
            self._bar.write(message)
        else:
            print(message, flush=True)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM finish the current iteration, checkpoint, and return."""

        def request_stop(signum: int, frame: Any) -> None:
            self._stop_requested = True

        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, request_stop)
        except ValueError:  # not the main thread: leave signals alone
            pass
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@contextlib.contextmanager
def _closing(trainer: Trainer) -> Iterator[None]:
    try:
        yield
    finally:
        if trainer._bar is not None:
            trainer._bar.n = trainer.step
            trainer._bar.close()
            trainer._bar = None


def _validate(config: Config) -> None:
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
    _validate_loss(config)


def _validate_loss(config: Config) -> None:
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


def epoch_permutation(n: int, seed: int, epoch: int, device: torch.device) -> Tensor:
    """The shuffled order of epoch ``epoch``: a pure function of (seed, epoch), so it
    needs no saved state for resume."""
    gen = torch.Generator(device="cpu").manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen).to(device)


def _grad_norm(module: nn.Module) -> float:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))


def _python_rng_state() -> list[Any]:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _to_python_rng_state(state: list[Any]) -> tuple[Any, ...]:
    return (state[0], tuple(state[1]), state[2])


def _numpy_rng_state() -> dict[str, Any]:
    state: Any = np.random.get_state()
    kind, keys, pos, has_gauss, cached = state
    return {
        "kind": kind,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": float(cached),
    }


def _to_numpy_rng_state(s: dict[str, Any]) -> tuple[Any, ...]:
    keys = s["keys"].numpy().astype(np.uint32)
    return (s["kind"], keys, s["pos"], s["has_gauss"], s["cached"])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
