"""Multi-objective search: NSGA-II (non-dominated sorting with crowding), with metric constraints."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial, TrialState
from ..space import Arch, SearchSpace
from ._base import Strategy, register_strategy
from ._evolution import check_int, mutate_new

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
        m = _CONSTRAINT.match(text) if isinstance(text, str) else None
        if m is None:
            raise ConfigError(field, f"must look like `params <= 1e6` (metric, <= >= < or >, number), got {text!r}")
        return cls(m.group(1), m.group(2), float(m.group(3)))

    def violation(self, metrics: dict[str, float] | object) -> float:
        """0 when met; otherwise how far the metric is past the limit, relative to the limit
        (``inf`` when the metric is missing)."""
        value = metrics.get(self.metric) if isinstance(metrics, dict) else None
        if value is None or not math.isfinite(value):
            return math.inf
        over = value - self.limit if self.op in ("<=", "<") else self.limit - value
        if over < 0 or (over == 0 and self.op in ("<=", ">=")):
            return 0.0
        return max(over, 1e-12) / max(abs(self.limit), 1e-12)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.limit:g}"


def non_dominated_sort(points: np.ndarray, violations: Sequence[float] | None = None) -> list[list[int]]:
    """Fronts of ``points`` (rows are larger-is-better objective vectors), best first, by
    Deb's constrained domination: a feasible point beats an infeasible one, and of two
    infeasible points the one with the smaller violation wins.

    Example:
        >>> non_dominated_sort(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        [[0, 1], [2]]
    """
    n = len(points)
    viol = np.zeros(n) if violations is None else np.asarray(violations, dtype=float)
    beats = np.zeros((n, n), dtype=bool)
    for i in range(n):
        ge = np.all(points[i] >= points, axis=1) & np.any(points[i] > points, axis=1)
        feasible_i = viol[i] == 0
        beats[i] = np.where(viol == 0, feasible_i & ge, feasible_i | ((viol[i] < viol) | ((viol[i] == viol) & ge)))
        beats[i, i] = False
    count = beats.sum(axis=0)
    fronts: list[list[int]] = []
    current = [i for i in range(n) if count[i] == 0]
    while current:
        fronts.append(current)
        nxt = []
        for i in current:
            for j in np.flatnonzero(beats[i]):
                count[j] -= 1
                if count[j] == 0:
                    nxt.append(int(j))
        current = sorted(nxt)
    return fronts


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row (``inf`` at the ends of each objective).

    Example:
        >>> crowding_distance(np.array([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]])).tolist()
        [inf, 2.0, inf]
    """
    n, m = points.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, math.inf)
    for k in range(m):
        order = np.argsort(points[:, k], kind="stable")
        span = points[order[-1], k] - points[order[0], k]
        dist[order[0]] = dist[order[-1]] = math.inf
        if span > 0:
            dist[order[1:-1]] += (points[order[2:], k] - points[order[:-2], k]) / span
    return dist


@register_strategy("nsga2")
class NSGA2(Strategy):
    """NSGA-II for several objectives (Deb et al. 2002), in its steady-state form: each ask
    breeds one child from two parents picked by binary tournaments on (front, crowding),
    through the space's ``crossover`` and ``mutate``; each told result joins the population,
    which is cut back to ``population`` by non-dominated sorting and crowding distance.

    Hard constraints on metrics (``constraints: ["params <= 1e6"]``) use Deb's rule: a trial
    that meets them beats one that does not; ``study.best`` and ``study.pareto_front`` leave
    out trials that break them. It needs at least two objectives.

    Use it to trade accuracy against size or latency and get the whole front of
    compromises rather than one architecture.

    Args:
        population: Members kept; the first ``population`` candidates are random.
        constraints: Metric constraints such as ``params <= 1e6`` (a trial lacking the
            metric breaks them).
        crossover: Chance that a child is a crossover of two parents before mutation.

    Example:
        >>> NSGA2(constraints=["params <= 1e6"]).constraints[0].limit
        1000000.0
    """

    multi_objective = True

    primes = True

    population: int

    def __init__(self, *, population: int = 20, constraints: Sequence[str] = (), crossover: float = 0.5) -> None:
        self.population = check_int(population, "population", low=2)
        if isinstance(constraints, str):
            constraints = [constraints]
        self.constraints = [MetricConstraint.parse(c, field=f"constraints.{i}") for i, c in enumerate(constraints)]
        if isinstance(crossover, bool) or not isinstance(crossover, int | float) or not 0 <= crossover <= 1:
            raise ConfigError("crossover", f"must be a probability in [0, 1], got {crossover!r}")
        self.crossover = float(crossover)

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator) -> None:
        super().start(space, objectives, rng)
        self.members: list[tuple[Arch, list[float], float]] = []  # arch, objective vector, violation
        self._rank: list[int] = []
        self._crowd: np.ndarray = np.zeros(0)

    def violation(self, trial: Trial) -> float:
        """Total relative violation of the constraints by ``trial`` (0: feasible)."""
        return sum(c.violation(dict(trial.metrics)) for c in self.constraints)

    def feasible(self, trial: Trial) -> bool:
        return self.violation(trial) == 0

    def tell(self, trial: Trial) -> None:
        super().tell(trial)
        vector = self.objectives.vector(trial)
        if trial.state is not TrialState.COMPLETE or not all(map(math.isfinite, vector)):
            return
        self.members.append((trial.arch, vector, self.violation(trial)))
        points = np.array([m[1] for m in self.members])
        fronts = non_dominated_sort(points, [m[2] for m in self.members])
        if len(self.members) > self.population:
            keep: list[int] = []
            for front in fronts:
                if len(keep) + len(front) <= self.population:
                    keep.extend(front)
                    continue
                crowd = crowding_distance(points[front])
                order = sorted(range(len(front)), key=lambda i: -crowd[i])  # stable: older first on ties
                keep.extend(front[i] for i in order[: self.population - len(keep)])
                break
            self.members = [self.members[i] for i in sorted(keep)]
            points = np.array([m[1] for m in self.members])
            fronts = non_dominated_sort(points, [m[2] for m in self.members])
        self._rank = [0] * len(self.members)
        self._crowd = np.zeros(len(self.members))
        for r, front in enumerate(fronts):
            crowd = crowding_distance(points[front])
            for i, f in enumerate(front):
                self._rank[f], self._crowd[f] = r, crowd[i]

    def _tournament(self) -> Arch:
        i, j = (int(k) for k in self.rng.choice(len(self.members), size=2, replace=False))
        better = (self._rank[i], -self._crowd[i]) <= (self._rank[j], -self._crowd[j])
        return self.members[i if better else j][0]

    def ask(self) -> Candidate | None:
        arch = self.next_queued()
        if arch is None and len(self.members) >= self.population:
            a, b = self._tournament(), self._tournament()
            parent = self.space.crossover(a, b, self.rng) if self.rng.random() < self.crossover else a
            arch = mutate_new(self, parent)
        if arch is None:
            arch = self.sample_new()
        return None if arch is None else Candidate(self.mark(arch))
