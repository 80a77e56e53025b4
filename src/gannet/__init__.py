"""gannet: Generative Adversarial Nets (Goodfellow et al., 2014), reproduced and extended.

    import gannet
    run = gannet.train("configs/mnist-paper.toml", out="runs/demo")
    run = gannet.load_run("runs/demo")
    images = run.sample(64)
"""

__version__ = "0.1.0"

from gannet.api import load_run, resume, train  # noqa: E402
from gannet.config import Config  # noqa: E402
from gannet.data import DATASETS  # noqa: E402
from gannet.errors import GannetError  # noqa: E402
from gannet.losses import LOSSES  # noqa: E402
from gannet.models import MODELS  # noqa: E402
from gannet.run import Run  # noqa: E402

__all__ = [
    "DATASETS",
    "LOSSES",
    "MODELS",
    "Config",
    "GannetError",
    "Run",
    "__version__",
    "load_run",
    "resume",
    "train",
]
