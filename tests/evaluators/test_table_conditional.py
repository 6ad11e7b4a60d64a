"""A table over a space with conditions: a decision that is inactive (its ``when`` not met)
fills its field of the row key as the empty string, as its cell in such a table is empty, so
every architecture of the space finds its row; a key naming something that is not a decision
is refused before any work."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from nasforge import Study, TrialState
from nasforge._errors import ConfigError, TrialFailed
from nasforge.cli import main
from nasforge.evaluators import Table
from nasforge.space import Arch, from_config

SPACE = {
    "decisions": {
        "depth": {"choice": [1, 2]},
        "w1": {"choice": [16, 32, 64]},
        "w2": {"choice": [16, 32, 64], "when": {"depth": [2]}},
        "act": {"choice": ["relu", "gelu"]},
    }
}


def _value(depth: int, w1: int, w2: int | None, act: str) -> float:
    """A made-up accuracy: the best row (2, 64, 32, gelu) has depth 2, so a search must read w2."""
    return 0.5 + 0.1 * (depth == 2) + w1 / 640 - (0 if w2 is None else abs(w2 - 32) / 640) + 0.01 * (act == "gelu")


@pytest.fixture
def conditional_table(tmp_path: Path) -> Path:
    """One row per architecture of SPACE (3 + 9 = 12 networks, times two activations); the
    ``w2`` cell of a depth-1 row is empty and so is its field of the ``arch`` key."""
    path = tmp_path / "cond.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["arch", "depth", "w1", "w2", "act", "acc"])
        for act in ("relu", "gelu"):
            for w1 in (16, 32, 64):
                w.writerow([f"1-{w1}--{act}", 1, w1, "", act, _value(1, w1, None, act)])
                for w2 in (16, 32, 64):
                    w.writerow([f"2-{w1}-{w2}-{act}", 2, w1, w2, act, _value(2, w1, w2, act)])
    return path


def test_every_architecture_of_a_conditional_space_finds_its_row(conditional_table: Path) -> None:
    space = from_config(SPACE)
    table = Table.from_file(conditional_table, key="{depth}-{w1}-{w2}-{act}", metric="acc")
    study = Study(space, table, strategy="grid", objectives={"acc": "maximize"})
    study.run(trials=space.cardinality)
    assert len(study.trials) == 24 and all(t.state is TrialState.COMPLETE for t in study.trials)
    shallow = [t for t in study.trials if t.arch["depth"] == 1]
    assert len(shallow) == 6 and all("w2" not in t.arch for t in shallow)
    assert study.best is not None and dict(study.best.arch) == {"depth": 2, "w1": 64, "w2": 32, "act": "gelu"}


def test_without_the_study_an_absent_decision_still_fails_the_trial(conditional_table: Path) -> None:
    """Before the study hands the table its space, a missing field is an error, not a guess."""
    table = Table.from_file(conditional_table, key="{depth}-{w1}-{w2}-{act}", metric="acc")
    with pytest.raises(TrialFailed, match="names 'w2', which this architecture lacks"):
        table.evaluate(Arch({"depth": 1, "w1": 16, "act": "relu"}))


def test_a_key_naming_no_decision_is_refused_from_python_too(conditional_table: Path) -> None:
    table = Table.from_file(conditional_table, key="{depth}-{w1}-{w3}-{act}-{w2}", metric="acc")
    with pytest.raises(ConfigError, match=r"^key: names 'w3', which is not a decision of the space"):
        Study(from_config(SPACE), table, strategy="random", objectives={"acc": "maximize"})


def test_a_conditional_table_from_yaml_through_the_command_line(
    conditional_table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {"space": SPACE, "strategy": "bayesian", "budget": {"trials": 24},
              "evaluator": {"table": str(conditional_table), "key": "{depth}-{w1}-{w2}-{act}", "metric": "acc"}}  # fmt: skip
    cfg = tmp_path / "cond.yaml"
    cfg.write_text(yaml.safe_dump(config))
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run), "--seed", "0"]) == 0
    best = json.loads((run / "best.json").read_text())
    assert best["arch"] == {"depth": 2, "w1": 64, "w2": 32, "act": "gelu"}
    capsys.readouterr()
    assert main(["status", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["states"]["complete"] == 24 and info["states"]["failed"] == 0
