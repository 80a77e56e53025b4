"""Datasets: one registry, shared by the API and the CLI.

Importing this package registers mnist, fashion-mnist, cifar10, folder, gaussian-1d and
mixture-2d in :data:`DATASETS`.
"""

from gannet.data import cifar, folder, idx, synthetic  # noqa: F401  (register the datasets)
from gannet.data.base import DATASETS, Dataset, DatasetEntry, as_float, load_dataset
from gannet.data.locate import cache_dir
from gannet.data.synthetic import gaussian_1d_pdf, mixture_2d_modes

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetEntry",
    "as_float",
    "cache_dir",
    "gaussian_1d_pdf",
    "load_dataset",
    "mixture_2d_modes",
]
