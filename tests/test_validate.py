"""The one validation module: declarative checks, relative field names, and the two ways an
error reaches the user (a config path, or the Python class that was called)."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasforge import ConfigError
from nasforge import _validate as v
from nasforge._errors import SpaceError


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (lambda x: v.positive_int(x, "epochs"), 3, 3),
        (lambda x: v.positive_int(x, "epochs"), np.int64(4), 4),
        (lambda x: v.positive_int(x, "threads", none_ok=True), None, None),
        (lambda x: v.non_negative_int(x, "seed"), 0, 0),
        (lambda x: v.integer(x, "folds", low=2), 5, 5),
        (lambda x: v.positive_number(x, "lr"), 1, 1.0),
        (lambda x: v.non_negative_number(x, "momentum"), 0, 0.0),
        (lambda x: v.fraction(x, "validation"), 0.25, 0.25),
        (lambda x: v.fraction(x, "test_fraction", allow_zero=True), 0, 0.0),
        (lambda x: v.one_of(x, ("adam", "sgd"), "optimizer"), "sgd", "sgd"),
        (lambda x: v.str_list(x, "metric"), "acc", ["acc"]),
        (lambda x: v.str_list(x, "report"), None, []),
        (lambda x: v.shape(x, "input_shape"), [1, 8, 8], (1, 8, 8)),
        (lambda x: v.boolean(x, "measure_latency"), False, False),
    ],
)
def test_each_check_returns_the_normalised_value(check: Any, value: Any, expected: Any) -> None:
    out = check(value)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (lambda x: v.positive_int(x, "epochs"), 0, "epochs: must be a positive integer, got 0"),
        (lambda x: v.positive_int(x, "epochs"), True, "epochs: must be a positive integer, got True"),
        (lambda x: v.positive_int(x, "epochs"), 2.0, "epochs: must be a positive integer, got 2.0"),
        (lambda x: v.positive_int(x, "threads", none_ok=True), -1, "threads: must be a positive integer or null, got -1"),
        (lambda x: v.non_negative_int(x, "seed"), -1, "seed: must be a non-negative integer, got -1"),
        (lambda x: v.integer(x, "folds", low=2), 1, "folds: must be an integer >= 2, got 1"),
        (lambda x: v.positive_number(x, "lr"), math.nan, "lr: must be a positive number, got nan"),
        (lambda x: v.positive_number(x, "lr"), math.inf, "lr: must be a positive number, got inf"),
        (lambda x: v.positive_number(x, "lr"), -1, "lr: must be a positive number, got -1"),
        (lambda x: v.positive_number(x, "lr"), "0.1", "lr: must be a positive number, got '0.1'"),
        (lambda x: v.non_negative_number(x, "momentum"), -0.5, "momentum: must be a non-negative number, got -0.5"),
        (lambda x: v.fraction(x, "validation"), 1.5, "validation: must be a fraction between 0 and 1, in (0, 1), got 1.5"),
        (lambda x: v.fraction(x, "validation"), math.nan, "validation: must be a fraction between 0 and 1"),
        (lambda x: v.one_of(x, ("adam", "sgd"), "optimizer", what="optimizer"), "rms",
         "optimizer: unknown optimizer 'rms'; choose one of ['adam', 'sgd']"),
        (lambda x: v.one_of(x, ("epochs", "data"), "fidelity"), "time", "fidelity: must be one of ['epochs', 'data'], got 'time'"),
        (lambda x: v.str_list(x, "metric", empty_ok=False), [], "metric: must be a name or a list of names, got []"),
        (lambda x: v.str_list(x, "metric"), [1], "metric: must be a name or a list of names, got [1]"),
        (lambda x: v.str_list(x, "metric"), "", "metric: must be a name or a list of names, got ''"),
        (lambda x: v.str_list(x, "report"), ["a", " "], "report: must be a name or a list of names, got ['a', ' ']"),
        (lambda x: v.str_list(x, "metric"), ["a", "a"], "metric: names ['a', 'a'] twice; give each once"),
        (lambda x: v.shape(x, "input_shape"), [1, 0], "input_shape: must be a list of positive integers, got [1, 0]"),
        (lambda x: v.boolean(x, "measure_latency"), "yes", "measure_latency: must be true or false, got 'yes'"),
        (lambda x: v.check_keys(x, {"trials"}, "budget"), {"trails": 1}, "budget.trails: unknown key; allowed keys are ['trials']"),
        (lambda x: v.mapping(x, "budget", "{trials: N}"), [1], "budget: must be a mapping such as {trials: N}, got [1]"),
        (lambda x: v.resolve_path(x, "table"), "", "table: must be a path, got ''"),
    ],
)  # fmt: skip
def test_each_check_names_the_field_the_rule_and_what_it_got(check: Any, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check(value)
    assert str(err.value).startswith(message)


def test_resolve_path_is_relative_to_the_config_folder(tmp_path: Path) -> None:
    assert v.resolve_path("t.csv", "table", tmp_path) == tmp_path / "t.csv"
    assert v.resolve_path(str(tmp_path / "a.csv"), "table", "/elsewhere") == tmp_path / "a.csv"


def test_within_prefixes_the_field_one_level_deeper() -> None:
    err = ConfigError("lr", "must be a positive number, got -1")
    assert str(err.within("evaluator")) == "evaluator.lr: must be a positive number, got -1"
    assert err.within("evaluator").field == "evaluator.lr"
    assert err.within("evaluator").within("").field == "evaluator.lr"
    assert str(ConfigError("", "is required").within("evaluator.dataset")) == "evaluator.dataset: is required"
    assert ConfigError("[0]", "bad").within("constraints").field == "constraints[0]"
    deeper = SpaceError("decisions.k", "bad").within("space")
    assert isinstance(deeper, SpaceError) and deeper.field == "space.decisions.k"


def test_a_python_call_names_the_class_and_within_turns_it_back_into_a_path() -> None:
    with pytest.raises(ConfigError) as err, v.called("Trainer"):
        v.positive_number(-1, "lr")
    assert str(err.value) == "Trainer: lr must be a positive number, got -1"
    assert err.value.field == "lr" and err.value.owner == "Trainer"
    assert str(err.value.within("evaluator")) == "evaluator.lr: must be a positive number, got -1"
    with pytest.raises(ConfigError) as err, v.called("Table"):
        raise ConfigError("metric", "column 'x' is not in t.csv")
    assert str(err.value) == "Table: metric: column 'x' is not in t.csv"  # a message that does not read on


def test_an_error_already_owned_keeps_its_owner() -> None:
    with pytest.raises(ConfigError) as err, v.called("Trainer"), v.called("Network"):
        v.positive_int(0, "epochs")
    assert err.value.owner == "Network"


def test_config_errors_survive_pickling_between_processes() -> None:
    err = SpaceError("k", "must be a choice").within("space").called("SearchSpace")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is SpaceError and str(back) == str(err) and back.field == "space.k"
