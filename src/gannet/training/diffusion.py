"""Training a denoising diffusion model (Ho et al., 2020, Algorithm 1) in gannet's loop.

:class:`DiffusionTrainer` is :class:`~gannet.training.Trainer` with one update per iteration
instead of Algorithm 1 of the GAN paper: a real minibatch x_0 (the epoch's data order, as a
GAN's D sees it), a step t uniform on 0..T-1 and noise eps ~ N(0, I) per row, both from the
global torch RNG, and a gradient step of the noise predictor on ||eps - eps(x_t, t)||^2
with x_t ~ q(x_t | x_0). Everything else is the GAN run's: the optimizer (G's), EMA
(``train.ema``), the lr schedule, logging, checkpoints and exact resume (the RNG state is
in the checkpoint), the hooks, the run folder. metrics.jsonl's ``g_loss`` is the interval's
mean L_simple; the D columns are 0 (there is no D). Picked by ``loss.name = 'ddpm'``
(:func:`gannet.training.trainer_class`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gannet.diffusion import epsilon_loss
from gannet.models.ddpm import DiffusionGenerator
from gannet.training.loop import Trainer
from gannet.training.stats import DStep, StepResult


class DiffusionTrainer(Trainer):
    """Trains ``model.generator = 'ddpm-unet'`` (as G) on L_simple; D is ``none``."""

    @property
    def model(self) -> DiffusionGenerator:
        """G: the noise predictor with its schedule."""
        assert isinstance(self.G, DiffusionGenerator)
        return self.G

    @property
    def d_steps_per_iteration(self) -> int:
        """One minibatch per iteration."""
        return 1

    def diffusion_cost(self, x: Tensor) -> Tensor:
        """L_simple on a real minibatch ``x`` in [0, 1], with t and the noise drawn from the
        global torch RNG (in that order)."""
        model = self.model
        x0 = model.to_model_range(x)
        t = model.schedule.sample_t(len(x0), x0.device)
        noise = torch.randn_like(x0)
        with self.world.rank_rng(), self.autocast("g"):
            predicted = model.predict_noise(model.schedule.q_sample(x0, t, noise), t)
        return epsilon_loss(predicted, noise)

    def diffusion_iteration(self) -> StepResult:
        """One update of the noise predictor on this iteration's minibatch."""
        x, _ = self.batches.get(self.progress.iteration_in_epoch)
        cost = self.diffusion_cost(x)
        self.opt_g.zero_grad(set_to_none=True)
        self.amp.scale(cost, "g").backward()
        self.world.average_grads(self.G)
        self.amp.step(self.opt_g, "g")
        self.sched_g.after_update()
        zero = cost.detach().new_zeros(1)
        return StepResult(DStep(zero[0], None, zero, zero), cost.detach(), len(x))

    def step(self) -> StepResult:
        """One iteration with the loop's bookkeeping (epoch order, EMA, logging, checkpoints)."""
        self.begin_iteration()
        result = self.diffusion_iteration()
        self.end_iteration(result)
        return result
