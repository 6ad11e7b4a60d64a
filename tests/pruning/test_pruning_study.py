"""Pruning inside trials through the study: pruned trials stored with the step they reached,
counted in the budget, told to the strategy, never the best; the same decisions on resume and
across the inline and local executors' step channels; pruners refused where nothing reports
steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from pruning_fns import STEPS, curve, curve_space

from conftest import toy_space
from nasforge import ConfigError, Objectives, SQLiteStorage, Study, Trial, TrialState
from nasforge.evaluators import Function, Table
from nasforge.executors import LocalExecutor


def study(**options):  # type: ignore[no-untyped-def]
    options.setdefault("pruner", {"name": "asha", "eta": 3, "max_steps": STEPS})
    return Study(curve_space(), Function(curve, step_metrics=["acc"]), "random", {"acc": "maximize"},
                 progress=False, **options)  # fmt: skip


def summary(s: Study) -> list[tuple[int, str, object]]:
    return [(int(t.arch["x"]), t.state.value, t.report.get("pruned_at")) for t in s.trials]


def test_asha_prunes_at_rungs_stores_the_step_and_counts_in_the_budget() -> None:
    s = study().run(trials=15)
    assert len(s.trials) == 15  # pruned trials count toward the trial budget
    pruned = [t for t in s.trials if t.state is TrialState.PRUNED]
    complete = [t for t in s.trials if t.state is TrialState.COMPLETE]
    assert pruned and complete
    for t in pruned:
        assert t.report["pruned_at"] in (1, 3)  # the rungs of 9 steps with eta 3
        assert t.report["pruned_reason"].startswith("asha: step ")
        assert [st["step"] for st in t.report["steps"]] == list(range(1, t.report["pruned_at"] + 1))
        assert t.metrics["acc"] == pytest.approx(t.arch["x"] / 100 * (1 - 0.5 ** t.report["pruned_at"]), abs=1e-6)
        assert t.cost_seconds is not None and t.cost_seconds >= 0 and not t.interrupted
    assert all(len(t.report["steps"]) == STEPS for t in complete)
    # each pruned trial was below what the trials before it reached at that rung
    for t in pruned:
        rung = t.report["pruned_at"]
        before = [u for u in s.trials if u.number < t.number and len(u.report.get("steps", [])) >= rung]
        assert any(u.arch["x"] > t.arch["x"] for u in before)
    assert s.best is not None and s.best.state is TrialState.COMPLETE
    assert s.best.arch["x"] == max(t.arch["x"] for t in complete)


def test_the_strategy_is_told_pruned_trials_as_results_without_a_score() -> None:
    s = study().run(trials=10)
    told = s.history.trials
    assert len(told) == 10 and any(t.state is TrialState.PRUNED for t in told)
    assert all(not t.report for t in told)  # the report (steps, reasons) stays hidden
    assert all(s.objectives.score(t) == float("-inf") for t in told if t.state is TrialState.PRUNED)


def test_a_pruned_trial_is_never_the_best() -> None:
    arch = curve_space().sample(__import__("numpy").random.default_rng(0))
    objectives = Objectives.parse({"acc": "maximize"})
    pruned = Trial(0, arch, state=TrialState.PRUNED, metrics={"acc": 0.99}, report={"pruned_at": 1})
    done = Trial(1, arch, state=TrialState.COMPLETE, metrics={"acc": 0.5})
    assert objectives.best([pruned, done]) is done
    assert objectives.ranked([pruned, done]) == [done] and objectives.pareto_front([pruned, done]) == [done]
    assert objectives.best([pruned]) is None


def test_same_seed_same_decisions_and_a_resume_rebuilds_the_pruner_from_stored_steps(tmp_path: Path) -> None:
    whole = summary(study(seed=3).run(trials=16))
    assert whole == summary(study(seed=3).run(trials=16))
    db = tmp_path / "study.db"
    study(seed=3, storage=SQLiteStorage(db)).run(trials=7)
    resumed = study(seed=3, storage=SQLiteStorage(db)).run(trials=16)
    assert summary(resumed) == whole  # trials 7-15 judged against the 7 stored curves too
    assert len(resumed.curves.at(1)) == 16


def test_a_minimized_objective_prunes_the_largest_values() -> None:
    def loss(arch):  # type: ignore[no-untyped-def]
        return {"loss": 1 - curve(arch)["acc"]}

    def loss_steps(arch):  # type: ignore[no-untyped-def]
        from nasforge.evaluators import TrialPruned, report_step

        for step in range(1, STEPS + 1):
            value = 1 - arch["x"] / 100 * (1 - 0.5**step)
            if report_step(step, {"loss": value}):
                raise TrialPruned("pruned", metrics={"loss": value}, step=step)
        return {"loss": value}

    s = Study(curve_space(), Function(loss_steps, step_metrics=["loss"]), "random", {"loss": "minimize"},
              progress=False, pruner={"name": "asha", "max_steps": STEPS}).run(trials=12)  # fmt: skip
    first = s.trials[0]
    for t in s.trials[1:]:
        if t.arch["x"] > first.arch["x"] and t.report.get("pruned_at") == 1:
            pytest.fail(f"trial {t.number} (lower loss than trial 0 at step 1) was pruned at step 1")
    assert any(t.state is TrialState.PRUNED for t in s.trials)
    assert s.best is not None and s.best.state is TrialState.COMPLETE


def test_the_local_executor_answers_step_reports_over_the_pipe() -> None:
    s = study(seed=1, executor=LocalExecutor(2)).run(trials=10)
    states = {t.state for t in s.trials}
    assert states == {TrialState.COMPLETE, TrialState.PRUNED}
    for t in s.trials:
        steps = [st["step"] for st in t.report["steps"]]
        assert steps == list(range(1, (t.report.get("pruned_at") or STEPS) + 1))
        if t.state is TrialState.PRUNED:
            assert t.report["pruned_reason"].startswith("asha: step ") and t.report["pruned_at"] in (1, 3)
    # the study saw every step the workers reported (its curves hold them, by trial)
    assert sorted(s.curves.at(1)) == [t.number for t in s.trials]


def test_a_pruner_is_refused_where_nothing_reports_steps(table_csv: Path) -> None:
    table = Table.from_file(table_csv, key="{kernel}-{width}-{depth}", key_column="key", metric="acc")
    with pytest.raises(ConfigError, match="does not report steps") as err:
        Study(toy_space(), table, "random", {"acc": "maximize"}, pruner="asha")
    assert err.value.field == "pruner"
    with pytest.raises(ConfigError, match="does not report steps"):
        Study(curve_space(), Function(curve), "random", {"acc": "maximize"}, pruner="median")  # no step_metrics
    with pytest.raises(ConfigError, match="judges the primary objective 'acc'"):
        Study(curve_space(), Function(curve, step_metrics=["loss"]), "random", {"acc": "maximize"}, pruner="asha")
