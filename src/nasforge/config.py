"""Run configs (YAML/JSON): validation with field paths, and building a study from one."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._errors import ConfigError
from ._trial import Objectives
from .evaluators import Evaluator, Function, Table, nasbench201
from .space import SearchSpace, from_config
from .strategies import make_strategy

DEFAULT_MAX_FAILURES_IN_A_ROW = 10
"""A search stops after this many consecutive failed trials unless the config says otherwise."""

TOP_KEYS = {"name", "seed", "space", "evaluator", "strategy", "objectives", "budget", "executor"}


@dataclass
class Built:
    """What an evaluator builder returns: the evaluator, the space it may have narrowed (e.g.
    with input-shape constraints) and the objectives to use when the config gives none."""

    evaluator: Evaluator
    space: SearchSpace
    objectives: dict[str, str] = field(default_factory=dict)
    resolved: dict[str, Any] = field(default_factory=dict)
    """Evaluator settings found outside the config (e.g. a path from the environment), stored
    with the run so that resume and report need no environment."""


EvaluatorBuilder = Callable[[Mapping[str, Any], SearchSpace, Path], Built]
EVALUATORS: dict[str, EvaluatorBuilder] = {}
"""Evaluator builders by the key that selects them in ``evaluator:`` (``table``, ``function``, ...)."""


EVALUATOR_HINTS = {"proxy": "dataset", "epochs": "dataset", "folds": "dataset", "key": "table", "metric": "table"}
"""Keys that give away which evaluator was meant when its selecting key is missing."""


def register_evaluator(key: str) -> Callable[[EvaluatorBuilder], EvaluatorBuilder]:
    """Decorator: ``evaluator: {<key>: ...}`` in a config is built by the decorated function."""

    def wrap(fn: EvaluatorBuilder) -> EvaluatorBuilder:
        EVALUATORS[key] = fn
        return fn

    return wrap


def check_keys(data: Mapping[str, Any], allowed: set[str], field: str) -> None:
    """Refuse keys of ``data`` that are not in ``allowed``, naming the first one."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = f"{field}.{unknown[0]}" if field else unknown[0]
        raise ConfigError(where, f"unknown key; allowed keys are {sorted(allowed)}")


def _str_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(field, f"must be a column name or a list of them, got {value!r}")
    return value


def resolve(base: Path, path: Any, field: str) -> Path:
    """``path`` relative to the config's folder."""
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise ConfigError(field, f"must be a path, got {path!r}")
    p = Path(os.path.expanduser(str(path)))
    return p if p.is_absolute() else base / p


@register_evaluator("table")
def _table(data: Mapping[str, Any], space: SearchSpace, base: Path) -> Built:
    check_keys(data, {"table", "key", "key_column", "metric", "report", "cost"}, "evaluator")
    if "metric" not in data:
        raise ConfigError("evaluator.metric", "is required: the column the search maximizes or minimizes")
    metric = _str_list(data["metric"], "evaluator.metric")
    key = data.get("key")
    if key is not None and not isinstance(key, str):
        raise ConfigError("evaluator.key", f"must be a format string over decision names, got {key!r}")
    if isinstance(key, str):
        from .evaluators._table import _FIELD

        for name in _FIELD.findall(key):
            if name not in space.names:
                raise ConfigError("evaluator.key", f"names {name!r}, which is not a decision of the space")
    table = Table.from_file(
        resolve(base, data["table"], "evaluator.table"),
        key=key if key is not None else space.to_string,
        key_column=data.get("key_column"),
        metric=metric,
        report=_str_list(data.get("report"), "evaluator.report"),
        cost=data.get("cost"),
    )
    return Built(table, space, {m: "maximize" for m in metric[:1]})


@register_evaluator("benchmark")
def _benchmark(data: Mapping[str, Any], space: SearchSpace, base: Path) -> Built:
    check_keys(data, {"benchmark", "path", "metric", "report"}, "evaluator")
    if data["benchmark"] != "nasbench201":
        raise ConfigError("evaluator.benchmark", f"unknown benchmark {data['benchmark']!r}; known: ['nasbench201']")
    if space.name != "nasbench201" and not space.cells:
        raise ConfigError("space", "the nasbench201 benchmark needs `space: nasbench201`")
    metric = data.get("metric", "cifar10-val")
    path = resolve(base, data["path"], "evaluator.path") if data.get("path") else None
    table = nasbench201(path, metric=metric, report=_str_list(data.get("report", []), "evaluator.report"), space=space)
    return Built(table, space, {metric: "maximize"}, {"path": str(Path(str(table.path)).resolve())})


def load_callable(spec: str, base: Path, field: str) -> Callable[..., Any]:
    """Import ``module:attribute`` (the config's folder is searched first)."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(field, f"must be `module:callable`, got {spec!r}")
    module_name, _, attr = spec.partition(":")
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(field, f"cannot import module {module_name!r}: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(field, f"module {module_name!r} has no callable {attr!r}")
    return fn  # type: ignore[no-any-return]


@register_evaluator("function")
def _function(data: Mapping[str, Any], space: SearchSpace, base: Path) -> Built:
    check_keys(data, {"function"}, "evaluator")
    spec = data["function"]
    return Built(Function(load_callable(spec, base, "evaluator.function"), name=spec), space)


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML or JSON config file (safe, strict loader: duplicate keys and alias bombs
    refused, PyYAML's whole error kept); errors name the file. See :mod:`nasforge._yaml`."""
    from ._yaml import load_config_file

    return load_config_file(path)


@dataclass
class RunConfig:
    """A validated config: everything needed to build (and rebuild on resume) a study."""

    raw: dict[str, Any]
    base_dir: Path
    name: str
    seed: int
    space: SearchSpace
    evaluator: Evaluator
    strategy_name: str
    strategy_options: dict[str, Any]
    objectives: Objectives
    trials: int | None
    seconds: float | None
    executor: dict[str, Any]
    max_failures_in_a_row: int | None = DEFAULT_MAX_FAILURES_IN_A_ROW
    """``budget.max_failures_in_a_row``: stop after this many consecutive failed trials."""
    warm_start: Any = None
    """``strategy.warm_start``, validated (a ``WarmStartSpec``), or ``None``."""

    @classmethod
    def parse(cls, data: Mapping[str, Any], base_dir: str | os.PathLike[str]) -> RunConfig:
        """Validate ``data``; raises :class:`ConfigError` naming the first bad field."""
        base = Path(base_dir).resolve()
        check_keys(data, TOP_KEYS, "")
        for key in ("space", "evaluator"):
            if key not in data:
                raise ConfigError(key, "is required")
        name = data.get("name", "study")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("name", f"must be a non-empty string, got {name!r}")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("seed", f"must be an integer, got {seed!r}")
        space = from_config(data["space"])
        ev = data["evaluator"]
        if not isinstance(ev, Mapping):
            raise ConfigError("evaluator", f"must be a mapping such as {{table: results.csv, metric: accuracy}}, got {ev!r}")
        kinds = [k for k in EVALUATORS if k in ev]
        if not kinds:
            for key, kind in EVALUATOR_HINTS.items():
                if key in ev:
                    raise ConfigError(f"evaluator.{kind}", f"is missing: `{key}` belongs to the `{kind}:` evaluator")
        if len(kinds) != 1:
            raise ConfigError("evaluator", f"needs exactly one of {sorted(EVALUATORS)}, got keys {sorted(ev)}")
        built = EVALUATORS[kinds[0]](ev, space, base)
        data = {**data, "evaluator": {**ev, **built.resolved}}
        strat = data.get("strategy", "random")
        if isinstance(strat, str):
            strat = {"name": strat}
        if not isinstance(strat, Mapping) or not isinstance(strat.get("name"), str):
            raise ConfigError("strategy.name", f"must name a strategy, e.g. {{name: random}}, got {strat!r}")
        options = {k: v for k, v in strat.items() if k != "name"}
        warm = options.pop("warm_start", None)
        strategy = make_strategy(strat["name"], options)  # validates name and options now
        warm_start = None
        if warm is not None:
            from .evaluators._proxy_config import build_warm_start  # imports torch

            warm_start = build_warm_start(warm, built.evaluator, built.space, base)
        if "objectives" in data:
            objectives = Objectives.parse(data["objectives"])
        elif built.objectives:
            objectives = Objectives.parse(built.objectives)
        else:
            raise ConfigError("objectives", "is required for this evaluator, e.g. {accuracy: maximize}")
        strategy.validate(built.space, objectives)  # e.g. population vs space
        budget = data.get("budget", {})
        if not isinstance(budget, Mapping):
            raise ConfigError("budget", f"must be a mapping {{trials: N, seconds: S}}, got {budget!r}")
        check_keys(budget, {"trials", "seconds", "max_failures_in_a_row"}, "budget")
        trials, seconds = budget.get("trials"), budget.get("seconds")
        max_failures = budget.get("max_failures_in_a_row", DEFAULT_MAX_FAILURES_IN_A_ROW)
        if max_failures is not None and (isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < 1):
            raise ConfigError("budget.max_failures_in_a_row", f"must be a positive integer or null (never stop), got {max_failures!r}")
        if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
            raise ConfigError("budget.trials", f"must be a positive integer, got {trials!r}")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0):
            raise ConfigError("budget.seconds", f"must be a positive number, got {seconds!r}")
        if trials is None and seconds is None and space.cardinality == float("inf"):
            raise ConfigError("budget", "a space with continuous decisions needs `trials` or `seconds`")
        executor = data.get("executor", {"name": "inline"})
        if isinstance(executor, str):
            executor = {"name": executor}
        if not isinstance(executor, Mapping):
            raise ConfigError("executor", f"must be a mapping such as {{name: local, workers: 2}}, got {executor!r}")
        from .executors import make_executor

        make_executor(executor)  # validates name and options now; starts nothing
        return cls(
            raw=dict(data), base_dir=base, name=name, seed=seed, space=built.space, evaluator=built.evaluator,
            strategy_name=strat["name"], strategy_options=options, objectives=objectives, trials=trials,
            seconds=seconds, executor=dict(executor), max_failures_in_a_row=max_failures, warm_start=warm_start,
        )  # fmt: skip

    def make_strategy(self) -> Any:
        """The strategy the config names, behind its warm start when ``strategy.warm_start`` is
        given (a :class:`nasforge.strategies.WarmStart` ranking with a zero-cost proxy)."""
        strategy = make_strategy(self.strategy_name, self.strategy_options)
        return self.warm_start.wrap(strategy) if self.warm_start is not None else strategy

    def make_executor(self) -> Any:
        """The executor the config names: ``executor: {name: inline | local | ray, ...}``
        (see :func:`nasforge.executors.make_executor`; more register in executors)."""
        from .executors import make_executor

        return make_executor(self.executor)


from .evaluators import _train_config  # noqa: F401  (registers `evaluator: {dataset: ...}`)
