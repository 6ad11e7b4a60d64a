"""``pruner:`` reaches the study through every way a run is made and resumed: the CLI's
search and resume, and ``nasforge.search(..., run_dir=, pruner=)`` (stored with the run)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import yaml

from nasforge import SQLiteStorage, TrialState, search
from nasforge.cli import main

HERE = Path(__file__).parent


def states(run: Path) -> list[TrialState]:
    storage = SQLiteStorage(run / "study.db")
    try:
        return [t.state for t in storage.trials()]
    finally:
        storage.close()


def test_the_cli_prunes_with_the_configs_pruner_and_resume_keeps_it(tmp_path: Path) -> None:
    shutil.copy(HERE / "pruning_fns.py", tmp_path / "pruning_fns_cli.py")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "pr", "seed": 3, "space": {"decisions": {"x": {"int": [0, 99]}}},
        "evaluator": {"function": "pruning_fns_cli:curve", "step_metrics": ["acc"]},
        "strategy": "random", "objectives": {"acc": "maximize"}, "budget": {"trials": 16},
        "pruner": {"name": "asha", "eta": 3, "max_steps": 9},
    }))  # fmt: skip
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run), "--trials", "8"]) == 0
    first = states(run)
    assert len(first) == 8 and TrialState.PRUNED in first and TrialState.COMPLETE in first
    from nasforge.pruners import ASHA
    from nasforge.run import RunDir

    cfg_again, study = RunDir(run).open()  # what `nasforge resume` runs
    assert isinstance(study.pruner, ASHA) and study.pruner.eta == 3 and cfg_again.trials == 8
    study.storage.close()


def test_python_search_in_a_run_dir_stores_the_pruner(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(HERE))
    try:
        import pruning_fns

        from nasforge.evaluators import Function

        study = search(pruning_fns.curve_space(), Function(pruning_fns.curve, step_metrics=["acc"]), strategy="random",
                       objectives={"acc": "maximize"}, trials=8, run_dir=tmp_path / "run", progress=False,
                       pruner={"name": "median", "min_trials": 2})  # fmt: skip
    finally:
        sys.path.remove(str(HERE))
    assert any(t.state is TrialState.PRUNED for t in study.trials)
    con = sqlite3.connect(tmp_path / "run" / "study.db")
    (raw,) = con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
    con.close()
    assert json.loads(raw)["pruner"] == {"name": "median", "min_trials": 2}


def test_status_counts_deadline_stops_apart_and_shows_no_curves(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(HERE))
    try:
        import pruning_fns

        from nasforge.evaluators import Function

        search(pruning_fns.curve_space(), Function(pruning_fns.paced_curve, step_metrics=["acc"]), strategy="random",
               objectives={"acc": "maximize"}, seconds=1.2, run_dir=tmp_path / "run", progress=False)  # fmt: skip
    finally:
        sys.path.remove(str(HERE))
    capsys.readouterr()
    assert main(["status", str(tmp_path / "run")]) == 0
    head, best = capsys.readouterr().out.splitlines()[:2]
    assert head.endswith("stopped at the deadline 1)") and "pruned" not in head  # ~0.5 s trials: 2 done, 1 stopped
    assert best.startswith("best: trial") and "steps=" not in best  # the per-epoch curve is not printed
