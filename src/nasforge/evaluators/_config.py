"""Evaluators in configs: ``evaluator: {table | benchmark | function | dataset: ...}``.

Each evaluator's builder lives beside its class (``Table.from_config``,
``nasbench201_from_config``, ``Function.from_config``, ``Trainer.from_config``,
``ZeroCost.from_config``); this module only picks one by its selecting key and prefixes the
field names of its errors. It also holds the checks that refuse, before any work, what an
evaluator would silently ignore (:func:`check_objectives`, :func:`check_decisions`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .._trial import Objectives
from .._validate import mapping
from ..space import Arch, Constraint, SearchSpace
from ._base import EvaluatorSetup, Function
from ._table import Table, nasbench201_from_config

EvaluatorBuilder = Callable[[Mapping[str, Any], SearchSpace, Path], EvaluatorSetup]
"""``builder(spec, space, base_dir) -> EvaluatorSetup``; errors name fields relative to ``spec``."""


def _dataset(spec: Mapping[str, Any], space: SearchSpace, base: Path) -> EvaluatorSetup:
    """``{dataset: ...}`` trains (:class:`Trainer`); with ``proxy:`` it scores untrained
    networks with zero-cost proxies (:class:`ZeroCost`); with ``one_shot:`` it scores inherited
    weights of a supernet (:class:`OneShot`). torch is imported only here."""
    if "one_shot" in spec:
        if "proxy" in spec:
            raise ConfigError("one_shot", "cannot be combined with proxy: choose one-shot weight sharing or a zero-cost proxy")
        from ._oneshot import OneShot

        return OneShot.from_config(spec, space, base)
    if "proxy" in spec:
        from ._proxies import ZeroCost

        return ZeroCost.from_config(spec, space, base)
    from ._trainer import Trainer

    return Trainer.from_config(spec, space, base)


EVALUATORS: dict[str, EvaluatorBuilder] = {
    "table": Table.from_config,
    "benchmark": nasbench201_from_config,
    "function": Function.from_config,
    "dataset": _dataset,
}
"""Evaluator builders by the key that selects them in ``evaluator:``; :func:`register_evaluator` adds to it."""

EVALUATOR_HINTS = {"proxy": "dataset", "one_shot": "dataset", "epochs": "dataset", "folds": "dataset", "key": "table", "metric": "table"}
"""Keys that give away which evaluator was meant when its selecting key is missing."""

SIBLING_FIELDS = ("space",)
"""Fields an evaluator may name that are not its own (the space beside it in the config):
left unprefixed."""


def register_evaluator(key: str) -> Callable[[EvaluatorBuilder], EvaluatorBuilder]:
    """Decorator: ``evaluator: {<key>: ...}`` in a config is built by the decorated
    ``builder(spec, space, base_dir) -> EvaluatorSetup``."""

    def wrap(fn: EvaluatorBuilder) -> EvaluatorBuilder:
        EVALUATORS[key] = fn
        return fn

    return wrap


def make_evaluator(
    spec: Any, space: SearchSpace, base: str | Path = ".", *, field: str = "evaluator"
) -> EvaluatorSetup:
    """Build the evaluator that ``spec`` (the ``evaluator:`` mapping) selects, for ``space``,
    with relative paths from ``base``; errors name ``evaluator.<field>``.

    Example:
        >>> from nasforge.space import SearchSpace, Choice
        >>> space = SearchSpace({"x": Choice([1, 2])})
        >>> make_evaluator({"function": "math:sqrt", "metrics": ["value"]}, space).evaluator.metrics
        ['value']
    """
    spec = mapping(spec, field, "{table: results.csv, metric: accuracy}")
    kinds = [k for k in EVALUATORS if k in spec]
    if not kinds:
        for key, kind in EVALUATOR_HINTS.items():
            if key in spec:
                raise ConfigError(f"{field}.{kind}", f"is missing: `{key}` belongs to the `{kind}:` evaluator")
    if len(kinds) != 1:
        raise ConfigError(field, f"needs exactly one of {sorted(EVALUATORS)}, got keys {sorted(spec)}")
    try:
        setup = EVALUATORS[kinds[0]](spec, space, Path(base))
    except ConfigError as exc:
        if exc.field.split(".")[0] in SIBLING_FIELDS:
            raise exc.within("") from None
        raise exc.within(field) from None
    if setup.make_ranker is None:
        setup.make_ranker = functools.partial(_ranker, setup.evaluator, space, Path(base))
    return setup


def _ranker(evaluator: Any, space: SearchSpace, base: Path, proxy: Any, **options: Any) -> Any:
    from ._proxies import ZeroCost  # imports torch

    return ZeroCost.ranker_for(evaluator, space, base, proxy, **options)


def declared_metrics(evaluator: Any) -> list[str] | None:
    """The metrics ``evaluator`` declares it produces, or ``None`` when it does not say."""
    names = getattr(evaluator, "metrics", None)
    if isinstance(names, list | tuple | set | frozenset) and all(isinstance(n, str) for n in names):
        return list(names)
    return None


def check_objectives(evaluator: Any, objectives: Objectives) -> None:
    """Refuse, before any work, objectives and metric constraints that name a metric the
    evaluator does not produce (``objectives.<name>`` / ``constraints``). An evaluator that
    declares no metrics (a :class:`Function` without ``metrics=``) is told what to expect
    instead: its first result that lacks one stops the search with a fatal error."""
    produced = declared_metrics(evaluator)
    if produced is None:
        expect = getattr(evaluator, "expect", None)
        if callable(expect):
            expect(objectives.metrics)
        return
    for name in objectives.names:
        if name not in produced:
            raise ConfigError(
                f"objectives.{name}", f"is not a metric of this evaluator; the evaluator produces {produced}"
            )
    for i, c in enumerate(objectives.constraints):
        if c.metric not in produced:
            raise ConfigError(
                f"constraints[{i}]",
                f"`{c}` names {c.metric!r}, which the evaluator does not produce; it produces {produced}",
            )


STATIC_CACHE = 200_000
"""Most architectures a :func:`static_constraints` check remembers (then it starts over)."""


def static_constraints(evaluator: Any, objectives: Objectives) -> list[Constraint]:
    """The metric constraints the evaluator can judge from the architecture alone, before any
    training (its ``static_metrics``, e.g. a :class:`Trainer`'s ``params``), as one constraint
    of the space: no strategy proposes, and no worker trains, a network that breaks them. The
    answer per architecture is remembered. ``[]`` when there is none (a table, a function)."""
    static = tuple(getattr(evaluator, "static_metrics", ()))
    limits = [c for c in objectives.constraints if c.metric in static]
    if not limits:
        return []
    known: dict[str, bool] = {}

    def check(arch: Arch) -> bool:
        key = arch.to_json()
        if key not in known:
            if len(known) >= STATIC_CACHE:
                known.clear()
            values = {c.metric: evaluator.static_metric(arch, c.metric) for c in limits}
            known[key] = all(c.violation(values) == 0 for c in limits)
        return known[key]

    return [Constraint(check, name=" and ".join(map(str, limits)) + " (counted before training)")]


def check_decisions(evaluator: Any, space: SearchSpace) -> list[Any]:
    """The evaluator's constraints for ``space`` (its ``constraints(space)`` hook, which also
    refuses a decision that nothing reads, as ``space.<name>``); ``[]`` without the hook."""
    hook = getattr(evaluator, "constraints", None)
    return list(hook(space)) if callable(hook) else []
