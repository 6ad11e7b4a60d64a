"""The dataset value type, input checks, and deterministic stratified splits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._validate import fraction as _fraction

TEST_FRACTION = 0.2
"""Default share of the data held out as the test split the search never sees."""

TASKS = ("classification", "regression")
REGRESSION_STRATA = 5
"""Quantile bins of the target that stratify the splits of a regression data set."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split into the part the search may use and a test part.

    ``x_train``/``y_train`` is everything the search sees (the trainer cuts validation folds
    from it); ``x_test``/``y_test`` is touched once, by the final model. Inputs are float32 of
    shape ``(samples, *input_shape)``. For ``task="classification"`` labels are int64 in
    ``0 .. num_classes - 1`` and ``classes[k]`` is the original label of class ``k`` (an
    integer, a string or a folder name); for ``task="regression"`` targets are float32,
    ``num_classes`` is 1 (one output) and ``classes`` is empty.

    ``standardize`` asks the trainer to standardize the inputs (and a regression target) with
    statistics of the training part of each split only, never of its validation fold or the
    test part; it is on by default for tabular data (inputs of shape ``(samples, features)``).

    Build one with :meth:`from_arrays` (checks the arrays and splits off the test part) or
    :func:`nasforge.data.load_dataset` (built-in names and files).

    Example:
        >>> import numpy as np
        >>> x = np.arange(40, dtype=float).reshape(20, 2); y = np.arange(20) % 2
        >>> ds = Dataset.from_arrays(x, y, name="toy", test_fraction=0.2, seed=0)
        >>> ds.input_shape, ds.num_classes, len(ds.y_train), len(ds.y_test)
        ((2,), 2, 16, 4)
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    num_classes: int
    classes: tuple[Any, ...] = ()
    task: str = "classification"
    standardize: bool = False
    feature_names: tuple[str, ...] = ()
    """Names of the inputs of tabular data (a one-hot input is ``column=value``), else empty."""
    notes: tuple[str, ...] = ()
    """What loading changed in the data, in words (e.g. images resized), shown by :meth:`describe`."""

    @property
    def regression(self) -> bool:
        """Whether the target is a number to predict (``task="regression"``)."""
        return self.task == "regression"

    def strata(self) -> np.ndarray:
        """What the splits of the search data are stratified by: the class, or for regression
        the target's quantile bin (:data:`REGRESSION_STRATA` bins)."""
        return regression_strata(self.y_train) if self.regression else self.y_train

    @classmethod
    def from_arrays(
        cls,
        x: Any,
        y: Any,
        *,
        name: str = "data",
        test_fraction: float = TEST_FRACTION,
        seed: int = 0,
        x_test: Any = None,
        y_test: Any = None,
        classes: Sequence[Any] | None = None,
        field: str = "evaluator.dataset",
        task: str = "classification",
        standardize: bool | None = None,
    ) -> Dataset:
        """Check ``x``/``y``, map labels to ``0..K-1`` and split off a stratified test part
        (``test_fraction`` of every class, chosen with ``seed``), unless ``x_test``/``y_test``
        give an official test split.

        Inputs keep their shape (``input_shape = x.shape[1:]``); model builders read ``(H, W)``
        as one image channel and ``(L,)`` as one sequence channel. Labels may be integers or
        strings (``"setosa"``); ``classes`` names the labels ``0..K-1`` when ``y`` already
        holds such indices (image folders). ``task="regression"`` takes a numeric target
        (splits stratified by its quantiles). ``standardize`` (default: on for inputs of shape
        ``(samples, features)``) tells the trainer to standardize with training statistics.
        Bad input raises :class:`nasforge.ConfigError` naming ``field``.
        """
        _fraction(test_fraction, f"{field}.test_fraction", allow_zero=x_test is not None)
        if task not in TASKS:
            raise ConfigError(f"{field}.task", f"must be one of {list(TASKS)}, got {task!r}")
        if task == "regression":
            return cls._regression(x, y, name, test_fraction, seed, x_test, y_test, field, standardize)
        xa, ya = check_arrays(x, y, field)
        tabular = xa.ndim == 2 if standardize is None else bool(standardize)
        if (x_test is None) != (y_test is None):
            raise ConfigError(field, "give both x_test and y_test, or neither")
        if x_test is not None:
            xt, yt = check_arrays(x_test, y_test, f"{field} (test part)")
            if xt.shape[1:] != xa.shape[1:]:
                raise ConfigError(field, f"test inputs have shape {xt.shape[1:]}, training inputs {xa.shape[1:]}")
            labels = ya if classes is not None else np.concatenate([ya, yt])
            mapping, y_all = _label_index(labels, field, classes)
            y_tr = y_all[: len(ya)] if classes is None else ya.astype(np.int64)
            y_te = y_all[len(ya) :] if classes is None else yt.astype(np.int64)
            return cls._make(name, xa, y_tr, xt, y_te, mapping, field, tabular)
        mapping, yi = _label_index(ya, field, classes)
        keep, held = stratified_split(yi, test_fraction, np.random.default_rng(seed))
        if len(keep) < 2 or len(held) < 1:
            raise ConfigError(field, f"{len(ya)} samples are too few to split off a test part of {test_fraction:g}")
        return cls._make(name, xa[keep], yi[keep], xa[held], yi[held], mapping, field, tabular)

    @classmethod
    def _regression(cls, x: Any, y: Any, name: str, test_fraction: float, seed: int, x_test: Any, y_test: Any,
                    field: str, standardize: bool | None) -> Dataset:  # fmt: skip
        xa, ya = check_arrays(x, y, field, numeric_target=True)
        tabular = xa.ndim == 2 if standardize is None else bool(standardize)
        if (x_test is None) != (y_test is None):
            raise ConfigError(field, "give both x_test and y_test, or neither")
        if x_test is not None:
            xt, yt = check_arrays(x_test, y_test, f"{field} (test part)", numeric_target=True)
            if xt.shape[1:] != xa.shape[1:]:
                raise ConfigError(field, f"test inputs have shape {xt.shape[1:]}, training inputs {xa.shape[1:]}")
        else:
            keep, held = stratified_split(regression_strata(ya), test_fraction, np.random.default_rng(seed))
            if len(keep) < 4 or len(held) < 1:
                raise ConfigError(field, f"{len(ya)} samples are too few to split off a test part of {test_fraction:g}")
            xa, ya, xt, yt = xa[keep], ya[keep], xa[held], ya[held]
        if float(np.std(ya)) == 0.0:
            raise ConfigError(field, "the target is constant in the training part; there is nothing to predict")
        shape = tuple(int(s) for s in xa.shape[1:])
        return cls(name, xa, ya.astype(np.float32), xt, yt.astype(np.float32), shape, 1, (), "regression", tabular)

    @classmethod
    def from_torch(cls, dataset: Any, *, name: str = "data", test: Any = None, test_fraction: float = TEST_FRACTION,
                   seed: int = 0, task: str = "classification", standardize: bool | None = None,
                   field: str = "dataset") -> Dataset:  # fmt: skip
        """A data set from any ``torch.utils.data.Dataset`` (anything with ``len`` and
        ``ds[i] -> (input, label)``): every item is read once and stacked; ``test`` (another
        such data set) is the test split, else one is split off as in :meth:`from_arrays`.

        Example:
            >>> import torch
            >>> from torch.utils.data import TensorDataset
            >>> tds = TensorDataset(torch.rand(20, 3), torch.arange(20) % 2)
            >>> Dataset.from_torch(tds, seed=0).input_shape
            (3,)
        """
        x, y = _stack_items(dataset, field)
        xt, yt = _stack_items(test, f"{field} (test part)") if test is not None else (None, None)
        return cls.from_arrays(x, y, name=name, x_test=xt, y_test=yt, test_fraction=test_fraction, seed=seed,
                               task=task, standardize=standardize, field=field)  # fmt: skip

    @classmethod
    def _make(
        cls,
        name: str,
        x: np.ndarray,
        y: np.ndarray,
        xt: np.ndarray,
        yt: np.ndarray,
        classes: tuple[Any, ...],
        field: str,
        standardize: bool = False,
    ) -> Dataset:
        if len(np.unique(y)) < 2:
            raise ConfigError(field, "the training part holds a single class; classification needs at least two")
        shape = tuple(int(s) for s in x.shape[1:])
        return cls(name, x, y, xt, yt, shape, len(classes), classes, "classification", standardize)

    def __repr__(self) -> str:
        kind = "regression" if self.regression else f"num_classes={self.num_classes}"
        return (
            f"Dataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"input_shape={self.input_shape}, {kind}{', standardized' if self.standardize else ''})"
        )

    def describe(self) -> str:
        """What would be loaded: sizes, input shape, task, classes and their counts."""
        lines = [
            f"{self.name}: {len(self.y_train)} search samples + {len(self.y_test)} test samples, "
            f"input shape {self.input_shape}, {self.task}"
            + (", inputs standardized with training statistics" if self.standardize else ""),
        ]
        if self.regression:
            y = self.y_train
            lines.append(f"target: mean {float(y.mean()):.4g}, std {float(y.std()):.4g}, "
                         f"range [{float(y.min()):.4g}, {float(y.max()):.4g}]")  # fmt: skip
        else:
            counts = np.bincount(self.y_train, minlength=self.num_classes)
            lines.append(
                f"{self.num_classes} classes: " + ", ".join(f"{c} ({n})" for c, n in zip(self.classes, counts))
            )
        lines.extend(self.notes)
        return "\n".join(lines)

    def class_counts(self) -> np.ndarray:
        """Samples per class in the training part."""
        return np.bincount(self.y_train, minlength=self.num_classes)


def regression_strata(y: np.ndarray) -> np.ndarray:
    """The quantile bin (``0 .. REGRESSION_STRATA - 1``) of each target value."""
    y = np.asarray(y, dtype=np.float64)
    bins = min(REGRESSION_STRATA, max(1, len(y) // 10))
    edges = np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1]) if bins > 1 else np.array([])
    return np.searchsorted(edges, y, side="right").astype(np.int64)


def _stack_items(dataset: Any, field: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        n = len(dataset)
    except TypeError:
        raise ConfigError(
            field, f"must be a torch Dataset (len and ds[i] -> (input, label)), got {dataset!r}"
        ) from None
    if n == 0:
        raise ConfigError(field, "the torch Dataset is empty")
    xs, ys = [], []
    for i in range(n):
        item = dataset[i]
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ConfigError(field, f"item {i} is not an (input, label) pair: {type(item).__name__}")
        xi, yi = item
        xs.append(np.asarray(xi.numpy() if hasattr(xi, "numpy") else xi))
        ys.append(yi.item() if hasattr(yi, "item") else yi)
    shapes = {a.shape for a in xs}
    if len(shapes) > 1:
        raise ConfigError(field, f"inputs differ in shape ({sorted(shapes)[:3]}); resize them to one shape")
    return np.stack(xs), np.asarray(ys)


def check_arrays(x: Any, y: Any, field: str, *, numeric_target: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Inputs as float32 ``(n, ...)`` and labels as a 1-D array, or a :class:`ConfigError`
    naming the first problem: shapes, lengths, NaN or infinite inputs, missing labels.
    Labels may be integers or strings (class names); with ``numeric_target`` (regression)
    they must be finite numbers."""
    try:
        xa = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ConfigError(field, f"inputs are not an array: {exc}") from None
    if xa.dtype.kind not in "biuf":
        raise ConfigError(field, f"inputs must be numbers, got dtype {xa.dtype}")
    if xa.ndim < 2 or xa.shape[0] == 0 or 0 in xa.shape[1:]:
        raise ConfigError(field, f"inputs must have shape (samples, features...), got shape {xa.shape}")
    xa = xa.astype(np.float32, copy=False)
    bad = ~np.isfinite(xa)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ConfigError(
            field, f"inputs hold {int(bad.sum())} NaN or infinite values (first in sample {row}); remove or fill them"
        )
    ya = np.asarray(y)
    if ya.ndim == 2 and ya.shape[1] == 1:
        ya = ya[:, 0]
    if ya.ndim != 1:
        raise ConfigError(field, f"labels must be one per sample (shape (n,)), got shape {ya.shape}")
    if len(ya) != len(xa):
        raise ConfigError(field, f"inputs have {len(xa)} samples but labels have {len(ya)}; they must match")
    if numeric_target:
        try:
            yf = ya.astype(np.float64)
        except (TypeError, ValueError):
            raise ConfigError(
                field, f"a regression target must be numbers, got {ya.dtype} values such as {ya[0]!r}"
            ) from None
        finite = np.isfinite(yf)
        if not finite.all():
            raise ConfigError(
                field, f"the target holds NaN or infinite values (first in sample {int(np.argmin(finite))})"
            )
        return xa, yf.astype(np.float32)
    if ya.dtype.kind == "O" and all(isinstance(val, int | np.integer) and not isinstance(val, bool) for val in ya):
        ya = ya.astype(np.int64)
    if ya.dtype.kind in "USO":
        names = ya.astype(str)
        empty = np.flatnonzero(np.char.strip(names) == "")
        if len(empty):
            raise ConfigError(field, f"label of sample {int(empty[0])} is missing; fill or drop it")
        return xa, names
    if ya.dtype.kind == "b" or ya.dtype.kind not in "iuf":
        example = ya[0] if len(ya) else None
        raise ConfigError(field, f"labels must be integers (class indices), got {ya.dtype} values such as {example!r}")
    if ya.dtype.kind == "f":
        finite = np.isfinite(ya)
        if not finite.all():
            raise ConfigError(field, f"labels hold NaN or infinite values (first in sample {int(np.argmin(finite))})")
        frac = ya != np.round(ya)
        if frac.any():
            i = int(np.argmax(frac))
            raise ConfigError(field, f"labels must be integers (class indices), got {ya[i]!r} in sample {i}")
        ya = ya.astype(np.int64)
    return xa, ya.astype(np.int64, copy=False)


def _label_index(y: np.ndarray, field: str, classes: Sequence[Any] | None) -> tuple[tuple[Any, ...], np.ndarray]:
    if classes is not None:
        if y.min() < 0 or y.max() >= len(classes):
            raise ConfigError(field, f"labels must lie in 0..{len(classes) - 1}")
        return tuple(classes), y.astype(np.int64)
    values, index = np.unique(y, return_inverse=True)
    if len(values) < 2:
        raise ConfigError(field, f"labels hold a single class ({values[0]!r}); classification needs at least two")
    names = tuple(str(v) for v in values) if values.dtype.kind in "USO" else tuple(int(v) for v in values)
    return names, index.astype(np.int64)


def stratified_split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into ``(kept, held_out)``: about ``fraction`` of every class is
    held out (at least one sample of a class with two or more, never all of one). Both are
    sorted; the same ``rng`` state gives the same split.

    Example:
        >>> keep, held = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.25, np.random.default_rng(0))
        >>> len(keep), len(held)
        (6, 2)
    """
    kept: list[np.ndarray] = []
    held: list[np.ndarray] = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_held = int(np.floor(fraction * len(idx) + 0.5)) if fraction > 0 else 0
        if fraction > 0 and len(idx) >= 2:
            n_held = max(n_held, 1)
        n_held = min(n_held, len(idx) - 1)
        held.append(idx[:n_held])
        kept.append(idx[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def holdout_split(
    y: np.ndarray, fraction: float = 0.2, *, seed: int = 0, field: str = "evaluator.validation"
) -> tuple[np.ndarray, np.ndarray]:
    """One stratified ``(train_indices, validation_indices)`` split of ``y`` with ``fraction``
    held out for validation.

    Example:
        >>> tr, va = holdout_split(np.arange(10) % 2, 0.2, seed=1)
        >>> len(tr), len(va)
        (8, 2)
    """
    _fraction(fraction, field)
    train, val = stratified_split(np.asarray(y), fraction, np.random.default_rng(seed))
    if len(val) == 0 or len(train) == 0:
        raise ConfigError(field, f"{len(y)} samples are too few for a validation part of {fraction:g}")
    return train, val


def kfold_splits(
    y: np.ndarray, k: int, *, seed: int = 0, field: str = "evaluator.folds"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` stratified ``(train_indices, validation_indices)`` folds of ``y``: every sample is
    validated exactly once, every class spread evenly over the folds.

    Raises :class:`ConfigError` when ``k < 2`` or a class has fewer than ``k`` samples.

    Example:
        >>> folds = kfold_splits(np.arange(12) % 2, 3, seed=0)
        >>> [len(va) for _, va in folds]
        [4, 4, 4]
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ConfigError(field, f"must be an integer >= 2 (or null for one holdout split), got {k!r}")
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < k:
        c = classes[int(np.argmin(counts))]
        raise ConfigError(
            field,
            f"{k} folds need at least {k} samples of every class; class {c} has {counts.min()}; use fewer folds or more data",
        )
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    offset = 0
    for c in classes:
        idx = rng.permutation(np.flatnonzero(y == c))
        # Deal the class round-robin, continuing where the previous class stopped, so fold sizes differ by at most one.
        fold_of[idx] = (offset + np.arange(len(idx))) % k
        offset = (offset + len(idx)) % k
    everything = np.arange(len(y))
    return [(everything[fold_of != f], everything[fold_of == f]) for f in range(k)]
