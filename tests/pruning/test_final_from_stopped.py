"""When no trial finished (a time budget shorter than one full training), the final model falls
back to the stopped trial that went furthest, best by the primary objective there, and says so;
a stopped trial is still never ``study.best``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nasforge import Objectives, Trial, TrialState, search
from nasforge.cli import main
from nasforge.evaluators import Trainer
from nasforge.pruners import Pruner, register_pruner
from nasforge.space import Arch, Choice, SearchSpace, builtin


@register_pruner("test-stop-all")
class StopAll(Pruner):
    """Stops every trial: even-numbered ones after step 2, odd ones after step 1."""

    def __init__(self) -> None:
        pass

    def prune(self, curves, number, step):  # type: ignore[no-untyped-def]
        return "stop all" if step >= (2 if number % 2 == 0 else 1) else None


def _trial(number: int, state: TrialState, acc: float, step: int | None = None, **metrics: float) -> Trial:
    arch = Arch({"k": number})
    report = {} if step is None else {"pruned_at": step, "pruned_reason": "asha"}
    return Trial(number, arch, None, state, {"acc": acc, **metrics}, report)


def test_the_furthest_stopped_trial_is_chosen_best_among_those_at_that_step() -> None:
    goals = Objectives.parse({"acc": "maximize"})
    trials = [
        _trial(0, TrialState.PRUNED, 0.99, 1),  # the best value, but stopped earlier
        _trial(1, TrialState.PRUNED, 0.80, 3),
        _trial(2, TrialState.PRUNED, 0.85, 3),
        _trial(3, TrialState.PRUNED, 0.85, 3),  # tied with 2: the earlier wins
        _trial(4, TrialState.FAILED, math.nan),
    ]
    assert goals.best(trials) is None
    chosen = goals.best_stopped(trials)
    assert chosen is not None and chosen.number == 2
    # A complete trial is the best, and then nothing falls back
    assert goals.best_stopped([*trials, _trial(5, TrialState.COMPLETE, 0.5)]) is None
    # Minimized objectives pick the lowest
    low = Objectives.parse({"acc": "minimize"}).best_stopped(trials)
    assert low is not None and low.number == 1


def test_constraints_the_partial_metrics_do_not_show_keep_a_trial_out() -> None:
    goals = Objectives.parse({"acc": "maximize"}, constraints=["latency_ms <= 5"])
    trials = [
        _trial(0, TrialState.PRUNED, 0.9, 2),  # no latency measured: cannot be shown to meet the limit
        _trial(1, TrialState.PRUNED, 0.7, 1, latency_ms=4.0),
        _trial(2, TrialState.PRUNED, 0.8, 1, latency_ms=6.0),  # over the limit
    ]
    chosen = goals.best_stopped(trials)
    assert chosen is not None and chosen.number == 1
    assert goals.best_stopped(trials[2:]) is None


def test_a_search_where_no_trial_finished_still_hands_back_a_retrained_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = SearchSpace({"kernel": Choice([1, 3]), "channels": Choice([16, 32]), "units": Choice([64])})
    assert builtin("seed-cnn").names == space.names  # the tutorial network, a smaller space
    trainer = Trainer("digits", space="seed-cnn", epochs=3, final_epochs=1, measure_latency=False, seed=0)
    run = tmp_path / "run"
    study = search(space, trainer, strategy="random", objectives={"accuracy": "maximize"}, trials=4,
                   run_dir=run, pruner="test-stop-all")  # fmt: skip
    assert study.best is None and all(t.state is TrialState.PRUNED for t in study.trials)
    furthest = [t for t in study.trials if t.report["pruned_at"] == 2]
    assert len(furthest) == 2  # trials 0 and 2 reached step 2; 1 and 3 stopped at 1
    expected = max(furthest, key=lambda t: (t.metrics["accuracy"], -t.number))
    record = json.loads((run / "best.json").read_text())
    assert record["trial"] == expected.number and record["final_choice"]["stopped"] is True
    assert record["finalized"] == expected.number
    assert f"trial {expected.number}" in record["final_choice"]["reason"]
    model = json.loads((run / "best" / "arch.json").read_text())
    assert model["arch"] == expected.arch.to_dict() and 0 <= model["test_accuracy"] <= 1
    err = capsys.readouterr().err
    assert f"no trial completed: the final network is trial {expected.number}" in err
    assert "reached epoch 2, the furthest any got" in err
    assert "Retraining this stopped trial's architecture on train+validation" in err
    # `status` has no best (an unfinished trial is never the best) but names the fallback model
    assert main(["status", str(run)]) == 0
    out = capsys.readouterr().out
    assert "best: none (no trial completed); the final network is trial" in out
    assert f"model in {run / 'best'}" in out
    assert main(["status", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["best"] is None and info["final_model"]["trial"] == expected.number
