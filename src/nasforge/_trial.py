"""Candidates, trials and objectives: the values that flow between the parts."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._errors import ConfigError
from .space import Arch


class TrialState(str, enum.Enum):
    """Where a trial is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    PRUNED = "pruned"

    @property
    def finished(self) -> bool:
        """Whether the trial will not change any more."""
        return self in (TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED)


@dataclass(frozen=True)
class Candidate:
    """What a strategy asks to evaluate: an architecture and a budget.

    ``budget`` is the fidelity as a fraction of the evaluator's full budget, in (0, 1]
    (e.g. 1/9 of the epochs); ``None`` means the full budget.
    """

    arch: Arch
    budget: float | None = None

    def __post_init__(self) -> None:
        if self.budget is not None and not (0.0 < self.budget <= 1.0):
            raise ValueError(f"a candidate's budget must be in (0, 1] or None, got {self.budget}")


@dataclass(frozen=True)
class Trial:
    """One evaluation of one candidate, as stored.

    ``metrics`` are what strategies see; ``report`` holds recorded values that a search must
    not see (e.g. test accuracy). ``number`` is unique in a study and counts from 0.
    ``requeued_from`` names the interrupted trial this one re-runs; ``enqueued`` marks a
    candidate given to the study (``Study.enqueue``) rather than asked of the strategy.
    Neither is asked again when the strategy is rebuilt on resume; both are told.
    """

    number: int
    arch: Arch
    budget: float | None = None
    state: TrialState = TrialState.PENDING
    metrics: Mapping[str, float] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    cost_seconds: float | None = None
    interrupted: bool = False
    requeued_from: int | None = None
    enqueued: bool = False
    asked_after: int = 0
    tell_seq: int | None = None

    @property
    def candidate(self) -> Candidate:
        """The candidate this trial evaluated."""
        return Candidate(self.arch, self.budget)

    def for_strategy(self) -> Trial:
        """This trial without the values a strategy must not see."""
        return replace(self, report={}) if self.report else self


@dataclass(frozen=True)
class Objective:
    """A named metric and the direction that is better.

    Example:
        >>> Objective("accuracy", "maximize").sign
        1.0
    """

    metric: str
    direction: str = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ConfigError(
                f"objectives.{self.metric}", f"must be `maximize` or `minimize`, got {self.direction!r}"
            )

    @property
    def sign(self) -> float:
        """+1 for maximize, -1 for minimize: ``sign * value`` is always larger-is-better."""
        return 1.0 if self.direction == "maximize" else -1.0


class Objectives(Sequence[Objective]):
    """The objectives of a study; everything that compares trials goes through them.

    Example:
        >>> obj = Objectives.parse({"accuracy": "maximize", "params": "minimize"})
        >>> obj.names
        ['accuracy', 'params']
    """

    def __init__(self, objectives: Iterable[Objective]) -> None:
        self._items = list(objectives)
        if not self._items:
            raise ConfigError("objectives", "needs at least one metric with a direction, e.g. {accuracy: maximize}")
        names = [o.metric for o in self._items]
        if len(set(names)) != len(names):
            raise ConfigError("objectives", f"metric names must be distinct, got {names}")

    @classmethod
    def parse(cls, data: Any, *, field: str = "objectives") -> Objectives:
        """From ``{metric: direction}``, a list of such, or a list of :class:`Objective`."""
        if isinstance(data, Objectives):
            return data
        if isinstance(data, str):
            data = {data: "maximize"}
        items: list[Objective] = []
        if isinstance(data, Mapping):
            pairs = list(data.items())
        elif isinstance(data, list):
            pairs = []
            for k, entry in enumerate(data):
                if isinstance(entry, Objective):
                    pairs.append((entry.metric, entry.direction))
                elif isinstance(entry, Mapping) and len(entry) == 1:
                    pairs.extend(entry.items())
                else:
                    raise ConfigError(f"{field}[{k}]", f"must be {{metric: maximize|minimize}}, got {entry!r}")
        else:
            raise ConfigError(field, f"must map metric names to maximize|minimize, got {data!r}")
        for metric, direction in pairs:
            if direction not in ("maximize", "minimize"):
                raise ConfigError(f"{field}.{metric}", f"must be `maximize` or `minimize`, got {direction!r}")
            items.append(Objective(str(metric), str(direction)))
        return cls(items)

    def __getitem__(self, index: int) -> Objective:  # type: ignore[override]
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return "Objectives(" + ", ".join(f"{o.metric}={o.direction}" for o in self._items) + ")"

    @property
    def names(self) -> list[str]:
        """The metric names, in order."""
        return [o.metric for o in self._items]

    @property
    def primary(self) -> Objective:
        """The first objective: the one ``study.best`` and single-objective strategies use."""
        return self._items[0]

    def to_config(self) -> dict[str, str]:
        """The ``{metric: direction}`` form."""
        return {o.metric: o.direction for o in self._items}

    def score(self, trial: Trial) -> float:
        """The primary objective as larger-is-better; ``-inf`` for a trial without it."""
        if trial.state is not TrialState.COMPLETE:
            return -math.inf
        value = trial.metrics.get(self.primary.metric)
        if value is None or not math.isfinite(value):
            return -math.inf
        return self.primary.sign * float(value)

    def vector(self, trial: Trial) -> list[float]:
        """All objectives as larger-is-better values (``-inf`` where missing)."""
        out = []
        for o in self._items:
            v = trial.metrics.get(o.metric) if trial.state is TrialState.COMPLETE else None
            out.append(o.sign * float(v) if v is not None and math.isfinite(v) else -math.inf)
        return out

    def dominates(self, a: Trial, b: Trial) -> bool:
        """Whether ``a`` is at least as good as ``b`` in every objective and better in one."""
        va, vb = self.vector(a), self.vector(b)
        return all(x >= y for x, y in zip(va, vb)) and any(x > y for x, y in zip(va, vb))

    @staticmethod
    def at_top_budget(trials: Iterable[Trial]) -> list[Trial]:
        """The trials at the largest budget among ``trials`` (``None`` counts as 1): under
        multi-fidelity, a score at a smaller budget does not compete with a full one."""
        trials = list(trials)
        top = max((1.0 if t.budget is None else t.budget for t in trials), default=1.0)
        return [t for t in trials if (1.0 if t.budget is None else t.budget) == top]

    def best(self, trials: Iterable[Trial]) -> Trial | None:
        """The complete trial with the best primary objective (earliest on ties), among the
        complete trials at the largest budget."""
        best: Trial | None = None
        done = [t for t in trials if t.state is TrialState.COMPLETE and math.isfinite(self.score(t))]
        for t in self.at_top_budget(done):
            if best is None or self.score(t) > self.score(best):
                best = t
        return best

    def pareto_front(self, trials: Iterable[Trial]) -> list[Trial]:
        """The complete trials no other complete trial dominates, in trial order, among the
        complete trials at the largest budget."""
        done = [t for t in trials if t.state is TrialState.COMPLETE and all(map(math.isfinite, self.vector(t)))]
        done = self.at_top_budget(done)
        if not done:
            return []
        mask = pareto_mask(np.array([self.vector(t) for t in done]))
        return [t for t, keep in zip(done, mask) if keep]


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Which rows of ``values`` (n × k, larger is better) no other row dominates.

    Rows are visited by decreasing sum, so a row can only be dominated by one visited before
    it: each row is compared with the front found so far (small), not with every row.

    Example:
        >>> pareto_mask(np.array([[1.0, 1.0], [2.0, 0.0], [0.5, 0.5]])).tolist()
        [True, True, False]
    """
    n = len(values)
    mask = np.zeros(n, dtype=bool)
    front = np.empty((0, values.shape[1] if values.ndim == 2 else 0))
    for i in np.argsort(-values.sum(axis=1), kind="stable"):
        v = values[i]
        if len(front) and bool(np.any(np.all(front >= v, axis=1) & np.any(front > v, axis=1))):
            continue
        mask[i] = True
        front = np.vstack([front, v])
    return mask

