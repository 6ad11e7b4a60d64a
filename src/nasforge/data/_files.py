"""User data from files: NumPy ``.npz``, CSV with a target column, a folder of images."""

from __future__ import annotations

import csv
import dataclasses
import os
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError
from ._builtin import builtin_dataset
from ._dataset import TASKS, TEST_FRACTION, Dataset

IGNORED_FILES = {"thumbs.db", "desktop.ini"}


def _existing(path: Any, field: str, *, folder: bool = False) -> Path:
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise ConfigError(field, f"must be a path, got {path!r}")
    p = Path(path)
    if folder:
        if not p.is_dir():
            raise ConfigError(field, f"folder {str(p)!r} does not exist")
    elif not p.is_file():
        raise ConfigError(field, f"file {str(p)!r} does not exist")
    return p


def load_npz(path: str | os.PathLike[str], *, name: str | None = None, test_fraction: float = TEST_FRACTION,
             seed: int = 0, field: str = "evaluator.dataset.npz", task: str = "classification") -> Dataset:  # fmt: skip
    """A data set from a NumPy ``.npz`` holding arrays ``x`` (samples first) and ``y`` (integer
    labels); with ``x_test`` and ``y_test`` too, those are the test split."""
    p = _existing(path, field)
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ConfigError(field, f"cannot read {str(p)!r} as .npz: {exc}") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise ConfigError(
                field,
                f"{p.name} has no array {key!r}; its arrays are {sorted(arrays)}; save with np.savez(f, x=..., y=...)",
            )
    return Dataset.from_arrays(arrays["x"], arrays["y"], x_test=arrays.get("x_test"), y_test=arrays.get("y_test"),
                               name=name or p.stem, test_fraction=test_fraction, seed=seed, field=field,
                               task=task)  # fmt: skip


MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
"""Cell texts read as a missing value (case-insensitive, after stripping spaces)."""


def load_csv(path: str | os.PathLike[str], *, target: str, features: Sequence[str] | None = None, name: str | None = None,
             categorical: Sequence[str] | None = None, task: str = "classification", standardize: bool = True,
             test_fraction: float = TEST_FRACTION, seed: int = 0, field: str = "evaluator.dataset") -> Dataset:  # fmt: skip
    """A data set from a CSV with a header row, as it comes.

    ``target`` is the label column: integers or strings (``setosa``) for classification, a
    number for ``task="regression"``. The other columns (or ``features``) are inputs: a
    column holding any cell that is not a number, or named in ``categorical``, is
    categorical and one-hot encoded (one input per value seen in the file, sorted; named
    ``column=value``). A missing cell (empty, ``NA``, ``NaN``, ``null``, ``?``) is refused
    with its column and line: nothing is imputed. The trainer standardizes the inputs with
    statistics of the training part of each split only (``standardize``).

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = f.write_text("size,color,kind\\n" + "".join(f"{i},{'red' if i % 2 else 'blue'},{'ab'[i % 2]}\\n" for i in range(20)))
        >>> ds = load_csv(f, target="kind", seed=0)
        >>> ds.input_shape, ds.classes, ds.feature_names
        ((3,), ('a', 'b'), ('size', 'color=blue', 'color=red'))
    """
    p = _existing(path, f"{field}.csv")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:  # -sig: a spreadsheet's byte-order mark
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{field}.csv", f"cannot read {str(p)!r} as CSV: {exc}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]  # blank lines
    if len(rows) < 2:
        raise ConfigError(f"{field}.csv", f"{p.name} needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if not isinstance(target, str) or target not in header:
        raise ConfigError(f"{field}.target", f"column {target!r} is not in {p.name}; its columns are {header}")
    if features is None:
        features = [h for h in header if h != target]
    for col in features:
        if col not in header:
            raise ConfigError(f"{field}.features", f"column {col!r} is not in {p.name}; its columns are {header}")
    for col in categorical or ():
        if col not in features:
            raise ConfigError(
                f"{field}.categorical", f"column {col!r} is not a feature column; features are {list(features)}"
            )
    if not features:
        raise ConfigError(f"{field}.features", f"{p.name} has no feature columns besides the target")
    for r, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ConfigError(
                f"{field}.csv", f"{p.name} line {r + 2} has {len(row)} cells, the header has {len(header)}"
            )
    t = header.index(target)
    columns: list[np.ndarray] = []
    names: list[str] = []
    for col in features:
        j = header.index(col)
        cells = [row[j].strip() for row in rows[1:]]
        for r, text in enumerate(cells):
            if text.lower() in MISSING:
                raise ConfigError(f"{field}.csv", f"{p.name} line {r + 2}, column {col!r}: missing value {text!r}; "
                                                  "fill or drop it (nasforge does not impute)")  # fmt: skip
        numbers = _numbers(cells)
        if numbers is not None and col not in (categorical or ()):
            bad = np.flatnonzero(~np.isfinite(numbers))
            if len(bad):
                raise ConfigError(f"{field}.csv", f"{p.name} line {int(bad[0]) + 2}, column {col!r}: "
                                                  f"{cells[int(bad[0])]!r} is not finite; fill or drop it")  # fmt: skip
            columns.append(numbers[:, None])
            names.append(col)
        else:
            values = sorted(set(cells))
            onehot = np.zeros((len(cells), len(values)))
            onehot[np.arange(len(cells)), [values.index(c) for c in cells]] = 1.0
            columns.append(onehot)
            names.extend(f"{col}={val}" for val in values)
    x = np.concatenate(columns, axis=1)
    labels = [row[t].strip() for row in rows[1:]]
    for r, text in enumerate(labels):
        if text.lower() in MISSING:
            raise ConfigError(f"{field}.target", f"{p.name} line {r + 2}: the label in column {target!r} is missing; "
                                                 "fill or drop the row")  # fmt: skip
    numeric = _numbers(labels)
    if task == "regression":
        if numeric is None:
            r = next(i for i, text in enumerate(labels) if _number(text) is None)
            raise ConfigError(f"{field}.target", f"{p.name} line {r + 2}: {labels[r]!r} in column {target!r} is not a "
                                                 "number; a regression target must be numbers")  # fmt: skip
        y: np.ndarray = numeric
    elif numeric is not None and np.all(numeric == np.round(numeric)):
        y = numeric.astype(np.int64)
    elif numeric is not None:
        r = int(np.argmax(numeric != np.round(numeric)))
        raise ConfigError(f"{field}.target", f"{p.name} line {r + 2}: label {labels[r]!r} in column {target!r} is not a "
                                             "class (a whole number or a name); for a numeric target give task: regression")  # fmt: skip
    else:
        y = np.array(labels)
    ds = Dataset.from_arrays(x, y, name=name or p.stem, test_fraction=test_fraction, seed=seed, field=f"{field}.csv",
                             task=task, standardize=standardize)  # fmt: skip
    return dataclasses.replace(ds, feature_names=tuple(names))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numbers(cells: Sequence[str]) -> np.ndarray | None:
    """The cells as numbers, or ``None`` when any is not a number (a categorical column)."""
    out = np.empty(len(cells))
    for i, text in enumerate(cells):
        value = _number(text)
        if value is None:
            return None
        out[i] = value
    return out


def load_images(folder: str | os.PathLike[str], *, size: Sequence[int] | None = None, grayscale: bool | None = None,
                name: str | None = None, test_fraction: float = TEST_FRACTION, seed: int = 0,
                field: str = "evaluator.dataset") -> Dataset:  # fmt: skip
    """A data set from a folder with one sub-folder of images per class (class = folder name).

    Images of another size than ``size: [height, width]`` are resized to it (bilinear); without
    ``size``, to the most common size among them (the largest of equally common ones), and the
    data set's :attr:`~Dataset.notes` say how many were resized. They are read as grayscale
    when every image is single-band (or ``grayscale`` says so), else RGB (a note says how many
    were converted), and scaled to [0, 1]. Needs Pillow.
    """
    root = _existing(folder, f"{field}.images", folder=True)
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ConfigError(f"{field}.images", "reading an image folder needs Pillow: pip install Pillow") from None
    if size is not None and (
        not isinstance(size, list | tuple) or len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size)
    ):
        raise ConfigError(f"{field}.size", f"must be [height, width] in pixels, got {size!r}")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(class_dirs) < 2:
        raise ConfigError(
            f"{field}.images", f"{str(root)!r} needs one sub-folder per class (at least two), found {len(class_dirs)}"
        )
    files: list[tuple[Path, int]] = []
    for k, d in enumerate(class_dirs):
        found = sorted(
            f for f in d.iterdir() if f.is_file() and not f.name.startswith(".") and f.name.lower() not in IGNORED_FILES
        )
        if not found:
            raise ConfigError(f"{field}.images", f"class folder {d.name!r} holds no images")
        files.extend((f, k) for f in found)
    images: list[Image.Image] = []
    for f, _ in files:
        try:
            with Image.open(f) as opened:
                opened.load()
                images.append(opened.copy())
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            rel = f.relative_to(root)
            raise ConfigError(f"{field}.images", f"cannot read image {str(rel)!r}: {exc}") from None
    gray = all(len(img.getbands()) == 1 for img in images) if grayscale is None else bool(grayscale)
    mode = "L" if gray else "RGB"
    if size is not None:
        target = (size[1], size[0])  # PIL's (width, height)
    else:
        counts = Counter(im.size for im in images)
        target = max(counts, key=lambda wh: (counts[wh], wh[0] * wh[1], wh))
    arrays = []
    resized = converted = 0
    for im in images:
        if im.mode != mode:
            converted += 1
            im = im.convert(mode)
        if im.size != target:
            resized += 1
            im = im.resize(target, Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
        arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    x = np.stack(arrays)
    y = np.array([k for _, k in files], dtype=np.int64)
    data = Dataset.from_arrays(x, y, classes=[d.name for d in class_dirs], name=name or root.name,
                               test_fraction=test_fraction, seed=seed, field=f"{field}.images")  # fmt: skip
    notes = []
    if resized:
        why = "size" if size is not None else "the most common size; give size: [height, width] to choose"
        notes.append(f"resized {resized} of {len(images)} images to {target[1]}x{target[0]} (height x width: {why})")
    if converted:
        notes.append(f"converted {converted} of {len(images)} images to {'grayscale' if gray else 'RGB'}")
    return dataclasses.replace(data, notes=tuple(notes)) if notes else data


DATA_KEYS = {"npz", "csv", "images"}


def _task(spec: Mapping[str, Any], field: str) -> str:
    task = spec.get("task", "classification")
    if task not in TASKS:
        raise ConfigError(f"{field}.task", f"must be one of {list(TASKS)}, got {task!r}")
    return str(task)


def load_dataset(spec: Any, *, base: str | os.PathLike[str] = ".",
                 test_fraction: float = TEST_FRACTION, seed: int = 0, field: str = "evaluator.dataset") -> Dataset:  # fmt: skip
    """A :class:`Dataset` from its config form: a built-in name (``digits``, ``mnist5k``,
    ``mnist1d``), ``{npz: FILE}``, ``{csv: FILE, target: COLUMN[, features: [...]]}`` or
    ``{images: FOLDER[, size: [H, W], grayscale: BOOL]}``; a CSV or npz may say ``task:
    regression``; a CSV may list ``categorical:`` columns and turn ``standardize`` off; a
    ``torch.utils.data.Dataset`` is read with :meth:`Dataset.from_torch`, a tuple ``(x, y)`` of
    arrays with :meth:`Dataset.from_arrays`. Relative paths are taken from
    ``base``. The test split is stratified, ``test_fraction`` of the data, chosen with ``seed``.

    Example:
        >>> ds = load_dataset("digits", seed=0)
        >>> ds.input_shape, ds.num_classes, len(ds.y_train) + len(ds.y_test)
        ((1, 8, 8), 10, 1797)
    """
    if isinstance(spec, Dataset):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        return Dataset.from_arrays(spec[0], spec[1], test_fraction=test_fraction, seed=seed, field=field)
    if not isinstance(spec, str | Mapping) and hasattr(spec, "__getitem__") and hasattr(spec, "__len__"):
        return Dataset.from_torch(spec, test_fraction=test_fraction, seed=seed, field=field)
    if isinstance(spec, str):
        return builtin_dataset(spec, test_fraction=test_fraction, seed=seed, field=field)
    if not isinstance(spec, Mapping):
        raise ConfigError(field, f"must be a built-in name or a mapping such as {{npz: data.npz}}, got {spec!r}")
    kinds = [k for k in DATA_KEYS if k in spec]
    if len(kinds) != 1:
        raise ConfigError(field, f"needs exactly one of {sorted(DATA_KEYS)}, got keys {sorted(spec)}")
    kind = kinds[0]
    allowed = {"npz": {"npz", "name", "task"}, "csv": {"csv", "target", "features", "categorical", "task", "name",
                                                      "standardize"},
               "images": {"images", "size", "grayscale", "name"}}[kind]  # fmt: skip
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(f"{field}.{unknown[0]}", f"unknown key for {kind} data; allowed keys are {sorted(allowed)}")
    name = spec.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{field}.name", f"must be a string, got {name!r}")

    def path(key: str) -> Path:
        value = spec[key]
        if not isinstance(value, str | os.PathLike) or not str(value):
            raise ConfigError(f"{field}.{key}", f"must be a path, got {value!r}")
        p = Path(os.path.expanduser(str(value)))
        return p if p.is_absolute() else Path(base) / p

    if kind == "npz":
        return load_npz(path("npz"), name=name, test_fraction=test_fraction, seed=seed, field=f"{field}.npz",
                        task=_task(spec, field))  # fmt: skip
    if kind == "csv":
        if "target" not in spec:
            raise ConfigError(f"{field}.target", "is required: the name of the label column")
        features = spec.get("features")
        if features is not None and (not isinstance(features, list) or not all(isinstance(c, str) for c in features)):
            raise ConfigError(f"{field}.features", f"must be a list of column names, got {features!r}")
        categorical = spec.get("categorical")
        if categorical is not None and (
            not isinstance(categorical, list) or not all(isinstance(c, str) for c in categorical)
        ):
            raise ConfigError(f"{field}.categorical", f"must be a list of column names, got {categorical!r}")
        standardize = spec.get("standardize", True)
        if not isinstance(standardize, bool):
            raise ConfigError(f"{field}.standardize", f"must be true or false, got {standardize!r}")
        return load_csv(path("csv"), target=spec["target"], features=features, name=name, categorical=categorical,
                        task=_task(spec, field), standardize=standardize, test_fraction=test_fraction, seed=seed,
                        field=field)  # fmt: skip
    return load_images(path("images"), size=spec.get("size"), grayscale=spec.get("grayscale"), name=name,
                       test_fraction=test_fraction, seed=seed, field=field)  # fmt: skip


def describe_data(path_or_spec: Any, *, base: str | os.PathLike[str] = ".", target: str | None = None,
                  task: str = "classification") -> str:  # fmt: skip
    """What loading would give, as text (for a ``nasforge data`` command): a built-in name, a
    config form, or a path — a folder of class folders (images), a ``.npz``, or a ``.csv``
    (``target`` names the label column; default: the last column).

    Example:
        >>> print(describe_data("digits").splitlines()[0])
        digits: 1438 search samples + 359 test samples, input shape (1, 8, 8), classification
    """
    spec = path_or_spec
    if isinstance(spec, str | os.PathLike) and not (isinstance(spec, str) and spec in _builtin_names()):
        p = Path(spec) if Path(spec).is_absolute() else Path(base) / spec
        if p.is_dir():
            spec = {"images": str(p)}
        elif p.suffix.lower() == ".npz":
            spec = {"npz": str(p), "task": task}
        elif p.suffix.lower() == ".csv":
            if target is None:
                with p.open(newline="", encoding="utf-8-sig") as fh:
                    header = next(csv.reader(fh), [])
                target = header[-1].strip() if header else ""
            spec = {"csv": str(p), "target": target, "task": task}
        else:
            raise ConfigError("dataset", f"{str(p)!r} is not a folder, a .npz or a .csv file")
    return load_dataset(spec, base=base, field="dataset").describe()


def _builtin_names() -> set[str]:
    from ._builtin import DATASETS

    return set(DATASETS)
