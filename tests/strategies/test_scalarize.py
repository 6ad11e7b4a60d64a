"""Weighted scalarization (``strategy.scalarize``): a single-objective strategy searches the
weighted sum of several objectives, explicitly, stored with the run, refused where meaningless."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nasforge import ConfigError, Objectives, RunDir, SQLiteStorage, Study, Trial, TrialState
from nasforge.evaluators import Function
from nasforge.space import Arch, IntRange, SearchSpace
from nasforge.strategies import Scalarize, WeightedSum, make_strategy
from nasforge.testing import strategies as suite

SPACE = SearchSpace({"x": IntRange(0, 199), "y": IntRange(0, 9)})
TWO = {"acc": "maximize", "cost": "minimize"}
WEIGHTS = {"acc": 1.0, "cost": 2.5}


def _two(arch: Arch) -> dict[str, float]:
    x, y = int(arch["x"]), int(arch["y"])
    return {"acc": x / 10 - 0.3 * abs(y - 6), "cost": (x / 40) ** 2}


def _weighted(arch: Arch) -> dict[str, float]:
    m = _two(arch)
    return {"s": m["acc"] - 2.5 * m["cost"]}


@pytest.mark.parametrize("name", ["evolution", "local-search", "bayesian", "hill-climbing"])
def test_a_scalarized_search_is_the_search_of_the_weighted_sum(name: str) -> None:
    """Same seed: the strategy asks exactly what it asks when one metric holds the weighted sum."""
    options = {"bayesian": {"initial": 4}}.get(name, {})
    weighted = Study(SPACE, Function(_two), make_strategy(name, {**options, "scalarize": {"weights": WEIGHTS}}), TWO,
                     seed=3, progress=False)  # fmt: skip
    single = Study(SPACE, Function(_weighted), make_strategy(name, options), {"s": "maximize"}, seed=3, progress=False)
    weighted.run(trials=25)
    single.run(trials=25)
    assert [t.arch for t in weighted.trials] == [t.arch for t in single.trials]


def test_the_weights_decide_where_the_search_goes() -> None:
    """acc - w * cost = x/10 - 0.3|y - 6| - w (x/40)**2 peaks at x = 80 / w, y = 6; local search gets there."""
    for w, x_best in ((1.0, 80), (4.0, 20)):
        strategy = make_strategy("local-search", {"scalarize": {"weights": {"acc": 1, "cost": w}}})
        study = Study(SPACE, Function(_two), strategy, TWO, seed=0, progress=False)
        study.run(trials=60)
        score = WeightedSum(study.objectives, {"acc": 1, "cost": w}).score
        best = max(study.trials, key=score)
        assert (int(best.arch["x"]), int(best.arch["y"])) == (x_best, 6)
        assert best in study.pareto_front  # the study's own judgement: the weighted optimum is on the front


def test_the_weighted_sum_and_its_label() -> None:
    obj = Objectives.parse({"loss": "minimize", "acc": "maximize"}, constraints=["cost <= 3"])
    ws = WeightedSum(obj, {"loss": 2, "acc": 0.5})
    assert ws.names == ["-2*loss + 0.5*acc"] and ws.constraints == obj.constraints
    done = Trial(0, Arch({}), state=TrialState.COMPLETE, metrics={"loss": 1.5, "acc": 0.8})
    assert ws.score(done) == pytest.approx(-2.6) and ws.vector(done) == [ws.score(done)]
    assert ws.score(Trial(1, Arch({}), state=TrialState.COMPLETE, metrics={"loss": 1.0})) == -math.inf
    assert ws.score(Trial(2, Arch({}), state=TrialState.COMPLETE, metrics={"loss": math.nan, "acc": 1})) == -math.inf
    assert ws.score(Trial(3, Arch({}), state=TrialState.FAILED, metrics={"loss": 1.0, "acc": 1})) == -math.inf


def test_scalarize_round_trips_through_its_config_also_behind_a_warm_start() -> None:
    s = make_strategy("evolution", {"population": 8, "scalarize": {"weights": {"acc": 1, "cost": 0.1}}})
    assert isinstance(s, Scalarize)
    cfg = s.to_config()
    assert cfg == {
        "name": "evolution",
        "population": 8,
        "sample_size": 5,
        "scalarize": {"weights": {"acc": 1.0, "cost": 0.1}},
    }
    again = make_strategy(cfg.pop("name"), cfg)
    assert again.to_config() == s.to_config()
    warm = make_strategy(
        "evolution", {"warm_start": {"samples": 12, "top": 3}, "scalarize": {"weights": {"acc": 1, "cost": 0.1}}},
        rank=suite.rank_by_id,
    )  # fmt: skip
    cfg = warm.to_config()
    assert cfg["warm_start"] == {"samples": 12, "top": 3} and cfg["scalarize"] == {"weights": {"acc": 1.0, "cost": 0.1}}
    assert make_strategy(cfg.pop("name"), cfg, rank=suite.rank_by_id).to_config() == warm.to_config()


@pytest.mark.parametrize(
    ("options", "objectives", "message"),
    [
        ({"scalarize": {"weights": WEIGHTS}}, {"acc": "maximize"},
         "strategy.scalarize: weighs several objectives but the study has one ('acc'): drop `scalarize`"),
        ({"scalarize": {"weights": {"acc": 1.0, "size": 1.0}}}, TWO,
         "strategy.scalarize.weights: has no weight for objective(s) ['cost']; give every one of ['acc', 'cost']"),
        ({"scalarize": {"weights": {"acc": 1.0, "cost": 1.0, "size": 1.0}}}, TWO,
         "strategy.scalarize.weights: names ['size'], which are not objectives; the objectives: ['acc', 'cost']"),
    ],
)  # fmt: skip
def test_scalarize_is_refused_where_it_does_not_fit_the_objectives(
    options: dict[str, object], objectives: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Study(SPACE, Function(_two), make_strategy("evolution", options), objectives, progress=False)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"acc": 1, "cost": 1}, "strategy.scalarize: must be {weights: {metric: weight, ...}}"),
        ({"weights": {"acc": 1, "cost": 0}}, "strategy.scalarize.weights.cost: must be a number above 0, got 0"),
        ({"weights": {"acc": 1, "cost": -1.0}}, "strategy.scalarize.weights.cost: must be a number above 0"),
        ({"weights": {"acc": 1, "cost": "high"}}, "strategy.scalarize.weights.cost: must be a number above 0"),
        ({"weights": {"acc": 1, "cost": math.inf}}, "strategy.scalarize.weights.cost: must be a number above 0"),
        ({"weights": {"acc": 2}}, "strategy.scalarize.weights: weighs one objective ('acc'), which is that objective"),
        ({"weights": {}}, "strategy.scalarize.weights: must map each objective to a weight"),
    ],
)
def test_bad_weights_are_refused_when_the_strategy_is_built(spec: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_strategy("evolution", {"scalarize": spec})
    assert str(info.value).startswith(message)


def test_a_multi_objective_strategy_and_a_transfer_refuse_scalarize() -> None:
    with pytest.raises(ConfigError) as info:
        Study(SPACE, Function(_two), make_strategy("nsga2", {"scalarize": {"weights": WEIGHTS}}), TWO, progress=False)
    assert str(info.value) == (
        "strategy.scalarize: `nsga2` is multi-objective and searches the front itself; drop `scalarize` or use a "
        "single-objective strategy"
    )
    with pytest.raises(ConfigError, match=r"^strategy.scalarize: cannot be combined with `transfer`"):
        make_strategy("evolution", {"scalarize": {"weights": WEIGHTS}, "transfer": {"sources": []}})


def test_without_scalarize_a_single_objective_strategy_still_refuses_two_objectives() -> None:
    with pytest.raises(ConfigError, match=r"weigh them into one with `scalarize: \{weights: \{\.\.\.\}\}`"):
        Study(SPACE, Function(_two), make_strategy("evolution"), TWO, progress=False)


def test_a_config_with_scalarize_searches_stores_it_and_resumes_with_the_same_trials(
    tmp_path: Path, table_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nasforge.cli import main
    from nasforge.config import RunConfig
    from nasforge.run import create_study

    data = {
        "name": "toy", "seed": 1,
        "space": {"decisions": {"kernel": {"choice": [1, 3, 5, 7]}, "width": {"choice": [8, 16, 32, 64]},
                                "depth": {"int": [1, 5]}}},
        "evaluator": {"table": table_csv.name, "key": "{kernel}-{width}-{depth}", "metric": ["acc", "seconds"]},
        "strategy": {"name": "local-search", "scalarize": {"weights": {"acc": 1, "seconds": 0.05}}},
        "objectives": {"acc": "maximize", "seconds": "minimize"},
        "budget": {"trials": 12},
    }  # fmt: skip
    whole, part = tmp_path / "whole", tmp_path / "part"
    study = create_study(RunConfig.parse(data, tmp_path), whole)
    study.run(trials=12)
    study.storage.close()  # type: ignore[attr-defined]
    study = create_study(RunConfig.parse(data, tmp_path), part)
    study.run(trials=5)  # stopped before the config's budget of 12
    study.storage.close()  # type: ignore[attr-defined]
    assert main(["resume", str(part)]) == 0  # the strategy rebuilt from the stored config, its 5 trials replayed
    capsys.readouterr()
    stored = RunDir(part).config()
    assert stored.make_strategy().to_config()["scalarize"] == {"weights": {"acc": 1.0, "seconds": 0.05}}
    assert [t.arch for t in SQLiteStorage(part / "study.db").trials()] == [
        t.arch for t in SQLiteStorage(whole / "study.db").trials()
    ]
