"""Seeded held-out splits of a data set that comes without one (an image folder).

Labelled data: the same number of images from every class, each class's drawn by one seeded
permutation (:func:`held_out_indices`); the CIFAR-10 classifier's test split and the folder
dataset's validation split are both this function with seed 0, so for the same folder and
10,000 images they are the same images. Unlabelled data: a seeded permutation's first rows.
The remaining rows keep their order.
"""

from __future__ import annotations

import torch

from gannet.errors import GannetError

SPLIT_SEED = 0
"""The seed of every held-out split gannet draws."""


def held_out_indices(labels: torch.Tensor, n_test: int, seed: int = SPLIT_SEED) -> torch.Tensor:
    """The sorted indices of ``n_test // classes`` rows drawn from every class by a seeded
    permutation (the same rows for the same labels and seed)."""
    classes = int(labels.max()) + 1
    per_class = n_test // classes
    gen = torch.Generator().manual_seed(seed)
    test_idx = []
    for c in range(classes):
        members = torch.nonzero(labels == c).flatten()
        if len(members) <= per_class:
            raise GannetError(
                f"class {c} has {len(members)} images, too few to hold {per_class} out for a "
                "test split; use a larger image folder"
            )
        test_idx.append(members[torch.randperm(len(members), generator=gen)[:per_class]])
    return torch.cat(test_idx).sort().values


def held_out_split(
    images: torch.Tensor, labels: torch.Tensor, n_test: int, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train, train_labels, test, test_labels): ``n_test`` images drawn evenly from every
    class by a seeded permutation (the same split for the same data and seed)."""
    test = held_out_indices(labels, n_test, seed)
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[test] = False
    return images[keep], labels[keep], images[test], labels[test]


def split_folder(
    images: torch.Tensor,
    labels: torch.Tensor | None,
    size: int,
    class_names: list[str],
    where: str,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """(train, train_labels, validation, validation_labels) of an image folder: ``size``
    images held out (labelled: ``size // classes`` from every class).

    Nothing is held out when ``size`` is 0, or (with one warning line) when holding it out
    would take more than half of the images (of some class, when labelled) or less than one
    per class: a small folder trains on every image under the default ``validation_size``.
    """
    n = len(images)
    if size == 0:
        return images, labels, None, None
    keep = torch.ones(n, dtype=torch.bool)
    if labels is None:
        if 2 * size > n:
            return _no_split(
                images, labels, f"{size} is more than half of the {n} images of {where}"
            )
        gen = torch.Generator().manual_seed(SPLIT_SEED)
        keep[torch.randperm(n, generator=gen)[:size]] = False
        return images[keep], None, images[~keep], None
    per_class = size // len(class_names)
    if per_class == 0:
        return _no_split(
            images, labels, f"{size} is fewer than the {len(class_names)} classes of {where}"
        )
    counts = torch.bincount(labels, minlength=len(class_names)).tolist()
    for name, count in zip(class_names, counts, strict=True):
        if 2 * per_class > count:
            return _no_split(
                images,
                labels,
                f"{size} would hold out {per_class} images per class, more than half of "
                f"class {name!r} ({count} images) of {where}",
            )
    keep[held_out_indices(labels, size)] = False
    return images[keep], labels[keep], images[~keep], labels[~keep]


def _no_split(
    images: torch.Tensor, labels: torch.Tensor | None, why: str
) -> tuple[torch.Tensor, torch.Tensor | None, None, None]:
    from gannet.data.progress import warn

    warn(
        f"no validation split: data.validation_size={why}; every image trains (set "
        "data.validation_size=0 to silence this, or a smaller size to hold some out)"
    )
    return images, labels, None, None
