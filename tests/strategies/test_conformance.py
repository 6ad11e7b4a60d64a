"""Every registered strategy through the shared conformance checks of nasforge.testing."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasforge.strategies import STRATEGIES
from nasforge.testing import strategies as suite
from nasforge.testing.strategies import settings

NAMES = sorted(STRATEGIES)


@pytest.mark.parametrize("name", NAMES)
def test_finds_the_optimum_of_a_toy_space(name: str) -> None:
    options, trials = settings(name)
    suite.check_finds_optimum(name, options, "chain", trials, seeds=range(3))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("problem", ["constrained", "cell", "nested"])
def test_runs_other_spaces_without_duplicates_within_constraints(name: str, problem: str) -> None:
    options, _ = settings(name)
    study = suite.run_study(name, options, problem, trials=40)
    suite.check_trials(study)
    assert len(study.trials) == min(40, len(suite.PROBLEMS[problem].classes())) or study.trials[0].budget is not None


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_trials(name: str) -> None:
    options, _ = settings(name)
    suite.check_same_seed(name, options, "chain", 30)


@pytest.mark.parametrize("name", NAMES)
def test_resume_equals_an_uninterrupted_run(name: str, tmp_path: Path) -> None:
    options, _ = settings(name)
    suite.check_resume(name, options, "nested", tmp_path, every=7, trials=30)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("problem", ["chain", "constrained", "cell"])
def test_none_only_when_the_space_is_exhausted(name: str, problem: str) -> None:
    options, _ = settings(name)
    suite.check_exhaustion(name, options, problem)


@pytest.mark.parametrize("name", NAMES)
def test_asks_while_pending_propose_no_duplicates(name: str) -> None:
    options, _ = settings(name)
    suite.check_pending_asks(name, options, "nested", batch=4)


@pytest.mark.slow
def test_same_seed_same_trials_in_a_spawned_process() -> None:
    jobs = [(name, settings(name)[0], "nested", 3, 25) for name in NAMES]
    here = [suite.signature(suite.run_study(n, o, p, seed=s, trials=t).trials) for n, o, p, s, t in jobs]
    there = suite.trials_in_spawned_process(jobs)
    for (name, *_), a, b in zip(jobs, here, there):
        assert a == b, f"{name}: a spawned process ran different trials"


def test_the_toy_problems_have_the_optimum_they_claim() -> None:
    for problem in suite.PROBLEMS.values():
        assert len(problem.optimum()) == 1, problem.name
        assert 1 < len(problem.pareto_front()) < len(problem.classes()), problem.name
    # The constrained optimum is not the unconstrained one: the constraint matters.
    chain, constrained = suite.PROBLEMS["chain"], suite.PROBLEMS["constrained"]
    unconstrained = max(chain.classes().values(), key=lambda a: constrained.score(a)["score"])
    assert not constrained.space().satisfies(unconstrained)
