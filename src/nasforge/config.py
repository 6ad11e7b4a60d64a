"""Run configs (YAML/JSON): the one place that composes the parts.

Each package owns its YAML: ``space.from_config``, ``evaluators.make_evaluator``,
``strategies.make_strategy``, ``executors.make_executor``; :meth:`RunConfig.parse` checks the
shape of the top level, builds every component **once** (constructing validates, and that
same object is used) and checks that they fit together (objectives the evaluator produces,
decisions something reads, a strategy that can search the space) before anything is written.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _validate as v
from ._errors import ConfigError
from ._trial import Objectives
from .evaluators import Evaluator, EvaluatorSetup, check_decisions, check_objectives, make_evaluator
from .space import SearchSpace, from_config
from .strategies import DEFAULT_STRATEGY, make_strategy

if TYPE_CHECKING:
    from .evaluators import Ranker
    from .executors import Executor
    from .pruners import Pruner
    from .strategies import Strategy

DEFAULT_MAX_FAILURES_IN_A_ROW = 10
"""A search stops after this many consecutive failed trials unless the config says otherwise."""

TOP_KEYS = {"name", "seed", "space", "evaluator", "strategy", "objectives", "constraints", "budget", "executor", "pruner"}
BUDGET_KEYS = {"trials", "seconds", "max_failures_in_a_row"}
WARM_COUNTS = ("samples", "top")


@dataclass
class WarmStartSpec:
    """A validated ``strategy.warm_start``: the ranker (built from the evaluator setup) and
    the counts."""

    ranker: Ranker
    samples: int
    top: int


@dataclass
class StudyParts:
    """Every component of a study, each constructed once from the config."""

    space: SearchSpace
    evaluator: Evaluator
    strategy: Strategy
    executor: Executor
    objectives: Objectives
    pruner: Pruner | None = None


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML or JSON config file (safe, strict loader: duplicate keys and alias bombs
    refused, PyYAML's whole error kept); errors name the file. See :mod:`nasforge._yaml`."""
    from ._yaml import load_config_file

    return load_config_file(path)


@dataclass
class RunConfig:
    """A validated config: everything needed to build (and rebuild on resume) a study.

    :meth:`parse` constructs every component once; :meth:`build` hands out those objects;
    :meth:`with_overrides` applies command-line overrides, rebuilding only what they change.
    ``space`` is the space as configured: the study narrows it with the evaluator's
    ``constraints(space)`` hook.
    """

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
    warm_start: WarmStartSpec | None = None
    """``strategy.warm_start``, validated, with its ranker; or ``None``."""
    pruner: Pruner | None = None
    """``pruner:`` (``asha``, ``{name: median, ...}``), built and checked against the evaluator;
    pass it to the study (``Study(..., pruner=cfg.pruner)``)."""
    setup: EvaluatorSetup | None = dataclasses.field(default=None, repr=False)
    _strategy: Any = dataclasses.field(default=None, repr=False)
    _executor: Any = dataclasses.field(default=None, repr=False)

    @classmethod
    def parse(cls, data: Mapping[str, Any], base_dir: str | os.PathLike[str]) -> RunConfig:
        """Validate ``data`` and construct every component once; raises :class:`ConfigError`
        naming the first bad field. Nothing is written."""
        base = Path(base_dir).resolve()
        v.mapping(data, "config", "{space: ..., evaluator: ..., objectives: ...}")
        v.check_keys(data, TOP_KEYS)
        if "evaluator" not in data:
            raise ConfigError("evaluator", "is required")
        own = isinstance(data["evaluator"], Mapping) and isinstance(data["evaluator"].get("model"), str)
        if "space" not in data and not own:  # a user's model (module:callable) may declare its own space
            raise ConfigError("space", "is required")
        name = v.non_empty_str(data.get("name", "study"), "name")
        seed = v.integer(data.get("seed", 0), "seed")
        if "space" in data and (spec := _space_file(data["space"], base)) is not data["space"]:
            data = {**data, "space": spec}  # the file's contents are stored with the run: resume needs no file
        given = from_config(data["space"]) if "space" in data else None
        setup = make_evaluator(data["evaluator"], given, base)  # type: ignore[arg-type]
        space = given if given is not None else setup.space
        if space is None:
            raise ConfigError("space", "is required: the evaluator's model declares no space")
        if given is None:  # stored with the run, so status, report and explain read it without the model
            data = {**data, "space": space.to_config()}
        data = {**data, "evaluator": {**data["evaluator"], **setup.resolved}}
        strat = data.get("strategy", setup.strategy or DEFAULT_STRATEGY)
        if isinstance(strat, str):
            strat = {"name": strat}
        if not isinstance(strat, Mapping) or not isinstance(strat.get("name"), str):
            raise ConfigError("strategy.name", f"must name a strategy, e.g. {{name: random}}, got {strat!r}")
        options = {k: val for k, val in strat.items() if k != "name"}
        if "transfer" in options:  # run directories read once; the stored config holds the sources as data
            options["transfer"] = _read_transfer(options["transfer"], base)
            data = {**data, "strategy": {**strat, "transfer": options["transfer"]}}
        warm_start = _warm_start(options.get("warm_start"), setup)
        strategy = make_strategy(strat["name"], options, rank=warm_start.ranker.rank if warm_start else None)
        objectives = _objectives(data, setup, options)
        check_objectives(setup.evaluator, objectives)
        narrowed = space.with_constraints(check_decisions(setup.evaluator, space))
        strategy.validate(narrowed, objectives)  # e.g. population vs space
        trials, seconds, max_failures = _budget(data.get("budget", {}), narrowed)
        pruner = _pruner(data.get("pruner"), setup.evaluator, objectives)
        executor_spec = _executor_spec(data.get("executor", {"name": "inline"}))
        from .executors import make_executor

        executor = make_executor(executor_spec)  # starts nothing
        return cls(
            raw=dict(data), base_dir=base, name=name, seed=seed, space=space, evaluator=setup.evaluator,
            strategy_name=strat["name"], strategy_options=options, objectives=objectives, trials=trials,
            seconds=seconds, executor=dict(executor_spec), max_failures_in_a_row=max_failures, warm_start=warm_start,
            setup=setup, _strategy=strategy, _executor=executor, pruner=pruner,
        )  # fmt: skip

    def build(self) -> StudyParts:
        """The components :meth:`parse` constructed (the same objects, not rebuilt)."""
        return StudyParts(self.space, self.evaluator, self._strategy, self._executor, self.objectives, self.pruner)

    def with_overrides(
        self,
        *,
        trials: int | None = None,
        seconds: float | None = None,
        seed: int | None = None,
        executor: str | None = None,
        workers: int | None = None,
    ) -> RunConfig:
        """This config with command-line overrides (``None``: unchanged): the budget, the
        search seed, and the executor (``executor`` names it; ``workers`` alone turns inline
        into local; options the new executor does not take are dropped). Only the executor
        is rebuilt; the evaluator and strategy are kept. Errors name the config field."""
        raw = dict(self.raw)
        if seed is not None:
            raw["seed"] = v.integer(seed, "seed")
        budget = dict(raw.get("budget") or {})
        if trials is not None:
            budget["trials"] = trials
        if seconds is not None:
            budget["seconds"] = seconds
        if trials is not None or seconds is not None:
            raw["budget"] = budget
        new_trials, new_seconds, max_failures = _budget(raw.get("budget", {}), self.space)
        spec, built = self.executor, self._executor
        if executor is not None or workers is not None:
            spec = override_executor(self.executor, executor, workers)
            raw["executor"] = spec
            from .executors import make_executor

            built = make_executor(spec)
        return dataclasses.replace(
            self, raw=raw, seed=raw.get("seed", self.seed), trials=new_trials, seconds=new_seconds,
            max_failures_in_a_row=max_failures, executor=dict(spec), _executor=built,
        )  # fmt: skip

    def make_strategy(self) -> Strategy:
        """The strategy the config names (behind its warm start when ``strategy.warm_start``
        is given): the one :meth:`parse` built the first time, a fresh one afterwards (a
        strategy serves one study)."""
        built, self._strategy = self._strategy, None
        if built is not None:
            return built  # type: ignore[no-any-return]
        rank = self.warm_start.ranker.rank if self.warm_start is not None else None
        return make_strategy(self.strategy_name, self.strategy_options, rank=rank)

    def make_executor(self) -> Executor:
        """The executor the config names: ``executor: {name: inline | local | ray, ...}`` (see
        :func:`nasforge.executors.make_executor`): the one :meth:`parse` built the first time,
        a fresh one afterwards."""
        built, self._executor = self._executor, None
        if built is not None:
            return built  # type: ignore[no-any-return]
        from .executors import make_executor

        return make_executor(self.executor)


def _pruner(spec: Any, evaluator: Evaluator, objectives: Objectives) -> Pruner | None:
    """``pruner:`` built, and checked against the evaluator's step reports (which must hold
    the primary objective) and its number of steps."""
    from .pruners import check_pruner, make_pruner

    pruner = make_pruner(spec)
    if pruner is not None:
        check_pruner(pruner, evaluator, objectives)
        steps = getattr(evaluator, "max_steps", None)
        pruner.start(max_steps=steps if isinstance(steps, int) and not isinstance(steps, bool) else None)
    return pruner


SPACE_FILE_SUFFIXES = (".yaml", ".yml", ".json")
"""A ``space:`` string ending so names a file holding the space (as ``nasforge refine`` writes)."""


def _space_file(spec: Any, base: Path) -> Any:
    """``space:`` as given, or, for ``space: refined.yaml`` (relative to the config's folder),
    the space the file holds (its mapping, or a built-in name)."""
    if not isinstance(spec, str) or not spec.lower().endswith(SPACE_FILE_SUFFIXES):
        return spec
    from ._yaml import load_yaml

    path = v.resolve_path(spec, "space", base)
    if not path.is_file():
        raise ConfigError("space", f"file {str(path)!r} does not exist (a space file such as `nasforge refine` writes)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("space", f"cannot read {str(path)!r}: {exc}") from None
    loaded = load_yaml(text, path.name, field="space")
    if isinstance(loaded, str) and loaded.lower().endswith(SPACE_FILE_SUFFIXES):
        raise ConfigError("space", f"{path.name} names another file ({loaded!r}); a space file holds the space itself")
    return loaded


def _read_transfer(spec: Any, base: Path) -> Any:
    """``strategy.transfer`` with each source run directory (relative to the config's folder
    when it is there, else to the working directory) read into stored data."""
    from ._results import RunData
    from .strategies._transfer import read_transfer

    def read(path: str) -> RunData:
        where = base / path if (base / path).exists() else Path(path)
        return RunData.load(where)

    return read_transfer(spec, read)


def _warm_start(spec: Any, setup: EvaluatorSetup) -> WarmStartSpec | None:
    """``strategy.warm_start`` checked, and its ranker built from the evaluator setup."""
    if spec is None:
        return None
    field = "strategy.warm_start"
    v.mapping(spec, field, "{proxy: synflow, samples: 1000, top: 10}")
    from .evaluators import WARM_RANKER_KEYS

    v.check_keys(spec, {*WARM_COUNTS, *WARM_RANKER_KEYS}, field)
    if "proxy" not in spec:
        raise ConfigError(f"{field}.proxy", "is required: the zero-cost proxy that ranks, e.g. synflow")
    samples = v.positive_int(spec.get("samples", 1000), f"{field}.samples")
    top = v.positive_int(spec.get("top", 10), f"{field}.top")  # top <= samples: make_strategy checks it
    options = {k: val for k, val in spec.items() if k not in WARM_COUNTS and k != "proxy"}
    try:
        ranker = setup.ranker(spec["proxy"], **options)
    except ConfigError as exc:
        raise exc.within(field) from None
    return WarmStartSpec(ranker, samples, top)


def _objectives(data: Mapping[str, Any], setup: EvaluatorSetup, strategy_options: Mapping[str, Any]) -> Objectives:
    """``objectives`` (or the evaluator's default) with the metric constraints: the top-level
    ``constraints`` and their alias ``strategy.constraints``."""
    constraints = _constraint_list(data.get("constraints"), "constraints")
    for c in _constraint_list(strategy_options.get("constraints"), "strategy.constraints"):
        if c not in constraints:
            constraints.append(c)
    if "objectives" in data:
        return Objectives.parse(data["objectives"], constraints=constraints)
    if setup.objectives:
        return Objectives.parse(setup.objectives, constraints=constraints)
    raise ConfigError("objectives", "is required for this evaluator, e.g. {accuracy: maximize}")


def _constraint_list(value: Any, field: str) -> list[Any]:
    from ._trial import MetricConstraint

    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(field, f"must be a list such as ['params <= 1e6'], got {value!r}")
    return [MetricConstraint.parse(c, field=f"{field}[{i}]") for i, c in enumerate(items)]


def _budget(budget: Any, space: SearchSpace) -> tuple[int | None, float | None, int | None]:
    v.mapping(budget, "budget", "{trials: N, seconds: S}")
    v.check_keys(budget, BUDGET_KEYS, "budget")
    trials = v.positive_int(budget.get("trials"), "budget.trials", none_ok=True)
    seconds = v.positive_number(budget.get("seconds"), "budget.seconds", none_ok=True)
    max_failures = budget.get("max_failures_in_a_row", DEFAULT_MAX_FAILURES_IN_A_ROW)
    if max_failures is not None:
        try:
            max_failures = v.positive_int(max_failures, "budget.max_failures_in_a_row")
        except ConfigError:
            raise ConfigError(
                "budget.max_failures_in_a_row", f"must be a positive integer or null (never stop), got {max_failures!r}"
            ) from None
    if trials is None and seconds is None and space.cardinality == float("inf"):
        raise ConfigError("budget", "a space with continuous decisions needs `trials` or `seconds`")
    return trials, seconds, max_failures


def _executor_spec(executor: Any) -> dict[str, Any]:
    if executor is None:
        executor = {"name": "inline"}
    if isinstance(executor, str):
        executor = {"name": executor}
    return dict(v.mapping(executor, "executor", "{name: local, workers: 2}"))


def override_executor(current: Any, name: str | None, workers: int | None) -> Any:
    """The ``executor:`` config with ``--executor`` / ``--workers`` applied; options the new
    executor does not take are dropped (``--workers`` alone turns inline into local)."""
    from .executors import EXECUTORS, executor_options

    if name is None and workers is None:
        return current
    if current is None:
        current = {"name": "inline"}
    if isinstance(current, str):
        current = {"name": current}
    if not isinstance(current, dict):
        return current  # make_executor refuses it with the field named
    old = current.get("name", "inline")
    new = name or ("local" if old == "inline" else old)
    out = dict(current)
    if new != old and new in EXECUTORS:
        accepted = executor_options(new)
        out = {k: val for k, val in current.items() if k in accepted}
    out["name"] = new
    if workers is not None:
        out["workers"] = workers
    return out
