"""Data sets: built-ins without download, user files, checks and deterministic stratified splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasforge import ConfigError
from nasforge.data import Dataset, holdout_split, kfold_splits, load_dataset, stratified_split


def test_digits_shape_classes_and_a_stratified_test_split() -> None:
    ds = load_dataset("digits", seed=0)
    assert ds.input_shape == (1, 8, 8) and ds.num_classes == 10
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert ds.x_train.dtype == np.float32 and 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    share = np.bincount(ds.y_test, minlength=10) / np.bincount(np.concatenate([ds.y_train, ds.y_test]))
    assert np.all(np.abs(share - 0.2) < 0.02)  # every class ~20% in the test split


def test_the_test_split_is_fixed_by_the_seed() -> None:
    a, b, c = load_dataset("digits", seed=3), load_dataset("digits", seed=3), load_dataset("digits", seed=4)
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_test, c.x_test)


def test_mnist5k_is_parsed_once_then_read_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASFORGE_CACHE", str(tmp_path / "cache"))
    first = load_dataset("mnist5k", seed=0)
    assert (tmp_path / "cache" / "mnist5k-v1.npz").is_file()
    second = load_dataset("mnist5k", seed=0)
    assert first.input_shape == (1, 28, 28) and first.num_classes == 10
    assert len(first.y_train) == 4000 and np.array_equal(first.x_train, second.x_train)
    assert np.all(np.bincount(first.y_test) == 100)


def test_mnist1d_is_generated_locally_with_its_official_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    ds = load_dataset("mnist1d")
    assert ds.input_shape == (1, 40) and ds.num_classes == 10
    assert (len(ds.y_train), len(ds.y_test)) == (4000, 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # no pickle dropped in the working directory


def test_kfold_validates_every_sample_once_with_classes_spread_evenly() -> None:
    y = np.repeat(np.arange(3), [10, 7, 5])
    folds = kfold_splits(y, 3, seed=0)
    assert len(folds) == 3
    seen = np.concatenate([va for _, va in folds])
    assert sorted(seen) == list(range(len(y)))
    for tr, va in folds:
        assert set(tr).isdisjoint(va) and len(tr) + len(va) == len(y)
    per_fold = np.array([np.bincount(y[va], minlength=3) for _, va in folds])
    assert np.all(per_fold.max(0) - per_fold.min(0) <= 1)
    again = kfold_splits(y, 3, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, kfold_splits(y, 3, seed=1)))


def test_kfold_refuses_classes_smaller_than_the_fold_count() -> None:
    with pytest.raises(ConfigError) as err:
        kfold_splits(np.array([0, 0, 0, 1, 1]), 3)
    assert err.value.field == "evaluator.folds" and "class 1 has 2" in str(err.value)
    with pytest.raises(ConfigError):
        kfold_splits(np.array([0, 1] * 5), 1)


def test_holdout_and_stratified_split_sizes() -> None:
    y = np.arange(100) % 4
    tr, va = holdout_split(y, 0.2, seed=0)
    assert len(va) == 20 and np.all(np.bincount(y[va]) == 5) and set(tr).isdisjoint(va)
    keep, _ = stratified_split(np.array([0, 0, 1]), 0.5, np.random.default_rng(0))
    assert 1 in np.array([0, 0, 1])[keep]  # a class is never moved out entirely


def test_npz_with_labels_remapped_to_class_indices(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.normal(size=(50, 3, 4, 4)), y=np.repeat([3, 7], 25))
    ds = load_dataset({"npz": "d.npz"}, base=tmp_path)
    assert ds.input_shape == (3, 4, 4) and ds.classes == (3, 7) and set(ds.y_train) == {0, 1}
    assert ds.name == "d"


def test_npz_with_an_official_test_split(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((20, 5)), y=np.arange(20) % 2, x_test=np.ones((6, 5)), y_test=np.arange(6) % 2)
    ds = load_dataset({"npz": str(path)})
    assert len(ds.y_train) == 20 and len(ds.y_test) == 6 and np.all(ds.x_test == 1)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((10, 3)), np.arange(9) % 2, "10 samples but labels have 9"),
        (np.full((10, 3), np.nan), np.arange(10) % 2, "NaN"),
        (np.zeros((10, 3)), np.zeros(10), "single class"),
        (np.zeros((10, 3)), np.arange(10) * 0.5, "must be integers"),
        (np.zeros((10, 3)), np.array(["a", ""] * 5), "is missing"),
        (np.zeros(10), np.arange(10) % 2, "shape (samples, features...)"),
    ],
)
def test_bad_arrays_are_refused_naming_the_field(tmp_path: Path, x: np.ndarray, y: np.ndarray, message: str) -> None:
    np.savez(tmp_path / "d.npz", x=x, y=y)
    with pytest.raises(ConfigError) as err:
        load_dataset({"npz": "d.npz"}, base=tmp_path)
    assert err.value.field.startswith("evaluator.dataset") and message in str(err.value)


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(ConfigError, match="cannot read"):
        load_dataset({"npz": "bad.npz"}, base=tmp_path)
    with pytest.raises(ConfigError, match="does not exist") as err:
        load_dataset({"npz": "nope.npz"}, base=tmp_path)
    assert err.value.field == "evaluator.dataset.npz"
    np.savez(tmp_path / "noy.npz", x=np.zeros((4, 2)))
    with pytest.raises(ConfigError, match="no array 'y'"):
        load_dataset({"npz": "noy.npz"}, base=tmp_path)


def test_unknown_dataset_name_lists_the_choices() -> None:
    with pytest.raises(ConfigError) as err:
        load_dataset("cifar10")
    assert err.value.field == "evaluator.dataset" and "digits" in str(err.value) and "npz" in str(err.value)


def _write_csv(path: Path, rows: list[str]) -> None:
    path.write_text("\n".join(rows) + "\n")


def test_csv_with_a_target_column(tmp_path: Path) -> None:
    _write_csv(tmp_path / "t.csv", ["a,label,b"] + [f"{i},{i % 2},{i * 0.5}" for i in range(20)])
    ds = load_dataset({"csv": "t.csv", "target": "label"}, base=tmp_path)
    assert ds.input_shape == (2,) and ds.num_classes == 2
    xs = np.concatenate([ds.x_train, ds.x_test])
    assert np.allclose(np.sort(xs[:, 1]), np.arange(20) * 0.5)  # columns a and b, target left out


@pytest.mark.parametrize(
    ("rows", "target", "field", "message"),
    [
        (["a,label", "1,0", "2,1"], "class", "evaluator.dataset.target", "'class' is not in t.csv"),
        (["a,label", "1,0", "inf,1"], "label", "evaluator.dataset.csv", "'inf' is not finite"),
        (["a,label", "1,0", ",1"], "label", "evaluator.dataset.csv", "line 3, column 'a': missing value"),
        (
            ["a,label", "1,0", "2,"],
            "label",
            "evaluator.dataset.target",
            "line 3: the label in column 'label' is missing",
        ),
        (["a,label", "1,0", "2"], "label", "evaluator.dataset.csv", "has 1 cells"),
    ],
)
def test_bad_csv(tmp_path: Path, rows: list[str], target: str, field: str, message: str) -> None:
    _write_csv(tmp_path / "t.csv", rows)
    with pytest.raises(ConfigError) as err:
        load_dataset({"csv": "t.csv", "target": target}, base=tmp_path)
    assert err.value.field == field and message in str(err.value)


def _image_folder(root: Path, *, mode: str = "L", size: tuple[int, int] = (6, 5), n: int = 6) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(root / cls / f"{i}.png")
    return root


def test_image_folder_grayscale_and_rgb(tmp_path: Path) -> None:
    ds = load_dataset({"images": str(_image_folder(tmp_path / "gray"))})
    assert ds.input_shape == (1, 5, 6) and ds.classes == ("cat", "dog") and ds.x_train.max() <= 1.0
    rgb = load_dataset({"images": str(_image_folder(tmp_path / "rgb", mode="RGB")), "size": [4, 4]})
    assert rgb.input_shape == (3, 4, 4)


def test_image_folder_with_an_unreadable_file_names_it(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "imgs")
    (root / "dog" / "broken.png").write_bytes(b"garbage")
    with pytest.raises(ConfigError) as err:
        load_dataset({"images": str(root)})
    assert err.value.field == "evaluator.dataset.images" and "broken.png" in str(err.value)


def test_image_folder_of_mixed_sizes_and_modes_is_resized_to_the_most_common_and_says_so(tmp_path: Path) -> None:
    from PIL import Image

    root = _image_folder(tmp_path / "imgs")  # 5 x 6 (height x width) grayscale images
    Image.new("RGB", (9, 7), (255, 0, 0)).save(root / "cat" / "big.png")  # 9 wide, 7 high, colour
    ds = load_dataset({"images": str(root)})
    n = len(ds.y_train) + len(ds.y_test)
    assert ds.input_shape == (3, 5, 6)  # one colour image: all RGB, at the most common size
    resized = f"resized 1 of {n} images to 5x6 (height x width: the most common size; give size: [height, width] to choose)"
    assert ds.notes == (resized, f"converted {n - 1} of {n} images to RGB")
    assert ds.notes[0] in ds.describe()
    red = np.concatenate([ds.x_train, ds.x_test])
    assert np.isclose(red[:, 0], 1.0).all(axis=(1, 2)).sum() == 1  # the resized image is still all red
    fixed = load_dataset({"images": str(root), "size": [4, 4], "grayscale": True})
    assert fixed.input_shape == (1, 4, 4) and fixed.notes[0].startswith(f"resized {n} of {n} images to 4x4")


def test_image_folder_needs_two_classes(tmp_path: Path) -> None:
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(ConfigError, match="at least two"):
        load_dataset({"images": str(tmp_path / "one")})


def test_from_arrays_refuses_a_single_class_training_part() -> None:
    with pytest.raises(ConfigError, match="single class"):
        Dataset.from_arrays(np.zeros((4, 2)), np.array([0, 0, 0, 0]))
