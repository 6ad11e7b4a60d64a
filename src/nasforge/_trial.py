"""Candidates, trials and objectives: the values that flow between the parts."""

from __future__ import annotations

import enum
import math
import re
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
    violation: float = 0.0
    """How far the trial's metrics break the study's metric constraints (0: feasible); computed
    once by the study when it stores the result (see :meth:`Objectives.violation`)."""

    @property
    def counts_toward_budget(self) -> bool:
        """Finished trials count toward a trial budget, except interrupted ones (run again)."""
        return self.state.finished and not self.interrupted

    @property
    def feasible(self) -> bool:
        """Whether the trial meets every metric constraint of its study."""
        return self.violation == 0

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

_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class MetricConstraint:
    """A hard constraint on a metric of a trial, such as ``params <= 1e6``.

    Example:
        >>> c = MetricConstraint.parse("params <= 1e6")
        >>> c.violation({"params": 2e6}), c.violation({"params": 5e5})
        (1.0, 0.0)
    """

    metric: str
    op: str
    limit: float

    @classmethod
    def parse(cls, text: object, *, field: str = "constraints") -> MetricConstraint:
        """From ``"metric <= number"`` (or ``>=``, ``<``, ``>``)."""
        if isinstance(text, MetricConstraint):
            return text
        m = _CONSTRAINT.match(text) if isinstance(text, str) else None
        if m is None:
            raise ConfigError(field, f"must look like `params <= 1e6` (metric, <= >= < or >, number), got {text!r}")
        limit = float(m.group(3))
        if not math.isfinite(limit):
            raise ConfigError(field, f"needs a finite limit, got {text!r}")
        return cls(m.group(1), m.group(2), limit)

    def violation(self, metrics: Mapping[str, float] | object) -> float:
        """0 when met; otherwise how far the metric is past the limit, relative to the limit
        (``inf`` when the metric is missing)."""
        value = metrics.get(self.metric) if isinstance(metrics, Mapping) else None
        if not isinstance(value, int | float) or not math.isfinite(value):
            return math.inf
        over = value - self.limit if self.op in ("<=", "<") else self.limit - value
        if over < 0 or (over == 0 and self.op in ("<=", ">=")):
            return 0.0
        return max(over, 1e-12) / max(abs(self.limit), 1e-12)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.limit:g}"


class Objectives(Sequence[Objective]):
    """The objectives of a study and its hard constraints on metrics; everything that compares
    trials goes through them, and :meth:`best` and :meth:`pareto_front` are the only
    definitions of "the best trial" (study, status, best.json, leaderboard, report, explain).

    A trial that breaks a constraint (``trial.violation > 0``, written by the study when it
    stores the result) is never the best and never on the front.

    Example:
        >>> obj = Objectives.parse({"accuracy": "maximize", "params": "minimize"}, constraints=["params <= 1e6"])
        >>> obj.names, [str(c) for c in obj.constraints]
        (['accuracy', 'params'], ['params <= 1e+06'])
    """

    def __init__(self, objectives: Iterable[Objective], *, constraints: Iterable[MetricConstraint | str] = ()) -> None:
        self._items = list(objectives)
        if isinstance(constraints, str):
            constraints = [constraints]
        self.constraints: list[MetricConstraint] = [
            MetricConstraint.parse(c, field=f"constraints[{i}]") for i, c in enumerate(constraints)
        ]
        if not self._items:
            raise ConfigError("objectives", "needs at least one metric with a direction, e.g. {accuracy: maximize}")
        names = [o.metric for o in self._items]
        if len(set(names)) != len(names):
            raise ConfigError("objectives", f"metric names must be distinct, got {names}")

    @classmethod
    def parse(
        cls, data: Any, *, field: str = "objectives", constraints: Iterable[MetricConstraint | str] | None = None
    ) -> Objectives:
        """From ``{metric: direction}``, a list of such, or a list of :class:`Objective`;
        ``constraints`` (``["params <= 1e6"]``) are added to those ``data`` may already hold."""
        if isinstance(data, Objectives):
            if not constraints:
                return data
            return cls(list(data), constraints=[*data.constraints, *cls._constraint_list(constraints)])
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
        return cls(items, constraints=cls._constraint_list(constraints))

    @staticmethod
    def _constraint_list(constraints: Any) -> list[MetricConstraint | str]:
        if constraints is None:
            return []
        if isinstance(constraints, str | MetricConstraint):
            return [constraints]
        if not isinstance(constraints, Iterable):
            raise ConfigError("constraints", f"must be a list such as ['params <= 1e6'], got {constraints!r}")
        return list(constraints)

    def __getitem__(self, index: int) -> Objective:  # type: ignore[override]
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        text = ", ".join(f"{o.metric}={o.direction}" for o in self._items)
        if self.constraints:
            text += ", constraints=[" + ", ".join(repr(str(c)) for c in self.constraints) + "]"
        return f"Objectives({text})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Objectives):
            return NotImplemented
        return self._items == other._items and self.constraints == other.constraints

    __hash__ = None  # type: ignore[assignment]

    @property
    def metrics(self) -> list[str]:
        """Every metric the objectives and constraints read (objectives first)."""
        return list(dict.fromkeys([*self.names, *(c.metric for c in self.constraints)]))

    def violation(self, trial: Trial) -> float:
        """Total relative violation of the constraints by ``trial`` (0: feasible). Only a
        complete trial is judged; others are 0 (they never count as best anyway)."""
        if trial.state is not TrialState.COMPLETE:
            return 0.0
        return float(sum(c.violation(trial.metrics) for c in self.constraints))

    @property
    def names(self) -> list[str]:
        """The metric names, in order."""
        return [o.metric for o in self._items]

    @property
    def primary(self) -> Objective:
        """The first objective: the one ``study.best`` and single-objective strategies use."""
        return self._items[0]

    def to_config(self) -> dict[str, str]:
        """The ``{metric: direction}`` form (the constraints: :meth:`constraints_config`)."""
        return {o.metric: o.direction for o in self._items}

    def constraints_config(self) -> list[str]:
        """The constraints as the strings of a config's ``constraints:`` key."""
        return [f"{c.metric} {c.op} {c.limit!r}" for c in self.constraints]

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
        """The complete, feasible trial with the best primary objective (earliest on ties),
        among such trials at the largest budget."""
        best: Trial | None = None
        done = [t for t in trials if t.state is TrialState.COMPLETE and t.feasible and math.isfinite(self.score(t))]
        for t in self.at_top_budget(done):
            if best is None or self.score(t) > self.score(best):
                best = t
        return best

    def best_stopped(self, trials: Iterable[Trial]) -> Trial | None:
        """What a final model falls back to when no trial is complete (a time budget that ended
        before any trial finished): among the pruned trials (by a pruner or by the deadline)
        whose partial metrics have the primary objective and meet every constraint, those that
        reached the largest step, and of these the best by the primary objective (earliest on
        ties). ``None`` when there is a complete trial or no such stopped trial. It is never
        :meth:`best`: a trial stopped at a step is not compared with a finished one."""
        trials = list(trials)
        if any(t.state is TrialState.COMPLETE for t in trials):
            return None

        def value(t: Trial) -> float:
            v = t.metrics.get(self.primary.metric)
            return self.primary.sign * float(v) if isinstance(v, int | float) and math.isfinite(v) else -math.inf

        def step(t: Trial) -> float:
            s = t.report.get("pruned_at")
            return float(s) if isinstance(s, int | float) else -math.inf

        stopped = [
            t for t in trials
            if t.state is TrialState.PRUNED and math.isfinite(value(t))
            and all(c.violation(t.metrics) == 0 for c in self.constraints)
        ]  # fmt: skip
        if not stopped:
            return None
        top = max(step(t) for t in stopped)
        return max((t for t in stopped if step(t) == top), key=lambda t: (value(t), -t.number))

    def ranked(self, trials: Iterable[Trial]) -> list[Trial]:
        """The trials :meth:`best` chooses among, best first (earliest on ties): what a
        leaderboard lists. Infeasible, failed and lower-budget trials are left out."""
        done = [t for t in trials if t.state is TrialState.COMPLETE and t.feasible and math.isfinite(self.score(t))]
        top = self.at_top_budget(done)
        return sorted(top, key=lambda t: (-self.score(t), t.number))

    def pareto_front(self, trials: Iterable[Trial]) -> list[Trial]:
        """The complete, feasible trials no other such trial dominates, in trial order, among
        those at the largest budget."""
        done = [
            t for t in trials
            if t.state is TrialState.COMPLETE and t.feasible and all(map(math.isfinite, self.vector(t)))
        ]  # fmt: skip
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

