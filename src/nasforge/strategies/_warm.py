"""Warm start: rank many sampled architectures by a cheap score and try the best first."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial
from ..space import Arch, SearchSpace
from ._base import Ask, Strategy, Wrapper
from ._history import History

Ranker = Callable[[Sequence[Arch]], Sequence[float]]
"""``rank(archs) -> scores``, larger is better; must be deterministic (it is recomputed on
resume). A zero-cost proxy evaluator's ``rank`` method is one."""


def check_warm_counts(samples: object, top: object, field: str = "strategy.warm_start") -> tuple[int, int]:
    """``(samples, top)`` as integers with ``1 <= top <= samples``, or a :class:`ConfigError`."""
    for name, value in (("samples", samples), ("top", top)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"{field}.{name}", f"must be a positive integer, got {value!r}")
    assert isinstance(samples, int | np.integer) and isinstance(top, int | np.integer)
    if top > samples:
        raise ConfigError(
            f"{field}.top",
            f"is {top} but only {samples} architectures are sampled; use top <= samples or sample more",
        )
    return int(samples), int(top)


class WarmStart(Wrapper):
    """Wraps any strategy: ranks ``samples`` sampled architectures with ``rank`` (e.g. a
    zero-cost proxy) and proposes the ``top`` ones first, then asks the inner strategy. Every
    result, warm-start ones included, is told to the inner strategy, so that it builds on
    them: strategies count their initial design by results told, so the warm start's
    results are evolution's first population members, a Bayesian model's first data and a
    local search's starting points. This wrapper is the only warm-start path.

    The inner strategy reads the same :class:`History`, so it never proposes a warm-start
    architecture again. The sample is drawn from a generator spawned from the study's, and
    ``rank`` must be deterministic, so a resumed study ranks the same architectures the
    same way; the ranking is kept for later runs of the same study object.

    This module does not import torch: the config layer builds ``rank`` from the
    evaluator's data and model builder (``strategy: {name: evolution, warm_start: {proxy:
    synflow, samples: 1000, top: 10}}``).

    Args:
        inner: The strategy that takes over after the warm start.
        rank: ``rank(archs) -> scores`` (larger is better, ``-inf`` for unusable ones).
        samples: Architectures sampled and ranked (the whole space if it is smaller).
        top: How many of the best-ranked are proposed first.

    Example:
        >>> from nasforge import Objectives
        >>> from nasforge.space import SearchSpace, IntRange
        >>> from nasforge.strategies import History, make_strategy
        >>> space, obj = SearchSpace({"x": IntRange(0, 99)}), Objectives.parse("y")
        >>> s = WarmStart(make_strategy("random"), lambda archs: [a["x"] for a in archs], samples=50, top=2)
        >>> s.start(space, obj, np.random.default_rng(0), History(space, obj))
        >>> s.ask().arch == s.ranked[0], s.ask().arch == s.ranked[1], s.ranked[0]["x"] > s.ranked[1]["x"]
        (True, True, True)
    """

    def __init__(self, inner: Strategy, rank: Ranker, *, samples: int = 1000, top: int = 10) -> None:
        if not isinstance(inner, Strategy):
            raise ConfigError("strategy", f"warm start wraps a strategy, got {type(inner).__name__}")
        if isinstance(inner, WarmStart):
            raise ConfigError("strategy.warm_start", "is given twice: a warm start cannot wrap another one")
        self.inner = inner
        self.rank = rank
        self.samples, self.top = check_warm_counts(samples, top)
        self._ranked_for: tuple[str, ...] | None = None
        self.ranked: list[Arch] = []

    def validate(self, space: SearchSpace, objectives: Objectives) -> None:
        self.inner.validate(space, objectives)

    def to_config(self) -> dict[str, Any]:
        """The inner strategy's config with ``warm_start: {samples, top}``; rebuild it with
        ``make_strategy(name, options, rank=...)`` (the ranking is a function, not data)."""
        return {**self.inner.to_config(), "warm_start": {"samples": self.samples, "top": self.top}}

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        sample_rng = rng.spawn(1)[0]  # a stream of its own: the inner strategy's draws are unchanged
        self.inner.start(space, objectives, rng, history)
        archs = self._sample(space, sample_rng)
        keys = tuple(space.canonical(a) for a in archs)
        if keys != self._ranked_for:
            scores = list(self.rank(archs))
            if len(scores) != len(archs):
                raise ValueError(f"the warm-start ranking gave {len(scores)} scores for {len(archs)} architectures")
            clean = [-math.inf if s is None or math.isnan(float(s)) else float(s) for s in scores]
            order = sorted(range(len(archs)), key=lambda i: (-clean[i], i))
            self.ranked = [archs[i] for i in order[: self.top]]
            self._ranked_for = keys
        self._queue = list(self.ranked)

    def _sample(self, space: SearchSpace, rng: np.random.Generator) -> list[Arch]:
        """``samples`` distinct architectures (by canonical key) that meet the constraints:
        the whole space, in enumeration order, when it has no more than that."""
        if space.cardinality <= self.samples:
            out, keys = [], set()
            for arch in space.enumerate():
                key = space.canonical(arch)
                if key not in keys and space.satisfies(arch):
                    keys.add(key)
                    out.append(arch)
            return out
        found: dict[str, Arch] = {}
        for _ in range(20 * self.samples):
            arch = space.sample(rng)
            found.setdefault(space.canonical(arch), arch)
            if len(found) >= self.samples:
                break
        return list(found.values())

    def ask(self) -> Ask:
        while self._queue:
            arch = self._queue.pop(0)
            if self.history.is_new(arch) and self.space.satisfies(arch):
                return Candidate(arch)
        return self.inner.ask()

    def tell(self, trial: Trial) -> None:
        self.inner.tell(trial)
