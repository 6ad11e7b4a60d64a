"""Transfer across studies: seeds from earlier runs, stored with the run, refused over another
space, and a source that hurts dropped."""

from __future__ import annotations

import csv
import itertools
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import nasforge
from nasforge import Objectives
from nasforge.cli import main
from nasforge.space import Choice, SearchSpace
from nasforge.strategies import GaussianProcess, History, Transfer, TransferSource, make_strategy

SPACE = {"decisions": {"kernel": {"choice": [1, 3, 5, 7]}, "width": {"choice": [8, 16, 32, 64]}, "depth": {"int": [1, 5]}}}


def _acc(kernel: int, width: int, depth: int, shift: int) -> float:
    widths = {8: 0, 16: 1, 32: 2, 64: 3}
    return 90.0 - (kernel - 3 - shift) ** 2 - (widths[width] - 2) ** 2 - (depth - 3) ** 2


def _table(path: Path, shift: int = 0) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "acc"])
        for k, wd, d in itertools.product([1, 3, 5, 7], [8, 16, 32, 64], range(1, 6)):
            w.writerow([f"{k}-{wd}-{d}", _acc(k, wd, d, shift)])
    return path


def _run(tmp_path: Path, name: str, table: str, strategy: Any, *, space: Any = None, trials: int = 20) -> tuple[int, Path]:
    cfg = {
        "name": name, "seed": 3, "space": space or SPACE,
        "evaluator": {"table": table, "key": "{kernel}-{width}-{depth}", "metric": "acc"},
        "strategy": strategy, "objectives": {"acc": "maximize"}, "budget": {"trials": trials},
    }  # fmt: skip
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    run = tmp_path / name
    return main(["search", str(tmp_path / f"{name}.yaml"), "--run-dir", str(run)]), run


def test_transfer_from_yaml_seeds_the_sources_best_and_resume_replays_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(tmp_path / "source.csv", shift=0)
    _table(tmp_path / "target.csv", shift=0)
    rc, source = _run(tmp_path, "source", "source.csv", "grid", trials=80)
    assert rc == 0
    rc, target = _run(tmp_path, "target", "target.csv", {"name": "evolution", "transfer": ["source"]}, trials=12)
    assert rc == 0
    data = nasforge.RunDir(target).results()
    first = data.trials[0]
    assert first.arch.to_dict() == {"kernel": 3, "width": 32, "depth": 3}  # the source's best, asked first
    assert data.best.metrics["acc"] == 90.0
    stored = data.config()["strategy"]["transfer"]["sources"][0]
    assert stored["name"] == "source" and stored["archs"][0] == {"kernel": 3, "width": 32, "depth": 3}
    assert len(stored["archs"]) == 80 and stored["values"][0] == 90.0  # every result (up to SOURCE_TOP): the prior fits them
    shutil.rmtree(source)  # the prior is stored with the run: resume needs no source directory
    capsys.readouterr()
    assert main(["resume", str(target)]) == 0
    _, study = nasforge.run.load_study(target)
    study.run(trials=0)
    assert study.replay_mismatches == 0
    assert [t.arch for t in study.trials] == [t.arch for t in data.trials]


def test_a_source_over_another_space_is_refused_naming_the_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(tmp_path / "t.csv")
    other = {"decisions": {**SPACE["decisions"], "kernel": {"choice": [1, 3, 5]}}}
    assert _run(tmp_path, "small", "t.csv", "random", space=other, trials=5)[0] == 0
    capsys.readouterr()
    rc, target = _run(tmp_path, "target", "t.csv", {"name": "random", "transfer": ["small"]})
    err = capsys.readouterr().err
    assert rc == 2 and not (target / "study.db").exists()
    assert "strategy.transfer[0]" in err and "source 'small' searched another space: decision 'kernel'" in err
    assert "{'choice': [1, 3, 5]} in the source but {'choice': [1, 3, 5, 7]} in the target" in err
    rc, _ = _run(tmp_path, "nowhere", "t.csv", {"name": "random", "transfer": ["missing-run"]})
    assert rc == 2 and "holds no study" in capsys.readouterr().err


def test_a_source_that_hurts_is_dropped() -> None:
    space = SearchSpace({"x": Choice(list(range(400)))})
    objectives = Objectives.parse({"y": "maximize"})
    # The source believes small x is best; on the target, larger x is better: negative transfer.
    bad = TransferSource("misleading", space.to_config(), "y", "maximize", [{"x": k} for k in range(10)])
    good = TransferSource("helpful", space.to_config(), "y", "maximize", [{"x": 399 - k} for k in range(10)])
    strategy = Transfer(make_strategy("random"), [bad, good], top=10, patience=3)
    study = nasforge.search(space, nasforge.Function(lambda a: {"y": float(a["x"])}), strategy=strategy,
                            objectives=objectives, trials=20, seed=0, progress=False)  # fmt: skip
    assert set(strategy.dropped) == {"misleading"} and "below the median" in strategy.dropped["misleading"]
    asked = [t.arch["x"] for t in study.trials]
    # three seeds of each source, interleaved; three of the target's own (random) trials to judge them
    # against; then only the helpful source's seeds: the misleading one averaged 1, far below
    assert asked[:6] == [0, 399, 1, 398, 2, 397]
    assert not set(asked[6:9]) & (set(range(10)) | set(range(390, 400)))  # the random search's own
    assert asked[9:16] == [396, 395, 394, 393, 392, 391, 390]
    assert not set(asked) & set(range(3, 10))  # the misleading source's other seeds never ran


def test_transfer_in_python_round_trips_through_its_config() -> None:
    space = SearchSpace({"x": Choice(list(range(10)))})
    src = TransferSource("earlier", space.to_config(), "y", "maximize", [{"x": 9}, {"x": 8}], [1.0, 0.9])
    strategy = Transfer(make_strategy("evolution", {"population": 4, "sample_size": 2}), [src], top=2)
    config = strategy.to_config()
    again = make_strategy(config.pop("name"), config)
    assert isinstance(again, Transfer) and again.to_config() == strategy.to_config()
    again.start(space, Objectives.parse("y"), np.random.default_rng(0), History(space, Objectives.parse("y")))
    assert again.ask().arch["x"] == 9
    with pytest.raises(nasforge.ConfigError, match="must be read first"):
        make_strategy("random", {"transfer": ["runs/a"]})


def _grid_source(name: str, score: Any) -> TransferSource:
    """A source that measured the whole 2-D toy grid (values best first), scored by ``score``."""
    space = SearchSpace({"a": Choice(list(range(12))), "b": Choice(list(range(12)))})
    archs = sorted(({"a": a, "b": b} for a in range(12) for b in range(12)), key=lambda x: -score(x))
    return TransferSource(name, space.to_config(), "y", "maximize", archs, [float(score(x)) for x in archs])


def test_a_model_based_strategy_gets_the_sources_as_a_prior_that_ranks_the_target() -> None:
    space = SearchSpace({"a": Choice(list(range(12))), "b": Choice(list(range(12)))})
    # The source peaks at (3, 8) on another scale; the target at the same place (ranks agree).
    src = _grid_source("same order", lambda x: 1000 - (x["a"] - 3) ** 2 - (x["b"] - 8) ** 2)
    target = nasforge.Function(lambda x: {"y": -abs(x["a"] - 3) - abs(x["b"] - 8)})
    strategy = Transfer(make_strategy("bayesian"), [src], top=1, patience=3)
    assert strategy.uses_prior and not Transfer(make_strategy("random"), [src]).uses_prior
    study = nasforge.search(space, target, strategy=strategy, objectives={"y": "maximize"}, trials=8, seed=0,
                            progress=False)  # fmt: skip
    assert strategy.weights["same order"] > 0.5 and not strategy.dropped
    # Without seeds past the first (top=1) the prior's asks still stay near the shared optimum.
    later = [t.metrics["y"] for t in study.trials[4:]]
    assert np.median(later) >= -3


def test_a_source_whose_model_ranks_the_target_badly_is_dropped_from_the_prior() -> None:
    space = SearchSpace({"a": Choice(list(range(12))), "b": Choice(list(range(12)))})
    src = _grid_source("reversed", lambda x: abs(x["a"] - 3) + abs(x["b"] - 8))  # believes the optimum is the worst
    strategy = Transfer(make_strategy("bayesian"), [src], top=1, patience=3)
    nasforge.search(space, nasforge.Function(lambda x: {"y": -abs(x["a"] - 3) - abs(x["b"] - 8)}), strategy=strategy,
                    objectives={"y": "maximize"}, trials=10, seed=0, progress=False)  # fmt: skip
    assert "Kendall's tau" in strategy.dropped["reversed"]


def test_the_prior_option_round_trips_and_a_bad_value_is_refused() -> None:
    src = _grid_source("s", lambda x: x["a"])
    strategy = make_strategy("random", {"transfer": {"sources": [src.to_config()], "prior": True}})
    assert isinstance(strategy, Transfer) and strategy.uses_prior and strategy.to_config()["transfer"]["prior"] is True
    with pytest.raises(nasforge.ConfigError, match="strategy.transfer.prior"):
        make_strategy("random", {"transfer": {"sources": [src.to_config()], "prior": "yes"}})


def test_resume_replays_the_prior_of_a_model_based_strategy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _table(tmp_path / "source.csv", shift=0)
    _table(tmp_path / "target.csv", shift=1)  # the optimum moved by one kernel step: the prior is corrected
    assert _run(tmp_path, "source", "source.csv", "grid", trials=80)[0] == 0
    rc, target = _run(tmp_path, "target", "target.csv", {"name": "bayesian", "initial": 4, "transfer": ["source"]},
                      trials=24)  # fmt: skip
    assert rc == 0
    data = nasforge.RunDir(target).results()
    assert data.best.metrics["acc"] == 89.0  # the target's best (kernel 3 or 5: 4 is not offered)
    shutil.rmtree(tmp_path / "source")
    capsys.readouterr()
    assert main(["resume", str(target)]) == 0
    _, study = nasforge.run.load_study(target)
    fits: list[int] = []
    real_fit = GaussianProcess.fit

    def counting_fit(self: GaussianProcess, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        fits.append(len(x))
        return real_fit(self, x, y)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(GaussianProcess, "fit", counting_fit)
        study.run(trials=0)
    assert study.replay_mismatches == 0 and [t.arch for t in study.trials] == [t.arch for t in data.trials]
    assert len(fits) == 1  # the source's model only: no replayed ask refits the target's


def test_python_search_takes_a_strategy_config_whose_transfer_names_run_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _table(tmp_path / "t.csv")
    assert _run(tmp_path, "source", "t.csv", "grid", trials=80)[0] == 0
    monkeypatch.chdir(tmp_path)  # run directories are read relative to the working directory
    space = nasforge.space.from_config(SPACE)
    table = nasforge.evaluators.Table.from_file("t.csv", key="{kernel}-{width}-{depth}", metric="acc")
    strategy = {"name": "evolution", "transfer": ["source"]}
    study = nasforge.search(space, table, strategy=strategy, objectives={"acc": "maximize"}, trials=5,
                            run_dir="target", progress=False)  # fmt: skip
    assert study.trials[0].arch.to_dict() == {"kernel": 3, "width": 32, "depth": 3}  # the source's best first
    stored = nasforge.RunDir("target").results().config()["strategy"]
    assert stored["name"] == "evolution" and stored["transfer"]["sources"][0]["name"] == "source"
    with pytest.raises(nasforge.ConfigError, match=r"^strategy\.name: "):
        nasforge.Study(space, table, {"population": 8}, {"acc": "maximize"})
    with pytest.raises(nasforge.ConfigError, match=r"^strategy: must be a Strategy, a registered name or a mapping"):
        nasforge.Study(space, table, 3, {"acc": "maximize"})  # type: ignore[arg-type]
