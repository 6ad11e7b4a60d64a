"""Ray: trials as tasks on a real local Ray (started and shut down by the executor)."""

from __future__ import annotations

from pathlib import Path

import pytest
from proc_helpers import config, write_trial_module

from nasforge import TrialState
from nasforge.config import RunConfig
from nasforge.run import create_study

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_runs_the_budget_fails_crashed_and_slow_trials_and_shuts_down(tmp_path: Path) -> None:
    trial_module = write_trial_module(tmp_path)
    assert not ray.is_initialized()
    executor = {"name": "ray", "num_cpus": 2, "cpus_per_trial": 1, "trial_timeout": 15}  # counts a fresh worker's start
    study = create_study(
        RunConfig.parse(config(trial_module, "flaky", strategy="grid", executor=executor), tmp_path), tmp_path / "run"
    )
    study.run(trials=12)  # grid: x = 0, 1, ..., 11
    assert not ray.is_initialized()  # the executor started Ray, so it shut it down
    by_x = {t.arch["x"]: t for t in study.trials}
    assert sorted(by_x) == list(range(12))
    assert by_x[1].state is TrialState.FAILED and by_x[1].error is not None and by_x[1].error.startswith("worker died")
    assert by_x[2].state is TrialState.FAILED and by_x[2].error is not None and by_x[2].error.startswith("MemoryError")
    assert by_x[3].state is TrialState.FAILED and by_x[3].error is not None and by_x[3].error.startswith("time limit")
    assert by_x[4].state is TrialState.FAILED and by_x[4].error is not None and by_x[4].error.startswith("worker died")
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert sorted(t.arch["x"] for t in done) == [0, 6, 7, 8, 9, 10, 11]
    assert all(t.metrics["score"] == -abs(int(t.arch["x"]) - 37) for t in done)
    pids = [t.metrics["pid"] for t in done]
    assert len(set(pids)) < len(pids)  # Ray reuses its worker processes
