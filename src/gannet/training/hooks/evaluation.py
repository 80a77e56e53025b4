"""Feature metrics during training (``train.eval_every``, ``train.eval_metrics``).

At the first logging interval that reaches each multiple of ``eval_every`` steps, G_eval
(the EMA when on) draws :data:`EVAL_SAMPLES` samples (at most the reference's size) from a
private generator seeded with ``train.seed`` + :data:`EVAL_SEED_OFFSET` (the same noise every
time), and each metric's values are added to the record (``fid_mnist-classifier``, ...), so
they land in metrics.jsonl and on curves.png. The reference is the run's test split (else
validation, else training data), its features computed once per process. Nothing here
touches the global random state, the models' training state or the optimizers, so a resumed
run stays bit-identical to an uninterrupted one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from gannet.training.hooks.base import Hook

if TYPE_CHECKING:  # pragma: no cover
    from gannet.training.view import TrainerView

EVAL_SAMPLES = 10000
EVAL_SEED_OFFSET = 424_242
EVAL_BATCH = 1000


def parse_eval_metrics(metrics: list[str], dataset: str) -> dict[str, list[str]]:
    """``train.eval_metrics`` as {extractor: [metric, ...]}; a bad name is a GannetError."""
    from gannet.errors import GannetError
    from gannet.metrics.features import default_extractor
    from gannet.metrics.scores import parse_metric

    if not metrics:
        raise GannetError("train.eval_metrics is empty; list at least one (e.g. ['fid'])")
    groups: dict[str, list[str]] = {}
    for spec in metrics:
        metric, extractor = parse_metric(spec, default_extractor(dataset))
        groups.setdefault(extractor, []).append(metric)
    return groups


class Evaluation(Hook):
    """Adds the chosen feature metrics of G_eval to the record every ``eval_every`` steps."""

    def __init__(self) -> None:
        self.every = 0
        self.groups: dict[str, list[str]] = {}
        self.extractors: dict[str, Any] = {}
        self.reference: dict[str, np.ndarray] = {}

    def on_attach(self, trainer: TrainerView) -> None:
        tc = trainer.config.train
        self.every = tc.eval_every
        if self.every:
            self.groups = parse_eval_metrics(tc.eval_metrics, trainer.data.name)

    def due(self, trainer: TrainerView) -> bool:
        step, span = trainer.progress.step, trainer.config.train.log_every
        return bool(self.every) and step // self.every > max(step - span, 0) // self.every

    def reference_images(self, trainer: TrainerView) -> torch.Tensor:
        data = trainer.data
        for split in ("test", "validation"):
            rows = data.as_float(split)
            if rows is not None and len(rows) > 1:
                return rows
        return data.as_float("train")

    def samples(self, trainer: TrainerView, n: int) -> torch.Tensor:
        from gannet.models import sample_noise

        mc = trainer.config.model
        gen = torch.Generator(device="cpu").manual_seed(
            trainer.config.train.seed + EVAL_SEED_OFFSET
        )
        G = trainer.G_eval
        was_training = G.training
        G.eval()
        out = []
        try:
            with torch.no_grad():
                for start in range(0, n, EVAL_BATCH):
                    m = min(EVAL_BATCH, n - start)
                    z = sample_noise(m, mc.z_dim, mc.noise, "cpu", gen).to(trainer.device)
                    if trainer.num_classes:
                        y = (torch.arange(start, start + m) % trainer.num_classes).to(z.device)
                        out.append(G(z, y).float().cpu())
                    else:
                        out.append(G(z).float().cpu())
        finally:
            G.train(was_training)
        return torch.cat(out)

    def measure(self, trainer: TrainerView) -> dict[str, float]:
        """The metrics' values now (see the module docstring)."""
        from gannet.metrics.features import as_images, check_input, make_extractor
        from gannet.metrics.scores import named_scores

        real_images = as_images(self.reference_images(trainer))
        n = min(EVAL_SAMPLES, len(real_images))
        fake_images = as_images(self.samples(trainer, n), tuple(real_images.shape[1:]))
        values: dict[str, float] = {}
        if not bool(torch.isfinite(fake_images).all()):
            return values  # diverged: the health check stops the run
        for name, metrics in self.groups.items():
            if name not in self.extractors:
                extractor = make_extractor(name, device=str(trainer.device))
                check_input(extractor, real_images, f"the {trainer.data.name} images")
                self.extractors[name] = extractor
                feats = extractor.features(real_images[:n]).astype(np.float32)
                self.reference[name] = feats.astype(np.float64)
            extractor = self.extractors[name]
            fake = extractor.features(fake_images).astype(np.float32).astype(np.float64)
            seed = trainer.config.train.seed
            values.update(named_scores(metrics, name, self.reference[name], fake, seed=seed))
        return values

    def on_measure(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if self.due(trainer):
            record.update(self.measure(trainer))
