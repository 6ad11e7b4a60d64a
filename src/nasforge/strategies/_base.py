"""The ask/tell protocol every strategy follows, and the registry of strategies by name."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial
from ..space import Arch, SearchSpace

ENUMERATE_LIMIT = 1_000_000
"""Largest space a strategy enumerates to find the architectures it has not tried."""


class Strategy(ABC):
    """Decides which architecture to try next; knows nothing of training or storage.

    The study calls :meth:`start` once, then :meth:`ask` for each new trial and :meth:`tell`
    with each finished one. On resume the study rebuilds a strategy by calling ``start`` with
    the same seed and replaying the stored asks and tells in their original order, so a
    strategy keeps all its state in memory and never pickles it.

    ``ask`` may be called while earlier candidates are still running (parallel workers); a
    strategy must not propose an architecture that is pending or done (deduplication is by
    the space's canonical key: :meth:`is_new` and :meth:`mark`).

    Subclasses take their options as keyword-only constructor arguments and store them;
    ``start`` resets every piece of search state, because a study calls it again on each run.
    """

    multi_objective: ClassVar[bool] = False
    """Whether the strategy needs two or more objectives (:meth:`validate` refuses one)."""

    primes: ClassVar[bool] = False
    """Whether ``ask`` takes primed architectures (:meth:`prime`) before its own choices."""

    space: SearchSpace
    objectives: Objectives
    rng: np.random.Generator
    population: int | None = None
    """Population size, for strategies that keep one (the space must hold that many)."""

    def validate(self, space: SearchSpace, objectives: Objectives) -> None:
        """Refuse, with a :class:`ConfigError`, a space or objectives this strategy cannot
        search. Called by the study and the config reader before any work; ``start`` may
        assume it passed."""
        if self.population is not None and space.cardinality < self.population:
            raise ConfigError(
                "strategy.population",
                f"is {self.population} but the space has only {space.cardinality:g} architectures; "
                f"use a population of at most {space.cardinality:g}",
            )
        if self.multi_objective and len(objectives) < 2:
            raise ConfigError(
                "objectives",
                f"strategy {type(self).__name__} is multi-objective and needs at least two objectives, got "
                f"{objectives.names}; add one (e.g. params: minimize) or use a single-objective strategy",
            )

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator) -> None:
        """Bind the strategy to a study and reset its state. Called before any ask or tell,
        again on every run of the study (the history is then replayed)."""
        self.space, self.objectives, self.rng = space, objectives, rng
        self.seen: set[str] = set()
        self.history: list[Trial] = []
        self._pool: list[Arch] | None = None
        self.queue: list[Arch] = []

    def prime(self, archs: list[Arch]) -> None:
        """Queue architectures to propose before the strategy's own choices (a warm start).

        Call it from ``start`` (after ``super().start``), with architectures computed from
        the seed alone, so that a resumed study primes the same queue. Strategies that honour
        it take their next candidate from :meth:`next_queued` first.
        """
        self.queue.extend(archs)

    def next_queued(self) -> Arch | None:
        """The next primed architecture not proposed before (``None`` when none is left)."""
        while self.queue:
            arch = self.queue.pop(0)
            if self.is_new(arch) and self.space.satisfies(arch):
                return arch
        return None

    def feasible(self, trial: Trial) -> bool:
        """Whether ``trial`` meets the strategy's hard constraints on metrics (if any); the
        study's ``best`` and ``pareto_front`` leave infeasible trials out."""
        return True

    @abstractmethod
    def ask(self) -> Candidate | None:
        """The next candidate, or ``None`` when there is nothing left to try."""

    def tell(self, trial: Trial) -> None:
        """Learn the outcome of a trial: one this strategy asked for, a re-run of one, or one
        enqueued by the user (whose architecture then counts as proposed)."""
        self.history.append(trial)
        self.mark(trial.arch)

    # -- helpers for subclasses -----------------------------------------------------------

    def key(self, arch: Arch) -> str:
        """The deduplication key of ``arch``."""
        return self.space.canonical(arch)

    def is_new(self, arch: Arch) -> bool:
        """Whether no equivalent architecture was proposed before."""
        return self.key(arch) not in self.seen

    def mark(self, arch: Arch) -> Arch:
        """Record ``arch`` as proposed; returns it."""
        self.seen.add(self.key(arch))
        return arch

    def sample_new(self, tries: int = 200) -> Arch | None:
        """A random architecture not proposed before, or ``None`` when the space is exhausted.

        Rejection sampling first; a finite space that resists is enumerated once and drawn
        from without replacement, so exhaustion is detected exactly.
        """
        if self._pool is None:
            for _ in range(tries):
                arch = self.space.sample(self.rng)
                if self.is_new(arch):
                    return arch
            if self.space.cardinality > ENUMERATE_LIMIT:
                for _ in range(100 * tries):
                    arch = self.space.sample(self.rng)
                    if self.is_new(arch):
                        return arch
                return None
            self._pool = list(self.space.enumerate())
        while self._pool:
            index = int(self.rng.integers(len(self._pool)))
            arch = self._pool[index]
            self._pool[index] = self._pool[-1]
            self._pool.pop()
            if self.is_new(arch):
                return arch
        return None

    def scores(self) -> dict[str, float]:
        """Best larger-is-better primary score told so far, by canonical key."""
        out: dict[str, float] = {}
        for t in self.history:
            k = self.key(t.arch)
            out[k] = max(out.get(k, -math.inf), self.objectives.score(t))
        return out


STRATEGIES: dict[str, type[Strategy]] = {}
"""Strategies by config name; :func:`register_strategy` adds to it."""

S = TypeVar("S", bound=type[Strategy])


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator that makes a strategy available by ``name`` in configs."""

    def wrap(cls: S) -> S:
        STRATEGIES[name] = cls
        return cls

    return wrap


def make_strategy(name: str, options: dict[str, Any] | None = None, *, field: str = "strategy") -> Strategy:
    """Build the strategy called ``name`` with ``options``; unknown names or options are a
    :class:`ConfigError` that lists what is accepted."""
    import inspect

    if name not in STRATEGIES:
        raise ConfigError(f"{field}.name", f"unknown strategy {name!r}; choose one of {sorted(STRATEGIES)}")
    cls = STRATEGIES[name]
    params = inspect.signature(cls.__init__).parameters
    accepted = sorted(p for p in params if p != "self" and params[p].kind is inspect.Parameter.KEYWORD_ONLY)
    options = dict(options or {})
    for key in options:
        if key not in accepted:
            raise ConfigError(f"{field}.{key}", f"unknown option of strategy {name!r}; accepted: {accepted or 'none'}")
    try:
        return cls(**options)
    except ConfigError as exc:
        if exc.field.startswith(field):
            raise
        raise ConfigError(f"{field}.{exc.field}", exc.message) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(field, f"bad options for strategy {name!r}: {exc}") from None
