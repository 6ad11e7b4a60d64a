"""Local worker processes: parallel trials, crash isolation, time limits, recycled workers."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from proc_helpers import config, write_trial_module

from nasforge import Candidate, ConfigError, FatalError, Study, TrialState
from nasforge.config import RunConfig
from nasforge.evaluators import Function
from nasforge.executors import LocalExecutor, Outcome, describe_exit
from nasforge.run import create_study
from nasforge.space import Arch, IntRange, SearchSpace

pytestmark = pytest.mark.slow


def build(tmp_path: Path, data: dict) -> Study:  # type: ignore[type-arg]
    return create_study(RunConfig.parse(data, tmp_path), tmp_path / "run")


def test_two_local_workers_finish_the_budget_in_parallel(tmp_path: Path) -> None:
    trial_module = write_trial_module(tmp_path)
    study = build(tmp_path, config(trial_module, "slow", budget={"trials": 8}))
    study.run(trials=8)
    trials = study.trials
    assert len(trials) == 8 and all(t.state is TrialState.COMPLETE for t in trials)
    pids = {t.metrics["pid"] for t in trials}
    assert len(pids) == 2  # two workers, each reused for several trials (no process per trial)
    spans = [(t.started or 0.0, t.finished or 0.0) for t in trials]
    overlaps = len([1 for i, a in enumerate(spans) for b in spans[i + 1 :] if a[0] < b[1] and b[0] < a[1]])
    assert overlaps >= 3  # trials really ran at the same time (the speed-up itself: benchmarks/parallel.py)


@pytest.mark.parametrize("workers", [1, 2])
def test_crash_memoryerror_oom_kill_and_segfault_fail_only_their_trial(tmp_path: Path, workers: int) -> None:
    trial_module = write_trial_module(tmp_path)
    data = config(
        trial_module, "flaky", strategy="grid", executor={"name": "local", "workers": workers, "trial_timeout": 1.5}
    )
    study = build(tmp_path, data)
    study.run(trials=10)  # grid: x = 0, 1, ..., 9
    by_x = {t.arch["x"]: t for t in study.trials}
    assert sorted(by_x) == list(range(10))
    assert by_x[1].error == "worker died (exit code 1)"
    assert by_x[2].error is not None and by_x[2].error.startswith("MemoryError: simulated: cannot allocate")
    assert by_x[3].error is not None and by_x[3].error.startswith("time limit")
    assert by_x[4].error == "worker died (exit code -9, killed by the OS: out of memory?)"
    assert by_x[5].error == "worker died (exit code -11, SIGSEGV: segmentation fault)"
    for x in (1, 2, 3, 4, 5):
        assert by_x[x].state is TrialState.FAILED
    for x in (0, 6, 7, 8, 9):
        assert by_x[x].state is TrialState.COMPLETE and by_x[x].metrics["score"] == -abs(x - 37)


def test_a_trial_over_its_time_limit_is_killed_and_its_worker_replaced(tmp_path: Path) -> None:
    trial_module = write_trial_module(tmp_path)
    sys.path.insert(0, str(tmp_path))
    module = importlib.import_module(trial_module)
    executor = LocalExecutor(1, trial_timeout=1.0)
    study = Study(SearchSpace({"x": IntRange(3, 6)}), Function(module.flaky), "grid", "score", executor=executor)
    study.run(trials=2)  # x = 3 sleeps 60 s, then x = 4
    first = study.trials[0]
    assert first.arch["x"] == 3 and first.state is TrialState.FAILED
    assert first.error == "time limit: the trial ran longer than trial_timeout=1 s and was stopped"
    assert (first.cost_seconds or 0) >= 1.0
    assert executor.replaced >= 1


def test_workers_are_recycled_after_max_trials(tmp_path: Path) -> None:
    trial_module = write_trial_module(tmp_path)
    data = config(trial_module, "score", executor={"name": "local", "workers": 1, "max_trials_per_worker": 2})
    study = build(tmp_path, data)
    study.run(trials=6)
    pids = [t.metrics["pid"] for t in study.trials]
    assert len(set(pids)) == 3 and all(pids.count(p) == 2 for p in pids)


def test_failures_in_a_row_stop_the_search_with_the_last_error(tmp_path: Path) -> None:
    trial_module = write_trial_module(tmp_path)
    data = config(trial_module, "always_fails", budget={"trials": 20, "max_failures_in_a_row": 4})
    cfg = RunConfig.parse(data, tmp_path)
    assert cfg.max_failures_in_a_row == 4
    study = create_study(cfg, tmp_path / "run")
    with pytest.raises(
        FatalError, match=r"[45] failed trials in a row; last error: ValueError: bad arch \d+ .*max_failures_in_a_row=4"
    ):
        study.run(trials=20)
    assert 4 <= len(study.trials) <= 5  # the second worker's trial may finish too


def test_a_function_lacking_an_objective_metric_stops_the_search_from_a_worker(tmp_path: Path) -> None:
    """A fatal error raised in a worker process (a function without declared metrics whose
    first result lacks the objective) stops the search in the search process, naming what
    the function returned."""
    trial_module = write_trial_module(tmp_path)
    study = build(tmp_path, config(trial_module, "wrong_metric", budget={"trials": 6}))
    with pytest.raises(
        FatalError, match=r"objectives.score: .*wrong_metric returned the metrics \['accuracy'\], without 'score'"
    ):
        study.run(trials=6)


def test_an_evaluator_that_cannot_be_pickled_is_refused_before_any_work() -> None:
    study = Study(
        SearchSpace({"x": IntRange(0, 3)}), Function(lambda a: {"s": 1}), "grid", "s", executor=LocalExecutor(2)
    )
    with pytest.raises(ConfigError, match="cannot be sent to worker processes"):
        study.run(trials=2)
    assert study.trials == []


def test_describe_exit() -> None:
    assert describe_exit(3) == "worker died (exit code 3)"
    assert describe_exit(-15) == "worker died (exit code -15, killed by SIGTERM)"


def zombie_children() -> list[int]:
    """This process's children that ended and were not reaped (``<defunct>``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except OSError:
                continue
            if state == "Z" and int(ppid) == os.getpid():
                out.append(int(entry.name))
    return out


def collect(ex: LocalExecutor, n: int) -> list[Outcome]:
    outcomes: list[Outcome] = []
    while len(outcomes) < n:
        outcomes.extend(ex.wait())
    return outcomes


def ended(pid: int) -> bool:
    """Whether ``pid``'s main thread is a zombie (its other threads may still be exiting, with
    the pipe open: the executor must cope with a send that succeeds to a dying worker)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_that_die_while_idle_are_reaped_not_left_defunct(tmp_path: Path) -> None:
    module = write_trial_module(tmp_path)
    sys.path.insert(0, str(tmp_path))
    ex = LocalExecutor(2)
    try:
        ex.start(Function(importlib.import_module(module).score))
        for number, x in enumerate((1, 2)):
            ex.submit(number, Candidate(Arch({"x": x})))
        pids = {int(o.metrics["pid"]) for o in collect(ex, 2)}
        for pid in pids:  # both die while idle, unseen by the executor
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not all(ended(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        for number, x in enumerate((3, 4), start=2):
            ex.submit(number, Candidate(Arch({"x": x})))
        outcomes = collect(ex, 2)
        assert sorted(o.number for o in outcomes) == [2, 3]
        assert all(o.state is TrialState.COMPLETE for o in outcomes), [o.error for o in outcomes]
        assert not zombie_children()
    finally:
        ex.shutdown()
        sys.path.remove(str(tmp_path))
    assert not zombie_children()
