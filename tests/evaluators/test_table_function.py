"""Table and function evaluators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasforge import Arch, ConfigError, TrialFailed
from nasforge.evaluators import Function, Table, nasbench201
from nasforge.space import builtin


def test_csv_table_lookup_with_format_key(table_csv: Path) -> None:
    t = Table.from_file(table_csv, key="{kernel}-{width}-{depth}", metric="acc", report=["test_acc"], cost="seconds")
    r = t.evaluate(Arch({"kernel": 3, "width": 32, "depth": 3}))
    assert r.metrics == {"acc": 90.0} and r.report == {"test_acc": 89.0} and r.cost_seconds == 96.0
    with pytest.raises(TrialFailed, match="'9-32-3' is not in results.csv"):
        t.evaluate(Arch({"kernel": 9, "width": 32, "depth": 3}))


def test_json_tables_list_and_object(tmp_path: Path) -> None:
    records = [{"arch": "a", "acc": 1.0}, {"arch": "b", "acc": 2.0}]
    (tmp_path / "list.json").write_text(json.dumps(records))
    (tmp_path / "obj.json").write_text(json.dumps({"a": {"acc": 1.0}, "b": {"acc": 2.0}}))
    for name in ("list.json", "obj.json"):
        t = Table.from_file(tmp_path / name, key="{x}", metric="acc")
        assert t.evaluate(Arch({"x": "b"})).metrics == {"acc": 2.0}


def test_table_refuses_missing_columns_and_files(table_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^Table: metric: column 'accuracy' is not in results.csv"):
        Table.from_file(table_csv, key="{k}", metric="accuracy")
    with pytest.raises(ConfigError, match="^Table: report: column 'nope'"):
        Table.from_file(table_csv, key="{k}", metric="acc", report=["nope"])
    with pytest.raises(ConfigError, match="^Table: key_column: column 'arch_id'"):
        Table.from_file(table_csv, key="{k}", key_column="arch_id", metric="acc")
    with pytest.raises(ConfigError, match="does not exist"):
        Table.from_file(tmp_path / "missing.csv", key="{k}", metric="acc")


def test_nb201_adapter_reads_synthetic_table_by_cell_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    space = builtin("nasbench201")
    text = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    path = tmp_path / "nb.csv"
    cols = "index,arch,cifar10-test,cifar10-val,cifar100-test,cifar100-val,imagenet-test,imagenet-val"
    path.write_text(f"{cols}\n0,{text},88.0,82.0,60.0,59.0,30.0,31.0\n")
    monkeypatch.delenv("NASFORGE_NB201", raising=False)
    with pytest.raises(ConfigError, match="NASFORGE_NB201"):
        nasbench201()
    monkeypatch.setenv("NASFORGE_NB201", str(path))
    r = nasbench201(metric="cifar100-val", report=["cifar100-test"]).evaluate(space.from_string(text))
    assert r.metrics == {"cifar100-val": 59.0} and r.report == {"cifar100-test": 60.0}


def test_function_evaluator_accepts_dicts_floats_and_budget() -> None:
    assert Function(lambda a: 2.5).evaluate(Arch({})).metrics == {"value": 2.5}
    f = Function(lambda a, budget=None: {"b": budget or 1.0})
    assert f.evaluate(Arch({}), 0.5).metrics == {"b": 0.5}
    with pytest.raises(TrialFailed, match="NaN"):
        Function(lambda a: {"x": float("nan")}).evaluate(Arch({}))
