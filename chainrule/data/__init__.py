"""Data: data sets, the mini-batch loader, splitting and standardizing, bundled and synthetic
sets, and named tables read from CSV files.

NumPy only at import; scikit-learn (digits) and zarr (MNIST) are imported when a loader needs
them, with an error saying what to install when they are missing.
"""

from ..errors import DatasetNotFound, MissingDependency
from .dataset import (
    ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split,
)
from .features import Features
from .datasets import admissions, blobs, circles, digits_binary, load_digits, moons, regression, spirals, xor
from .mnist import load_fashion_mnist, load_idx, load_mnist, load_mnist_idx, mnist_store_path
from .sampler import (
    BatchSampler, RandomSampler, ReshuffleSampler, SequentialSampler, SubsetRandomSampler,
    WeightedRandomSampler,
)
from .preprocessing import Standardizer, check_Xy, train_test_split
from .sources import (
    BUNDLED_DATASETS, MAX_CLASSES, TabularData, encode_classes, encode_target, load_dataset,
    resolve_task,
)
from .tabular import Table, read_csv

__all__ = [
    "Dataset", "TensorDataset", "Subset", "ConcatDataset", "DataLoader", "default_collate",
    "random_split", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler", "ReshuffleSampler",
    "check_Xy", "train_test_split", "Standardizer",
    "load_digits", "digits_binary", "admissions", "xor", "moons", "circles", "blobs", "spirals",
    "regression",
    "load_idx", "load_mnist_idx", "load_fashion_mnist", "load_mnist", "mnist_store_path",
    "Table", "read_csv", "Features",
    "TabularData", "load_dataset", "encode_target", "encode_classes", "resolve_task",
    "BUNDLED_DATASETS", "MAX_CLASSES",
    "MissingDependency", "DatasetNotFound",
]
