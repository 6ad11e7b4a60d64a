"""The study loop: budgets, persistence before tell, failures, resume, reproducibility."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from conftest import toy_score, toy_space
from nasforge import ConfigError, FatalError, SQLiteStorage, Study, TrialFailed, TrialState, search
from nasforge.evaluators import Function
from nasforge.strategies import RandomSearch


def archs(study: Study) -> list[str]:
    return [t.arch.id for t in study.trials]


def test_trial_budget_and_best(space) -> None:  # type: ignore[no-untyped-def]
    study = search(space, Function(toy_score), strategy="grid", objectives={"score": "maximize"}, trials=200)
    assert len(study.trials) == 80  # grid exhausted the 80 architectures
    assert study.best is not None and study.best.metrics["score"] == 0
    assert dict(study.best.arch) == {"kernel": 3, "width": 32, "depth": 3}


def test_minimize_objective_picks_the_smallest(space) -> None:  # type: ignore[no-untyped-def]
    study = search(space, Function(toy_score), strategy="grid", objectives={"score": "minimize"})
    assert study.best.metrics["score"] == min(t.metrics["score"] for t in study.trials)


def test_same_seed_same_trials_different_seed_different(space) -> None:  # type: ignore[no-untyped-def]
    runs = [archs(search(space, Function(toy_score), objectives="score", trials=15, seed=s)) for s in (7, 7, 8)]
    assert runs[0] == runs[1] != runs[2]


def _spawned_run(seed: int) -> list[str]:
    return archs(search(toy_space(), Function(toy_score), strategy="hill-climbing", objectives="score", trials=25, seed=seed))


def test_same_seed_same_trials_in_a_spawned_process() -> None:
    here = _spawned_run(3)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        there = pool.apply(_spawned_run, (3,))
    assert here == there


def test_failed_trials_are_stored_with_reason_and_search_continues(space) -> None:  # type: ignore[no-untyped-def]
    def flaky(arch):  # type: ignore[no-untyped-def]
        if arch["kernel"] == 7:
            raise TrialFailed("kernel 7 does not fit")
        if arch["kernel"] == 5:
            raise RuntimeError("boom")
        if arch["depth"] == 1:
            return {"score": float("nan")}
        return toy_score(arch)

    study = search(space, Function(flaky), strategy="grid", objectives="score", max_failures_in_a_row=None)
    by_state = {s: [t for t in study.trials if t.state is s] for s in TrialState}
    assert len(study.trials) == 80 and len(by_state[TrialState.COMPLETE]) == 2 * 4 * 4
    reasons = {t.error for t in by_state[TrialState.FAILED]}
    assert "kernel 7 does not fit" in reasons
    assert any(r and r.startswith("RuntimeError: boom") for r in reasons)
    assert "metric 'score' is NaN" in reasons


def test_max_failures_in_a_row_stops_with_last_error(space) -> None:  # type: ignore[no-untyped-def]
    def bad(arch):  # type: ignore[no-untyped-def]
        raise ValueError("always")

    study = Study(space, Function(bad), "random", "score", max_failures_in_a_row=3)
    with pytest.raises(FatalError, match="3 failed trials in a row; last error: ValueError: always"):
        study.run(trials=10)
    assert len(study.trials) == 3


def test_callbacks_see_each_stored_trial(space) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, int]] = []
    study = Study(space, Function(toy_score), "random", "score", callbacks=[lambda s, t: seen.append((t.number, len(s.trials)))])
    study.run(trials=5)
    assert seen == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]


class Interrupt(BaseException):
    pass


def test_resume_after_interruption_equals_uninterrupted_run(space, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = Study(space, Function(toy_score), "hill-climbing", "score", seed=5).run(trials=30)

    calls = {"n": 0}

    def dies_at_12(arch):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 12:
            raise Interrupt()  # a stop mid-trial (a real kill -9: tests/executors/test_crash_resume.py)
        return toy_score(arch)

    db = tmp_path / "study.db"
    first = Study(space, Function(dies_at_12), "hill-climbing", "score", storage=SQLiteStorage(db), seed=5)
    with pytest.raises(Interrupt):
        first.run(trials=30)
    stored = SQLiteStorage(db).trials()
    # The trial that was running is stored as interrupted (a kill leaves it 'running'; resume
    # then marks it the same way), never left 'running' after the study stopped.
    assert len(stored) == 12 and stored[-1].state is TrialState.FAILED and stored[-1].interrupted

    resumed = Study(space, Function(toy_score), "hill-climbing", "score", storage=SQLiteStorage(db), seed=5)
    resumed.run(trials=30)
    trials = resumed.trials
    assert resumed.replay_mismatches == 0
    assert trials[11].interrupted and trials[11].state is TrialState.FAILED
    assert trials[12].requeued_from == 11 and trials[12].arch == trials[11].arch
    done = [t for t in trials if not t.interrupted]
    assert len(done) == 30 and len({t.number for t in trials}) == len(trials)
    assert [t.arch for t in done] == [t.arch for t in full.trials]
    assert [t.metrics for t in done] == [t.metrics for t in full.trials]


def test_resume_of_a_finished_study_runs_nothing(space, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "study.db"
    Study(space, Function(toy_score), "random", "score", storage=SQLiteStorage(db)).run(trials=8)
    calls: list[int] = []
    again = Study(space, Function(lambda a: calls.append(1) or toy_score(a)), "random", "score", storage=SQLiteStorage(db))
    again.run(trials=8)
    assert calls == [] and len(again.trials) == 8


def test_time_budget_stops_the_search(space) -> None:  # type: ignore[no-untyped-def]
    import time

    def slow(arch):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return toy_score(arch)

    study = search(space, Function(slow), objectives="score", seconds=0.3)
    assert 2 <= len(study.trials) <= 10


def test_storage_of_another_study_or_seed_is_refused(space, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "study.db"
    Study(space, Function(toy_score), RandomSearch(), "score", storage=SQLiteStorage(db), name="a", seed=1).run(trials=2)
    with pytest.raises(ConfigError, match="holds study 'a'"):
        Study(space, Function(toy_score), "random", "score", storage=SQLiteStorage(db), name="b", seed=1)
    with pytest.raises(ConfigError, match="seed 1"):
        Study(space, Function(toy_score), "random", "score", storage=SQLiteStorage(db), name="a", seed=2)


def test_strategy_never_sees_report_values(space, table_csv: Path) -> None:  # type: ignore[no-untyped-def]
    from nasforge.evaluators import Table

    seen = []

    class Spy(RandomSearch):
        def tell(self, trial):  # type: ignore[no-untyped-def]
            seen.append(dict(trial.report))
            super().tell(trial)

    table = Table.from_file(table_csv, key="{kernel}-{width}-{depth}", metric="acc", report=["test_acc"])
    study = Study(space, table, Spy(), {"acc": "maximize"})
    study.run(trials=5)
    assert seen == [{}] * 5 and all("test_acc" in t.report for t in study.trials)


def test_pareto_front_of_two_objectives(space) -> None:  # type: ignore[no-untyped-def]
    def two(arch):  # type: ignore[no-untyped-def]
        return {"acc": arch["width"] * arch["depth"], "cost": arch["width"] * arch["depth"] * arch["kernel"]}

    study = search(space, Function(two), strategy="grid", objectives={"acc": "maximize", "cost": "minimize"})
    front = study.pareto_front
    assert front and all(t.arch["kernel"] == 1 for t in front)
    for t in front:
        assert not any(study.objectives.dominates(o, t) for o in study.trials)


def test_hill_climbing_climbs_from_its_start(space) -> None:  # type: ignore[no-untyped-def]
    """After the start, it evaluates the start's neighbours (one decision changed), and keeps
    moving to the best neighbour: every trial after the first is adjacent to an earlier one
    until the optimum is reached."""
    study = Study(space, Function(toy_score), "hill-climbing", "score", seed=11).run(trials=40)
    trials = study.trials
    first_neighbours = {n.id for n in space.neighbors(trials[0].arch)}
    assert trials[1].arch.id in first_neighbours
    assert study.best.metrics["score"] == 0
    optimum_at = next(i for i, t in enumerate(trials) if t.metrics["score"] == 0)
    for t in trials[1 : optimum_at + 1]:
        earlier = [u for u in trials if u.number < t.number]
        assert any(sum(t.arch[k] != u.arch[k] for k in t.arch) == 1 for u in earlier)


def test_enqueued_archs_run_first_are_told_and_survive_resume(space, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from nasforge import Arch

    db = tmp_path / "study.db"
    study = Study(space, Function(toy_score), "hill-climbing", "score", storage=SQLiteStorage(db), seed=2)
    study.run(trials=5)
    known = [Arch({"kernel": 3, "width": 32, "depth": 3}), Arch({"kernel": 1, "width": 8, "depth": 1})]
    for a in known:
        study.enqueue(a)
    study.run(trials=12)
    trials = study.trials
    assert [t.arch for t in trials[5:7]] == known and all(t.enqueued for t in trials[5:7])
    assert not any(t.enqueued for t in trials[:5] + trials[7:])
    assert sum(t.arch in known for t in trials) == 2  # the strategy never proposed them again
    assert study.best.metrics["score"] == 0
    # A reopened study replays without asking the strategy for the enqueued ones.
    again = Study(space, Function(toy_score), "hill-climbing", "score", storage=SQLiteStorage(db), seed=2)
    again.run(trials=20)
    assert again.replay_mismatches == 0 and len(again.trials) == 20
    with pytest.raises(ConfigError, match="enqueue.kernel: 4 is not a value"):
        study.enqueue({"kernel": 4, "width": 8, "depth": 1})


class _Prepared(Function):
    """A Function evaluator with a ``prepare()`` hook (as a one-shot supernet has), counting calls."""

    def __init__(self) -> None:
        super().__init__(toy_score_after_prepare)
        self.prepared = 0

    def prepare(self) -> None:
        self.prepared += 1


def toy_score_after_prepare(arch):  # type: ignore[no-untyped-def]
    return toy_score(arch)


def test_prepare_hook_runs_once_before_trials(space) -> None:  # type: ignore[no-untyped-def]
    evaluator = _Prepared()
    study = Study(space, evaluator, "random", {"score": "maximize"}, progress=False)
    study.run(trials=3)
    assert evaluator.prepared == 1 and len(study.trials) == 3
    study.run(trials=5)  # each run prepares (the evaluator makes it idempotent)
    assert evaluator.prepared == 2 and len(study.trials) == 5
