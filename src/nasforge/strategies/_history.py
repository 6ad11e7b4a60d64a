"""What a study has asked and learnt so far, shared with its strategy (which only reads it).

The study records every candidate it submits (:meth:`History.asked`: asked of the strategy or
enqueued by the user) and every result it tells (:meth:`History.told`), so deduplication is
the study's job, not a discipline each strategy must remember: a strategy asks the history
whether an architecture :meth:`~History.is_new` and draws untried ones with
:meth:`~History.sample_new`.
"""

from __future__ import annotations

import enum
import math
from typing import Final, Literal

import numpy as np

from .._trial import Candidate, Objectives, Trial
from ..space import Arch, SearchSpace

KEYS_KEPT = 200_000
"""Most canonical keys :meth:`History.key` remembers (then it starts again)."""

ENUMERATE_LIMIT = 1_000_000
"""Largest space :meth:`History.sample_new` enumerates to find the architectures not tried."""


class _Any(enum.Enum):
    BUDGET = "any budget"


ANY_BUDGET: Final = _Any.BUDGET
"""``History.is_new(arch, budget=ANY_BUDGET)`` (the default): new at every budget."""

Budget = float | None


class History:
    """Seen canonical keys, pending asks and told trials of one run of a study.

    Keys are the space's canonical form (functionally equivalent architectures share one).
    An architecture counts as seen from the moment it is asked, so candidates that are still
    running are never proposed again; multi-fidelity strategies, which ask one architecture at
    several budgets, ask whether it is new *at a budget*.

    Example:
        >>> from nasforge.space import SearchSpace, Choice
        >>> from nasforge import Objectives
        >>> h = History(SearchSpace({"k": Choice([1, 3])}), Objectives.parse("acc"))
        >>> a = h.sample_new(np.random.default_rng(0))
        >>> h.asked(Candidate(a))
        >>> h.is_new(a), len(h.pending), h.sample_new(np.random.default_rng(0)) != a
        (False, 1, True)
    """

    def __init__(self, space: SearchSpace, objectives: Objectives) -> None:
        self.space, self.objectives = space, objectives
        self._keys: set[str] = set()
        self._at: set[tuple[str, Budget]] = set()
        self._pending: list[tuple[tuple[str, Budget], Candidate]] = []
        self._trials: list[Trial] = []
        self._pool: list[Arch] | None = None
        self._key_of: dict[Arch, str] = {}  # canonical keys met (a cell's key costs ~0.1 ms; neighbours recur)
        self.replaying: Candidate | None = None
        """While a resumed study replays a stored ask, the candidate that ask answered when it
        first ran (else ``None``). A strategy may take it as the result of an expensive choice
        it would otherwise recompute (a model's argmax), provided that every other effect of
        the ask (random draws, counters, its own bookkeeping) happens as in the first run: the
        replay must leave the strategy exactly as the first run did."""

    # -- written by the study ---------------------------------------------------------------

    def asked(self, candidate: Candidate) -> None:
        """Record ``candidate`` as submitted (pending until its result is told)."""
        key = self.key(candidate.arch)
        self._keys.add(key)
        self._at.add((key, candidate.budget))
        self._pending.append(((key, candidate.budget), candidate))

    def told(self, trial: Trial) -> None:
        """Record the result ``trial`` (no longer pending; its architecture counts as seen)."""
        key = self.key(trial.arch)
        self._keys.add(key)
        self._at.add((key, trial.budget))
        for i, (at, _) in enumerate(self._pending):
            if at == (key, trial.budget):
                del self._pending[i]
                break
        self._trials.append(trial)

    # -- read by strategies -------------------------------------------------------------------

    def key(self, arch: Arch) -> str:
        """The deduplication key of ``arch`` (its canonical form), remembered for the
        architectures met (at most :data:`KEYS_KEPT`)."""
        key = self._key_of.get(arch)
        if key is None:
            if len(self._key_of) >= KEYS_KEPT:
                self._key_of.clear()
            key = self._key_of[arch] = self.space.canonical(arch)
        return key

    def is_new(self, arch: Arch, budget: Budget | Literal[_Any.BUDGET] = ANY_BUDGET) -> bool:
        """Whether no equivalent architecture was asked or told before: at any budget, or at
        ``budget`` when one is given (``None`` is the full budget)."""
        key = self.key(arch)
        if budget is ANY_BUDGET:
            return key not in self._keys
        return (key, budget) not in self._at

    def sample_new(self, rng: np.random.Generator, tries: int = 200) -> Arch | None:
        """A random architecture never asked before, or ``None`` when the space is exhausted.

        Rejection sampling first; a finite space that resists is enumerated once and drawn
        from without replacement, so exhaustion is detected exactly.
        """
        if self._pool is None:
            for _ in range(tries):
                arch = self.space.sample(rng)
                if self.is_new(arch):
                    return arch
            if self.space.cardinality > ENUMERATE_LIMIT:
                for _ in range(100 * tries):
                    arch = self.space.sample(rng)
                    if self.is_new(arch):
                        return arch
                return None
            self._pool = list(self.space.enumerate())
        while self._pool:
            index = int(rng.integers(len(self._pool)))
            arch = self._pool[index]
            self._pool[index] = self._pool[-1]
            self._pool.pop()
            if self.is_new(arch):
                return arch
        return None

    @property
    def pending(self) -> list[Candidate]:
        """Candidates asked and not yet told, in the order they were asked."""
        return [c for _, c in self._pending]

    @property
    def trials(self) -> list[Trial]:
        """The trials told so far, in tell order (without the values a strategy must not see)."""
        return list(self._trials)

    def scores(self) -> dict[str, float]:
        """Best larger-is-better primary score by canonical key, over the told trials (at any
        budget); ``-inf`` for keys whose trials all failed or were pruned (a pruned trial is
        told as a result without a score: its partial metrics, at fewer steps than a full
        trial, are not comparable with complete ones)."""
        out: dict[str, float] = {}
        for t in self._trials:
            k = self.key(t.arch)
            out[k] = max(out.get(k, -math.inf), self.objectives.score(t))
        return out
