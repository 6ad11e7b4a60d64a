"""Each way a search used to go silently wrong now exits 2 before any training, with one line
naming the field, and writes nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nasforge.cli import main

DIGITS = """
name: silent
space: seed-cnn
evaluator: {dataset: digits, epochs: 1}
strategy: random
budget: {trials: 2}
"""


def _run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], Path]:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(textwrap.dedent(text))
    run_dir = tmp_path / "run"
    code = main(["search", str(cfg), "--run-dir", str(run_dir)])
    return code, capsys.readouterr().err.strip().splitlines(), run_dir


def test_an_objective_the_evaluator_does_not_produce(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err, run_dir = _run(tmp_path, DIGITS + "objectives: {acc: maximize}\n", capsys)
    assert code == 2 and len(err) == 1 and "objectives.acc" in err[0] and "accuracy" in err[0]
    assert not run_dir.exists()  # nothing written, not even the directory


def test_a_constraint_on_a_metric_the_evaluator_does_not_produce(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DIGITS + "objectives: {accuracy: maximize}\nconstraints: ['parameters <= 1e6']\n"
    code, err, run_dir = _run(tmp_path, text, capsys)
    assert code == 2 and len(err) == 1 and "constraints" in err[0] and "parameters" in err[0]
    assert not run_dir.exists()  # nothing written, not even the directory


def test_a_decision_nothing_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = """
    name: silent
    space:
      name: seed-cnn
      decisions:
        kernel: {choice: [1, 3]}
        channels: {choice: [16]}
        units: {choice: [64]}
        colour: {choice: [red, blue]}
    evaluator: {dataset: digits, epochs: 1}
    objectives: {accuracy: maximize}
    budget: {trials: 2}
    """
    code, err, run_dir = _run(tmp_path, text, capsys)
    assert code == 2 and len(err) == 1 and "colour" in err[0]
    assert not run_dir.exists()  # nothing written, not even the directory


def test_a_single_objective_strategy_given_two_objectives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DIGITS.replace("strategy: random", "strategy: local-search") + "objectives: {accuracy: maximize, params: minimize}\n"
    code, err, run_dir = _run(tmp_path, text, capsys)
    assert code == 2 and len(err) == 1 and "objectives" in err[0] and "nsga2" in err[0]
    assert not run_dir.exists()  # nothing written, not even the directory
