"""Gaps found while checking the done-when lists of issues 9, 10 and 13 end to end: a refused
resume writes no new budget, a table given a path says how to read one, a config names the space
file that ``nasforge refine`` writes, and ``explain`` offers only a way that works."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

import nasforge
from nasforge.cli import main
from nasforge.evaluators import Function, Table
from nasforge.space import Choice, SearchSpace

SPACE = SearchSpace({"w": Choice([1, 2, 3, 4, 5, 6]), "k": Choice([1, 3])})


def _table(path: Path, bonus: float = 0.0) -> Path:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["key", "acc"])
        for w in range(1, 7):
            for k in (1, 3):
                out.writerow([f"{w}-{k}", w - abs(k - 3) + bonus])
    return path


def _stored_budget(run_dir: Path) -> object:
    return nasforge.RunDir(run_dir).results().config()["budget"]["trials"]


def _stored(run_dir: Path) -> tuple[object, list[object]]:
    """The stored config and trials (what a refused command must leave as they were)."""
    data = nasforge.RunDir(run_dir).results()
    return data.config(), [(t.number, t.arch, t.state, t.metrics) for t in data.trials]


def test_a_refused_resume_stores_no_new_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`resume --trials N` stores N only once the run can resume: a Python run whose evaluator
    cannot be stored, or one whose table changed, is refused with study.db untouched."""
    unstorable = tmp_path / "lambda"
    nasforge.search(SPACE, Function(lambda a: {"acc": float(a["w"])}), strategy="grid", objectives={"acc": "maximize"},
                    trials=3, run_dir=unstorable, progress=False)  # fmt: skip
    before = _stored(unstorable)
    assert main(["resume", str(unstorable), "--trials", "5"]) == 2
    assert "cannot be stored" in capsys.readouterr().err
    assert _stored(unstorable) == before and _stored_budget(unstorable) == 3

    table = _table(tmp_path / "t.csv")
    run = tmp_path / "table"
    evaluator = Table.from_file(table, key="{w}-{k}", metric="acc")
    nasforge.search(SPACE, evaluator, strategy="grid", objectives={"acc": "maximize"}, trials=3, run_dir=run,
                    progress=False)  # fmt: skip
    assert main(["resume", str(run), "--trials", "6"]) == 0  # the new total is stored and reached
    assert _stored_budget(run) == 6 and len(nasforge.RunDir(run).results().trials) == 6
    assert main(["resume", str(run)]) == 0 and len(nasforge.RunDir(run).results().trials) == 6  # kept
    _table(table, bonus=1.0)  # the table changed: the resume is refused, its new budget not stored
    capsys.readouterr()
    before = _stored(run)
    assert main(["resume", str(run), "--trials", "9"]) == 2
    assert "changed" in capsys.readouterr().err
    assert _stored(run) == before and _stored_budget(run) == 6
    assert main(["resume", str(run), "--trials", "-1"]) == 2 and _stored(run) == before


def test_a_table_given_a_path_or_bad_rows_says_what_it_takes(tmp_path: Path) -> None:
    with pytest.raises(nasforge.ConfigError, match=r"Table: rows must be a mapping .*Table\.from_file"):
        Table(str(tmp_path / "t.csv"), key="{w}", metric="acc")  # type: ignore[arg-type]
    with pytest.raises(nasforge.ConfigError, match=r"Table: rows must be a mapping .* got list"):
        Table([{"acc": 1.0}], key="{w}", metric="acc")  # type: ignore[arg-type]
    with pytest.raises(nasforge.ConfigError, match=r"Table: rows must map each key to a row .* got 1.0 for '1'"):
        Table({"1": 1.0}, key="{w}", metric="acc")  # type: ignore[dict-item]


def _config(tmp_path: Path, name: str, space: object, strategy: str = "grid", trials: int = 12) -> Path:
    cfg = {"name": name, "seed": 0, "space": space, "evaluator": {"table": "t.csv", "key": "{w}-{k}", "metric": "acc"},
           "strategy": strategy, "objectives": {"acc": "maximize"}, "budget": {"trials": trials}}  # fmt: skip
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_a_config_searches_the_space_file_refine_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`nasforge refine RUN --out refined.yaml`, then `space: refined.yaml` in a config (relative to
    it): the search keeps to the refined space, and the run stores the space itself, so it resumes
    without the file. A missing file is refused before anything is written."""
    _table(tmp_path / "t.csv")
    full = _config(tmp_path, "full", SPACE.to_config())
    assert main(["search", str(full), "--run-dir", str(tmp_path / "full")]) == 0
    (tmp_path / "spaces").mkdir()
    out = tmp_path / "spaces" / "refined.yaml"
    assert main(["refine", str(tmp_path / "full"), "--out", str(out), "--tolerance", "0.1"]) == 0
    refined = nasforge.space.from_config(yaml.safe_load(out.read_text()))
    assert refined.cardinality < SPACE.cardinality  # w = 1, 2, 3 lose 3 or more everywhere
    cfg = _config(tmp_path, "narrow", "spaces/refined.yaml")
    run = tmp_path / "narrow"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 0
    data = nasforge.RunDir(run).results()
    assert data.config()["space"] == yaml.safe_load(out.read_text())  # the contents, not the file name
    assert all(refined.satisfies(t.arch) for t in data.trials) and len(data.trials) == refined.cardinality
    out.unlink()
    assert main(["resume", str(run), "--trials", str(refined.cardinality)]) == 0
    capsys.readouterr()
    assert main(["search", str(cfg), "--run-dir", str(tmp_path / "again")]) == 2
    err = capsys.readouterr().err
    assert "space: file" in err and "refined.yaml' does not exist" in err and not (tmp_path / "again").exists()


def test_explain_of_a_run_it_cannot_rebuild_offers_no_evaluate_that_fails(tmp_path: Path) -> None:
    run = tmp_path / "lambda"
    nasforge.search(SPACE, Function(lambda a: {"acc": float(a["w"])}), strategy="random",
                    objectives={"acc": "maximize"}, trials=4, run_dir=run, progress=False)  # fmt: skip
    text = nasforge.explain(run).text
    assert f"nasforge explain {run} --evaluate" not in text and "study.evaluate_neighbours()" in text
