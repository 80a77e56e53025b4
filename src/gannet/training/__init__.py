"""Training by Algorithm 1 (Goodfellow et al., 2014), in rooms with one job each.

* :mod:`.loop`: :class:`Trainer`, with ``d_step``, ``g_step``, ``alternating_iteration``,
  ``simultaneous_iteration``, ``step`` and ``fit``;
* :mod:`.networks`: G, D, EMA, optimizers and schedules built from a config;
* :mod:`.batches`: the per-epoch data order;
* :mod:`.stats`: what an iteration measured, and its means over a logging interval;
* :mod:`.state`: the checkpoint schema and the RNG capture and restore;
* :mod:`.hooks`: console, metrics file, sample grids, curves, snapshots, checkpoint, status
  file, health, mode monitor, signals;
* :mod:`.semisup`: the semi-supervised GAN's trainer (Salimans et al. 2016);
* :mod:`.diffusion`: the denoising diffusion model's trainer (Ho et al. 2020);
* :mod:`.session`: a run in its folder (:func:`start_run`, :func:`resume_run`);
* :mod:`.validate`: value checks of a config.

A minimal loop with no files::

    trainer = Trainer(config)          # no hooks: nothing is written
    for _ in range(100):
        trainer.step()
"""

from gannet.training.batches import Batches, epoch_permutation
from gannet.training.diffusion import DiffusionTrainer
from gannet.training.hooks import Hook, HookList, run_hooks
from gannet.training.loop import Trainer
from gannet.training.networks import resolve_device
from gannet.training.semisup import SemiSupervisedTrainer, trainer_class
from gannet.training.session import RESUMABLE_OVERRIDES, resume_run, start_run
from gannet.training.state import Checkpoint, read_checkpoint, write_checkpoint
from gannet.training.stats import DStep, StepResult
from gannet.training.view import Progress, TrainerView

__all__ = [
    "RESUMABLE_OVERRIDES",
    "Batches",
    "Checkpoint",
    "DStep",
    "DiffusionTrainer",
    "Hook",
    "HookList",
    "Progress",
    "SemiSupervisedTrainer",
    "StepResult",
    "Trainer",
    "TrainerView",
    "epoch_permutation",
    "read_checkpoint",
    "resolve_device",
    "resume_run",
    "run_hooks",
    "start_run",
    "trainer_class",
    "write_checkpoint",
]
