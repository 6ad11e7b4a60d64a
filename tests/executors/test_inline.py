"""Strategies under parallelism, made deterministic by the inline executor's imitated workers."""

from __future__ import annotations

from typing import Any

import pytest
from proc_helpers import config

from nasforge import ConfigError, SQLiteStorage, Study, TrialState
from nasforge.config import RunConfig
from nasforge.evaluators import Function
from nasforge.executors import InlineExecutor, LocalExecutor, RayExecutor, make_executor
from nasforge.space import Choice, IntRange, SearchSpace
from nasforge.strategies import STRATEGIES, make_strategy
from nasforge.testing.strategies import PROBLEMS, objectives_for


def score(arch):  # type: ignore[no-untyped-def]
    return {"score": -((arch["a"] - 6) ** 2) - (arch["b"] - 2) ** 2 - (arch["c"] != "y")}


SPACE = SearchSpace({"a": IntRange(0, 9), "b": IntRange(0, 5), "c": Choice(["x", "y"])})


class Watch:
    """Records, for every ask, what was running at that moment."""

    def __init__(self, study: Study) -> None:
        self.running: set[str] = set()
        self.clashes = 0
        self.max_running = 0
        strategy = study.strategy
        ask, tell = strategy.ask, strategy.tell

        def watched_ask():  # type: ignore[no-untyped-def]
            cand = ask()
            if cand is not None:
                key = SPACE.canonical(cand.arch)
                self.clashes += key in self.running
                self.running.add(key)
                self.max_running = max(self.max_running, len(self.running))
            return cand

        def watched_tell(trial):  # type: ignore[no-untyped-def]
            self.running.discard(SPACE.canonical(trial.arch))
            tell(trial)

        strategy.ask, strategy.tell = watched_ask, watched_tell  # type: ignore[method-assign]


@pytest.mark.parametrize("strategy", ["grid", "random", "hill-climbing"])
@pytest.mark.parametrize("workers", [1, 4])
def test_same_seed_same_workers_same_trials_and_nothing_running_is_proposed(strategy: str, workers: int) -> None:
    runs = []
    for _ in range(2):
        study = Study(SPACE, Function(score), strategy, "score", executor=InlineExecutor(workers=workers), seed=11)
        watch = Watch(study)
        study.run(trials=40)
        assert watch.clashes == 0 and watch.max_running == workers
        trials = study.trials
        assert len(trials) == 40 and all(t.state is TrialState.COMPLETE for t in trials)
        assert len({SPACE.canonical(t.arch) for t in trials}) == 40  # pending ones count for deduplication
        runs.append([(t.arch, t.asked_after, t.tell_seq) for t in trials])
    assert runs[0] == runs[1]


def test_parallel_asks_change_what_is_asked_but_not_the_rules() -> None:
    """With 4 imitated workers the strategy is asked before results arrive: asks see fewer
    results than with one worker, yet no architecture repeats."""
    one = Study(SPACE, Function(score), "hill-climbing", "score", seed=3).run(trials=30)
    four = Study(SPACE, Function(score), "hill-climbing", "score", executor=InlineExecutor(workers=4), seed=3).run(
        trials=30
    )
    assert [t.asked_after for t in one.trials] == list(range(30))
    assert any(t.asked_after < t.number for t in four.trials)
    assert len({t.arch for t in four.trials}) == 30


def test_executor_configs_are_validated() -> None:
    assert isinstance(make_executor(None), InlineExecutor)
    assert make_executor({"name": "inline", "workers": 3}).free() == 3
    local = make_executor({"name": "local", "workers": 3, "trial_timeout": 60, "threads": 2})
    assert isinstance(local, LocalExecutor) and (local.workers, local.trial_timeout, local.threads) == (3, 60.0, 2)
    ray = make_executor({"name": "ray", "address": "auto", "cpus_per_trial": 2, "gpus_per_trial": 0.5})
    assert isinstance(ray, RayExecutor) and (ray.cpus_per_trial, ray.gpus_per_trial, ray.threads) == (2.0, 0.5, 2)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"name": "dask"}, "executor.name: unknown executor 'dask'; choose one of ['inline', 'local', 'ray']"),
        ({"name": "local", "workers": 0}, "executor.workers: must be a positive integer, got 0"),
        ({"name": "local", "worker": 2}, "executor.worker: unknown option of executor 'local'"),
        ({"name": "local", "trial_timeout": -1}, "executor.trial_timeout: must be a positive number of seconds"),
        (
            {"name": "inline", "trial_timeout": 5},
            "executor.trial_timeout: the inline executor runs trials in the search",
        ),
        ({"name": "ray", "address": "auto", "num_cpus": 2}, "executor.num_cpus: sets the size of a local Ray"),
        ({"name": "ray", "gpus_per_trial": -1}, "executor.gpus_per_trial: must be a non-negative number"),
    ]
    for cfg, message in bad:
        with pytest.raises(ConfigError) as info:
            make_executor(cfg)
        assert str(info.value).startswith(message), (cfg, str(info.value))


def test_run_config_refuses_bad_executor_and_failure_limit_before_any_work(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "m.py").write_text("def f(a):\n    return 1.0\n")
    with pytest.raises(ConfigError, match="executor.workers"):
        RunConfig.parse(config("m", "f", executor={"name": "local", "workers": "two"}), tmp_path)
    with pytest.raises(ConfigError, match="budget.max_failures_in_a_row: must be a positive integer or null"):
        RunConfig.parse(config("m", "f", budget={"trials": 5, "max_failures_in_a_row": 0}), tmp_path)
    cfg = RunConfig.parse(config("m", "f", budget={"trials": 5, "max_failures_in_a_row": None}), tmp_path)
    assert cfg.max_failures_in_a_row is None
    assert RunConfig.parse(config("m", "f"), tmp_path).max_failures_in_a_row == 10


class Interrupt(BaseException):
    """Stands in for a kill: the trial that raises it stays running in storage."""


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_under_four_workers_repeats_nothing_and_resumes_exactly(name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    problem = PROBLEMS["chain"]

    def study(evaluator, storage=None) -> Study:  # type: ignore[no-untyped-def]
        return Study(problem.space(), evaluator, make_strategy(name), objectives_for(name), storage=storage,
                     executor=InlineExecutor(workers=4), seed=5)  # fmt: skip

    full = study(problem.evaluator()).run(trials=40)
    keys = [(problem.space().canonical(t.arch), t.budget) for t in full.trials]
    assert len(keys) == len(set(keys)) == 40  # pending candidates count for deduplication

    calls = {"n": 0}

    def dies_at_17(arch, budget=None):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 17:
            raise Interrupt()
        return problem.score(arch, budget=budget)

    db = tmp_path / "study.db"
    with pytest.raises(Interrupt):
        study(Function(dies_at_17), SQLiteStorage(db)).run(trials=40)
    resumed = study(problem.evaluator(), SQLiteStorage(db)).run(trials=40)
    assert resumed.replay_mismatches == 0
    assert sum(Study.counts_toward_budget(t) for t in resumed.trials) == 40
    assert all(t.state.finished for t in resumed.trials)
