"""Warm start: the top-ranked architectures first, then the inner strategy; no duplicates; the
same trials after a resume; the config option and its bad-input errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from nasforge import ConfigError, Objectives, SQLiteStorage, Study, Trial, TrialState
from nasforge.cli import main
from nasforge.config import RunConfig
from nasforge.evaluators import Function
from nasforge.space import Arch, Choice, IntRange, SearchSpace
from nasforge.strategies import GridSearch, History, Strategy, WarmStart, make_strategy
from nasforge.testing.strategies import Driver

SPACE = SearchSpace({"a": IntRange(0, 9), "b": Choice(["x", "y", "z"])})  # 30 architectures
OBJ = Objectives.parse({"score": "maximize"})


def proxy_score(arch: Arch) -> float:
    """A cheap stand-in for a zero-cost proxy: larger ``a`` ranks higher."""
    return float(arch["a"]) + {"x": 0.0, "y": 0.1, "z": 0.2}.get(str(arch["b"]), 0.0)


class CountingRanker:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, archs: Sequence[Arch]) -> list[float]:
        self.calls += 1
        return [proxy_score(a) for a in archs]


def true_score(arch: Arch) -> dict[str, float]:
    return {"score": -((int(arch["a"]) - 4) ** 2) + (arch["b"] == "y")}


def warm(inner: str | Strategy = "random", *, samples: int = 30, top: int = 4, rank: Any = None) -> WarmStart:
    strategy = make_strategy(inner) if isinstance(inner, str) else inner
    return WarmStart(strategy, rank or CountingRanker(), samples=samples, top=top)


def keys(trials: Sequence[Any]) -> list[str]:
    return [SPACE.canonical(t.arch) for t in trials]


def started(s: Strategy, space: SearchSpace = SPACE, seed: int = 0) -> None:
    s.start(space, OBJ, np.random.default_rng(seed), History(space, OBJ))


def test_asks_the_top_ranked_first_then_defers_to_the_inner_strategy() -> None:
    s = Driver(warm(GridSearch(), top=4), SPACE, OBJ)
    asked = [s.ask() for _ in range(30)]
    assert all(c is not None for c in asked) and s.ask() is None
    first = [(c.arch["a"], c.arch["b"]) for c in asked[:4] if c is not None]
    assert first == [(9, "z"), (9, "y"), (9, "x"), (8, "z")]  # best proxy first, in rank order
    rest = [c.arch for c in asked[4:] if c is not None]
    grid = [a for a in SPACE.enumerate() if (a["a"], a["b"]) not in first]
    assert rest == grid  # then the grid, in its own order, without the warm-start ones


def test_results_reach_the_inner_strategy_which_never_proposes_them_again() -> None:
    strategy = warm("hill-climbing", top=5)
    heard: list[Trial] = []
    tell = strategy.inner.tell
    strategy.inner.tell = lambda trial: (heard.append(trial), tell(trial))  # type: ignore[method-assign]
    study = Study(SPACE, Function(true_score), strategy, OBJ, seed=1)
    study.run()
    trials = study.trials
    assert len(trials) == 30 and len(set(keys(trials))) == 30  # exhausted, no duplicate
    assert len(heard) == 30 and {t.number for t in heard} == set(range(30))
    assert study.best is not None and study.best.arch["a"] == 4


@pytest.mark.parametrize("inner", ["random", "hill-climbing", "evolution", "local-search", "bayesian"])
def test_resume_gives_the_same_trials_as_an_uninterrupted_run(inner: str, tmp_path: Path) -> None:
    from nasforge.strategies import STRATEGIES

    if inner not in STRATEGIES:
        pytest.skip(f"strategy {inner!r} is not registered")
    options = {"population": 4, "sample_size": 2} if inner == "evolution" else {}
    options = {"initial": 3} if inner in ("local-search", "bayesian") else options

    def study(storage: SQLiteStorage | None = None) -> Study:
        return Study(SPACE, Function(true_score), warm(make_strategy(inner, options), top=3, samples=12), OBJ,
                     storage=storage, seed=7)  # fmt: skip

    whole = study().run(trials=14).trials
    db = tmp_path / "study.db"
    study(SQLiteStorage(db)).run(trials=5)  # stops inside the warm start's 3 + 2 of the inner
    resumed = study(SQLiteStorage(db))
    resumed.run(trials=14)
    assert resumed.replay_mismatches == 0
    assert keys(resumed.trials) == keys(whole) and len(set(keys(whole))) == 14


def test_sampling_and_ranking_are_deterministic_and_kept_for_later_runs() -> None:
    big = SearchSpace({"a": IntRange(0, 999), "b": IntRange(0, 999)})
    ranker = CountingRanker()
    s = warm(rank=ranker, samples=50, top=5)
    started(s, big, 3)
    first = list(s.ranked)
    assert len(first) == 5 and [a["a"] for a in first] == sorted((a["a"] for a in first), reverse=True)
    started(s, big, 3)  # a second run of the same study object
    assert s.ranked == first and ranker.calls == 1
    other = warm(rank=CountingRanker(), samples=50, top=5)
    started(other, big, 3)
    assert other.ranked == first  # a fresh object (a resumed process) ranks the same sample
    started(other, big, 4)
    assert other.ranked != first


def test_unusable_scores_rank_last_and_a_short_ranking_is_refused() -> None:
    def rank(archs: Sequence[Arch]) -> list[float]:
        return [math.nan if a["a"] == 9 else -math.inf if a["a"] == 8 else float(a["a"]) for a in archs]

    s = warm(rank=rank, top=30)
    started(s)
    assert [a["a"] for a in s.ranked[:3]] == [7, 7, 7] and {a["a"] for a in s.ranked[-6:]} == {8, 9}
    bad = warm(rank=lambda archs: [1.0])
    with pytest.raises(ValueError, match="1 scores for 30 architectures"):
        started(bad)


def test_the_warm_start_results_are_the_inner_strategys_initial_design() -> None:
    """Strategies count their initial design by results told, so the warm start's top
    architectures are evolution's first population: its next ask is already a mutation."""
    inner = make_strategy("evolution", {"population": 4, "sample_size": 2})
    s = Driver(warm(inner, top=4), SPACE, OBJ)
    for number in range(4):
        cand = s.ask()
        assert cand is not None and cand.arch == s.strategy.ranked[number]  # type: ignore[attr-defined, union-attr]
        s.tell(Trial(number, cand.arch, None, TrialState.COMPLETE, true_score(cand.arch), tell_seq=number))
    members = [a for a, _ in inner.members]  # type: ignore[attr-defined]
    assert members == s.strategy.ranked  # type: ignore[attr-defined]
    child = s.ask().arch  # type: ignore[union-attr]
    assert child not in members and min(sum(child[k] != m[k] for k in child) for m in members) <= 3


def test_a_bayesian_inner_strategy_models_the_warm_start_results_at_once() -> None:
    inner = make_strategy("bayesian", {"initial": 3})
    s = Driver(warm(inner, top=3), SPACE, OBJ)
    for number in range(3):
        arch = s.ask().arch  # type: ignore[union-attr]
        s.tell(Trial(number, arch, None, TrialState.COMPLETE, true_score(arch), tell_seq=number))
    best = max(s.strategy.ranked, key=lambda a: true_score(a)["score"])  # type: ignore[attr-defined]
    nxt = s.ask().arch  # type: ignore[union-attr]
    # the first model-driven ask climbs from the best warm result: one decision changed
    assert sum(nxt[k] != best[k] for k in best) == 1


def test_the_warm_start_round_trips_through_its_config() -> None:
    s = warm("evolution", samples=20, top=5)
    cfg = s.to_config()
    assert cfg == {"name": "evolution", "population": 20, "sample_size": 5, "warm_start": {"samples": 20, "top": 5}}
    options = {k: v for k, v in cfg.items() if k != "name"}
    rebuilt = make_strategy("evolution", options, rank=s.rank)
    assert isinstance(rebuilt, WarmStart) and rebuilt.to_config() == cfg and rebuilt.rank is s.rank
    with pytest.raises(ConfigError, match=r"^strategy.warm_start: needs a ranking of architectures"):
        make_strategy("evolution", options)


def test_bad_counts_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"strategy.warm_start.top: is 11 but only 10 architectures are sampled"):
        warm(samples=10, top=11)
    with pytest.raises(ConfigError, match="strategy.warm_start.samples: must be a positive integer"):
        warm(samples=0, top=1)
    with pytest.raises(ConfigError, match="a warm start cannot wrap another one"):
        WarmStart(warm(), CountingRanker())


# -- the config option --------------------------------------------------------------------------


def table_config(tmp_path: Path, warm_start: Any, **more: Any) -> dict[str, Any]:
    """The seed-cnn space over a synthetic results table (no training) with a warm start."""
    rows = ["key,acc"] + [f"{k}-{c}-{u},{0.5 + k / 10 + c / 1000 + u / 10000}"
                          for k in (1, 3, 5) for c in (16, 32, 64) for u in (64, 128, 256)]  # fmt: skip
    (tmp_path / "acc.csv").write_text("\n".join(rows) + "\n")
    return {
        "name": "warm", "seed": 2, "space": "seed-cnn",
        "evaluator": {"table": "acc.csv", "key": "{kernel}-{channels}-{units}", "metric": "acc"},
        "strategy": {"name": "random", "warm_start": warm_start}, "budget": {"trials": 6}, **more,
    }  # fmt: skip


def test_config_ranks_with_the_proxy_on_the_given_data_and_resumes_alike(tmp_path: Path) -> None:
    from nasforge.evaluators import ZeroCost

    spec = {"proxy": "synflow", "samples": 27, "top": 3, "dataset": "digits"}
    from nasforge.run import create_study

    run = tmp_path / "run"
    study = create_study(RunConfig.parse(table_config(tmp_path, spec), tmp_path), run)
    study.run(trials=4)  # stopped before the config's budget of 6
    study.storage.close()  # type: ignore[attr-defined]
    zc = ZeroCost("digits", space="seed-cnn", proxy="synflow", threads=None)
    from nasforge.space import builtin

    space = builtin("seed-cnn")
    archs = list(space.with_constraints(zc.constraints(space)).enumerate())  # what the study searches
    scores = zc.rank(archs)
    expected = [archs[i] for i in sorted(range(27), key=lambda i: -scores[i])[:3]]
    trials = SQLiteStorage(run / "study.db").trials()
    assert [t.arch for t in trials[:3]] == expected
    assert main(["resume", str(run)]) == 0  # to the config's 6 trials, the ranking recomputed
    assert [t.arch for t in SQLiteStorage(run / "study.db").trials()[:4]] == [t.arch for t in trials]
    assert len({t.arch.id for t in SQLiteStorage(run / "study.db").trials()}) == 6


def test_config_takes_the_data_model_and_seed_of_a_training_evaluator(tmp_path: Path) -> None:
    cfg = RunConfig.parse({"space": "seed-cnn", "seed": 1,
                           "evaluator": {"dataset": "digits", "epochs": 1, "seed": 5, "threads": 1},
                           "strategy": {"name": "random", "warm_start": {"proxy": "naswot", "samples": 10, "top": 2}}},
                          tmp_path)  # fmt: skip
    ranker = cfg.warm_start.ranker
    assert ranker.data is cfg.evaluator.data and ranker.seed == 5 and ranker.threads == 1
    strategy = cfg.make_strategy()
    assert isinstance(strategy, WarmStart) and (strategy.samples, strategy.top) == (10, 2)
    assert type(strategy.inner).__name__ == "RandomSearch"


@pytest.mark.parametrize(
    "warm_start, message",
    [
        ({"proxy": "synflw", "dataset": "digits"}, "strategy.warm_start.proxy: unknown proxy 'synflw'; choose one of"),
        ({"proxy": "synflow", "samples": 5, "top": 6, "dataset": "digits"}, "strategy.warm_start.top: is 6 but only 5"),
        ({"proxy": "synflow", "samples": "many"}, "strategy.warm_start.samples: must be a positive integer"),
        ({"proxy": "synflow", "rounds": 2}, "strategy.warm_start.rounds: unknown key"),
        ({"samples": 10}, "strategy.warm_start.proxy: is required"),
        ({"proxy": ["snip", "synflow"]}, "strategy.warm_start.proxy: must be one proxy name"),
        ({"proxy": "snip"}, "strategy.warm_start.dataset: is required when the evaluator does not train"),
        ("synflow", "strategy.warm_start: must be a mapping"),
    ],
)
def test_bad_warm_start_is_one_line_and_exit_2(
    tmp_path: Path, warm_start: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(table_config(tmp_path, warm_start)))
    assert main(["search", str(path), "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    with pytest.raises(ConfigError):
        RunConfig.parse(yaml.safe_load(path.read_text()), tmp_path)


def test_data_free_warm_start_for_a_table_ranks_like_the_data_set_would(tmp_path: Path) -> None:
    def ranking(spec: dict[str, Any]) -> list[Arch]:
        cfg = RunConfig.parse(table_config(tmp_path, {"proxy": "synflow", "samples": 27, "top": 5, **spec}), tmp_path)
        strategy = cfg.make_strategy()
        strategy.start(cfg.space, cfg.objectives, np.random.default_rng(0), History(cfg.space, cfg.objectives))
        return list(strategy.ranked)

    # synflow reads only the input shape: the same networks rank alike with or without the data
    assert ranking({"input_shape": [1, 8, 8], "classes": 10}) == ranking({"dataset": "digits"})
    with pytest.raises(ConfigError, match="strategy.warm_start.dataset: is required: proxy 'snip' scores"):
        RunConfig.parse(table_config(tmp_path, {"proxy": "snip", "input_shape": [1, 8, 8], "classes": 10}), tmp_path)
    with pytest.raises(ConfigError, match="strategy.warm_start.input_shape: must be a list of positive integers"):
        RunConfig.parse(table_config(tmp_path, {"proxy": "synflow", "input_shape": "8x8", "classes": 10}), tmp_path)
