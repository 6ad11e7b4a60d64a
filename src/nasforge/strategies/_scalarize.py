"""Weighted scalarization: a single-objective strategy searching a weighted sum of several
objectives (the ``strategy.scalarize`` option)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._trial import Objective, Objectives, Trial, TrialState
from ..space import SearchSpace
from ._base import Ask, Strategy, Wrapper, strategy_label
from ._history import History

FIELD = "strategy.scalarize"


class WeightedSum(Objectives):
    """Several objectives seen as one larger-is-better objective: ``sum(weight * sign * value)``
    (``sign`` +1 to maximize, -1 to minimize), in the units of the metrics. What a
    :class:`Scalarize`'d strategy is given instead of the study's objectives; the metric
    constraints are the study's.

    Example:
        >>> from nasforge import Trial, TrialState
        >>> obj = Objectives.parse({"accuracy": "maximize", "params": "minimize"})
        >>> ws = WeightedSum(obj, {"accuracy": 1.0, "params": 1e-6})
        >>> trial = Trial(0, {}, state=TrialState.COMPLETE, metrics={"accuracy": 0.9, "params": 2e5})
        >>> ws.names, round(ws.score(trial), 6)
        (['1*accuracy - 1e-06*params'], 0.7)
    """

    def __init__(self, objectives: Objectives, weights: Mapping[str, float]) -> None:
        self.base, self.weights = objectives, {o.metric: float(weights[o.metric]) for o in objectives}
        label = ""
        for o in objectives:
            term = f"{self.weights[o.metric]:g}*{o.metric}"
            label += (f"-{term}" if o.sign < 0 else term) if not label else f" {'-' if o.sign < 0 else '+'} {term}"
        super().__init__([Objective(label, "maximize")], constraints=objectives.constraints)

    def score(self, trial: Trial) -> float:
        """The weighted sum (larger is better); ``-inf`` when a metric is missing or not finite."""
        if trial.state is not TrialState.COMPLETE:
            return -math.inf
        total = 0.0
        for o in self.base:
            value = trial.metrics.get(o.metric)
            if value is None or not math.isfinite(value):
                return -math.inf
            total += self.weights[o.metric] * o.sign * float(value)
        return total

    def vector(self, trial: Trial) -> list[float]:
        """``[score]``: the one objective."""
        return [self.score(trial)]


def check_weights(weights: Any, field: str = f"{FIELD}.weights") -> dict[str, float]:
    """``weights`` as ``{metric: weight}`` with every weight a finite number above 0, for at
    least two metrics; a :class:`ConfigError` naming the field otherwise."""
    if not isinstance(weights, Mapping) or not weights:
        raise ConfigError(
            field, f"must map each objective to a weight, e.g. {{accuracy: 1, params: 1e-7}}, got {weights!r}"
        )
    out: dict[str, float] = {}
    for name, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w <= 0:
            raise ConfigError(
                f"{field}.{name}",
                f"must be a number above 0, got {w!r} (the direction comes from `objectives:`; an objective that "
                "should not count belongs in `constraints:` or out of `objectives:`)",
            )
        out[str(name)] = float(w)
    if len(out) < 2:
        raise ConfigError(
            field, f"weighs one objective ({next(iter(out))!r}), which is that objective: drop `scalarize`"
        )
    return out


class Scalarize(Wrapper):
    """A single-objective strategy searching the weighted sum of the study's objectives
    (:class:`WeightedSum`): explicit weights, in the units of the metrics, stored with the run.

    Without it a single-objective strategy refuses a study with several objectives; with it,
    ``evolution`` or ``local-search`` (or ``bayesian`` as one GP instead of ParEGO) aims at one
    point of the front, the one the weights prefer. The study itself still judges by its
    objectives: ``study.best`` is the best primary objective and ``study.pareto_front`` the
    front, which holds the weighted sum's best trial (positive weights). A weight is per unit
    of its metric: with ``accuracy`` in [0, 1], ``params: 1e-7`` makes 10 million parameters
    cost as much as 1.0 of accuracy.

    In a config::

        objectives: {accuracy: maximize, params: minimize}
        strategy: {name: evolution, scalarize: {weights: {accuracy: 1, params: 1.0e-7}}}

    Args:
        inner: The single-objective strategy (or a warm start around one).
        weights: ``{metric: weight > 0}`` for every objective of the study.

    Example:
        >>> from nasforge.space import SearchSpace, IntRange
        >>> from nasforge.strategies import make_strategy
        >>> space = SearchSpace({"x": IntRange(0, 9)})
        >>> obj = Objectives.parse({"acc": "maximize", "params": "minimize"})
        >>> s = make_strategy("random", {"scalarize": {"weights": {"acc": 1, "params": 0.5}}})
        >>> s.validate(space, obj)
        >>> s.to_config()
        {'name': 'random', 'scalarize': {'weights': {'acc': 1.0, 'params': 0.5}}}
    """

    def __init__(self, inner: Strategy, weights: Mapping[str, float]) -> None:
        if not isinstance(inner, Strategy):
            raise ConfigError("strategy", f"scalarize wraps a strategy, got {type(inner).__name__}")
        if isinstance(inner, Scalarize):
            raise ConfigError(FIELD, "is given twice: a scalarized strategy cannot be scalarized again")
        self.inner = inner
        self.weights = check_weights(weights)

    @property
    def min_objectives(self) -> int:  # type: ignore[override]
        """Two: a weighted sum of one objective is that objective."""
        return 2

    @property
    def max_objectives(self) -> int | None:  # type: ignore[override]
        """Any number (each needs a weight)."""
        return None

    def validate(self, space: SearchSpace, objectives: Objectives) -> None:
        names = objectives.names
        if len(names) < 2:
            raise ConfigError(
                FIELD, f"weighs several objectives but the study has one ({names[0]!r}): drop `scalarize`"
            )
        missing = [n for n in names if n not in self.weights]
        if missing:
            raise ConfigError(
                f"{FIELD}.weights", f"has no weight for objective(s) {missing}; give every one of {names}"
            )
        unknown = [n for n in self.weights if n not in names]
        if unknown:
            raise ConfigError(f"{FIELD}.weights", f"names {unknown}, which are not objectives; the objectives: {names}")
        if self.inner.min_objectives > 1:
            raise ConfigError(
                FIELD,
                f"`{strategy_label(self.inner)}` is multi-objective and searches the front itself; drop `scalarize` "
                "or use a single-objective strategy",
            )
        self.inner.validate(space, WeightedSum(objectives, self.weights))

    def to_config(self) -> dict[str, Any]:
        """The inner strategy's config with ``scalarize: {weights: ...}``."""
        return {**self.inner.to_config(), "scalarize": {"weights": dict(self.weights)}}

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        self.inner.start(space, WeightedSum(objectives, self.weights), rng, history)

    def ask(self) -> Ask:
        return self.inner.ask()

    def tell(self, trial: Trial) -> None:
        self.inner.tell(trial)


def read_scalarize(spec: Any, field: str = FIELD) -> dict[str, float]:
    """The weights of a ``scalarize: {weights: {...}}`` option."""
    if not isinstance(spec, Mapping) or set(spec) != {"weights"}:
        raise ConfigError(field, f"must be {{weights: {{metric: weight, ...}}}}, got {spec!r}")
    return check_weights(spec["weights"], f"{field}.weights")
