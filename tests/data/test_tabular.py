"""Data as it comes (issue 10): CSV with string labels and categorical columns, missing values
refused with column and line, standardization from the training part only, regression, arrays
and torch data sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nasforge import ConfigError
from nasforge.data import Dataset, load_csv, load_dataset

torch.set_num_threads(1)


def write_csv(path: Path, rows: list[list[object]], header: list[str]) -> Path:
    path.write_text(",".join(header) + "\n" + "".join(",".join(str(c) for c in r) + "\n" for r in rows))
    return path


def flower_rows(n: int = 60) -> list[list[object]]:
    rng = np.random.default_rng(0)
    kinds = ["setosa", "versicolor", "virginica"]
    return [[round(float(rng.normal(i % 3, 0.3)), 3), ["red", "blue"][i % 2], kinds[i % 3]] for i in range(n)]


def test_string_labels_and_a_categorical_column_are_encoded(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "f.csv", flower_rows(), ["length", "colour", "species"])
    ds = load_dataset({"csv": "f.csv", "target": "species"}, base=tmp_path, seed=0)
    assert ds.classes == ("setosa", "versicolor", "virginica") and ds.num_classes == 3
    assert ds.feature_names == ("length", "colour=blue", "colour=red") and ds.input_shape == (3,)
    onehot = np.concatenate([ds.x_train, ds.x_test])[:, 1:]
    assert set(onehot.sum(1)) == {1.0} and ds.standardize
    assert "setosa (16)" in ds.describe()
    forced = load_csv(f, target="species", categorical=["length"], seed=0)
    assert len(forced.feature_names) > 10  # every length value is a category of its own


@pytest.mark.parametrize("cell", ["", "NA", "?", "nan"])
def test_a_missing_value_is_refused_with_its_column_and_line(tmp_path: Path, cell: str) -> None:
    rows = flower_rows()
    rows[6][1] = cell
    write_csv(tmp_path / "f.csv", rows, ["length", "colour", "species"])
    with pytest.raises(ConfigError, match=r"f\.csv line 8, column 'colour': missing value"):
        load_dataset({"csv": "f.csv", "target": "species"}, base=tmp_path)


def test_a_missing_label_is_refused_with_its_line(tmp_path: Path) -> None:
    rows = flower_rows()
    rows[2][2] = ""
    write_csv(tmp_path / "f.csv", rows, ["length", "colour", "species"])
    with pytest.raises(ConfigError, match=r"dataset\.target: f\.csv line 4: the label in column 'species' is missing"):
        load_dataset({"csv": "f.csv", "target": "species"}, base=tmp_path, field="dataset")


def test_a_regression_csv_and_a_non_numeric_target(tmp_path: Path) -> None:
    rows = [[i, ["a", "b"][i % 2], 2.5 * i + 1] for i in range(40)]
    write_csv(tmp_path / "r.csv", rows, ["x", "group", "y"])
    ds = load_dataset({"csv": "r.csv", "target": "y", "task": "regression"}, base=tmp_path, seed=0)
    assert ds.regression and ds.num_classes == 1 and ds.y_train.dtype == np.float32 and ds.classes == ()
    assert len(ds.y_test) == 8
    rows[3][2] = "high"
    write_csv(tmp_path / "r.csv", rows, ["x", "group", "y"])
    with pytest.raises(ConfigError, match="line 5: 'high' in column 'y' is not a number"):
        load_dataset({"csv": "r.csv", "target": "y", "task": "regression"}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"task: must be one of"):
        load_dataset({"csv": "r.csv", "target": "y", "task": "ranking"}, base=tmp_path, field="dataset")


def test_a_fractional_label_asks_for_task_regression(tmp_path: Path) -> None:
    write_csv(tmp_path / "r.csv", [[i, i * 0.5] for i in range(20)], ["x", "y"])
    with pytest.raises(ConfigError, match="line 3: label '0.5' in column 'y' is not a class.*task: regression"):
        load_dataset({"csv": "r.csv", "target": "y"}, base=tmp_path)


def test_arrays_with_string_labels_and_any_torch_dataset() -> None:
    x = np.random.default_rng(0).normal(size=(30, 4))
    y = np.array(["cat", "dog", "eel"] * 10)
    ds = Dataset.from_arrays(x, y, seed=0)
    assert ds.classes == ("cat", "dog", "eel") and ds.standardize  # tabular: standardized by default
    assert Dataset.from_arrays(x, np.array([1, 2, 3] * 10, dtype=object), seed=0).classes == (1, 2, 3)
    assert load_dataset((x, y), seed=0).classes == ("cat", "dog", "eel")  # type: ignore[arg-type]
    tds = torch.utils.data.TensorDataset(torch.rand(30, 1, 4, 4), torch.arange(30) % 3)
    from_torch = load_dataset(tds, seed=0)  # type: ignore[arg-type]
    assert from_torch.input_shape == (1, 4, 4) and from_torch.num_classes == 3 and not from_torch.standardize


def tiny_mlp_trainer(ds: Dataset, **options: object) -> object:
    from nasforge.evaluators import Trainer

    settings = {"space": "mlp", "epochs": 2, "threads": 1, "measure_latency": False, **options}
    return Trainer(ds, **settings)  # type: ignore[arg-type]


MLP = {"layers": 1, "layers.0.units": 16, "layers.0.activation": "relu"}


def test_the_test_split_never_influences_the_scaler_or_any_score() -> None:
    """Two data sets with the same search part and wildly different test parts give the same
    trials, the same retrained statistics and weights; only the test score differs."""
    from nasforge.space import Arch

    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(80, 3)).astype(np.float32)
    y = (x[:, 0] > 5).astype(np.int64)
    xt = rng.normal(size=(20, 3)).astype(np.float32)
    yt = (xt[:, 0] > 0).astype(np.int64)
    a = Dataset.from_arrays(x, y, x_test=xt, y_test=yt)
    b = Dataset.from_arrays(x, y, x_test=xt * 1000 + 77, y_test=1 - yt)
    ta, tb = tiny_mlp_trainer(a), tiny_mlp_trainer(b)
    arch = Arch(MLP)
    ra, rb = ta.evaluate(arch), tb.evaluate(arch)  # type: ignore[attr-defined]
    for name in ("accuracy", "loss", "params", "flops"):
        assert ra.metrics[name] == rb.metrics[name]
    ma, mb = ta.retrain(arch), tb.retrain(arch)  # type: ignore[attr-defined]
    assert torch.allclose(ma.mean, torch.from_numpy(x.mean(0)))  # all the search data, nothing of the test part
    for (ka, va), (kb, vb) in zip(ma.state_dict().items(), mb.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert ta.test(ma) != tb.test(mb)  # type: ignore[attr-defined]


def test_the_validation_fold_never_influences_its_scaler() -> None:
    """Changing the inputs of one validation fold changes no statistic the trainer fits on the
    training part of that split."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2)).astype(np.float32)
    y = np.arange(60) % 2
    t = tiny_mlp_trainer(Dataset.from_arrays(x, y, seed=0), folds=None)
    train_idx, val_idx = t.splits[0]  # type: ignore[attr-defined]
    xs, ys = t._tensors()  # type: ignore[attr-defined]
    before = t._scaling(xs[train_idx], ys[train_idx])  # type: ignore[attr-defined]
    xs[val_idx] += 1e6
    after = t._scaling(xs[train_idx], ys[train_idx])  # type: ignore[attr-defined]
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])


def test_standardizing_helps_badly_scaled_features() -> None:
    from nasforge.space import Arch

    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    x = x * np.array([1000.0, 0.001], dtype=np.float32) + np.array([5000.0, 3.0], dtype=np.float32)
    ds = Dataset.from_arrays(x, y, seed=0)
    arch = Arch(MLP)
    scaled = tiny_mlp_trainer(ds, epochs=10, lr=1e-2).evaluate(arch).metrics["accuracy"]  # type: ignore[attr-defined]
    raw = tiny_mlp_trainer(ds, epochs=10, lr=1e-2, standardize=False).evaluate(arch).metrics["accuracy"]  # type: ignore[attr-defined]
    assert scaled > 0.85 and scaled > raw + 0.1


def test_regression_trains_reports_mse_mae_r2_and_minimizes_by_default(tmp_path: Path) -> None:
    from nasforge.evaluators import Trainer
    from nasforge.space import Arch, builtin

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = 40.0 * x[:, 0] - 20.0 * x[:, 1] + 300.0
    ds = Dataset.from_arrays(x, y, task="regression", seed=0)
    t = Trainer(ds, space="mlp", epochs=30, threads=1, measure_latency=False, lr=1e-2)
    assert t.metrics[:4] == ["mse", "mae", "r2", "loss"]
    result = t.evaluate(Arch(MLP))
    assert result.metrics["r2"] > 0.8 and result.metrics["mae"] < 20
    model = t.retrain(Arch(MLP))
    scores = t.test(model)
    assert set(scores) == {"test_mse", "test_mae", "test_r2"} and scores["test_r2"] > 0.8
    with torch.no_grad():
        assert abs(float(model(torch.from_numpy(ds.x_test[:1]))) - float(ds.y_test[0])) < 60  # in the target's units
    write_csv(tmp_path / "r.csv", [[*row, float(v)] for row, v in zip(x.tolist(), y)], ["a", "b", "c", "y"])
    setup = Trainer.from_config({"dataset": {"csv": "r.csv", "target": "y", "task": "regression"}, "epochs": 1},
                                builtin("mlp"), tmp_path)  # fmt: skip
    assert setup.objectives == {"mse": "minimize"}


def test_the_tabular_example_reads_its_generated_csv_with_no_preprocessing(tmp_path: Path) -> None:
    import importlib.util

    import yaml

    from nasforge.config import RunConfig

    examples = Path(__file__).resolve().parents[2] / "examples"
    spec = importlib.util.spec_from_file_location("make_tabular_csv", examples / "make_tabular_csv.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path / "data" / "breast_cancer.csv")
    cfg = RunConfig.parse(yaml.safe_load((examples / "tabular.yaml").read_text()), tmp_path)
    ds = cfg.evaluator.data  # type: ignore[attr-defined]
    assert ds.classes == ("benign", "malignant") and ds.input_shape == (33,) and ds.standardize
    assert ds.feature_names[-3:] == ("texture_band=high", "texture_band=low", "texture_band=mid")


def test_describe_data_says_what_would_be_loaded(tmp_path: Path) -> None:
    from nasforge.data import describe_data

    write_csv(tmp_path / "f.csv", flower_rows(), ["length", "colour", "species"])
    text = describe_data("f.csv", base=tmp_path)
    assert "input shape (3,), classification, inputs standardized" in text and "setosa (16)" in text
    with pytest.raises(ConfigError, match="not a folder, a .npz or a .csv"):
        describe_data("f.txt", base=tmp_path)
