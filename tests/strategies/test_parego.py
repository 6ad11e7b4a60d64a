"""Bayesian optimization with several objectives is ParEGO, and the default strategy."""

from __future__ import annotations

import nasforge
from nasforge import Study
from nasforge.strategies import DEFAULT_STRATEGY, make_strategy
from nasforge.testing.strategies import PROBLEMS, check_trials, signature


def _front_found(seed: int, trials: int) -> tuple[float, Study]:
    p = PROBLEMS["chain"]
    study = Study(
        p.space(), p.evaluator(), make_strategy("bayesian", {"initial": 5}),
        {"score": "maximize", "cost": "minimize"}, seed=seed, progress=False,
    )  # fmt: skip
    study.run(trials=trials)
    front = p.pareto_front()
    found = {study.space.canonical(t.arch) for t in study.trials} & front
    return len(found) / len(front), study


def test_parego_finds_most_of_the_pareto_front_without_duplicates() -> None:
    shares = []
    for seed in range(3):
        share, study = _front_found(seed, 40)  # half of the 80 architectures
        check_trials(study)
        shares.append(share)
    assert min(shares) >= 0.7, shares


def test_parego_is_deterministic_for_a_seed() -> None:
    a, b = _front_found(4, 25)[1], _front_found(4, 25)[1]
    assert signature(a.trials) == signature(b.trials)


def test_the_default_strategy_is_bayesian_and_accepts_several_objectives() -> None:
    assert DEFAULT_STRATEGY == "bayesian"
    p = PROBLEMS["chain"]
    study = nasforge.search(p.space(), p.evaluator(), objectives={"score": "maximize", "cost": "minimize"}, trials=12)
    assert study.strategy.to_config()["name"] == "bayesian" and len(study.trials) == 12
