"""gannet's own image classifiers, for measuring which classes a generator produces and as
feature extractors for FID/KID/precision-recall with no downloaded third-party weights.

CIFAR-10 gets a small residual CNN (:mod:`gannet.metrics.classifier.resnet`, trained with
SGD, crops and flips); MNIST and Fashion-MNIST a small CNN trained by gannet itself:

    conv 3x3 (32) - BatchNorm - ReLU - max-pool 2
    conv 3x3 (64) - BatchNorm - ReLU - max-pool 2
    fc 128 - ReLU                      <- features(x): the penultimate layer, 128 values
    dropout 0.5 - fc 10                <- forward(x) / logits(x)

Inputs are images in [0, 1], shape (N, 1, 28, 28) (or flattened to 784 values); the model
standardises them with the training set's pixel mean and std, kept as buffers.

Training (:func:`train_classifier`): Adam with a one-cycle learning-rate schedule (peak
3e-3), batch 128, on the dataset's training split (the first 50,000 rows; the last 10,000
are the validation split, as everywhere in gannet), seeded. The test accuracy is measured
on the 10,000 test images and stored with the weights.

Shipped weights (:mod:`gannet.metrics.classifier.shipped`): the MNIST, Fashion-MNIST and
CIFAR-10 classifiers the feature metrics use come with the package, versioned and
SHA-256-pinned (``mnist-classifier-v1``, ...), so every machine measures in the same
features; :func:`dataset_classifier` prefers them to a classifier trained locally.

Cache: ``cache_dir("classifiers") / "<dataset>.pt"`` (``$GANNET_CACHE/classifiers``, else
``$XDG_CACHE_HOME/gannet/classifiers``, else ``~/.cache/gannet/classifiers``), written
atomically, with a readable ``<dataset>.json`` beside it. The ``.pt`` file is a plain dict of
tensors and primitive values loaded with ``torch.load(weights_only=True)``, so it can never
run code; every problem loading it is one :class:`GannetError` line (the file is written
and read by :mod:`gannet.files.checkpoint`'s ``save_weights_file`` / ``load_weights_file``, as
training checkpoints are).
"""

from gannet.metrics.classifier.fit import Recipe, fit_classifier
from gannet.metrics.classifier.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    Classifier,
    ImageClassifier,
    Progress,
    evaluate_accuracy,
)
from gannet.metrics.classifier.resnet import ResNetClassifier, build_classifier
from gannet.metrics.classifier.shipped import (
    SHIPPED,
    DatasetClassifier,
    ShippedWeights,
    dataset_classifier,
    has_classifier,
    latest_shipped,
    load_shipped,
    pack_classifier,
    shipped_entry,
    shipped_names,
    shipped_path,
)
from gannet.metrics.classifier.store import (
    FORMAT,
    HELD_OUT,
    RECIPES,
    SUPPORTED,
    VERSION,
    ClassifierInfo,
    DatasetRecipe,
    cached_classifier,
    classifier_data,
    classifier_path,
    held_out_split,
    load_classifier,
    save_classifier,
    train_classifier,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EPOCHS",
    "DEFAULT_LR",
    "FORMAT",
    "HELD_OUT",
    "RECIPES",
    "SHIPPED",
    "SUPPORTED",
    "VERSION",
    "Classifier",
    "ClassifierInfo",
    "DatasetClassifier",
    "DatasetRecipe",
    "ImageClassifier",
    "Progress",
    "Recipe",
    "ResNetClassifier",
    "ShippedWeights",
    "build_classifier",
    "cached_classifier",
    "classifier_data",
    "classifier_path",
    "dataset_classifier",
    "evaluate_accuracy",
    "fit_classifier",
    "has_classifier",
    "held_out_split",
    "latest_shipped",
    "load_classifier",
    "load_shipped",
    "pack_classifier",
    "save_classifier",
    "shipped_entry",
    "shipped_names",
    "shipped_path",
    "train_classifier",
]
