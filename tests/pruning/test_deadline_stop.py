"""Time budgets that hold: trials still running at the deadline are stopped and stored as
pruned (deadline), marked interrupted so that a resume with time left runs them again once.
No wall-clock assertions: states, reasons and what a resume does."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from pruning_fns import curve_space, deaf, paced_curve

from nasforge import SQLiteStorage, Study, TrialState
from nasforge._progress import Progress
from nasforge.evaluators import DEADLINE, Function
from nasforge.executors import LocalExecutor
from nasforge.study import DEADLINE_STOPPED


def paced(**options):  # type: ignore[no-untyped-def]
    return Study(curve_space(), Function(paced_curve, step_metrics=["acc"]), "random", {"acc": "maximize"},
                 progress=False, **options)  # fmt: skip


def test_a_trial_running_at_the_deadline_stops_at_its_next_step_report() -> None:
    s = paced().run(seconds=1.0)
    stopped = [t for t in s.trials if t.state is TrialState.PRUNED]
    assert len(stopped) == 1 and stopped[0] is s.trials[-1]  # the one running when the time ran out
    t = stopped[0]
    assert t.report["pruned_reason"] == DEADLINE and t.error == DEADLINE_STOPPED and t.interrupted
    assert not t.counts_toward_budget and t.tell_seq is None  # not judged on merit: not told, run again
    assert t.report["pruned_at"] == len(t.report["steps"]) and t.metrics.keys() <= {"acc"}
    assert all(u.state is TrialState.COMPLETE for u in s.trials[:-1])


def test_a_pruner_and_a_deadline_together() -> None:
    s = paced(pruner={"name": "median", "min_trials": 1}).run(seconds=1.5)
    assert s.trials[-1].report["pruned_reason"] == DEADLINE
    assert all(t.report.get("pruned_reason") != DEADLINE for t in s.trials[:-1])


def test_a_resume_with_time_left_runs_a_deadline_stopped_trial_again_once(tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    first = paced(storage=SQLiteStorage(db)).run(seconds=1.0).trials
    stopped = [t for t in first if t.report.get("pruned_reason") == DEADLINE]
    assert len(stopped) == 1
    done_before = sum(t.counts_toward_budget for t in first)
    again = paced(storage=SQLiteStorage(db)).run(trials=done_before + 2, seconds=600)
    rerun = [t for t in again.trials if t.requeued_from == stopped[0].number]
    assert len(rerun) == 1 and rerun[0].arch == stopped[0].arch and rerun[0].state is TrialState.COMPLETE
    assert rerun[0].number == len(first)  # run first, before the strategy is asked again
    assert sum(t.counts_toward_budget for t in again.trials) == done_before + 2
    # a resume whose time is already spent runs nothing
    assert len(paced(storage=SQLiteStorage(db)).run(seconds=0.5).trials) == len(again.trials)


def test_a_trial_that_does_not_listen_is_killed_after_the_grace() -> None:
    s = Study(curve_space(), Function(deaf, step_metrics=["acc"]), "random", {"acc": "maximize"},
              executor=LocalExecutor(2), progress=False, pruner={"name": "median", "min_trials": 5})  # fmt: skip
    s.run(seconds=1.0)
    assert len(s.trials) == 2  # two workers, each on a minute-long trial
    for t in s.trials:
        assert t.state is TrialState.PRUNED and t.report["pruned_reason"] == DEADLINE and t.interrupted
        assert t.error == DEADLINE_STOPPED and t.cost_seconds is not None and t.cost_seconds > 0
        # the study keeps the step the worker reported before it stopped listening (if its
        # worker was ready in time to report one)
        if t.report["pruned_at"] is not None:
            assert t.report["pruned_at"] == 1 and t.metrics == {"acc": t.arch["x"] / 200}
            assert t.report["steps"] == [{"step": 1.0, "acc": round(t.arch["x"] / 200, 6)}]
        else:
            assert t.metrics == {} and "steps" not in t.report


def test_the_budget_counts_from_since_when_the_work_began_before_the_call() -> None:
    with pytest.warns(RuntimeWarning, match=r"the time budget \(5 s\) ended before this run's first trial"):
        s = paced().run(seconds=5, since=time.monotonic() - 10)
    assert s.trials == [] and s.storage.get_meta()["elapsed_seconds"] >= 10
    s = paced().run(trials=1, seconds=600, since=time.monotonic() - 3)
    assert len(s.trials) == 1 and s.storage.get_meta()["elapsed_seconds"] >= 3  # the 3 s before the call count


def test_the_progress_bar_follows_time_when_the_budget_is_time() -> None:
    out = io.StringIO()
    s = paced()
    bar = Progress(s, None, out, seconds=20, elapsed=5)
    s.callbacks.append(bar)
    s.run(trials=1)
    assert "/20 s" in out.getvalue() and "1 trials" in out.getvalue()
