"""Strategies from the command line: a search with each new strategy, and bad options as one
line naming the field with exit code 2, before any file is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from nasforge.cli import main


def config(tmp_path: Path, table_csv: Path, strategy: Any, objectives: Any = None) -> Path:
    data = {
        "name": "toy",
        "seed": 1,
        "space": {"decisions": {"kernel": {"choice": [1, 3, 5, 7]}, "width": {"choice": [8, 16, 32, 64]},
                                "depth": {"int": [1, 5]}}},
        "evaluator": {"table": table_csv.name, "key": "{kernel}-{width}-{depth}", "metric": ["acc", "seconds"],
                      "report": ["test_acc"]},
        "strategy": strategy,
        "objectives": objectives or {"acc": "maximize"},
        "budget": {"trials": 30},
    }  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "strategy, objectives",
    [
        ({"name": "evolution", "population": 8, "sample_size": 3}, None),
        ({"name": "local-search", "initial": 3}, None),
        ({"name": "bayesian", "initial": 5}, None),
        ({"name": "successive-halving", "budgets": [0.25, 0.5, 1.0], "eta": 2, "sampler": "evolution"}, None),
        ({"name": "hyperband", "min_budget": 0.25, "eta": 2, "sampler": {"name": "bayesian", "initial": 4}}, None),
        (
            {"name": "nsga2", "population": 8, "constraints": ["seconds <= 80"]},
            {"acc": "maximize", "seconds": "minimize"},
        ),
    ],
)
def test_search_with_each_strategy(tmp_path: Path, table_csv: Path, strategy: dict[str, Any],
                                   objectives: Any, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    run = tmp_path / "run"
    assert main(["search", str(config(tmp_path, table_csv, strategy, objectives)), "--run-dir", str(run)]) == 0
    capsys.readouterr()
    assert main(["status", str(run), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counted"] == 30 and status["states"]["complete"] == 30
    # The toy table's best is kernel 3, width 32, depth 3 (acc 90); 30 trials find it, except
    # for the multi-fidelity strategies, whose low-budget trials here repeat the same values,
    # and for NSGA-II, whose constraint excludes it (its seconds = kernel * width = 96 > 80).
    if strategy["name"] in ("successive-halving", "hyperband"):
        assert status["best"]["metrics"]["acc"] >= 88
    elif strategy["name"] == "nsga2":
        assert status["best"]["metrics"]["seconds"] <= 80 and status["best"]["metrics"]["acc"] < 90
    else:
        assert status["best"]["arch"] == {"kernel": 3, "width": 32, "depth": 3}


@pytest.mark.parametrize(
    "strategy, objectives, message",
    [
        ({"name": "annealing"}, None, "error: strategy.name: unknown strategy 'annealing'"),
        ({"name": "evolution", "populaton": 10}, None, "error: strategy.populaton: unknown option of strategy"),
        ({"name": "evolution", "population": 100}, None,
         "error: strategy.population: is 100 but the space has only 80 architectures"),
        ({"name": "nsga2", "population": 200}, {"acc": "maximize", "seconds": "minimize"},
         "error: strategy.population: is 200 but the space has only 80 architectures"),
        ({"name": "nsga2"}, None, "error: objectives: strategy NSGA2 is multi-objective and needs at least two"),
        ({"name": "hyperband", "budgets": [0.5, 0.25, 1.0]}, None, "error: strategy.budgets: must increase strictly"),
        ({"name": "successive-halving", "sampler": "annealing"}, None,
         "error: strategy.sampler.name: unknown strategy 'annealing'"),
        ({"name": "bayesian", "restart": "often"}, None, "error: strategy.restart: must be `random` or `model`"),
        ({"name": "nsga2", "constraints": ["seconds < lots"]}, {"acc": "maximize", "seconds": "minimize"},
         "error: strategy.constraints.0: must look like `params <= 1e6`"),
        ({"name": "local-search"}, {"acc": "maximize", "seconds": "minimize"},
         ("error: objectives: strategy `local-search` optimizes a single objective and would ignore all but 'acc' of "
          "['acc', 'seconds']; use `nsga2` (multi-objective) or `bayesian` (ParEGO), weigh them into one "
          "with `scalarize: {weights: {...}}`, or keep one objective and turn the others into `constraints:` "
          "such as `params <= 1e6`")),
        ({"name": "hyperband", "sampler": "random"}, {"acc": "maximize", "seconds": "minimize"},
         "error: objectives: strategy `hyperband` optimizes a single objective"),
    ],
)  # fmt: skip
def test_bad_strategy_options_exit_2_with_one_line(tmp_path: Path, table_csv: Path, strategy: dict[str, Any],
                                                   objectives: Any, message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    run = tmp_path / "run"
    assert main(["search", str(config(tmp_path, table_csv, strategy, objectives)), "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err
    assert not run.exists()  # refused before any work
