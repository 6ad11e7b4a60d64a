"""The basic strategies: grid, random and hill climbing."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .._trial import Candidate, Objectives, Trial
from .._validate import integer
from ..space import Arch, SearchSpace
from ._base import Ask, Strategy, register_strategy
from ._history import History


@register_strategy("grid")
class GridSearch(Strategy):
    """Every architecture once, in the space's ``enumerate()`` order (equivalent ones skipped).

    It does not use the objectives to decide, so it accepts any number of them.

    Example:
        >>> from nasforge.space import SearchSpace, Choice
        >>> from nasforge.strategies import History
        >>> space, obj = SearchSpace({"k": Choice([1, 3])}), Objectives.parse("acc")
        >>> s = GridSearch()
        >>> s.start(space, obj, np.random.default_rng(0), History(space, obj))
        >>> [s.ask().arch["k"], s.ask().arch["k"], s.ask()]
        [1, 3, None]
    """

    max_objectives = None

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        self._iter: Iterator[Arch] = space.enumerate()

    def ask(self) -> Ask:
        for arch in self._iter:
            if self.history.is_new(arch):
                return Candidate(arch)
        return None


@register_strategy("random")
class RandomSearch(Strategy):
    """Uniform random architectures without replacement (by canonical key).

    The baseline every other strategy must beat; the right choice when trials are cheap and
    the space is small relative to the budget. It does not use the objectives to decide, so
    it accepts any number of them (a baseline for multi-objective strategies too).
    """

    max_objectives = None

    def ask(self) -> Ask:
        arch = self._sample_new()
        return None if arch is None else Candidate(arch)


@register_strategy("hill-climbing")
class HillClimbing(Strategy):
    """Best-improvement hill climbing over the space's ``neighbors``, restarting at a random
    unseen architecture when no neighbour improves.

    From the current architecture it evaluates every untried neighbour, then moves to the best
    one if it beats the current; otherwise it restarts. Under parallel workers, asks that
    arrive while a neighbourhood is still running get random unseen architectures.

    Args:
        restarts: Stop after this many restarts (``None``: until the budget ends).
    """

    def __init__(self, *, restarts: int | None = None) -> None:
        self.restarts = integer(restarts, "restarts", low=0, none_ok=True)

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        self._current: Arch | None = None
        self._start_key: str | None = None
        self._batch: list[Arch] = []
        self._waiting: set[str] = set()
        self._scores: dict[str, float] = {}
        self._expanded = False  # whether the current architecture's neighbours were queued
        self.restarts_done = 0

    def tell(self, trial: Trial) -> None:
        key = self.history.key(trial.arch)
        self._scores[key] = max(self._scores.get(key, -math.inf), self.objectives.score(trial))
        self._waiting.discard(key)
        if key == self._start_key:
            self._current, self._start_key, self._expanded = trial.arch, None, False

    def _propose(self, arch: Arch) -> Candidate:
        self._waiting.add(self.history.key(arch))
        return Candidate(arch)

    def _restart(self) -> Candidate | None:
        if self.restarts is not None and self.restarts_done >= self.restarts:
            return None
        arch = self._sample_new()
        if arch is None:
            return None
        if self._current is not None:
            self.restarts_done += 1
        self._current, self._start_key = None, self.history.key(arch)
        return self._propose(arch)

    def ask(self) -> Ask:
        while True:
            if self._batch:
                arch = self._batch.pop(0)
                if self.history.is_new(arch):
                    return self._propose(arch)
                continue
            if self._waiting:
                extra = self._sample_new()  # None: every architecture was asked, nothing can follow
                return None if extra is None else Candidate(extra)
            if self._current is None:
                return self._restart()
            if not self._expanded:
                self._expanded = True
                self._batch = [n for n in self.space.neighbors(self._current) if self.history.is_new(n)]
                continue
            # The neighbourhood of the current architecture is done: move or restart.
            here = self._scores.get(self.history.key(self._current), -math.inf)
            best, best_score = None, here
            for n in self.space.neighbors(self._current):
                s = self._scores.get(self.history.key(n), -math.inf)
                if s > best_score:
                    best, best_score = n, s
            if best is None:
                return self._restart()
            self._current, self._expanded = best, False
