"""Space refinement: values worse with confidence dropped, indifferent decisions fixed, evidence per change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import nasforge
from nasforge.cli import main
from nasforge.evaluators import Result
from nasforge.space import Cell, Choice, SearchSpace, from_config
from report.conftest import multi_run, table_run  # noqa: F401 - fixtures (tests/report is a package on the path)


def _score(x: dict) -> dict[str, float]:
    return {"y": 10 * (x["a"] > 0) + x["b"] + 0.001 * (x["c"] == "y")}


def test_refine_drops_what_is_worse_and_fixes_what_is_indifferent(tmp_path: Path) -> None:
    space = SearchSpace({"a": Choice([0, 1, 2, 3]), "b": Choice([0, 1, 2, 3]), "c": Choice(["x", "y"])})
    study = nasforge.search(space, nasforge.Function(_score), strategy="grid", objectives={"y": "maximize"},
                            progress=False)  # fmt: skip
    refined = nasforge.refine(study, tolerance=0.5)
    assert [(c.decision, c.action, c.values) for c in refined.changes] == [
        ("a", "drop", (0,)), ("b", "fix", (3,)), ("c", "fix", ("y",)),
    ]  # fmt: skip
    assert refined.space.cardinality == 3 and refined.space.satisfies(study.best.arch)
    for c in refined.changes:  # one line of evidence each: trials, effect, interval
        assert "trials" in c.evidence and "[" in c.evidence
    drop_a = refined.changes[0].evidence
    assert float(drop_a.split("y on average ")[1].split()[0]) == pytest.approx(-10, abs=0.05)  # the model's, not exact
    assert "(8 trials)" in drop_a and "not in the 3 best trials" in drop_a  # the top 5%, at least 3
    out = refined.write(tmp_path / "space.yaml")
    text = out.read_text()
    assert text.startswith("# Refined from 32 trials") and "#   a: drop 0 --" in text
    again = from_config(yaml.safe_load(text))
    assert again.to_config() == refined.space.to_config() and again.cardinality == 3


def _noisy(x: dict) -> Result:
    """Three 'folds' with noise 0.05 around a tiny effect of ``a`` (0.001 a step)."""
    rng = np.random.default_rng([x["a"], x["b"]])
    folds = 0.5 + 0.001 * x["a"] + rng.normal(0.0, 0.05, size=3)
    return Result({"y": float(folds.mean())}, report={"fold_y": [float(f) for f in folds]})


def test_refine_drops_nothing_within_the_measured_noise() -> None:
    space = SearchSpace({"a": Choice([0, 1, 2, 3]), "b": Choice([0, 1, 2, 3])})
    study = nasforge.search(space, nasforge.Function(_noisy), strategy="grid", objectives={"y": "maximize"},
                            progress=False)  # fmt: skip
    refined = nasforge.refine(study)
    assert refined.tolerance > 0.05  # 1.96 * sqrt(2) * (0.05 / sqrt(3)) from the folds
    assert not [c for c in refined.changes if c.action == "drop"]  # no value is worse beyond the noise
    for c in refined.changes:  # an indifferent decision may be fixed, to the best architecture's value
        assert c.values == (study.best.arch[c.decision],) and "none beyond the noise" in c.evidence
    assert refined.space.satisfies(study.best.arch)


def test_refine_a_cell_edge_by_constraints() -> None:
    space = SearchSpace({"cell": Cell(nodes=3, ops=["none", "skip_connect", "conv"]), "w": Choice([1, 2])})

    def score(x: dict) -> dict[str, float]:
        ops = [x["cell.0-1"], x["cell.0-2"], x["cell.1-2"]]
        return {"acc": 50 + 10 * (x["cell.0-2"] == "conv") - 20 * (x["cell.0-2"] == "none") + 3 * ops.count("conv") + x["w"]}

    study = nasforge.search(space, nasforge.Function(score), strategy="grid", objectives={"acc": "maximize"},
                            progress=False)  # fmt: skip
    refined = nasforge.refine(study, tolerance=0.5)
    edge = next(c for c in refined.changes if c.decision == "cell.0-2")
    assert edge.action in ("drop", "fix") and "none" in (edge.values if edge.action == "drop" else ("none",))
    config = refined.to_config()
    assert isinstance(config, dict) and any("cell.0-2" in c for c in config["constraints"])
    assert refined.space.satisfies(study.best.arch) and refined.space.cardinality < space.cardinality
    assert all(not refined.space.satisfies(t.arch) for t in study.trials if t.arch["cell.0-2"] == "none")


def test_nasforge_refine_cli_and_a_search_of_the_refined_space(
    table_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    out = tmp_path / "refined.yaml"
    assert main(["refine", str(table_run), "--out", str(out), "--tolerance", "0.5"]) == 0
    said = capsys.readouterr().out
    assert "Refined from 80 trials" in said and f"space: {out}" in said
    # kernel 1, 5, 7 lose 4 or 16 points and width 8 loses 4, depth 1, 5 lose 4: none is among the 9 best
    assert "kernel: fix 3 -- every other value dropped" in said and "width: drop 8 --" in said
    assert "depth: drop 1, 5 --" in said and "80 -> 9 architectures" in said
    refined = from_config(yaml.safe_load(out.read_text()))
    best = nasforge.explain(table_run).arch
    assert refined.satisfies(nasforge.Arch(best)) and refined.cardinality < 80
    config = yaml.safe_load((table_run / ".." / "table.yaml").read_text())
    config.update(name="refined", space=yaml.safe_load(out.read_text()), strategy="grid")
    (tmp_path / "refined-run.yaml").write_text(yaml.safe_dump(config))
    assert main(["search", str(tmp_path / "refined-run.yaml"), "--run-dir", str(tmp_path / "refined-run")]) == 0
    summary = nasforge.RunDir(tmp_path / "refined-run").results().summary()
    assert summary["trials"] == refined.cardinality and summary["best"]["arch"] == best
    assert main(["refine", str(tmp_path / "nowhere")]) == 2


def test_refine_of_a_two_objective_run_keeps_the_pareto_front(multi_run: Path) -> None:  # noqa: F811
    refined = nasforge.refine(multi_run)
    data = nasforge.RunDir(multi_run).results()
    assert all(refined.space.satisfies(t.arch) for t in data.pareto_front)
