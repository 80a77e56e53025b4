"""The checks a config must pass before a trainer is built: every key's type and range
(declared beside the fields in :mod:`gannet.config`, checked by
:func:`gannet.config.check_config`), then the combinations no single range expresses (a
gradient penalty with no weight, an unknown loss): one GannetError line each."""

from __future__ import annotations

from gannet.augment import check_augment
from gannet.config import Config, check_config
from gannet.errors import GannetError
from gannet.losses import make_loss


def validate_config(config: Config) -> None:
    """Every value a training run relies on; the first bad one is a GannetError."""
    check_config(config)
    validate_loss(config)
    check_augment(config.train.augment, is_synthetic(config.data.name))
    if config.train.eval_every:  # the metric names of train.eval_metrics
        from gannet.training.hooks.evaluation import parse_eval_metrics

        parse_eval_metrics(config.train.eval_metrics, config.data.name)


def validate_loss(config: Config) -> None:
    """The loss and its regularizers beyond their ranges: one GannetError line."""
    lc = config.loss
    loss = make_loss(lc.name)  # an unknown name lists the registered losses
    if loss.gradient_penalty and lc.gp_weight == 0:
        raise GannetError(
            "loss.gp_weight must be > 0 for loss.name='wgan-gp' (the paper used 10); "
            "for no penalty use loss.name='wasserstein'"
        )


def is_synthetic(name: str) -> bool:
    """True for the 1-D / 2-D synthetic data sets (points, not images); False for image
    data sets and for names the registry does not know (refused when the data is loaded)."""
    from gannet.data import DATASETS
    from gannet.data.synthetic import locate_synthetic

    return name in DATASETS and DATASETS.get(name).locate is locate_synthetic
