"""Regularized (aging) evolution."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial, TrialState
from .._validate import integer
from ..space import Arch, SearchSpace
from ._base import Ask, Strategy, register_strategy
from ._history import History
from ._util import check_population, mutate_new


@register_strategy("evolution")
class RegularizedEvolution(Strategy):
    """Regularized (aging) evolution, as in Real et al. 2019 ("AmoebaNet").

    Until ``population`` results have been told, candidates are random (or come from a warm
    start, whose results count toward the population). Then each ask draws
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
        >>> from nasforge.strategies import History
        >>> space, obj = SearchSpace({"k": Choice([1, 3, 5, 7, 9])}), Objectives.parse("acc")
        >>> s = RegularizedEvolution(population=4, sample_size=2)
        >>> s.start(space, obj, np.random.default_rng(0), History(space, obj))
        >>> s.ask().arch["k"] in (1, 3, 5, 7, 9)
        True
    """

    def __init__(self, *, population: int = 20, sample_size: int = 5) -> None:
        self.population = integer(population, "population", low=2)
        self.sample_size = integer(sample_size, "sample_size", low=1)
        if self.sample_size > self.population:
            raise ConfigError("sample_size", f"must be at most population ({self.population}), got {self.sample_size}")

    def validate(self, space: SearchSpace, objectives: Objectives) -> None:
        super().validate(space, objectives)
        check_population(self.population, space)

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        self.members: deque[tuple[Arch, float]] = deque(maxlen=self.population)

    def tell(self, trial: Trial) -> None:
        score = self.objectives.score(trial)
        if trial.state is TrialState.COMPLETE and math.isfinite(score):
            self.members.append((trial.arch, score))

    def ask(self) -> Ask:
        arch = None
        if len(self.members) >= self.population:
            picks = self.rng.choice(len(self.members), size=self.sample_size, replace=False)
            parent = max((self.members[int(i)] for i in sorted(picks)), key=lambda m: m[1])[0]
            arch = mutate_new(self.space, self.history, self.rng, parent)
        if arch is None:
            arch = self._sample_new()
        return None if arch is None else Candidate(arch)
