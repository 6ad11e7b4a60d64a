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
