"""Behaviour of each search strategy beyond the shared conformance checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nasforge import ConfigError, Objectives, SQLiteStorage, Study, Trial, TrialState
from nasforge.evaluators import Function
from nasforge.space import Arch, Choice, IntRange, SearchSpace
from nasforge.strategies import (
    GaussianProcess,
    Hyperband,
    MetricConstraint,
    SuccessiveHalving,
    crowding_distance,
    make_strategy,
    non_dominated_sort,
)
from nasforge.strategies._gp import expected_improvement, normal_ppf, normal_scores
from nasforge.testing import strategies as suite
from nasforge.testing.strategies import Driver


def started(name: str, space: SearchSpace, objectives: object = "score", seed: int = 0, **options: object) -> Driver:
    """Strategy ``name`` driven as a study drives it (its asks and tells recorded in a History)."""
    return Driver(make_strategy(name, dict(options)), space, objectives, seed=seed)


def told(number: int, arch: Arch, metrics: dict[str, float], budget: float | None = None) -> Trial:
    return Trial(number, arch, budget, TrialState.COMPLETE, metrics, tell_seq=number)


# -- evolution ----------------------------------------------------------------------------


def test_evolution_keeps_the_most_recent_results_and_mutates_them() -> None:
    space = suite.PROBLEMS["chain"].space()
    s = started("evolution", space, population=4, sample_size=2)
    archs = []
    for i in range(10):
        cand = s.ask()
        archs.append(cand.arch)
        s.tell(told(i, cand.arch, suite.PROBLEMS["chain"].score(cand.arch)))
    members = s.strategy.members  # type: ignore[attr-defined]
    assert [a for a, _ in members] == archs[-4:]  # ageing: the oldest leave
    child = s.ask().arch
    # A child differs from some member in one decision (or, if that was taken, a few).
    distances = [sum(child[k] != a[k] for k in child) for a, _ in members]
    assert 1 <= min(distances) <= 3


def test_evolution_population_must_fit_the_space() -> None:
    space = SearchSpace({"k": Choice([1, 3, 5])})
    with pytest.raises(ConfigError, match=r"^strategy.population: is 20 but the space has only 3"):
        Study(space, Function(lambda a: {"s": a["k"]}), "evolution", {"s": "maximize"})
    with pytest.raises(ConfigError, match=r"^strategy.sample_size: must be at most population \(4\), got 5"):
        make_strategy("evolution", {"population": 4, "sample_size": 5})


# -- local search -------------------------------------------------------------------------


def test_local_search_climbs_by_first_improvement() -> None:
    space = SearchSpace({"x": IntRange(0, 40)})
    s = started("local-search", space, seed=4, initial=1)
    first = s.ask().arch
    s.tell(told(0, first, {"score": -abs(first["x"] - 30)}))
    best = first["x"]
    for i in range(1, 60):
        x = s.ask().arch["x"]
        if best == 30:
            break
        assert abs(x - best) == 1, "before the optimum, every ask is a neighbour of the best so far"
        s.tell(told(i, Arch({"x": x}), {"score": -abs(x - 30)}))
        if abs(x - 30) < abs(best - 30):
            best = x
    assert best == 30


def test_local_search_restarts_from_the_best_with_untried_neighbours() -> None:
    options = {"initial": 3, "restart": "best"}
    suite.check_finds_optimum("local-search", options, "chain", 30, seeds=range(3))
    with pytest.raises(ConfigError, match=r"^strategy.restart: must be `best` or `random`"):
        make_strategy("local-search", {"restart": "worst"})


# -- Bayesian optimization ----------------------------------------------------------------


def test_gaussian_process_interpolates_and_is_unsure_far_away() -> None:
    x = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    gp = GaussianProcess(noise=1e-3).fit(x, np.array([1.0, 2.0, 3.0]))
    mean, std = gp.predict(np.vstack([x, [[0, 0, 0, 1.0]]]))
    assert np.allclose(mean[:3], [1, 2, 3], atol=0.05)
    assert std[3] > 5 * std[:3].max()
    ei = expected_improvement(np.array([0.0, 1.0, 1.0]), np.array([1.0, 1.0, 2.0]), best=1.0)
    assert 0 < ei[0] < ei[1] < ei[2]


def test_warping_keeps_the_order_and_tames_outliers() -> None:
    # Standard normal quantiles (from tables): 0.5, 0.975, 1e-6.
    assert normal_ppf(np.array([0.5, 0.975, 1e-6])) == pytest.approx([0.0, 1.959963985, -4.753424309], abs=1e-8)
    y = np.array([3.0, 1.0, 2.0, 2.0, 100.0])
    z = normal_scores(y)
    assert z[1] < z[2] == z[3] < z[0] < z[4]
    assert z[4] == pytest.approx(-z[1])  # 100 is just the top rank, as far from the middle as 1
    gp = GaussianProcess(warp=True).fit(np.eye(5), y)
    assert gp.scale_of(2.0) == pytest.approx(z[2]) and gp.scale_of(3.0) == pytest.approx(z[0])


def test_bayesian_finds_an_additive_optimum_much_sooner_than_random() -> None:
    space = SearchSpace({f"d{i}": Choice(["a", "b", "c", "d"]) for i in range(5)})  # 1024 architectures
    weights = {"a": 0.0, "b": 1.0, "c": 3.0, "d": 2.0}

    def score(arch: Arch) -> dict[str, float]:
        return {"score": sum(weights[str(arch[f"d{i}"])] * (1 + i / 10) for i in range(5))}

    for seed in range(3):
        study = Study(space, Function(score), "bayesian", {"score": "maximize"}, seed=seed).run(trials=60)
        assert all(study.best.arch[f"d{i}"] == "c" for i in range(5)), f"seed {seed}"


def test_bayesian_model_is_capped_at_max_points() -> None:
    p = suite.PROBLEMS["chain"]
    strategy = make_strategy("bayesian", {"initial": 4, "max_points": 8})
    study = Study(p.space(), p.evaluator(), strategy, {"score": "maximize"}, seed=0).run(trials=30)
    assert strategy._model().x.shape[0] == 8  # the best 4 and the latest 4 of 30 results
    assert p.space().canonical(study.best.arch) in p.optimum()


def test_bayesian_pending_architectures_are_not_proposed_again() -> None:
    space = suite.PROBLEMS["chain"].space()
    s = started("bayesian", space, initial=3)
    for i in range(3):
        arch = s.ask().arch
        s.tell(told(i, arch, suite.PROBLEMS["chain"].score(arch)))
    pending = [s.ask().arch for _ in range(6)]  # model-driven asks while all six are pending
    assert len({space.canonical(a) for a in pending}) == 6


# -- successive halving and Hyperband -----------------------------------------------------


def test_successive_halving_promotes_the_best_third_of_each_rung() -> None:
    space = suite.PROBLEMS["chain"].space()
    s = started("successive-halving", space, budgets=[1 / 9, 1 / 3, 1.0], eta=3)
    sampler = s.strategy.inner  # type: ignore[attr-defined]
    heard: list[Trial] = []
    tell = sampler.tell
    sampler.tell = lambda trial: (heard.append(trial), tell(trial))
    score = suite.PROBLEMS["chain"].score
    first = [s.ask() for _ in range(9)]
    assert all(c.budget == pytest.approx(1 / 9) for c in first)
    for i, c in enumerate(first):
        s.tell(told(i, c.arch, score(c.arch, budget=c.budget), c.budget))
    second = [s.ask() for _ in range(3)]
    assert all(c.budget == pytest.approx(1 / 3) for c in second)
    ranked = sorted(first, key=lambda c: -score(c.arch, budget=c.budget)["score"])
    assert [c.arch for c in second] == [c.arch for c in ranked[:3]]
    for i, c in enumerate(second, start=9):
        s.tell(told(i, c.arch, score(c.arch, budget=c.budget), c.budget))
    last = s.ask()
    assert last.budget == 1.0 and last.arch == max(second, key=lambda c: score(c.arch, budget=c.budget)["score"]).arch
    assert s.ask().budget == pytest.approx(1 / 9)  # the next bracket starts
    assert len(heard) == 9  # the sampler heard each of its candidates once
    assert {space.canonical(t.arch) for t in heard} == {space.canonical(c.arch) for c in first}


def test_successive_halving_opens_a_new_bracket_while_results_are_pending() -> None:
    space = suite.PROBLEMS["chain"].space()
    s = started("successive-halving", space, budgets=[0.25, 1.0], eta=2)
    asked = [s.ask() for _ in range(5)]  # bracket 1 has 2 candidates at 0.25; more asks open more brackets
    assert [c.budget for c in asked] == [0.25] * 5
    assert len({space.canonical(c.arch) for c in asked}) == 5


def test_hyperband_cycles_through_brackets_that_start_at_each_budget() -> None:
    assert Hyperband(budgets=[1 / 9, 1 / 3, 1.0])._brackets() == [(0, 9), (1, 5), (2, 3)]
    assert Hyperband(min_budget=0.25, eta=2).rung_budgets == [0.25, 0.5, 1.0]
    study = suite.run_study("hyperband", {"budgets": [0.25, 0.5, 1.0], "eta": 2}, "chain", trials=60)
    budgets = [t.budget for t in study.trials]
    # Bracket 1: 4 at 1/4, 2 at 1/2, 1 at 1; bracket 2: 3 at 1/2, 1 at 1; bracket 3: 3 at 1.
    assert budgets[:14] == [0.25] * 4 + [0.5] * 2 + [1.0] + [0.5] * 3 + [1.0] + [1.0] * 3
    assert study.best.budget == 1.0


def test_study_best_is_taken_at_the_largest_budget() -> None:
    obj = Objectives.parse("score")
    a, b = Arch({"x": 1}), Arch({"x": 2})
    trials = [told(0, a, {"score": 9.0}, 0.25), told(1, b, {"score": 5.0}, 1.0), told(2, a, {"score": 4.0}, 1.0)]
    assert obj.best(trials).number == 1
    assert obj.best(trials[:1]).number == 0  # only low-budget results: the best of those
    assert [t.number for t in obj.pareto_front(trials)] == [1]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"budgets": [0.5, 0.25, 1.0]}, r"^strategy.budgets: must increase strictly, got \[0.5, 0.25, 1.0\]"),
        ({"budgets": [0.25, 0.5]}, r"^strategy.budgets: must end at 1"),
        ({"budgets": [0, 1.0]}, r"^strategy.budgets: each budget must be a fraction in \(0, 1\]"),
        ({"budgets": [0.5, 1.0], "min_budget": 0.1}, r"^strategy.min_budget: give either"),
        ({"eta": 1}, r"^strategy.eta: must be a finite number > 1"),
        ({"sampler": "annealing"}, r"^strategy.sampler.name: unknown strategy 'annealing'"),
        ({"sampler": "hyperband"}, r"^strategy.sampler: must be a strategy that proposes"),
        ({"sampler": {"name": "evolution", "pop": 3}}, r"^strategy.sampler.pop: unknown option"),
    ],
)
def test_fidelity_options_are_checked(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_strategy("successive-halving", options)


def test_the_sampler_is_validated_against_the_space() -> None:
    space = SearchSpace({"k": Choice([1, 3, 5])})
    strategy = make_strategy("hyperband", {"sampler": {"name": "evolution", "population": 5}})
    with pytest.raises(ConfigError, match=r"^strategy.sampler.population: is 5 but the space has only 3"):
        Study(space, Function(lambda a: {"s": a["k"]}), strategy, {"s": "maximize"})


def test_successive_halving_budget_list_is_exact() -> None:
    assert SuccessiveHalving(min_budget=1 / 27).rung_budgets == pytest.approx([1 / 27, 1 / 9, 1 / 3, 1.0])
    assert SuccessiveHalving(min_budget=1 / 27).budgets is None  # the options are stored as given


# -- NSGA-II ------------------------------------------------------------------------------


def test_non_dominated_sort_and_crowding() -> None:
    points = np.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0], [1.0, 1.0], [0.0, 0.0]])
    assert non_dominated_sort(points) == [[0, 1, 2], [3], [4]]
    # Deb's rule: feasible beats infeasible; the smaller violation wins among infeasible.
    assert non_dominated_sort(points, [0.0, 0.5, 0.0, 0.0, 0.1]) == [[0, 2], [3], [4], [1]]
    assert crowding_distance(np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]])).tolist() == [
        math.inf, 1.5, 1.5, math.inf,
    ]  # fmt: skip


def test_metric_constraints() -> None:
    c = MetricConstraint.parse("params <= 1e6")
    assert (c.metric, c.op, c.limit) == ("params", "<=", 1e6)
    assert c.violation({"params": 1e6}) == 0 and c.violation({"params": 1.5e6}) == 0.5
    assert c.violation({}) == math.inf
    assert MetricConstraint.parse("acc > 0.9").violation({"acc": 0.9}) > 0
    with pytest.raises(ConfigError, match=r"^strategy.constraints.0: must look like `params <= 1e6`"):
        make_strategy("nsga2", {"constraints": ["params <<= 3"]})


def test_nsga2_needs_two_objectives() -> None:
    space = suite.PROBLEMS["chain"].space()
    with pytest.raises(ConfigError, match=r"^objectives: strategy NSGA2 is multi-objective and needs at least two"):
        Study(space, suite.PROBLEMS["chain"].evaluator(), "nsga2", {"score": "maximize"})


def test_nsga2_constraints_shape_the_front_and_the_best() -> None:
    p = suite.PROBLEMS["chain"]
    # The unconstrained optimum (kernel 3, width 32, depth 3) costs 12: the constraint excludes it.
    strategy = make_strategy("nsga2", {"population": 16, "constraints": ["cost <= 8"]})
    study = Study(p.space(), p.evaluator(), strategy, {"score": "maximize", "cost": "minimize"}, seed=0).run(trials=50)
    assert study.pareto_front and all(t.metrics["cost"] <= 8 for t in study.pareto_front)
    feasible_best = max(p.score(a)["score"] for a in p.classes().values() if p.score(a)["cost"] <= 8)
    assert study.best.metrics["cost"] <= 8 and study.best.metrics["score"] == feasible_best < 0


def test_nsga2_front_beats_random_on_hypervolume() -> None:
    def hypervolume(trials: list[Trial]) -> float:
        pts = sorted((t.metrics["score"], -t.metrics["cost"]) for t in trials)  # both larger-is-better
        ref = (-20.0, -60.0)
        area, last_y = 0.0, ref[1]
        for x, y in sorted(pts, key=lambda p: -p[0]):
            if y > last_y:
                area += (x - ref[0]) * (y - last_y)
                last_y = y
        return area

    ours = [hypervolume(suite.run_study("nsga2", {"population": 10}, "chain", seed=s, trials=30).pareto_front)
            for s in range(5)]  # fmt: skip
    rand = []
    for s in range(5):
        p = suite.PROBLEMS["chain"]
        study = Study(p.space(), p.evaluator(), "random", {"score": "maximize", "cost": "minimize"}, seed=s)
        rand.append(hypervolume(study.run(trials=30).pareto_front))
    assert np.mean(ours) > np.mean(rand)


@pytest.mark.parametrize("objectives", [{"score": "maximize"}, {"score": "maximize", "size": "minimize"}])
def test_bayesian_resume_fits_no_model_for_the_replayed_asks_and_continues_as_one_run(
    objectives: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = SearchSpace({f"d{i}": Choice([1, 2, 3, 4]) for i in range(4)} | {"w": IntRange(1, 9)})

    def score(arch: Arch) -> dict[str, float]:
        s = sum(float(arch[f"d{i}"]) * (i + 1) for i in range(4)) - (float(arch["w"]) - 6.0) ** 2
        return {"score": s, "size": float(arch["w"]) + float(arch["d0"])}

    def study(path: Path) -> Study:
        strategy = make_strategy("bayesian", {"initial": 4, "patience": 3, "max_points": 30})
        return Study(space, Function(score), strategy, objectives, storage=SQLiteStorage(path), seed=3, progress=False)

    folder = tmp_path
    whole = [t.arch for t in study(folder / "whole.db").run(trials=60).trials]
    fits: list[int] = []
    real_fit = GaussianProcess.fit

    def counting_fit(self: GaussianProcess, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        fits.append(len(x))
        return real_fit(self, x, y)

    for n in (25, 26, 60):  # the hyperparameter refits at 10, 12, 15, 18, 22, 27, 30 results fall in replays
        resumed = study(folder / "parts.db")
        monkeypatch.setattr(GaussianProcess, "fit", counting_fit)
        resumed._rebuild()  # what a resume does before its first new ask
        monkeypatch.setattr(GaussianProcess, "fit", real_fit)
        assert fits == [] and resumed.replay_mismatches == 0
        resumed.run(trials=n)
        assert resumed.replay_mismatches == 0
    assert [t.arch for t in resumed.trials] == whole
