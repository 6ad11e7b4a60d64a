"""The pruner protocol (one method), the step curves it judges, and the ``pruner:`` registry."""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from .._errors import ConfigError
from .._trial import Objectives

PRUNERS: dict[str, type[Pruner]] = {}
"""Registered pruners by config name (``pruner: {name: ...}``)."""

P = TypeVar("P", bound="type[Pruner]")


class Curves:
    """Every trial's reported values of the judged metric, by step, larger is better (the
    study signs them with the objective's direction; NaN counts as ``-inf``). Filled from live
    step reports and, on resume, from the stored ``report["steps"]`` of finished trials.

    Example:
        >>> c = Curves()
        >>> c.record(0, 1, 0.5); c.record(1, 1, float("nan"))
        >>> c.at(1), c.value(0, 1)
        ({0: 0.5, 1: -inf}, 0.5)
    """

    def __init__(self) -> None:
        self._by_step: dict[int, dict[int, float]] = {}

    def record(self, number: int, step: int, value: float) -> None:
        """Trial ``number``'s value after ``step`` (larger is better)."""
        value = float(value)
        self._by_step.setdefault(int(step), {})[int(number)] = value if not math.isnan(value) else -math.inf

    def at(self, step: int) -> dict[int, float]:
        """The values reported at ``step``, by trial number, in the order they arrived."""
        return dict(self._by_step.get(int(step), {}))

    def value(self, number: int, step: int) -> float:
        """Trial ``number``'s value at ``step`` (``KeyError`` if it did not report it)."""
        return self._by_step[int(step)][int(number)]

    def forget(self, number: int) -> None:
        """Drop trial ``number``'s values (a trial that will be run again)."""
        for values in self._by_step.values():
            values.pop(int(number), None)


class Pruner(ABC):
    """Decides, after each step a trial reports, whether it should stop now (Optuna's pruner:
    one method). Decisions depend only on the curves recorded so far, so an inline search is
    reproducible and a resumed one rebuilds the same state from the stored curves.

    Subclasses register with :func:`register_pruner` and take keyword-only options, which
    :meth:`to_config` reads back.
    """

    config_name: ClassVar[str | None] = None

    def start(self, *, max_steps: int | None) -> None:
        """Called once by the study before the search: ``max_steps`` is the number of steps
        (epochs) of a trial at the full budget, when the evaluator declares it."""

    @abstractmethod
    def prune(self, curves: Curves, number: int, step: int) -> str | None:
        """Why trial ``number`` should stop after ``step`` (its value is
        ``curves.value(number, step)``, already recorded), or ``None`` to let it go on."""

    def to_config(self) -> dict[str, Any]:
        """The ``pruner:`` config that rebuilds this pruner (options that differ from their defaults).

        Example:
            >>> make_pruner({"name": "asha", "eta": 2}).to_config()
            {'name': 'asha', 'eta': 2}
        """
        out: dict[str, Any] = {"name": type(self).config_name}
        params = inspect.signature(type(self).__init__).parameters
        for name, param in params.items():
            if name == "self":
                continue
            value = getattr(self, name)
            if value != param.default:
                out[name] = value
        return out


def register_pruner(name: str) -> Callable[[P], P]:
    """Register a pruner class under ``name`` (``pruner: {name: ...}``)."""

    def add(cls: P) -> P:
        cls.config_name = name
        PRUNERS[name] = cls
        return cls

    return add


def make_pruner(spec: Pruner | str | Mapping[str, Any] | None, *, field: str = "pruner") -> Pruner | None:
    """A pruner from its config: ``asha``, ``{name: asha, eta: 3}``, ``{name: median,
    warmup_steps: 2}``; ``None`` (or ``none``) for no pruning. Errors name ``pruner.<option>``.

    Example:
        >>> make_pruner("median").min_trials
        5
    """
    if spec is None or isinstance(spec, Pruner):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ConfigError(
            field, f"must name a pruner ({', '.join(sorted(PRUNERS))}), e.g. {{name: asha}}, got {spec!r}"
        )
    name = spec["name"]
    if name == "none":
        if len(spec) > 1:
            raise ConfigError(f"{field}.{min(k for k in spec if k != 'name')}", "pruner none takes no options")
        return None
    if name not in PRUNERS:
        raise ConfigError(f"{field}.name", f"unknown pruner {name!r}; choose one of {sorted(PRUNERS)} (or none)")
    cls = PRUNERS[name]
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    options = {k: val for k, val in spec.items() if k != "name"}
    for key in options:
        if key not in accepted:
            raise ConfigError(f"{field}.{key}", f"is not an option of pruner {name}; it takes {accepted}")
    try:
        return cls(**options)
    except ConfigError as exc:
        raise exc.within(field) from None


def check_pruner(pruner: Pruner, evaluator: object, objectives: Objectives) -> None:
    """Refuse (``pruner``) a pruner whose evaluator does not report steps (its
    ``step_metrics`` is missing or empty, e.g. a table) or whose per-step reports lack the
    primary objective, which the pruner judges."""
    steps = getattr(evaluator, "step_metrics", None)
    metric = objectives.primary.metric
    kind = type(evaluator).__name__
    if not steps:
        raise ConfigError(
            "pruner",
            f"the evaluator ({kind}) does not report steps, so nothing could be pruned; remove `pruner:`, or use an "
            "evaluator that trains in steps (trainer; a function that calls report_step and declares step_metrics)",
        )
    if metric not in steps:
        raise ConfigError(
            "pruner",
            f"judges the primary objective {metric!r}, but the evaluator's step reports give {list(steps)}; "
            f"put one of those first in the objectives, or remove `pruner:`",
        )
