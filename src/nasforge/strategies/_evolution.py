"""Regularized (aging) evolution."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial, TrialState
from ..space import Arch, SearchSpace
from ._base import Strategy, register_strategy


def check_int(value: object, field: str, *, low: int, what: str = "") -> int:
    """``value`` as an int ``>= low``, or a :class:`ConfigError` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ConfigError(field, f"must be an integer >= {low}{what}, got {value!r}")
    return int(value)


def mutate_new(strategy: Strategy, parent: Arch, tries: int = 60) -> Arch | None:
    """A mutation of ``parent`` that ``strategy`` has not proposed before: one-decision
    mutations first, then longer random walks from ``parent``; ``None`` if none was found."""
    space, rng = strategy.space, strategy.rng
    arch = parent
    for attempt in range(tries):
        child = space.mutate(arch, rng)
        if strategy.is_new(child):
            return child
        # Every few failures, walk one step further away from the parent.
        arch = child if attempt % 4 == 3 else arch
    return None


@register_strategy("evolution")
class RegularizedEvolution(Strategy):
    """Regularized (aging) evolution, as in Real et al. 2019 ("AmoebaNet").

    The first ``population`` candidates are random (or primed). Then each ask draws
    ``sample_size`` members of the population at random, mutates the best of them with the
    space's ``mutate`` (one decision changed; further steps when that gives an architecture
    already proposed), and each told result joins the population while the oldest member
    leaves. Ageing rather than killing the worst keeps the search from clinging to a lucky
    evaluation.

    Use it as a robust default when trials cost the same and the space is large: it needs no
    model, spends microseconds per ask, and parallelises (asks while results are pending get
    mutations of the current population).

    Args:
        population: Members kept (the most recent results); also the number of random
            candidates before the first mutation.
        sample_size: Members drawn per tournament; larger is greedier.

    Example:
        >>> import numpy as np
        >>> from nasforge import Objectives
        >>> from nasforge.space import SearchSpace, Choice
        >>> s = RegularizedEvolution(population=4, sample_size=2)
        >>> s.start(SearchSpace({"k": Choice([1, 3, 5, 7, 9])}), Objectives.parse("acc"), np.random.default_rng(0))
        >>> s.ask().arch["k"] in (1, 3, 5, 7, 9)
        True
    """

    primes = True

    population: int

    def __init__(self, *, population: int = 20, sample_size: int = 5) -> None:
        self.population = check_int(population, "population", low=2)
        self.sample_size = check_int(sample_size, "sample_size", low=1)
        if self.sample_size > self.population:
            raise ConfigError("sample_size", f"must be at most population ({self.population}), got {self.sample_size}")

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator) -> None:
        super().start(space, objectives, rng)
        self.members: deque[tuple[Arch, float]] = deque(maxlen=self.population)

    def tell(self, trial: Trial) -> None:
        super().tell(trial)
        score = self.objectives.score(trial)
        if trial.state is TrialState.COMPLETE and math.isfinite(score):
            self.members.append((trial.arch, score))

    def ask(self) -> Candidate | None:
        arch = self.next_queued()
        if arch is None and len(self.members) >= self.population:
            picks = self.rng.choice(len(self.members), size=self.sample_size, replace=False)
            parent = max((self.members[int(i)] for i in sorted(picks)), key=lambda m: m[1])[0]
            arch = mutate_new(self, parent)
        if arch is None:
            arch = self.sample_new()
        return None if arch is None else Candidate(self.mark(arch))
