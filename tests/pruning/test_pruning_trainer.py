"""The trainer reports each epoch's validation metrics when a pruner or a deadline listens, and
stops at a rung (or at the deadline, within a batch) with that epoch's metrics."""

from __future__ import annotations

import time

import pytest

from nasforge import Candidate, Study, TrialState
from nasforge.evaluators import DEADLINE, Trainer
from nasforge.executors import TrialWatch, run_trial
from nasforge.space import builtin


@pytest.fixture(scope="module")
def trainer() -> Trainer:
    return Trainer("digits", space="seed-cnn", epochs=3, threads=1, measure_latency=False)


def test_the_trainer_stops_poor_trials_at_a_rung(trainer: Trainer) -> None:
    assert trainer.step_metrics == ["accuracy", "loss"] and trainer.max_steps == 3
    s = Study(builtin("seed-cnn"), trainer, "random", {"accuracy": "maximize"}, progress=False,
              pruner={"name": "asha", "eta": 2}).run(trials=4)  # fmt: skip
    assert s.pruner is not None and s.pruner.rungs() == [1, 2]  # type: ignore[attr-defined]
    pruned = [t for t in s.trials if t.state is TrialState.PRUNED]
    complete = [t for t in s.trials if t.state is TrialState.COMPLETE]
    assert pruned and complete and len(s.trials) == 4
    for t in pruned:
        steps = t.report["steps"]
        assert t.report["pruned_at"] in (1, 2) and len(steps) == t.report["pruned_at"]
        assert t.metrics["accuracy"] == pytest.approx(steps[-1]["accuracy"], abs=1e-6)
        assert {"params", "flops", "train_seconds"} <= set(t.metrics) and "latency_ms" not in t.metrics
        assert t.report["pruned_reason"].startswith("asha: step ")
    for t in complete:  # trained all 3 epochs; the last epoch's validation is the trial's score
        assert [st["step"] for st in t.report["steps"]] == [1, 2, 3]
        assert t.metrics["accuracy"] == pytest.approx(t.report["steps"][-1]["accuracy"], abs=1e-6)
    assert s.best in complete


def test_past_the_deadline_the_trainer_stops_within_a_batch(trainer: Trainer) -> None:
    arch = builtin("seed-cnn").sample(__import__("numpy").random.default_rng(0))
    out = run_trial(trainer, 7, Candidate(arch), TrialWatch(deadline=time.time() - 1))
    assert out.state is TrialState.PRUNED and out.report["pruned_reason"] == DEADLINE
    assert out.report["pruned_at"] is None and "steps" not in out.report  # stopped in epoch 1
    assert out.metrics["params"] > 0 and "accuracy" not in out.metrics
    outside = trainer.evaluate(arch, 1 / 3)  # no study context: no deadline, no reports
    assert "steps" not in outside.report and outside.report["epochs"] == 1


def test_k_fold_reports_the_first_folds_epochs() -> None:
    kfold = Trainer("digits", space="seed-cnn", epochs=2, folds=2, threads=1, measure_latency=False)
    arch = builtin("seed-cnn").sample(__import__("numpy").random.default_rng(1))
    seen: list[int] = []

    def decide(step: int, metrics: dict[str, float]) -> None:
        seen.append(step)

    out = run_trial(kfold, 0, Candidate(arch), TrialWatch(prune=True, metric="accuracy"), decide)
    assert out.state is TrialState.COMPLETE and seen == [1, 2]
    assert [st["step"] for st in out.report["steps"]] == [1, 2] and len(out.report["fold_accuracy"]) == 2
