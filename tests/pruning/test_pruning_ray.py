"""Step reports of Ray trials reach the study's pruner through the StepBoard actor (a real local Ray)."""

from __future__ import annotations

import pytest
from pruning_fns import STEPS, curve, curve_space

from nasforge import Study, TrialState
from nasforge.evaluators import Function
from nasforge.executors import RayExecutor

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_trials_are_pruned_at_rungs_through_the_board() -> None:
    s = Study(curve_space(), Function(curve, step_metrics=["acc"]), "random", {"acc": "maximize"}, progress=False,
              executor=RayExecutor(num_cpus=2, cpus_per_trial=1), pruner={"name": "asha", "max_steps": STEPS})  # fmt: skip
    s.run(trials=8)
    assert not ray.is_initialized()
    assert {t.state for t in s.trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    for t in s.trials:
        reached = t.report.get("pruned_at") or STEPS
        assert [st["step"] for st in t.report["steps"]] == list(range(1, reached + 1))
        if t.state is TrialState.PRUNED:
            assert t.report["pruned_reason"].startswith("asha: step ") and reached in (1, 3)
    assert sorted(s.curves.at(1)) == list(range(8))
