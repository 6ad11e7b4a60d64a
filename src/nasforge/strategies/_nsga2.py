"""Multi-objective search: NSGA-II (non-dominated sorting with crowding), with Deb's rule
for metric constraints (judged by the study: ``trial.violation``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, MetricConstraint, Objectives, Trial, TrialState
from .._validate import integer
from ..space import Arch, SearchSpace
from ._base import Ask, Strategy, register_strategy
from ._history import History
from ._util import check_population, mutate_new


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

    Hard constraints on metrics use Deb's rule: a trial that meets them beats one that does
    not, and of two that break them the one with the smaller ``trial.violation`` wins. The
    constraints belong to the study's objectives (a top-level ``constraints:`` key), which
    compute each trial's violation once; this strategy's ``constraints`` option is an alias
    that the study adds to its objectives. ``study.best`` and ``study.pareto_front`` leave
    out trials that break them. It needs at least two objectives and takes any number.

    Use it to trade accuracy against size or latency and get the whole front of
    compromises rather than one architecture.

    Args:
        population: Members kept; candidates are random until ``population`` results have
            been told.
        constraints: Metric constraints such as ``params <= 1e6`` (a trial lacking the
            metric breaks them); an alias of the study's ``constraints``.
        crossover: Chance that a child is a crossover of two parents before mutation.

    Example:
        >>> NSGA2(constraints=["params <= 1e6"]).constraints[0].limit
        1000000.0
    """

    min_objectives = 2
    max_objectives = None

    def __init__(
        self, *, population: int = 20, constraints: Sequence[str | MetricConstraint] = (), crossover: float = 0.5
    ) -> None:
        self.population = integer(population, "population", low=2)
        if isinstance(constraints, str | MetricConstraint):
            constraints = [constraints]
        self.constraints: list[MetricConstraint] = [
            MetricConstraint.parse(c, field=f"constraints.{i}") for i, c in enumerate(constraints)
        ]
        if isinstance(crossover, bool) or not isinstance(crossover, int | float) or not 0 <= crossover <= 1:
            raise ConfigError("crossover", f"must be a probability in [0, 1], got {crossover!r}")
        self.crossover = float(crossover)

    def validate(self, space: SearchSpace, objectives: Objectives) -> None:
        super().validate(space, objectives)
        check_population(self.population, space)
        missing = [c for c in self.constraints if c not in objectives.constraints]
        if missing:
            given = [str(c) for c in objectives.constraints]
            raise ConfigError(
                "strategy.constraints",
                f"{[str(c) for c in missing]} are not among the study's constraints {given}, so no trial would be "
                "judged by them; give them as the study's `constraints` (the strategy's option is an alias that the "
                "study adds to its objectives)",
            )

    def to_config(self) -> dict[str, Any]:
        # ``repr`` of the limit round-trips exactly (``str`` of a constraint rounds it).
        return {**super().to_config(), "constraints": [f"{c.metric} {c.op} {c.limit!r}" for c in self.constraints]}

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        self.members: list[tuple[Arch, list[float], float]] = []  # arch, objective vector, violation
        self._rank: list[int] = []
        self._crowd: np.ndarray = np.zeros(0)

    def tell(self, trial: Trial) -> None:
        vector = self.objectives.vector(trial)
        if trial.state is not TrialState.COMPLETE or not all(map(math.isfinite, vector)):
            return
        self.members.append((trial.arch, vector, trial.violation))
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

    def ask(self) -> Ask:
        arch = None
        if len(self.members) >= self.population:
            a, b = self._tournament(), self._tournament()
            parent = self.space.crossover(a, b, self.rng) if self.rng.random() < self.crossover else a
            arch = mutate_new(self.space, self.history, self.rng, parent)
        if arch is None:
            arch = self._sample_new()
        return None if arch is None else Candidate(arch)
