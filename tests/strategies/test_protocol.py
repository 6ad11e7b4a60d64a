"""The strategy protocol as the study drives it: the History it owns, WAIT versus None, the
refusal of a duplicate ask, objectives a strategy cannot use, feasibility read from the trial,
and the round trip of every strategy through to_config()."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge import Candidate, ConfigError, FatalError, Objectives, Study, Trial, TrialState
from nasforge.evaluators import Function
from nasforge.executors import InlineExecutor
from nasforge.space import Arch, Cell, Choice, IntRange, SearchSpace
from nasforge.strategies import (
    NSGA2,
    STRATEGIES,
    WAIT,
    Ask,
    History,
    MetricConstraint,
    Strategy,
    SuccessiveHalving,
    make_strategy,
    register_strategy,
)
from nasforge.testing import strategies as suite
from nasforge.testing.strategies import Driver

SPACE = SearchSpace({"x": IntRange(0, 9)})
OBJ = Objectives.parse({"y": "maximize"})


def y(arch: Arch) -> dict[str, float]:
    return {"y": -abs(int(arch["x"]) - 6)}


def complete(number: int, arch: Arch, metrics: dict[str, float], **more: object) -> Trial:
    return Trial(number, arch, None, TrialState.COMPLETE, metrics, tell_seq=number, **more)  # type: ignore[arg-type]


# -- History ------------------------------------------------------------------------------


def test_history_counts_an_asked_architecture_as_seen_until_and_after_its_result() -> None:
    cells = SearchSpace({"c": Cell(nodes=2, ops=["none", "conv"])})
    h = History(cells, OBJ)
    arch = cells.sample(np.random.default_rng(0))
    assert h.is_new(arch) and h.pending == [] and h.trials == []
    h.asked(Candidate(arch))
    equivalent = [a for a in cells.enumerate() if cells.canonical(a) == cells.canonical(arch)]
    assert all(not h.is_new(a) for a in equivalent)  # by canonical key
    assert h.pending == [Candidate(arch)]
    h.told(complete(0, arch, {"y": 2.0}))
    assert h.pending == [] and [t.number for t in h.trials] == [0] and not h.is_new(arch)
    assert h.scores() == {cells.canonical(arch): 2.0}


def test_history_dedups_by_budget_when_asked_at_one() -> None:
    h = History(SPACE, OBJ)
    arch = Arch({"x": 3})
    h.asked(Candidate(arch, 0.25))
    assert not h.is_new(arch)  # at any budget
    assert not h.is_new(arch, 0.25) and h.is_new(arch, 1.0) and h.is_new(arch, None)


def test_history_samples_without_replacement_until_the_space_is_exhausted() -> None:
    h = History(SPACE, OBJ)
    rng = np.random.default_rng(0)
    drawn = []
    while (arch := h.sample_new(rng)) is not None:
        drawn.append(int(arch["x"]))
        h.asked(Candidate(arch))
    assert sorted(drawn) == list(range(10))


# -- the study records, refuses, waits ----------------------------------------------------


class Repeats(Strategy):
    """A broken strategy: always the same architecture."""

    def ask(self) -> Ask:
        return Candidate(Arch({"x": 1}))


class Stalls(Strategy):
    """A broken strategy: WAIT with nothing running."""

    def ask(self) -> Ask:
        return WAIT


def test_the_study_refuses_a_duplicate_ask_naming_the_strategy() -> None:
    study = Study(SPACE, Function(y), Repeats(), OBJ, progress=False)
    with pytest.raises(FatalError, match=r'^strategy Repeats asked again for \{"x": ?1\}, which is already pending'):
        study.run(trials=5)
    assert len(study.trials) == 1


def test_a_duplicate_ask_is_refused_also_while_the_first_is_pending() -> None:
    study = Study(SPACE, Function(y), Repeats(), OBJ, executor=InlineExecutor(workers=3), progress=False)
    with pytest.raises(FatalError, match="already pending or done"):
        study.run(trials=5)
    assert len(study.trials) == 1


def test_a_duplicate_at_another_budget_is_allowed_at_the_same_budget_refused() -> None:
    class Rungs(Strategy):
        def start(self, space, objectives, rng, history):  # type: ignore[no-untyped-def]
            super().start(space, objectives, rng, history)
            self.plan = [0.25, 1.0, 1.0]

        def ask(self) -> Ask:
            return Candidate(Arch({"x": 2}), self.plan.pop(0)) if self.plan else None

    study = Study(SPACE, Function(y), Rungs(), OBJ, progress=False)
    with pytest.raises(FatalError, match=r"at budget 1, which is already pending or done"):
        study.run()
    assert [t.budget for t in study.trials] == [0.25, 1.0]


def test_wait_with_nothing_running_is_a_fatal_error() -> None:
    with pytest.raises(FatalError, match="^strategy Stalls answered WAIT with no trial running"):
        Study(SPACE, Function(y), Stalls(), OBJ, progress=False).run(trials=3)


def test_wait_means_ask_again_after_the_next_tell_and_none_ends_the_search() -> None:
    """One candidate at a time under four workers: WAIT while it runs, then the next."""

    class OneAtATime(Strategy):
        max_objectives = None

        def start(self, space, objectives, rng, history):  # type: ignore[no-untyped-def]
            super().start(space, objectives, rng, history)
            self.answers: list[str] = []

        def ask(self) -> Ask:
            if self.history.pending:
                self.answers.append("wait")
                return WAIT
            arch = self._sample_new()
            self.answers.append("none" if arch is None else "arch")
            return None if arch is None else Candidate(arch)

    strategy = OneAtATime()
    study = Study(SPACE, Function(y), strategy, OBJ, executor=InlineExecutor(workers=4), progress=False).run()
    assert len(study.trials) == 10 and all(t.asked_after == t.number for t in study.trials)
    assert strategy.answers == ["arch", "wait"] * 10 + ["none"]  # None once, then no more asks


def test_enqueued_architectures_are_in_the_history_while_they_run() -> None:
    study = Study(SPACE, Function(y), "grid", OBJ, executor=InlineExecutor(workers=3), progress=False)
    study.enqueue({"x": 1})
    study.enqueue({"x": 0})
    study.run()
    assert [t.arch["x"] for t in study.trials] == [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]
    assert [t.enqueued for t in study.trials[:3]] == [True, True, False]


def test_no_strategy_keeps_its_own_seen_set_or_marks() -> None:
    for name, cls in STRATEGIES.items():
        for gone in ("mark", "seen", "prime", "primes", "next_queued", "queue", "feasible", "multi_objective"):
            assert not hasattr(cls, gone), f"{name} still has {gone}"


# -- objectives a strategy cannot use -----------------------------------------------------


TWO = {"score": "maximize", "cost": "minimize"}


@pytest.mark.parametrize("name", ["evolution", "hill-climbing", "local-search", "successive-halving"])
def test_a_single_objective_strategy_refuses_two_objectives_naming_the_way_out(name: str) -> None:
    p = suite.PROBLEMS["chain"]
    with pytest.raises(ConfigError) as info:
        Study(p.space(), p.evaluator(), name, TWO, progress=False)
    assert str(info.value) == (
        f"objectives: strategy `{name}` optimizes a single objective and would ignore all but 'score' of "
        "['score', 'cost']; use `nsga2` (multi-objective) or `bayesian` (ParEGO), weigh them into one "
        "with `scalarize: {weights: {...}}`, or keep one objective and turn the others into `constraints:` "
        "such as `params <= 1e6`"
    )


def test_which_strategies_take_several_objectives() -> None:
    many = {name for name, cls in STRATEGIES.items() if cls.max_objectives is None}
    # grid and random do not use the objectives to decide; bayesian is ParEGO with several
    assert many == {"grid", "random", "nsga2", "bayesian"}
    assert {name for name, cls in STRATEGIES.items() if cls.min_objectives > 1} == {"nsga2"}
    p = suite.PROBLEMS["chain"]
    three = {**TWO, "score2": "maximize"}
    evaluator = Function(lambda a: {**p.score(a), "score2": 0.0})
    for name in ("grid", "random", "nsga2", "bayesian"):
        Study(p.space(), evaluator, name, three, progress=False)  # accepted


def test_the_warm_start_refuses_what_its_inner_strategy_refuses() -> None:
    strategy = suite.warm_started("local-search")
    with pytest.raises(ConfigError, match="strategy `local-search` optimizes a single objective"):
        strategy.validate(suite.PROBLEMS["chain"].space(), Objectives.parse(TWO))
    assert suite.warm_started("nsga2").min_objectives == 2


# -- feasibility is data on the trial ----------------------------------------------------


def test_nsga2_reads_the_violation_the_study_wrote_for_debs_rule() -> None:
    space = SearchSpace({"x": IntRange(0, 9)})
    obj = Objectives.parse({"a": "maximize", "b": "maximize"})
    d = Driver(make_strategy("nsga2", {"population": 2}), space, obj)
    strong, weak = Arch({"x": 1}), Arch({"x": 2})
    d.tell(complete(0, strong, {"a": 5.0, "b": 5.0}, violation=0.5))  # dominates, but infeasible
    d.tell(complete(1, weak, {"a": 1.0, "b": 1.0}))
    nsga2 = d.strategy
    assert [(a, v) for a, _, v in nsga2.members] == [(strong, 0.5), (weak, 0.0)]  # type: ignore[attr-defined]
    assert nsga2._rank == [1, 0]  # type: ignore[attr-defined]  # the feasible one is in the first front


def test_nsga2_constraints_are_an_alias_the_study_adds_to_its_objectives() -> None:
    strategy = NSGA2(constraints=["cost <= 8", MetricConstraint.parse("score >= -3")])
    assert strategy.constraints == [MetricConstraint("cost", "<=", 8.0), MetricConstraint("score", ">=", -3.0)]
    p = suite.PROBLEMS["chain"]
    study = Study(p.space(), p.evaluator(), strategy, TWO, progress=False)
    assert study.objectives.constraints == strategy.constraints
    study.run(trials=20)
    assert all((t.violation == 0) == (t.metrics["cost"] <= 8 and t.metrics["score"] >= -3) for t in study.trials)
    # Driven without a study that adds them, the constraints would judge nothing: refused.
    with pytest.raises(ConfigError, match=r"^strategy.constraints: \['cost <= 8', 'score >= -3'\] are not among"):
        NSGA2(constraints=["cost <= 8", "score >= -3"]).validate(p.space(), Objectives.parse(TWO))


# -- round trip ---------------------------------------------------------------------------


def test_constructors_store_their_arguments_as_given() -> None:
    sh = SuccessiveHalving(min_budget=0.25, eta=2, sampler={"name": "evolution", "population": 4, "sample_size": 2})
    assert sh.to_config() == {
        "name": "successive-halving", "budgets": None, "min_budget": 0.25, "eta": 2, "candidates": None,
        "sampler": {"name": "evolution", "population": 4, "sample_size": 2},
    }  # fmt: skip
    assert sh.rung_budgets == [0.25, 0.5, 1.0]
    assert make_strategy("hyperband", {"budgets": [0.5, 1.0]}).to_config() == {
        "name": "hyperband", "budgets": [0.5, 1.0], "min_budget": None, "eta": 3, "sampler": "random",
    }  # fmt: skip
    # A limit that str() would round (1.23457e+06) comes back exactly.
    cfg = NSGA2(constraints=["params <= 1234567"]).to_config()
    assert cfg["constraints"] == ["params <= 1234567.0"]
    assert make_strategy("nsga2", {"constraints": cfg["constraints"]}).constraints[0].limit == 1234567


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_registered_strategy_round_trips_with_non_default_options(name: str) -> None:
    options = suite.settings(name)[0]
    suite.check_round_trip(name, options)
    cfg = make_strategy(name, options).to_config()
    assert {k: v for k, v in cfg.items() if k in options} == options  # given options come back as given


def test_an_unregistered_strategy_has_no_config_name() -> None:
    with pytest.raises(ConfigError, match="Repeats is not registered"):
        Repeats().to_config()
    register = register_strategy("test-repeats")
    try:
        register(Repeats)
        assert Repeats().to_config() == {"name": "test-repeats"}
    finally:
        del STRATEGIES["test-repeats"]


def test_scores_in_the_history_keep_the_best_per_architecture() -> None:
    h = History(SPACE, OBJ)
    a = Arch({"x": 4})
    h.told(complete(0, a, {"y": 1.0}))
    h.told(Trial(1, a, None, TrialState.FAILED, {}, tell_seq=1))
    h.told(complete(2, Arch({"x": 5}), {}))
    assert h.scores() == {SPACE.canonical(a): 1.0, SPACE.canonical(Arch({"x": 5})): -math.inf}


def test_choice_spaces_keep_working_with_the_history() -> None:
    space = SearchSpace({"k": Choice([1, 3])})
    d = Driver(make_strategy("grid"), space, OBJ)
    assert [d.ask().arch["k"], d.ask().arch["k"], d.ask()] == [1, 3, None]  # type: ignore[union-attr]
