"""The config layer composes the packages' own builders: every component is built once and
the same objects are used; what would be silently ignored is refused before any work; every
evaluator and executor gives back the config that rebuilds it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from conftest import toy_space
from nasforge import ConfigError, FatalError, Study, search
from nasforge._errors import NotStorable
from nasforge.config import RunConfig
from nasforge.evaluators import EVALUATORS, EvaluatorSetup, Function, Table, check_objectives, make_evaluator
from nasforge.executors import InlineExecutor, LocalExecutor, RayExecutor, make_executor
from nasforge.space import Arch, Choice, SearchSpace, builtin


def table_config(table_csv: Path, **more: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t",
        "space": {"decisions": {"kernel": {"choice": [1, 3, 5, 7]}, "width": {"choice": [8, 16, 32, 64]},
                                "depth": {"int": [1, 5]}}},
        "evaluator": {"table": table_csv.name, "key": "{kernel}-{width}-{depth}", "key_column": "key", "metric": "acc"},
        "objectives": {"acc": "maximize"},
        "budget": {"trials": 5},
    }  # fmt: skip
    data.update(more)
    return data


def scored(arch: Arch) -> dict[str, float]:
    """A module-level function: importable by its ``module:qualname``."""
    return {"score": float(arch["kernel"])}


# -- built once -------------------------------------------------------------------------------


def test_parse_builds_every_component_once_and_build_hands_out_the_same_objects(table_csv: Path) -> None:
    cfg = RunConfig.parse(table_config(table_csv, executor={"name": "inline", "workers": 2}), table_csv.parent)
    parts = cfg.build()
    assert parts.evaluator is cfg.evaluator and parts.space is cfg.space and parts.objectives is cfg.objectives
    assert cfg.make_strategy() is parts.strategy  # the strategy validated is the one searched with
    assert cfg.make_executor() is parts.executor and parts.executor.workers == 2  # type: ignore[attr-defined]
    assert cfg.make_strategy() is not parts.strategy  # a second study gets a fresh one


def test_with_overrides_rebuilds_only_what_it_changes(table_csv: Path) -> None:
    cfg = RunConfig.parse(table_config(table_csv), table_csv.parent)
    new = cfg.with_overrides(trials=9, seconds=30, seed=4, workers=3)
    assert (new.trials, new.seconds, new.seed) == (9, 30.0, 4)
    assert new.evaluator is cfg.evaluator and new.raw["budget"] == {"trials": 9, "seconds": 30}
    assert new.executor == {"name": "local", "workers": 3}  # --workers alone turns inline into local
    assert isinstance(new.make_executor(), LocalExecutor)
    assert (cfg.trials, cfg.seed, cfg.executor) == (5, 0, {"name": "inline"})  # the original is unchanged
    assert cfg.with_overrides(executor="inline", workers=2).executor == {"name": "inline", "workers": 2}
    with pytest.raises(ConfigError, match="^executor.workers: must be a positive integer, got 0"):
        cfg.with_overrides(workers=0)
    with pytest.raises(ConfigError, match="^budget.trials: must be a positive integer"):
        cfg.with_overrides(trials=0)


def test_make_evaluator_prefixes_relative_fields_and_builders_live_beside_their_classes(table_csv: Path) -> None:
    assert EVALUATORS["table"] == Table.from_config and EVALUATORS["function"] == Function.from_config
    with pytest.raises(ConfigError, match=r"^evaluator.metric: column 'accuracy' is not in results.csv"):
        make_evaluator({"table": table_csv.name, "key": "{kernel}", "metric": "accuracy"}, toy_space(), table_csv.parent)
    with pytest.raises(ConfigError, match=r"^evaluator.colour: unknown key"):
        make_evaluator({"function": "math:sqrt", "colour": 1}, toy_space())
    with pytest.raises(ConfigError, match=r"^evaluator.dataset: is missing: `epochs` belongs to the `dataset:` evaluator"):
        make_evaluator({"epochs": 3}, toy_space())
    setup = make_evaluator({"table": table_csv.name, "key": "{kernel}-{width}-{depth}", "metric": "acc"},
                           toy_space(), table_csv.parent)  # fmt: skip
    assert isinstance(setup, EvaluatorSetup) and setup.objectives == {"acc": "maximize"}


# -- nothing silently ignored -----------------------------------------------------------------


def test_an_objective_the_evaluator_does_not_produce_is_refused_before_any_work(table_csv: Path) -> None:
    with pytest.raises(ConfigError, match=r"^objectives.accuracy: is not a metric of this evaluator; the evaluator produces \['acc'\]"):
        RunConfig.parse(table_config(table_csv, objectives={"accuracy": "maximize"}), table_csv.parent)
    table = Table.from_file(table_csv, key="{kernel}-{width}-{depth}", key_column="key", metric="acc")
    with pytest.raises(ConfigError, match=r"^objectives.accuracy: is not a metric"):
        Study(toy_space(), table, "random", {"accuracy": "maximize"})  # the Python API refuses it too


def test_constraints_are_the_objectives_and_the_nsga2_option_is_an_alias(table_csv: Path) -> None:
    data = table_config(table_csv, constraints=["seconds <= 100"], objectives={"acc": "maximize", "seconds": "minimize"},
                        strategy={"name": "nsga2", "population": 4, "constraints": ["acc >= 80"]})  # fmt: skip
    data["evaluator"] = {**data["evaluator"], "metric": ["acc", "seconds"]}
    cfg = RunConfig.parse(data, table_csv.parent)
    assert [str(c) for c in cfg.objectives.constraints] == ["seconds <= 100", "acc >= 80"]
    assert cfg.objectives.names == ["acc", "seconds"]
    with pytest.raises(ConfigError, match=r"^strategy.constraints.0: must look like"):
        RunConfig.parse({**data, "strategy": {"name": "nsga2", "constraints": ["acc"]}}, table_csv.parent)


def test_a_constraint_on_a_metric_the_evaluator_does_not_produce_is_refused(table_csv: Path) -> None:
    with pytest.raises(ConfigError, match=r"^constraints\[0\]: `params <= 1e\+06` names 'params', which the evaluator does not produce"):
        RunConfig.parse(table_config(table_csv, constraints=["params <= 1e6"]), table_csv.parent)
    with pytest.raises(ConfigError, match=r"^constraints\[0\]: must look like `params <= 1e6`"):
        RunConfig.parse(table_config(table_csv, constraints=["params is small"]), table_csv.parent)


def test_a_function_without_declared_metrics_stops_at_its_first_result_naming_what_it_returned() -> None:
    space = SearchSpace({"x": Choice([1, 2, 3])})
    with pytest.raises(FatalError, match=r"objectives.acc: .* returned the metrics \['accuracy'\], without 'acc'"):
        search(space, Function(lambda a: {"accuracy": 0.5}), strategy="random", objectives={"acc": "maximize"},
               trials=3, progress=False)  # fmt: skip
    with pytest.raises(ConfigError, match=r"^objectives.acc: is not a metric of this evaluator; the evaluator produces \['accuracy'\]"):
        search(space, Function(lambda a: {"accuracy": 0.5}, metrics=["accuracy"]), objectives={"acc": "maximize"}, trials=3)
    study = search(space, Function(lambda a: {"acc": float(a["x"])}), strategy="grid", objectives={"acc": "maximize"},
                   trials=3, progress=False)  # fmt: skip
    assert study.best is not None and study.best.metrics["acc"] == 3.0


def test_check_objectives_tells_an_undeclared_function_what_to_expect() -> None:
    from nasforge._trial import Objectives

    f = Function(lambda a: {"y": 1.0})
    check_objectives(f, Objectives.parse({"y": "maximize"}, constraints=["z <= 1"]))
    assert f.expected == ("y", "z")


def test_a_decision_nothing_reads_is_refused_naming_it() -> None:
    space = SearchSpace({"kernel": Choice([1, 3]), "channels": Choice([16]), "units": Choice([64]),
                         "warmup": Choice([0, 1])}, name="seed-cnn")  # fmt: skip
    data = {"space": {"name": "seed-cnn", "decisions": {"kernel": {"choice": [1, 3]}, "channels": {"choice": [16]},
                                                      "units": {"choice": [64]}, "scheduler": {"choice": ["cosine", "none"]}}},
            "evaluator": {"dataset": "digits", "epochs": 1, "threads": 1}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"^space.scheduler: no part reads this decision: the seed-cnn model reads"):
        RunConfig.parse(data, ".")
    from nasforge.evaluators import Trainer

    trainer = Trainer("digits", space=space, epochs=1, threads=1, measure_latency=False)
    with pytest.raises(ConfigError, match=r"^space.warmup: no part reads this decision"):
        Study(space, trainer, "random", {"accuracy": "maximize"})
    own = Trainer("digits", space=space, model_fn=lambda arch, shape, n: __import__("torch").nn.Flatten(), threads=1)
    assert own.constraints(space) == []  # a user's own network: nothing is known about what it reads, so all is accepted


# -- round trips --------------------------------------------------------------------------------


def test_evaluators_give_back_the_config_that_rebuilds_them(table_csv: Path) -> None:
    space = toy_space()
    setup = make_evaluator({"table": table_csv.name, "key": "{kernel}-{width}-{depth}", "key_column": "key",
                            "metric": ["acc"], "report": ["test_acc"], "cost": "seconds"}, space, table_csv.parent)  # fmt: skip
    config = setup.evaluator.to_config()  # type: ignore[attr-defined]
    assert config["table"] == str(table_csv.resolve()) and config["key"] == "{kernel}-{width}-{depth}"
    again = make_evaluator(config, space, "/").evaluator
    assert again.to_config() == config  # type: ignore[attr-defined]
    arch = Arch({"kernel": 3, "width": 32, "depth": 3})
    assert again.evaluate(arch) == setup.evaluator.evaluate(arch)
    name = f"{scored.__module__}:scored"
    f = make_evaluator({"function": name, "metrics": ["score"]}, space, os.getcwd()).evaluator
    assert f.to_config() == {"function": name, "metrics": ["score"]}  # type: ignore[attr-defined]
    assert Function(scored).to_config() == {"function": name}
    with pytest.raises(NotStorable, match="cannot be stored as `module:callable`"):
        Function(lambda a: 1.0).to_config()
    with pytest.raises(NotStorable, match="rows in memory"):
        Table({"a": {"acc": 1}}, key="{x}", metric="acc").to_config()


def test_executors_give_back_the_config_that_rebuilds_them() -> None:
    for ex in (InlineExecutor(), InlineExecutor(workers=3), LocalExecutor(3, trial_timeout=60, threads=None),
               RayExecutor(num_cpus=2, cpus_per_trial=0.5)):  # fmt: skip
        config = ex.to_config()
        again = make_executor(config) if not isinstance(ex, RayExecutor) or _ray() else None
        assert again is None or (type(again) is type(ex) and again.to_config() == config)
    assert LocalExecutor(3, trial_timeout=60, threads=None).to_config() == {
        "name": "local", "threads": None, "trial_timeout": 60.0, "workers": 3,
    }  # fmt: skip
    assert RayExecutor(num_cpus=2).to_config() == {"name": "ray", "num_cpus": 2}  # the given threads, not the derived


def _ray() -> bool:
    from nasforge.executors._ray import ray_available

    return ray_available()


def test_space_of_a_builtin_is_not_narrowed_by_the_config() -> None:
    data = {"space": "seed-cnn", "evaluator": {"dataset": "digits", "epochs": 1, "threads": 1}}
    cfg = RunConfig.parse(data, ".")
    assert cfg.space.cardinality == builtin("seed-cnn").cardinality and not cfg.space.constraints


def test_a_decision_the_table_key_does_not_name_is_refused(table_csv: Path) -> None:
    data = table_config(table_csv)
    data["space"]["decisions"]["lr"] = {"choice": [0.1, 0.01]}
    with pytest.raises(ConfigError, match=r"^space.lr: no part reads this decision: the table's key '\{kernel\}-\{width\}-\{depth\}'"):
        RunConfig.parse(data, table_csv.parent)
    by_string = Table({str(a): {"acc": 1.0} for a in toy_space().enumerate()}, key=str, metric="acc")
    assert by_string.constraints(toy_space()) == []  # a key function is trusted to read every decision
