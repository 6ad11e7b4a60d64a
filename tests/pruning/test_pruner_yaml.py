"""``pruner:`` in a run config: built once and checked against the evaluator before anything is
written; refused with the field named where it could prune nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nasforge import ConfigError
from nasforge.config import RunConfig
from nasforge.pruners import ASHA, MedianStopping

HERE = Path(__file__).parent


def function_config(**more: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "space": {"decisions": {"x": {"int": [0, 99]}}},
        "evaluator": {"function": "pruning_fns:curve", "step_metrics": ["acc"]},
        "objectives": {"acc": "maximize"},
        "budget": {"trials": 4},
    }
    data.update(more)
    return data


def table_config(table_csv: Path, **more: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "space": {"decisions": {"kernel": {"choice": [1, 3, 5, 7]}, "width": {"choice": [8, 16, 32, 64]},
                                "depth": {"int": [1, 5]}}},
        "evaluator": {"table": table_csv.name, "key": "{kernel}-{width}-{depth}", "key_column": "key", "metric": "acc"},
        "objectives": {"acc": "maximize"},
    }  # fmt: skip
    data.update(more)
    return data


def test_pruner_is_built_once_and_handed_to_the_study_parts() -> None:
    cfg = RunConfig.parse(function_config(pruner={"name": "asha", "eta": 2, "max_steps": 9}), HERE)
    assert isinstance(cfg.pruner, ASHA) and cfg.pruner.eta == 2 and cfg.build().pruner is cfg.pruner
    assert cfg.pruner.rungs() == [1, 2, 5]  # 9 epochs times the budgets 1/8, 1/4, 1/2 (as Hyperband)
    assert isinstance(RunConfig.parse(function_config(pruner="median"), HERE).pruner, MedianStopping)
    assert RunConfig.parse(function_config(), HERE).pruner is None
    assert RunConfig.parse(function_config(pruner="none"), HERE).pruner is None


@pytest.mark.parametrize(
    ("pruner", "field", "words"),
    [
        ("successive-halving", "pruner.name", "unknown pruner"),
        ({"name": "asha", "eta": 0.5}, "pruner.eta", "> 1"),
        ({"name": "asha", "eta": "three"}, "pruner.eta", "> 1"),
        ({"name": "median", "warmup": 2}, "pruner.warmup", "not an option"),
        (3, "pruner", "must name a pruner"),
    ],
)
def test_bad_pruner_is_refused(pruner: Any, field: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as err:
        RunConfig.parse(function_config(pruner=pruner), HERE)
    assert err.value.field == field


def test_pruner_with_an_evaluator_that_reports_no_steps_is_refused(table_csv: Path) -> None:
    with pytest.raises(ConfigError, match="does not report steps") as err:
        RunConfig.parse(table_config(table_csv, pruner="asha"), table_csv.parent)
    assert err.value.field == "pruner"
    plain = function_config(pruner="asha")
    plain["evaluator"] = {"function": "pruning_fns:curve"}  # no step_metrics declared
    with pytest.raises(ConfigError, match="does not report steps"):
        RunConfig.parse(plain, HERE)
    with pytest.raises(ConfigError, match="judges the primary objective 'acc'"):
        RunConfig.parse(function_config(pruner="asha", evaluator={"function": "pruning_fns:curve",
                                                                  "step_metrics": ["loss"]}), HERE)  # fmt: skip


def test_asha_min_steps_must_leave_a_rung_below_the_trainers_epochs() -> None:
    config = {
        "space": "seed-cnn",
        "evaluator": {"dataset": "digits", "epochs": 2, "threads": 1},
        "pruner": {"name": "asha", "min_steps": 2},
    }
    with pytest.raises(ConfigError, match="below the 2 steps") as err:
        RunConfig.parse(config, HERE)
    assert err.value.field == "pruner.min_steps"
