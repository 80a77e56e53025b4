"""Feature extractors for FID, KID and precision/recall, by name: ``EXTRACTORS``.

* ``inception``: the field's network (:mod:`gannet.metrics.inception`), 2,048 features of
  images of any size, colour or grayscale.
* ``mnist-classifier-v1``, ``fashion-mnist-classifier-v1`` (no CIFAR-10 one yet): the
  penultimate layer of gannet's own classifier of that dataset as shipped with the package
  (:mod:`gannet.metrics.classifier.shipped`: versioned, SHA-256-pinned, the same on every
  machine), for images of the classifier's input shape. Offline, no third-party weights;
  their distances are not comparable with Inception ones and are always named with the
  extractor and its version (``fid_mnist-classifier-v1``), never "FID" alone.
* ``mnist-classifier`` (and the other datasets'): the newest shipped version; results carry
  the versioned name. For a dataset gannet ships no classifier of, the one trained on this
  machine (``gannet classifier train DATASET``), named without a version.
* ``mnist-classifier-local`` (...): always the classifier trained on this machine, e.g. to
  compare a retrained one with the shipped weights.

Every extractor names the SHA-256 of its weights file, which keys the cached reference
statistics (:mod:`gannet.metrics.reference`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gannet.errors import GannetError
from gannet.registry import Registry


@dataclass
class Extractor:
    """A loaded feature extractor."""

    name: str
    weights_sha256: str
    network: Any
    input_shape: tuple[int, int, int] | None = None
    """(C, H, W) the network requires, or None (any size: Inception)."""
    device: str = "cpu"

    def features(self, images: Tensor, batch_size: int = 0) -> np.ndarray:
        """Features (N, D) in float64 of images in [0, 1] (N, C, H, W) or flattened."""
        if self.input_shape is None:
            from gannet.metrics.inception import inception_features

            return inception_features(self.network, images, batch_size or 64, self.device).numpy()
        return self.network.predict_features(images, batch_size or 1000).double().numpy()


ExtractorFactory = Callable[[str, str, bool], Extractor]
"""(inception weights path or "", device, offline) -> Extractor."""

EXTRACTORS: Registry[ExtractorFactory] = Registry("feature extractor")


@EXTRACTORS.register("inception")
def _inception(weights: str, device: str, offline: bool) -> Extractor:
    from gannet.metrics.inception import load_inception

    net, digest = load_inception(weights or None, device, offline)
    return Extractor("inception", digest, net, None, device)


def _shipped_factory(name: str) -> ExtractorFactory:
    def make(weights: str, device: str, offline: bool) -> Extractor:
        from gannet.metrics.classifier import load_shipped, shipped_entry

        entry = shipped_entry(name)
        model, _ = load_shipped(entry, device)
        return Extractor(name, entry.sha256, model, model.input_shape, device)

    return make


def _dataset_factory(dataset: str, local: bool) -> ExtractorFactory:
    def make(weights: str, device: str, offline: bool) -> Extractor:
        from gannet.metrics.classifier import dataset_classifier

        found = dataset_classifier(dataset, device, local=local)
        name = f"{dataset}-classifier-local" if local else found.name
        model = found.model
        return Extractor(name, found.sha256, model, model.input_shape, device)

    return make


def _register_classifiers() -> None:
    from gannet.metrics.classifier import SUPPORTED, shipped_names

    for name in shipped_names():
        EXTRACTORS.register(name)(_shipped_factory(name))
    for dataset in SUPPORTED:
        EXTRACTORS.register(f"{dataset}-classifier")(_dataset_factory(dataset, local=False))
        EXTRACTORS.register(f"{dataset}-classifier-local")(_dataset_factory(dataset, local=True))


_register_classifiers()


def canonical_extractor(name: str) -> str:
    """The name results carry for extractor ``name``: ``mnist-classifier`` ->
    ``mnist-classifier-v1`` (its newest shipped version); other names unchanged."""
    from gannet.metrics.classifier import latest_shipped

    dataset = name.removesuffix("-classifier") if name.endswith("-classifier") else ""
    entry = latest_shipped(dataset) if dataset else None
    return entry.name if entry is not None else name


def make_extractor(
    name: str, inception_weights: str = "", device: str = "cpu", offline: bool = False
) -> Extractor:
    """The extractor ``name`` loaded (a missing file or unknown name: one GannetError line);
    ``offline``: never download (the Inception file)."""
    return EXTRACTORS.get(name)(inception_weights, device, offline)


def default_extractor(dataset: str) -> str:
    """gannet's own classifier for its datasets (the newest shipped version), else
    ``inception``."""
    name = f"{dataset}-classifier"
    return canonical_extractor(name) if name in EXTRACTORS else "inception"


def as_images(x: Tensor, shape: tuple[int, ...] | None = None) -> Tensor:
    """Samples as images (N, C, H, W): flattened 784 / 3,072-value rows become 1x28x28 /
    3x32x32 (or ``shape``); anything else that is not an image is one GannetError line."""
    if x.dim() == 4:
        return x
    if x.dim() == 2:
        guess = shape if shape and len(shape) == 3 else None
        if guess is None:
            guess = {784: (1, 28, 28), 3072: (3, 32, 32)}.get(int(x.shape[1]))
        if guess is not None and int(np.prod(guess)) == x.shape[1]:
            return x.reshape(len(x), *guess)
    raise GannetError(
        f"feature metrics need images (N, C, H, W) or flattened 28x28 / 32x32 rows, got "
        f"samples of shape {tuple(x.shape)}"
    )


def check_input(extractor: Extractor, images: Tensor, what: str) -> None:
    """One GannetError line when ``images`` do not fit the extractor."""
    want = extractor.input_shape
    if want is not None and tuple(images.shape[1:]) != want:
        raise GannetError(
            f"{what} are {tuple(images.shape[1:])} images but {extractor.name} takes {want}; "
            "use the extractor of their dataset or --extractor inception"
        )
    if images.shape[1] not in (1, 3):
        raise GannetError(f"{what} have {images.shape[1]} channels; feature metrics need 1 or 3")


def torch_device(device: str) -> str:
    """'auto' -> cuda when present, else cpu."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        kind = ""
    if kind not in ("cpu", "cuda") or (kind == "cuda" and not torch.cuda.is_available()):
        raise GannetError(f"device {device!r} is not available here; use cpu, cuda or auto")
    return device
