"""A balanced labelled subset of a training split, chosen by a seed."""

from __future__ import annotations

import torch

from gannet.errors import GannetError


def balanced_indices(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Sorted row indices of ``per_class`` rows of every class 0..K-1 of ``labels`` (K =
    the largest label + 1), drawn by a permutation seeded by ``seed``: the same labels and
    seed give the same rows, and a larger ``per_class`` keeps the rows of a smaller one
    (the first rows of the same per-class permutations). A class with fewer rows than
    ``per_class`` is one GannetError line."""
    if per_class < 1:
        raise GannetError(f"choose at least 1 image per class, got {per_class}")
    labels = labels.reshape(-1).long().cpu()
    if labels.numel() == 0:
        raise GannetError("no labelled rows to choose from")
    gen = torch.Generator().manual_seed(seed)
    chosen = []
    for c in range(int(labels.max()) + 1):
        members = torch.nonzero(labels == c).flatten()
        order = torch.randperm(len(members), generator=gen)
        if len(members) < per_class:
            raise GannetError(
                f"class {c} has only {len(members)} labelled rows, fewer than the "
                f"{per_class} per class asked for; ask for at most {len(members)} per class"
            )
        chosen.append(members[order[:per_class]])
    return torch.cat(chosen).sort().values
