"""Fuzz the run config through the command line: hundreds of generated malformed inputs over
every section (top level, space kinds, each evaluator kind, each strategy's options, budget,
executor, objectives and constraints), data files (CSV, npz, image folder), tables and
``function:`` modules. For each: exit 2 through ``nasforge.cli.main``, no traceback, one line
naming the field, and the run directory not created (or, when it existed, untouched).

Everything runs in this one process; the inputs are refused before any data loads where the
config allows it, so the suite takes seconds.
"""

from __future__ import annotations

import copy
import csv
import math
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from nasforge.cli import main

# -- inputs --------------------------------------------------------------------------------------

SPACE = {"decisions": {"kernel": {"choice": [1, 3, 5]}, "width": {"choice": [8, 16]}, "depth": {"int": [1, 3]}}}
KEY = "{kernel}-{width}-{depth}"

TABLE: dict[str, Any] = {
    "name": "fuzz", "seed": 1, "space": SPACE,
    "evaluator": {"table": "table.csv", "key": KEY, "metric": "acc", "report": ["test_acc"], "cost": "seconds"},
    "strategy": {"name": "random"}, "objectives": {"acc": "maximize"}, "budget": {"trials": 3},
}  # fmt: skip
FUNCTION: dict[str, Any] = {
    **TABLE,
    "evaluator": {"function": "fz_score:score", "metrics": ["score"]},
    "objectives": {"score": "maximize"},
}

STRATEGY_OPTIONS: dict[str, dict[str, list[Any]]] = {
    # option -> malformed values (each refused)
    "hill-climbing": {"restarts": ["two", -1, 1.5, True, [1], {}, "nan", float("nan")]},
    "bayesian": {
        "initial": ["ten", -1, 0, 1.5, True, None, []], "patience": ["x", -2, 2.5, False, {}],
        "restart": [3, "sideways", None, []], "candidates": [0, -5, "many", 2.5], "max_points": [0, "x", -1, 1.5],
        "warp": ["no", "yes", 1, None, [True]],
    },
    "evolution": {"population": [0, -3, "x", 1.5, True, None], "sample_size": [0, -1, "two", 2.5, 100, None]},
    "successive-halving": {
        "budgets": ["x", [], [0.5, 2.0], [0, 1], [-1, 1], [1.0, 0.5], [float("nan"), 1], [[1]], 3],
        "min_budget": [0, -0.5, 2, "low", float("nan"), float("inf"), []], "eta": [1, 0, -2, "three", float("nan"), None],
        "candidates": [0, -1, "x", 1.5], "sampler": [3, "nope", [], {"name": "nope"}, {"name": 3}],
    },
    "hyperband": {
        "budgets": ["x", [0.5, 2.0], [0, 1], [1.0, 0.5]], "min_budget": [0, -1, 3, "x"],
        "eta": [1, 0, "x", float("inf")], "sampler": [7, "nope", {"name": "nope"}],
    },
    "local-search": {"initial": [0, -1, "x", 1.5, None], "restart": [1, "nope", None]},
    "nsga2": {"population": [0, -1, "x", 1.5, 1], "crossover": [-0.1, 1.5, "half", float("nan"), None],
              "constraints": ["acc >", [3], ["acc >>> 1"], ["nosuch <= 3"], {}]},
    "grid": {"population": [3]},
    "random": {"population": [3], "restarts": [1]},
}  # fmt: skip

JUNK_SCALARS: list[Any] = [None, "", "x", -1, 0, 1.5, True, [], {}, [[1], 2], float("nan"), float("inf"), 10**30]

SPACES: list[tuple[Any, str]] = [  # (malformed space, field named)
    ({"decisions": {"k": {"choice": []}}}, "space.decisions.k"),
    ({"decisions": {"k": {"choice": [[1, 2], [3]]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"choice": [1, float("nan")]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"choice": [1, 1]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"int": [5, 1]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"int": [1, 10**30]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"int": ["a", 3]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"int": [1, 3], "log": "no"}}}, "space.decisions.k"),
    ({"decisions": {"k": {"float": [0.1, 1], "log": "no"}}}, "space.decisions.k"),
    ({"decisions": {"k": {"float": [0, float("nan")]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"float": [0, 1], "log": True}}}, "space.decisions.k"),
    ({"decisions": {"k": {"float": [1, float("inf")]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"float": [2, 1]}}}, "space.decisions.k"),
    ({"decisions": {"k": {"choice": [1, 2], "colour": 1}}}, "space.decisions.k"),
    ({"decisions": {"k": {"choice": [1, 2], "int": [1, 2]}}}, "space.decisions.k"),
    ({"decisions": {"k": 3}}, "space.decisions.k"),
    ({"decisions": {"k": None}}, "space.decisions.k"),
    ({"decisions": {"k": {"repeat": {"x": {"choice": [1]}}, "max": 5000}}}, "space.decisions.k"),
    ({"decisions": {"k": {"repeat": {"x": {"choice": [1, 2]}}, "min": 3, "max": 1}}}, "space.decisions.k"),
    ({"decisions": {"k": {"cell": {"nodes": 40, "ops": ["conv", "none"]}}}}, "space.decisions.k"),
    ({"decisions": {"k": {"cell": {"nodes": 3, "ops": []}}}}, "space.decisions.k"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": ["1/0 > k"]}, "space.constraints"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": ["len(3) > k"]}, "space.constraints"),
    ({"decisions": {"k": {"choice": ["a", "b"]}}, "constraints": ["str.upper() == k"]}, "space.constraints"),
    ({"decisions": {"k": {"choice": ["a", "b"]}}, "constraints": ["k.upper(1, 2) == 'A'"]}, "space.constraints"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": ["9 ** 9 ** 9 > k"]}, "space.constraints"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": ["'ab' * 10**10 > k"]}, "space.constraints"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": ["nosuch > 1"]}, "space.constraints"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": ["k >"]}, "space.constraints"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": ["k > 5"]}, "space"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": [3]}, "space.constraints"),
    ({"decisions": {"k": {"choice": [1, 2]}}, "constraints": ["__import__('os').system('true')"]}, "space.constraints"),
    ({"decisions": {}}, "space"),
    ({"decisions": []}, "space"),
    ("no_such_space", "space"),
    (3, "space"),
    ([1, 2], "space"),
    ({"decisions": {"k": {"choice": [1, 2], "when": "nosuch == 1"}}}, "space.decisions.k"),
]


def function_modules() -> list[tuple[str, str, str]]:
    """(module source, evaluator function spec, field named): modules that cannot be used."""
    return [
        ("def score(arch:\n    return 1\n", "fz_bad_syntax:score", "evaluator.function"),
        ("raise RuntimeError('boom at import')\n", "fz_raises:score", "evaluator.function"),
        ("import no_such_dependency_xyz\n", "fz_missing_dep:score", "evaluator.function"),
        ("import sys\nsys.exit(3)\n", "fz_exits:score", "evaluator.function"),
        ("x = 1/0\n", "fz_zerodiv:score", "evaluator.function"),
        ("score = 3\n", "fz_not_callable:score", "evaluator.function"),
        ("def other(arch):\n    return 1\n", "fz_no_attr:score", "evaluator.function"),
    ]


# -- the harness ---------------------------------------------------------------------------------


def write_files(root: Path) -> None:
    with (root / "table.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "acc", "test_acc", "seconds"])
        for k in (1, 3, 5):
            for wd in (8, 16):
                for d in (1, 2, 3):
                    w.writerow([f"{k}-{wd}-{d}", k + wd / 10 + d / 100, k, 1.0])
    (root / "fz_score.py").write_text("def score(arch):\n    return {'score': float(arch['kernel'])}\n")


def run_refused(tmp: Path, config: Any, capsys: pytest.CaptureFixture[str], *, args: tuple[str, ...] = (),
                raw: str | None = None, name: str = "config.yaml") -> str:  # fmt: skip
    """Run ``nasforge search`` on ``config``; assert the refusal contract; return the line."""
    path = tmp / name
    path.write_text(raw if raw is not None else yaml.safe_dump(config, allow_unicode=True))
    run = tmp / "run"
    if "--run-dir" in args:  # the default, runs/<name>, is what is checked
        args, run = tuple(a for a in args if a != "--run-dir"), tmp / "runs"
    else:
        args = ("--run-dir", str(run), *args)
    assert not run.exists()
    capsys.readouterr()
    try:
        code = main(["search", str(path), *args])
    except BaseException as exc:  # noqa: BLE001 - a traceback is the failure being looked for
        out, err = capsys.readouterr()
        raise AssertionError(f"raised {type(exc).__name__}: {exc}; stderr: {err[-300:]}") from None
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err, err
    assert code == 2, f"exit {code}; stderr: {err[-2000:]}; stdout: {out[-500:]}"
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert not run.exists(), f"{run} was left: {sorted(p.name for p in run.iterdir())}"
    return lines[0]


def field_of(line: str) -> str:
    return line.removeprefix("error: ").split(": ", 1)[0]


def names(line: str, field: str) -> bool:
    """Whether the error line names ``field`` (or a field inside it)."""
    return field in line


# -- generated cases -----------------------------------------------------------------------------


def top_level_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    """(id, config, field) for the top level, objectives, constraints, budget and executor."""
    value: Any
    for key in ("space", "evaluator"):
        cfg = copy.deepcopy(TABLE)
        del cfg[key]
        yield f"missing-{key}", cfg, key
    for value in ["", None, 3, [], {}, "../../escape", "a/b", ".."]:
        yield f"name={value!r}", {**TABLE, "name": value}, "name"
    for value in ["x", -1, -5, 1.5, None, [], {}, float("nan"), True]:
        yield f"seed={value!r}", {**TABLE, "seed": value}, "seed"
    for value in ["maximise", "", None, 3, [], "max"]:
        yield f"objective={value!r}", {**TABLE, "objectives": {"acc": value}}, "objectives"
    for value in [{"nosuch": "maximize"}, [], "nosuch", 3, {}, {"acc": "maximize", "test_acc": "maximize"}]:
        yield f"objectives={value!r}", {**TABLE, "objectives": value}, "objectives"
    for value in ["acc >", ["acc > "], ["nosuch >= 1"], [3], ["acc >= x"], ["acc ~ 3"], {"acc": 1}, ["acc >= nan"]]:
        yield f"constraints={value!r}", {**TABLE, "constraints": value}, "constraints"
    for key, junk in (("trials", ["ten", 0, -3, 1.5, True, [], float("nan")]),
                      ("seconds", ["x", 0, -1, float("nan"), float("inf"), [], True]),
                      ("max_failures_in_a_row", ["x", 0, -1, 1.5, []])):  # fmt: skip
        for value in junk:
            yield f"budget.{key}={value!r}", {**TABLE, "budget": {"trials": 3, key: value}}, f"budget.{key}"
    for value in ["x", 3, [], {"trails": 3}]:
        yield f"budget={value!r}", {**TABLE, "budget": value}, "budget"
    executors: list[tuple[Any, str]] = [
        ({"name": "nosuch"}, "executor.name"), ({"name": 3}, "executor.name"), ("nosuch", "executor.name"),
        (3, "executor"), ([], "executor"), ({"name": "inline", "workers": 0}, "executor.workers"),
        ({"name": "inline", "trial_timeout": 5}, "executor.trial_timeout"),
        ({"name": "local", "workers": 0}, "executor.workers"), ({"name": "local", "workers": "two"}, "executor.workers"),
        ({"name": "local", "workers": -1}, "executor.workers"), ({"name": "local", "workers": 1.5}, "executor.workers"),
        ({"name": "local", "workers": True}, "executor.workers"),
        ({"name": "local", "trial_timeout": 0}, "executor.trial_timeout"),
        ({"name": "local", "trial_timeout": "x"}, "executor.trial_timeout"),
        ({"name": "local", "trial_timeout": float("nan")}, "executor.trial_timeout"),
        ({"name": "local", "trial_timeout": -5}, "executor.trial_timeout"),
        ({"name": "local", "colour": 1}, "executor.colour"),
        ({"name": "ray", "workers": 0}, "executor"), ({"name": "ray", "address": 3}, "executor.address"),
        ({"name": "ray", "colour": 1}, "executor.colour"),
        ({"name": "local", "workers": 10**6}, "executor.workers"),  # a million processes: refused, not spawned
        ({"name": "local", "threads": 10**6}, "executor.threads"),
        ({"name": "inline", "workers": 10**6}, "executor.workers"),  # a million candidates asked before one runs
    ]  # fmt: skip
    for value, field in executors:
        yield f"executor={value!r}", {**TABLE, "executor": value}, field
    for value in JUNK_SCALARS:
        if not isinstance(value, str | dict) and value is not None:
            yield f"strategy={value!r}", {**TABLE, "strategy": value}, "strategy"
    for value in ["nosuch", "", 3, None]:
        yield f"strategy.name={value!r}", {**TABLE, "strategy": {"name": value}}, "strategy.name"
    for key in ("colour", "Name", "budget"):
        yield f"unknown-top-{key}", {**TABLE, key: 1}, key


def strategy_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    for strategy, options in STRATEGY_OPTIONS.items():
        for option, junk in options.items():
            for value in junk:
                cfg = copy.deepcopy(TABLE)
                cfg["strategy"] = {"name": strategy, option: value}
                if strategy == "nsga2":
                    cfg["evaluator"]["metric"] = ["acc", "test_acc"]
                    cfg["evaluator"]["report"] = []
                    cfg["objectives"] = {"acc": "maximize", "test_acc": "minimize"}
                field = f"strategy.{option}"
                if (
                    (strategy, option) == ("nsga2", "constraints")
                    and isinstance(value, list)
                    and value == ["nosuch <= 3"]
                ):
                    field = "constraints[0]"  # an alias of the top-level constraints, named as such
                yield f"{strategy}.{option}={value!r}", cfg, field
        cfg = copy.deepcopy(TABLE)
        cfg["strategy"] = {"name": strategy, "colour": 1}
        yield f"{strategy}.colour", cfg, "strategy.colour"
    warm = ["x", 3, {"proxy": "nosuch", "samples": 10, "top": 3}, {"proxy": "synflow", "samples": -1, "top": 3},
            {"proxy": "synflow", "samples": 10, "top": 30}, {"proxy": "synflow", "samples": "x", "top": 1},
            {"proxy": "synflow", "colour": 1, "samples": 10, "top": 3}]  # fmt: skip
    for value in warm:
        cfg = copy.deepcopy(TABLE)
        cfg["strategy"] = {"name": "random", "warm_start": value}
        yield f"warm_start={value!r}", cfg, "strategy.warm_start"


def space_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    for i, (space, field) in enumerate(SPACES):
        cfg = {**FUNCTION, "space": space}
        yield f"space[{i}]", cfg, field


def table_evaluator_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    ev = TABLE["evaluator"]
    changes: list[tuple[dict[str, Any], str]] = [
        ({"table": "missing.csv"}, "evaluator.table"), ({"table": 3}, "evaluator.table"),
        ({"table": None}, "evaluator"), ({"table": ""}, "evaluator.table"),
        ({"metric": "nosuch"}, "evaluator.metric"), ({"metric": []}, "evaluator.metric"),
        ({"metric": 3}, "evaluator.metric"), ({"metric": None}, "evaluator.metric"),
        ({"key": "{nosuch}"}, "evaluator.key"), ({"key": 3}, "evaluator.key"), ({"key": "{kernel"}, "key '{kernel'"),
        ({"key": "{kernel}"}, "space"), ({"key": ""}, "evaluator.key"),
        ({"report": ["nosuch"]}, "evaluator.report"), ({"report": 3}, "evaluator.report"),
        ({"cost": "nosuch"}, "evaluator.cost"), ({"cost": 3}, "evaluator.cost"),
        ({"key_column": "nosuch"}, "evaluator.key_column"), ({"key_column": 3}, "evaluator.key_column"),
        ({"colour": 1}, "evaluator.colour"), ({"function": "fz_score:score"}, "evaluator"),
    ]  # fmt: skip
    for change, field in changes:
        cfg = copy.deepcopy(TABLE)
        cfg["evaluator"] = {**ev, **change}
        yield f"table:{change!r}", cfg, field
    for key in ("metric",):
        cfg = copy.deepcopy(TABLE)
        del cfg["evaluator"][key]
        yield f"table-missing-{key}", cfg, f"evaluator.{key}"
    for value in [3, "x", [], None]:
        yield f"evaluator={value!r}", {**TABLE, "evaluator": value}, "evaluator"
    yield "evaluator-empty", {**TABLE, "evaluator": {}}, "evaluator"


def function_evaluator_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    for spec, field in [("fz_score", "evaluator.function"), ("no_such_module_q:f", "evaluator.function"),
                        (3, "evaluator.function"), ("fz_score:nosuch", "evaluator.function"), ("", "evaluator.function"),
                        (":score", "evaluator.function")]:  # fmt: skip
        yield f"function={spec!r}", {**FUNCTION, "evaluator": {"function": spec}}, field
    for metrics in ["", [], [3], 3, {}]:
        cfg = {**FUNCTION, "evaluator": {"function": "fz_score:score", "metrics": metrics}}
        yield f"function.metrics={metrics!r}", cfg, "evaluator.metrics"
    cfg = {
        **FUNCTION,
        "evaluator": {"function": "fz_score:score", "metrics": ["score"]},
        "objectives": {"acc": "maximize"},
    }
    yield "function-objective-not-produced", cfg, "objectives.acc"
    cfg = {**FUNCTION, "evaluator": {"function": "fz_score:score", "colour": 1}}
    yield "function.colour", cfg, "evaluator.colour"


def benchmark_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    base: dict[str, Any] = {**TABLE, "space": "nasbench201", "objectives": {"cifar10-val": "maximize"}}
    for ev, field in [({"benchmark": "nasbench999"}, "evaluator.benchmark"), ({"benchmark": 3}, "evaluator.benchmark"),
                      ({"benchmark": "nasbench201", "path": "missing.csv"}, "evaluator.path"),
                      ({"benchmark": "nasbench201", "path": "table.csv", "colour": 1}, "evaluator.colour"),
                      ({"benchmark": "nasbench201", "metric": 3, "path": "table.csv"}, "evaluator.metric"),
                      ({"benchmark": "nasbench201", "path": 3}, "evaluator.path")]:  # fmt: skip
        yield f"benchmark:{ev!r}", {**base, "evaluator": ev}, field
    yield "benchmark-wrong-space", {**TABLE, "evaluator": {"benchmark": "nasbench201", "path": "table.csv"}}, "space"


def dataset_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    """Trainer and proxy options, and data files; all refused before any training."""
    base: dict[str, Any] = {
        **TABLE,
        "space": "cnn",
        "evaluator": {"dataset": "digits", "epochs": 1},
        "objectives": {"accuracy": "maximize"},
    }
    trainer: list[tuple[dict[str, Any], str]] = [
        ({"dataset": "no_such_dataset"}, "evaluator.dataset"), ({"dataset": 3}, "evaluator.dataset"),
        ({"dataset": None}, "evaluator"), ({"dataset": []}, "evaluator.dataset"),
        ({"epochs": 0}, "evaluator.epochs"), ({"epochs": "ten"}, "evaluator.epochs"), ({"epochs": -1}, "evaluator.epochs"),
        ({"epochs": 1.5}, "evaluator.epochs"), ({"folds": 1}, "evaluator.folds"), ({"folds": "x"}, "evaluator.folds"),
        ({"folds": -2}, "evaluator.folds"), ({"test_fraction": 1.5}, "evaluator.test_fraction"),
        ({"test_fraction": 0}, "evaluator.test_fraction"), ({"test_fraction": "x"}, "evaluator.test_fraction"),
        ({"test_fraction": float("nan")}, "evaluator.test_fraction"), ({"seed": -1}, "evaluator.seed"),
        ({"seed": "x"}, "evaluator.seed"), ({"measure_latency": "no"}, "evaluator.measure_latency"),
        ({"measure_latency": 1}, "evaluator.measure_latency"), ({"colour": 1}, "evaluator.colour"),
        ({"model": 3}, "evaluator.model"), ({"model": "x"}, "evaluator.model"),
        ({"batch_size": 0}, "evaluator.batch_size"), ({"batch_size": "x"}, "evaluator.batch_size"),
        ({"lr": -1}, "evaluator.lr"), ({"lr": "fast"}, "evaluator.lr"), ({"lr": float("nan")}, "evaluator.lr"),
        ({"holdout": 2}, "evaluator.holdout"), ({"early_stopping": -1}, "evaluator.early_stopping"),
        ({"device": "tpu9"}, "evaluator.device"), ({"threads": 0}, "evaluator.threads"),
        ({"device": "cuda:99"}, "evaluator.device"), ({"threads": 10**6}, "evaluator.threads"),
    ]  # fmt: skip
    if not _mps_available():
        trainer.append(({"device": "mps"}, "evaluator.device"))  # accepted, it failed inside every trial
    for change, field in trainer:
        cfg = copy.deepcopy(base)
        cfg["evaluator"] = {**cfg["evaluator"], **change}
        yield f"trainer:{change!r}", cfg, field
    proxy: list[tuple[dict[str, Any], str]] = [
        ({"proxy": "nosuch"}, "evaluator.proxy"), ({"proxy": 3}, "evaluator.proxy"), ({"proxy": []}, "evaluator.proxy"),
        ({"proxy": ["synflow", "nosuch"]}, "evaluator.proxy"), ({"proxy": "synflow", "batch_size": 0}, "evaluator.batch_size"),
        ({"proxy": "synflow", "batch_size": "x"}, "evaluator.batch_size"), ({"proxy": "synflow", "epochs": 3}, "evaluator.epochs"),
        ({"proxy": "synflow", "seed": -1}, "evaluator.seed"), ({"proxy": "synflow", "colour": 1}, "evaluator.colour"),
        ({"proxy": "synflow", "threads": 10**6}, "evaluator.threads"),
    ]  # fmt: skip
    for change, field in proxy:
        cfg = copy.deepcopy(base)
        cfg["evaluator"] = {"dataset": "digits", **change}
        cfg["objectives"] = {"synflow": "maximize"}
        yield f"proxy:{change!r}", cfg, field


def pruner_and_one_shot_cases() -> Iterator[tuple[str, dict[str, Any], str]]:
    """``pruner:`` (each pruner's options, and pruners that could prune nothing), the trainer's
    ``scheduler`` and ``one_shot:`` options; all refused before any data loads or trains."""
    base: dict[str, Any] = {**TABLE, "space": "cnn", "evaluator": {"dataset": "digits", "epochs": 9},
                            "objectives": {"accuracy": "maximize"}}  # fmt: skip
    value: Any
    pruners: list[tuple[Any, str]] = [
        ("nosuch", "pruner"), (3, "pruner"), ([], "pruner"), ({"name": "nosuch"}, "pruner.name"),
        ({"name": 3}, "pruner"), ({"eta": 3}, "pruner"), ({"name": "asha", "colour": 1}, "pruner.colour"),
        ({"name": "median", "eta": 3}, "pruner.eta"), ({"name": "none", "eta": 3}, "pruner.eta"),
    ]  # fmt: skip
    for option, junk in (("eta", [1, 0, -2, "x", float("nan"), float("inf"), True, None]),
                         ("min_steps", [0, -1, 1.5, "x", 9, 100]), ("max_steps", [0, "x", 1.5, -3]),
                         ("min_trials", [0, -1, "x"])):  # fmt: skip
        pruners += [({"name": "asha", option: value}, f"pruner.{option}") for value in junk]
    for option, junk in (("warmup_steps", [-1, "x", 1.5]), ("min_trials", [0, "x", None])):
        pruners += [({"name": "median", option: value}, f"pruner.{option}") for value in junk]
    for value, field in pruners:
        yield f"pruner={value!r}", {**base, "pruner": value}, field
    yield "pruner-on-a-table", {**TABLE, "pruner": "asha"}, "pruner"
    yield "pruner-on-a-function-without-steps", {**FUNCTION, "pruner": "median"}, "pruner"
    for value in ["nosuch", 3, [], {"name": "cosine"}]:
        yield f"scheduler={value!r}", {**base, "evaluator": {**base["evaluator"], "scheduler": value}}, "evaluator.scheduler"
    one_shot: list[tuple[Any, str]] = [
        (3, "evaluator.one_shot"), ("x", "evaluator.one_shot"), ([], "evaluator.one_shot"),
        ({"bogus": 2}, "evaluator.one_shot.bogus"), ({"sampling": "greedy"}, "evaluator.one_shot.sampling"),
        ({"sampling": 3}, "evaluator.one_shot.sampling"),
    ]  # fmt: skip
    for option, junk in (("epochs", [0, -1, "x", 1.5]), ("top_k", [0, -1, "x"]), ("calibration_batches", [-1, "x"])):
        one_shot += [({option: value}, f"evaluator.one_shot.{option}") for value in junk]
    for value, field in one_shot:
        yield f"one_shot={value!r}", {**base, "evaluator": {**base["evaluator"], "one_shot": value}}, field
    yield "one_shot+folds", {**base, "evaluator": {**base["evaluator"], "folds": 3, "one_shot": {}}}, "evaluator.folds"


def _mps_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.backends.mps.is_available())


def data_file_cases(root: Path) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Data files of each kind that cannot be used, each refused naming ``evaluator.dataset``."""
    (root / "empty.npz").write_bytes(b"")
    (root / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    np.savez(root / "no_y.npz", x=np.zeros((10, 4), dtype=np.float32))
    np.savez(root / "mismatch.npz", x=np.zeros((10, 4), dtype=np.float32), y=np.zeros(7, dtype=np.int64))
    np.savez(root / "nan_x.npz", x=np.full((10, 4), np.nan, dtype=np.float32), y=np.arange(10) % 2)
    np.savez(root / "one_class.npz", x=np.zeros((10, 4), dtype=np.float32), y=np.zeros(10, dtype=np.int64))
    np.savez(root / "object.npz", x=np.array([{"a": 1}] * 10, dtype=object), y=np.arange(10) % 2)
    (root / "empty.csv").write_text("")
    (root / "header_only.csv").write_text("a,b,label\n")
    (root / "no_target.csv").write_text("a,b\n1,2\n3,4\n")
    (root / "ragged.csv").write_text("a,b,label\n1,2,0\n3\n5,6,1,9\n")
    (root / "binary.csv").write_bytes(b"\xff\xfe\x00\x01\x02" * 20)
    (root / "one_class.csv").write_text("a,label\n" + "".join(f"{i},0\n" for i in range(10)))
    (root / "no_images").mkdir(exist_ok=True)
    one = root / "one_class_images" / "cat"
    one.mkdir(parents=True, exist_ok=True)
    (one / "a.png").write_bytes(b"not a png")
    bad = root / "bad_images"
    for cls in ("a", "b"):
        (bad / cls).mkdir(parents=True, exist_ok=True)
        (bad / cls / "x.png").write_bytes(b"\x89PNG junk")
    empty = root / "empty_class_images"
    (empty / "a").mkdir(parents=True, exist_ok=True)
    (empty / "b").mkdir(parents=True, exist_ok=True)
    datasets: list[Any] = [
        {"npz": "missing.npz"}, {"npz": "empty.npz"}, {"npz": "junk.npz"}, {"npz": "no_y.npz"}, {"npz": "mismatch.npz"},
        {"npz": "nan_x.npz"}, {"npz": "one_class.npz"}, {"npz": "object.npz"}, {"npz": 3}, {"npz": "no_y.npz", "colour": 1},
        {"csv": "missing.csv", "target": "label"}, {"csv": "empty.csv", "target": "label"},
        {"csv": "header_only.csv", "target": "label"}, {"csv": "no_target.csv", "target": "label"},
        {"csv": "no_target.csv"}, {"csv": "ragged.csv", "target": "label"}, {"csv": "binary.csv", "target": "label"},
        {"csv": "one_class.csv", "target": "label"}, {"csv": "no_target.csv", "target": "a", "features": ["zz"]},
        {"csv": "no_target.csv", "target": 3},
        {"images": "missing_dir"}, {"images": "no_images"}, {"images": "one_class_images"}, {"images": "bad_images"},
        {"images": "empty_class_images"}, {"images": "bad_images", "size": "big"}, {"images": "bad_images", "size": [0, 4]},
        {"images": "bad_images", "grayscale": "no"}, {"npz": "no_y.npz", "csv": "no_target.csv"}, {"parquet": "x.parquet"},
    ]  # fmt: skip
    for ds in datasets:
        cfg = {
            **TABLE,
            "space": "cnn",
            "evaluator": {"dataset": ds, "epochs": 1},
            "objectives": {"accuracy": "maximize"},
        }
        yield f"data:{ds!r}", cfg, "evaluator.dataset"


def table_file_cases(root: Path) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Table files that cannot be used as they are."""
    files = {
        "dup.csv": "key,acc\n1-8-1,0.5\n1-8-1,0.9\n3-8-1,0.1\n",
        "no_key_col.csv": "name,acc\n1-8-1,0.5\n3-8-1,0.4\n",
        "empty_table.csv": "",
        "header_table.csv": "key,acc\n",
        "binary_table.csv": "\xff\xfe\x00junk",
        "list.json": "[1, 2, 3]",
        "broken.json": '{"a": ',
        "scalar.json": "3",
        "obj_scalars.json": '{"1-8-1": 3}',
        "dup_obj.json": '{"1-8-1": {"acc": 1}, "1-8-1": {"acc": 2}}',
        "dup_records.json": '[{"key": "1-8-1", "acc": 1}, {"key": "1-8-1", "acc": 2}]',
        "ragged_table.csv": "key,acc\n1-8-1\n3-8-1,0.5,9\n",
        "deep.json": "[" * 5000 + "]" * 5000,  # a RecursionError traceback
        "semicolons.csv": "key;acc\n1-8-1;0.5\n",
        "null_metric.json": '{"1-8-1": {"acc": null}, "3-8-1": {"acc": null}}',  # every trial would fail
        "nan_metric.csv": "key,acc\n1-8-1,nan\n3-8-1,\n5-8-1,high\n",
    }
    for name, text in files.items():
        if name.startswith("binary"):
            (root / name).write_bytes(b"\xff\xfe\x00junk\x80")
        else:
            (root / name).write_text(text)
        cfg = copy.deepcopy(TABLE)
        cfg["evaluator"] = {"table": name, "key": KEY, "metric": "acc"}
        yield f"table-file:{name}", cfg, "evaluator"


def raw_yaml_cases() -> Iterator[tuple[str, str, str]]:
    base = yaml.safe_dump(TABLE)
    yield "dup-budget", base + "budget: {trials: 5}\n", "budget"
    yield "dup-nested", base.replace("  decisions:\n", "  decisions:\n    kernel: {choice: [7]}\n", 1), "'kernel' is given twice"
    yield "unclosed-flow", "space: {decisions: [1, 2\nname: x\n", "column"
    yield "too-many-values", "space: [" + ", ".join(["1"] * 100_001) + "]\n", "more than 100,000 values, more than"
    yield (
        "alias-bomb",
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(8)
        ),
        "alias",
    )
    yield "bad-indent", "space:\n  decisions:\n   k: {choice: [1]}\n  x: : :\n", "line"
    yield "tab", "space:\n\tdecisions: 1\n", "line"
    yield "not-mapping", "- 1\n- 2\n", "config"
    yield "python-tag", "!!python/object/apply:os.system ['true']\n", "config"
    yield "empty", "", "config"
    yield "deep", "a: " + "[" * 300 + "]" * 300 + "\n", "config"
    yield "binary", "\x00\x01\x02", "config"


def all_cases(root: Path) -> list[tuple[str, Any, str]]:
    cases: list[tuple[str, Any, str]] = []
    for gen in (top_level_cases(), strategy_cases(), space_cases(), table_evaluator_cases(),
                function_evaluator_cases(), benchmark_cases(), dataset_cases(), pruner_and_one_shot_cases(),
                data_file_cases(root), table_file_cases(root)):  # fmt: skip
        cases.extend(gen)
    return cases


# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NASFORGE_NB201", raising=False)
    return tmp_path


def test_every_malformed_config_is_one_line_exit_2_and_writes_nothing(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = all_cases(root)
    assert len(cases) >= 300, len(cases)
    failures: list[str] = []
    for case_id, cfg, field in cases:
        try:
            line = run_refused(root, cfg, capsys, args=("--run-dir",) if case_id.startswith("name=") else ())
            if not names(line, field):
                failures.append(f"{case_id}: the line does not name {field!r}: {line}")
        except AssertionError as exc:
            failures.append(f"{case_id}: {str(exc).splitlines()[0][:400]}")
        for leftover in root.glob("run*"):
            import shutil

            shutil.rmtree(leftover, ignore_errors=True)
    assert not failures, f"{len(failures)} of {len(cases)} handled wrongly:\n" + "\n".join(failures)


def test_malformed_yaml_text_is_one_line(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failures = []
    for case_id, text, word in raw_yaml_cases():
        try:
            line = run_refused(root, None, capsys, raw=text)
            if word not in line:
                failures.append(f"{case_id}: does not say {word!r}: {line}")
        except AssertionError as exc:
            failures.append(f"{case_id}: {str(exc).splitlines()[0][:400]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "source, spec", [(s, f) for s, f, _ in function_modules()], ids=[f for _, f, _ in function_modules()]
)
def test_unusable_function_module_is_one_line(
    root: Path, capsys: pytest.CaptureFixture[str], source: str, spec: str
) -> None:
    module = spec.split(":")[0]
    (root / f"{module}.py").write_text(source)
    line = run_refused(root, {**FUNCTION, "evaluator": {"function": spec}}, capsys)
    assert "evaluator.function" in line and module in line


@pytest.mark.parametrize("args, field", [
    (("--seed", "-5"), "seed"), (("--seconds", "nan"), "budget.seconds"), (("--seconds", "-1"), "budget.seconds"),
    (("--trials", "0"), "budget.trials"), (("--workers", "0"), "executor.workers"), (("--seconds", "inf"), "budget.seconds"),
    (("--workers", "100000"), "executor.workers"),
])  # fmt: skip
def test_bad_command_line_overrides(
    root: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], field: str
) -> None:
    line = run_refused(root, TABLE, capsys, args=args)
    assert field in line


def test_an_existing_run_directory_is_left_untouched(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A refused config given an existing directory (empty, or holding other files) leaves it as it was."""
    for content in ({}, {"notes.txt": "mine"}):
        run = root / "run"
        run.mkdir()
        for name, text in content.items():
            (run / name).write_text(text)
        (root / "config.yaml").write_text(yaml.safe_dump({**TABLE, "seed": -1}))
        capsys.readouterr()
        assert main(["search", str(root / "config.yaml"), "--run-dir", str(run)]) == 2
        assert run.is_dir() and sorted(p.name for p in run.iterdir()) == sorted(content), sorted(run.iterdir())
        import shutil

        shutil.rmtree(run)


def test_a_user_module_calling_sys_exit_in_a_trial_is_a_failed_trial(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sys.exit(3)`` inside the user's function fails that trial (the search goes on); it does
    not end nasforge with exit 3 and no output."""
    (root / "fz_exit_in_trial.py").write_text(
        textwrap.dedent("""
        import sys
        def score(arch):
            if arch["kernel"] == 3:
                sys.exit(3)
            return {"score": float(arch["kernel"])}
    """)
    )
    cfg = {**FUNCTION, "evaluator": {"function": "fz_exit_in_trial:score", "metrics": ["score"]},
           "strategy": "grid", "budget": {"trials": 18}}  # fmt: skip
    (root / "config.yaml").write_text(yaml.safe_dump(cfg))
    code = main(["search", str(root / "config.yaml"), "--run-dir", str(root / "run")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in out + err
    from nasforge import SQLiteStorage, TrialState

    storage = SQLiteStorage(root / "run" / "study.db")
    try:
        trials = storage.trials()
    finally:
        storage.close()
    failed = [t for t in trials if t.state is TrialState.FAILED]
    assert len(trials) == 18 and len(failed) == 6
    assert all("exit" in (t.error or "").lower() and "3" in (t.error or "") for t in failed), failed[0].error


def test_case_count_and_nan_rendering() -> None:
    """The generated inputs include NaN/inf as YAML reads them back (.nan / .inf)."""
    text = yaml.safe_dump({"x": float("nan"), "y": float("inf")})
    loaded = yaml.safe_load(text)
    assert math.isnan(loaded["x"]) and math.isinf(loaded["y"])


def test_jacob_cov_of_the_all_none_nasbench201_cell_is_minus_inf() -> None:
    """The all-``none`` cell's output does not depend on the input: ``jacob_cov`` scores it
    -inf as its docstring says (it raised inside autograd), and the other proxies stay finite."""
    pytest.importorskip("torch")
    from nasforge.evaluators import ZeroCost
    from nasforge.space import Arch, from_config

    space = from_config("nasbench201")
    none = Arch({d.name: "none" for d in space.decisions})
    scores = ZeroCost("digits", space=space, proxy=["jacob_cov", "synflow"], batch_size=8, threads=1).score(none)
    assert scores["jacob_cov"] == -math.inf and math.isfinite(scores["synflow"])
