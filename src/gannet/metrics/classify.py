"""A discriminator as a classifier: the test error of a semi-supervised run's D (Salimans et
al. 2016), whose K outputs are class logits (``gannet eval classify RUN``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gannet.errors import GannetError
from gannet.metrics.base import METRICS


@dataclass
class ClassifyResult:
    """Misclassified rows out of the rows scored, and each class's errors."""

    errors: int
    n: int
    per_class_errors: list[int]

    @property
    def error(self) -> float:
        """The share of rows whose largest logit is not their label."""
        return self.errors / self.n

    def to_dict(self) -> dict[str, object]:
        return {
            "metric": "classify",
            "test_error": self.error,
            "test_accuracy": 1.0 - self.error,
            "errors": self.errors,
            "n": self.n,
            "per_class_errors": self.per_class_errors,
        }


@torch.no_grad()
def classification_error(
    model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000
) -> ClassifyResult:
    """Score ``model`` (evaluation mode: no noise, no dropout) as a classifier of the rows
    ``x`` with labels ``y``: its prediction is the argmax of its (n, K) outputs."""
    if len(x) != len(y) or len(x) == 0:
        raise GannetError(f"need as many labels as rows (at least one), got {len(x)} and {len(y)}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        predicted = torch.cat(
            [
                model(x[i : i + batch_size].to(device)).argmax(1).cpu()
                for i in range(0, len(x), batch_size)
            ]
        )
    finally:
        model.train(was_training)
    y = y.reshape(-1).long().cpu()
    wrong = predicted != y
    k = int(y.max()) + 1
    per_class = torch.zeros(k, dtype=torch.long).index_add_(0, y, wrong.long())
    return ClassifyResult(int(wrong.sum()), len(y), per_class.tolist())


METRICS.register("classify")(classification_error)
