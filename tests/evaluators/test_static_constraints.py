"""A constraint on a metric known before training (a trainer's ``params``) narrows the space:
no strategy proposes, and no worker trains, a network that breaks it; a limit nothing meets
is refused before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nasforge import Objectives, Study, TrialState, models
from nasforge.cli import main
from nasforge.evaluators import Trainer
from nasforge.space import builtin


def _params(arch: dict[str, object]) -> int:
    """Parameters of the tutorial network for 8x8 digits, counted independently of the trainer."""
    return models.count_params(models.build_model("seed-cnn", arch, (1, 8, 8), 10))


def _key(arch: object) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(dict(arch).items()))  # type: ignore[call-overload]


TRAINED: list[dict[str, object]] = []


class Counting(Trainer):
    """A trainer that records what it trained (in this process: the inline executor)."""

    def evaluate(self, arch, budget=None):  # type: ignore[no-untyped-def]
        TRAINED.append(dict(arch))
        return super().evaluate(arch, budget)


def test_a_params_limit_keeps_every_larger_network_out_of_training() -> None:
    space = builtin("seed-cnn")
    limit = 40_000
    small = [a for a in space.enumerate() if _params(dict(a)) <= limit]
    assert 0 < len(small) < space.cardinality  # the limit cuts the space
    trainer = Counting("digits", space="seed-cnn", epochs=1, measure_latency=False, seed=0)
    goals = Objectives.parse({"accuracy": "maximize"}, constraints=[f"params <= {limit}"])
    study = Study(space, trainer, "grid", goals, progress=False)
    study.run()
    assert sorted(map(str, TRAINED)) == sorted(str(dict(a)) for a in small)  # the grid met only those
    assert all(t.state is TrialState.COMPLETE and t.metrics["params"] <= limit for t in study.trials)
    assert "params <= 40000 (counted before training)" in study.space._constraint_names()


def test_counting_params_leaves_torch_s_random_state_as_it_was() -> None:
    trainer = Trainer("digits", space="seed-cnn", epochs=1, measure_latency=False)
    state = torch.random.get_rng_state()
    count = trainer.static_metric(builtin("seed-cnn").sample(np.random.default_rng(0)), "params")
    assert count > 0 and torch.equal(torch.random.get_rng_state(), state)


def test_a_limit_no_network_meets_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "name: sc\nspace: seed-cnn\nevaluator: {dataset: digits, epochs: 1, measure_latency: false}\n"
        "strategy: grid\nobjectives: {accuracy: maximize}\nconstraints: ['params <= 10']\n"
    )
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: constraints: no architecture of the space meets params <= 10 (counted before training); loosen the limit"
    assert not run.exists()


def test_a_run_made_before_the_early_check_resumes_under_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose trainer did not count ``params`` before training (as before the early check)
    trained networks over the limit and stored them as infeasible; resumed with the check on, it
    keeps those trials as they were and trains only networks under the limit from then on."""
    from nasforge.run import load_study

    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "name: sc\nseed: 0\nspace: seed-cnn\n"
        "evaluator: {dataset: digits, epochs: 1, final_epochs: 1, measure_latency: false}\n"
        "strategy: random\nobjectives: {accuracy: maximize}\nconstraints: ['params <= 40000']\n"
        "executor: {name: inline}\n"
    )
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(Trainer, "static_metrics", ())  # the trainer as it was: params known after training only
        assert main(["search", str(cfg), "--run-dir", str(run), "--trials", "8"]) == 0
    _, before = load_study(run)
    old = [(t.number, dict(t.arch), t.state, t.feasible, dict(t.metrics)) for t in before.trials]
    assert len(old) == 8 and any(not t.feasible for t in before.trials)  # some went over the limit
    tried = {_key(t.arch) for t in before.trials}
    assert main(["resume", str(run), "--trials", "14"]) == 0
    _, after = load_study(run)
    assert [(t.number, dict(t.arch), t.state, t.feasible, dict(t.metrics)) for t in after.trials[:8]] == old
    new = after.trials[8:]
    small = {_key(a) for a in builtin("seed-cnn").enumerate() if _params(dict(a)) <= 40_000}
    untried = small - tried
    assert len(new) == min(6, len(untried))  # then the narrowed space is used up
    assert new and all(_key(t.arch) in untried and t.feasible for t in new)
    capsys.readouterr()
