"""A linear probe: multinomial logistic regression on fixed features, the measure of a
representation the GAN paper proposes for its discriminator (section 7, "Semi-supervised
learning: features from the discriminator or inference net could improve performance of
classifiers when limited labeled data is available").

The probe standardises every feature (with the labelled rows' mean and standard deviation,
or a reference set's, e.g. all unlabelled training rows), then fits W, b by full-batch
L-BFGS on cross-entropy + ``l2`` * ||W||^2 from zeros (so the same rows give the same
probe). ``benchmarks/linear_probe.py`` runs it on pixels, a trained
D's last hidden layer and a randomly initialised D's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gannet.errors import GannetError


@dataclass
class LinearProbe:
    """A fitted probe: standardisation, then logits = x W^T + b."""

    mean: Tensor
    std: Tensor
    weight: Tensor
    bias: Tensor

    def logits(self, x: Tensor) -> Tensor:
        return F.linear((x - self.mean) / self.std, self.weight, self.bias)

    def error(self, x: Tensor, y: Tensor) -> float:
        """The share of rows of ``x`` whose largest logit is not their label ``y``."""
        with torch.no_grad():
            return float((self.logits(x).argmax(1) != y).double().mean())


def fit_probe(
    x: Tensor,
    y: Tensor,
    classes: int,
    l2: float = 1e-3,
    max_iter: int = 500,
    reference: Tensor | None = None,
) -> LinearProbe:
    """Logistic regression of labels ``y`` (0..classes-1) on the rows ``x`` (n, d). Features
    are standardised with the mean and standard deviation of ``reference`` (e.g. every
    unlabelled training row; default ``x``); a feature constant there is left at 0."""
    if x.dim() != 2 or len(x) != len(y) or len(x) < 2:
        raise GannetError(f"a probe needs (n, d) features and n labels, n >= 2; got {x.shape}")
    x, y = x.double(), y.long()
    ref = x if reference is None else reference.double()
    mean, std = ref.mean(0), ref.std(0)
    std = torch.where(std > 1e-8, std, torch.full_like(std, float("inf")))
    z = (x - mean) / std
    weight = torch.zeros(classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> Tensor:
        opt.zero_grad()
        cost = F.cross_entropy(F.linear(z, weight, bias), y) + l2 * weight.square().sum()
        cost.backward()
        return cost

    opt.step(closure)
    return LinearProbe(mean, std, weight.detach(), bias.detach())


@torch.no_grad()
def features_of(extract: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 2000) -> Tensor:
    """``extract`` applied to ``x`` in batches, flattened to (n, d), float64 on the CPU."""
    parts = [extract(x[i : i + batch_size]).flatten(1) for i in range(0, len(x), batch_size)]
    return torch.cat(parts).double().cpu()


def hidden_features(d: nn.Module) -> Callable[[Tensor], Tensor]:
    """A discriminator's last hidden layer (``d.features``, evaluation mode: no dropout or
    noise); one GannetError line when the model has none."""
    features = getattr(d, "features", None)
    if not callable(features):
        raise GannetError(f"{type(d).__name__} has no 'features' layer to probe")
    d.eval()
    return features
