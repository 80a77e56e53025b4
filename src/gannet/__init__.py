"""gannet: Generative Adversarial Nets (Goodfellow et al., 2014), reproduced and extended.

import gannet
run = gannet.train("configs/mnist-paper.toml", out="runs/demo")
run = gannet.load_run("runs/demo")
images = run.sample(64)
"""

from gannet import moved
from gannet.api import average, export, load_run, resume, train
from gannet.config import Config
from gannet.data import DATASETS
from gannet.doctor import doctor
from gannet.errors import GannetError
from gannet.game.losses import LOSSES
from gannet.models import MODELS
from gannet.trained.run import Run
from gannet.version import __version__

moved.install()  # old import paths of modules that moved into packages: gannet.moved

__all__ = [
    "DATASETS",
    "LOSSES",
    "MODELS",
    "Config",
    "GannetError",
    "Run",
    "__version__",
    "average",
    "doctor",
    "export",
    "load_run",
    "resume",
    "train",
]
