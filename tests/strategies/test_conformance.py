"""Every registered strategy through the shared conformance suite of nasforge.testing, alone
and behind a warm start: one subclass of StrategyTests per strategy."""

from __future__ import annotations

import functools
import sys
from typing import ClassVar

from nasforge.strategies import STRATEGIES
from nasforge.testing import strategies as suite
from nasforge.testing.strategies import StrategyTests, settings


class Registered(StrategyTests):
    """A registered strategy with the suite's options (``settings``)."""

    name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        options, cls.optimum_trials = settings(cls.name)
        cls.factory = suite.factory(cls.name, options)


class WarmStarted(StrategyTests):
    """A registered strategy behind a warm start (top 3 of 12, ranked by a fixed pseudo-random
    function of the architecture); 3 more trials to find the optimum, 2 seeds."""

    name: ClassVar[str]
    optimum_seeds = range(2)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        options, trials = settings(cls.name)
        cls.optimum_trials = trials + 3
        cls.factory = functools.partial(suite.warm_started, cls.name, options)


class TestGrid(Registered):
    name = "grid"


class TestRandom(Registered):
    name = "random"


class TestHillClimbing(Registered):
    name = "hill-climbing"


class TestLocalSearch(Registered):
    name = "local-search"


class TestEvolution(Registered):
    name = "evolution"


class TestBayesian(Registered):
    name = "bayesian"


class TestSuccessiveHalving(Registered):
    name = "successive-halving"


class TestHyperband(Registered):
    name = "hyperband"


class TestNSGA2(Registered):
    name = "nsga2"


class TestWarmGrid(WarmStarted):
    name = "grid"


class TestWarmRandom(WarmStarted):
    name = "random"


class TestWarmHillClimbing(WarmStarted):
    name = "hill-climbing"


class TestWarmLocalSearch(WarmStarted):
    name = "local-search"


class TestWarmEvolution(WarmStarted):
    name = "evolution"


class TestWarmBayesian(WarmStarted):
    name = "bayesian"


class TestWarmSuccessiveHalving(WarmStarted):
    name = "successive-halving"


class TestWarmHyperband(WarmStarted):
    name = "hyperband"


class TestWarmNSGA2(WarmStarted):
    name = "nsga2"


def test_every_registered_strategy_has_a_suite_alone_and_behind_a_warm_start() -> None:
    module = sys.modules[__name__]
    classes = [c for c in vars(module).values() if isinstance(c, type) and c.__name__.startswith("Test")]
    assert {c.name for c in classes if issubclass(c, Registered)} == set(STRATEGIES)
    assert {c.name for c in classes if issubclass(c, WarmStarted)} == set(STRATEGIES)


def test_the_toy_problems_have_the_optimum_they_claim() -> None:
    for problem in suite.PROBLEMS.values():
        assert len(problem.optimum()) == 1, problem.name
        assert 1 < len(problem.pareto_front()) < len(problem.classes()), problem.name
    # The constrained optimum is not the unconstrained one: the constraint matters.
    chain, constrained = suite.PROBLEMS["chain"], suite.PROBLEMS["constrained"]
    unconstrained = max(chain.classes().values(), key=lambda a: constrained.score(a)["score"])
    assert not constrained.space().satisfies(unconstrained)
