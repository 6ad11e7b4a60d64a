"""`--workers` / `--executor` on the command line, stored with the run and honoured on resume."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from proc_helpers import config, write_trial_module

from nasforge import SQLiteStorage, TrialState
from nasforge.cli import main
from nasforge.config import override_executor
from nasforge.executors import LocalExecutor
from nasforge.run import load_study


def test_override_executor() -> None:
    assert override_executor({"name": "inline"}, None, None) == {"name": "inline"}
    assert override_executor(None, None, 2) == {"name": "local", "workers": 2}
    assert override_executor("ray", None, 3) == {"name": "ray", "workers": 3}
    local = {"name": "local", "workers": 4, "trial_timeout": 9, "threads": 2, "max_trials_per_worker": 5}
    assert override_executor(local, "ray", None) == {**local, "name": "ray"}  # options Ray also takes
    assert override_executor(local, "inline", None) == {"name": "inline", "workers": 4}
    assert override_executor({"name": "ray", "num_cpus": 4}, "local", 2) == {"name": "local", "workers": 2}


@pytest.mark.slow
def test_search_with_workers_stores_the_executor_and_resume_honours_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = write_trial_module(tmp_path)
    cfg = tmp_path / "config.yaml"
    data = config(module, "score", budget={"trials": 6})
    del data["executor"]
    cfg.write_text(yaml.safe_dump(data))
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run), "--workers", "2", "--trials", "3"]) == 0
    storage = SQLiteStorage(run / "study.db")
    assert storage.get_meta()["config"]["executor"] == {"name": "local", "workers": 2}
    assert all(t.metrics["pid"] != os.getpid() for t in storage.trials())  # trials ran in workers
    _, study = load_study(run)  # what `nasforge resume` builds
    assert isinstance(study.executor, LocalExecutor) and study.executor.workers == 2
    assert main(["resume", str(run), "--workers", "1"]) == 0  # the budget is done: runs nothing
    assert len(storage.trials()) == 3 and all(t.state is TrialState.COMPLETE for t in storage.trials())
    assert main(["search", str(cfg), "--run-dir", str(tmp_path / "bad"), "--workers", "0"]) == 2
    assert "executor.workers: must be a positive integer, got 0" in capsys.readouterr().err
