"""Multi-fidelity search: successive halving and Hyperband, fed by another strategy."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial
from ..space import Arch, SearchSpace
from ._base import WAIT, Ask, Strategy, plain, register_strategy
from ._history import History
from ._make import make_strategy


def fidelity_budgets(budgets: Sequence[float] | None, min_budget: float | None, eta: float) -> list[float]:
    """The rung budgets: ``budgets`` checked, or ``min_budget, min_budget * eta, ..., 1``.

    Example:
        >>> [round(b, 3) for b in fidelity_budgets(None, 1 / 9, 3)]
        [0.111, 0.333, 1.0]
    """
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not 1 < eta < math.inf:
        raise ConfigError("eta", f"must be a finite number > 1 (the promotion ratio), got {eta!r}")
    if budgets is not None:
        if min_budget is not None:
            raise ConfigError("min_budget", "give either `budgets` or `min_budget`, not both")
        if isinstance(budgets, str | bytes) or not isinstance(budgets, Sequence) or not budgets:
            raise ConfigError("budgets", f"must be a list of fractions of the full budget, got {budgets!r}")
        out = []
        for b in budgets:
            if isinstance(b, bool) or not isinstance(b, int | float) or not 0 < b <= 1:
                raise ConfigError("budgets", f"each budget must be a fraction in (0, 1], got {b!r} in {list(budgets)}")
            out.append(float(b))
        if any(b >= c for b, c in itertools.pairwise(out)):
            raise ConfigError("budgets", f"must increase strictly, got {list(budgets)}; e.g. [0.111, 0.333, 1.0]")
        if out[-1] != 1.0:
            raise ConfigError("budgets", f"must end at 1 (the full budget), got {list(budgets)}")
        return out
    if min_budget is None:
        min_budget = 1.0 / eta**2
    if isinstance(min_budget, bool) or not isinstance(min_budget, int | float) or not 0 < min_budget < 1:
        raise ConfigError("min_budget", f"must be a fraction in (0, 1), got {min_budget!r}")
    rungs = max(1, round(math.log(1.0 / min_budget) / math.log(eta)))
    return [float(eta ** (k - rungs)) for k in range(rungs)] + [1.0]


def _sampler(spec: str | Mapping[str, Any]) -> Strategy:
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        name, options = spec["name"], {k: v for k, v in spec.items() if k != "name"}
    else:
        raise ConfigError(
            "sampler", f"must name a strategy, e.g. `evolution` or {{name: evolution, population: 10}}, got {spec!r}"
        )
    if name in ("successive-halving", "hyperband"):
        raise ConfigError("sampler", f"must be a strategy that proposes new architectures, not {name!r}")
    return make_strategy(name, options, field="strategy.sampler")


class _Bracket:
    """One run of successive halving: up to ``sizes[i]`` candidates at ``budgets[i]``."""

    def __init__(self, budgets: list[float], first: int, eta: float) -> None:
        self.budgets, self.eta = budgets, eta
        self.sizes = self._sizes(first)
        self.members: list[list[Arch]] = [[] for _ in budgets]  # proposed (rung 0) or promoted
        self.scores: list[dict[str, float]] = [{} for _ in budgets]  # told, by key
        self.filled = [False for _ in budgets]  # members of the rung are final
        self.todo: list[tuple[Arch, int]] = []  # promoted, not yet proposed

    def _sizes(self, first: int) -> list[int]:
        return [max(1, int(first / self.eta**i)) for i in range(len(self.budgets))]

    def wants_new(self) -> bool:
        return not self.filled[0] and len(self.members[0]) < self.sizes[0]

    def close(self) -> None:
        """No more new candidates: rung 0 keeps what it has and later rungs shrink to match."""
        if not self.filled[0]:
            self.filled[0] = True
            self.sizes = self._sizes(len(self.members[0]))

    def complete(self, i: int) -> bool:
        return self.filled[i] and len(self.scores[i]) >= len(self.members[i])

    @property
    def finished(self) -> bool:
        return not self.todo and self.complete(len(self.budgets) - 1)


@register_strategy("successive-halving")
class SuccessiveHalving(Strategy):
    """Successive halving: many candidates at a small budget, the best ``1/eta`` of them
    again at ``eta`` times the budget, and so on up to the full budget (Jamieson & Talwalkar
    2016; Li et al. 2017). ``Candidate.budget`` carries the fraction of the full budget
    (e.g. of the epochs) that the evaluator should spend.

    New candidates come from another strategy, the ``sampler`` (``random`` by default;
    ``evolution`` or ``bayesian`` make it BOHB-like). The sampler is told the result of each
    of its candidates at the budget it entered with. Brackets run one after the other; an
    ask that finds the current bracket waiting for results opens the next one, so parallel
    workers stay busy. Once the sampler is exhausted, an ask answers :data:`WAIT` while
    promotions may still follow from pending results. The same architecture is evaluated
    once per budget (the deduplication key is the canonical key and the budget);
    ``study.best`` is the best trial at the largest budget. It promotes by the first
    objective, so it takes one.

    Use it when low-budget results rank architectures like full ones (few epochs, a data
    fraction) and full trials are expensive. It needs an evaluator that honours ``budget``;
    with one that ignores it (a fixed table), promotions only repeat measurements.

    Args:
        budgets: Increasing budget fractions ending at 1, e.g. ``[0.111, 0.333, 1.0]``.
        min_budget: Instead of ``budgets``: the smallest, then ``* eta`` up to 1
            (default ``1 / eta**2``).
        eta: Keep the best ``1/eta`` at each rung.
        candidates: New candidates per bracket (default ``eta ** (rungs - 1)``, so one reaches
            the full budget).
        sampler: Strategy name (or ``{name: ..., option: ...}``) proposing new candidates.

    Example:
        >>> s = SuccessiveHalving(min_budget=0.25, eta=2)
        >>> s.rung_budgets
        [0.25, 0.5, 1.0]
    """

    multi_fidelity = True

    def __init__(
        self,
        *,
        budgets: Sequence[float] | None = None,
        min_budget: float | None = None,
        eta: float = 3,
        candidates: int | None = None,
        sampler: str | Mapping[str, Any] = "random",
    ) -> None:
        fidelity_budgets(budgets, min_budget, eta)  # check them now
        self.budgets, self.min_budget, self.eta = budgets, min_budget, eta
        if candidates is not None and (
            isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1
        ):
            raise ConfigError("candidates", f"must be a positive integer, got {candidates!r}")
        self.candidates = candidates
        self.sampler = sampler
        _sampler(sampler)  # check the name and options now

    @property
    def rung_budgets(self) -> list[float]:
        """The budget of each rung, from ``budgets`` or ``min_budget`` and ``eta``."""
        return fidelity_budgets(self.budgets, self.min_budget, self.eta)

    def to_config(self) -> dict[str, Any]:
        cfg = super().to_config()
        if isinstance(self.sampler, Mapping):
            cfg["sampler"] = plain(self.sampler)
        return cfg

    def validate(self, space: SearchSpace, objectives: Objectives) -> None:
        super().validate(space, objectives)
        try:
            _sampler(self.sampler).validate(space, objectives)
        except ConfigError as exc:
            if not exc.field.startswith("strategy."):
                raise
            raise ConfigError("strategy.sampler." + exc.field.removeprefix("strategy."), exc.message) from None

    def _brackets(self) -> list[tuple[int, int]]:
        """The bracket cycle as ``(first rung, candidates)``; one bracket for plain SH."""
        n = self.candidates or max(1, round(self.eta ** (len(self.rung_budgets) - 1)))
        return [(0, n)]

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        self._rungs = self.rung_budgets
        self.inner = _sampler(self.sampler)
        # The sampler reads the same history: it never proposes an architecture asked at any budget.
        self.inner.start(space, objectives, np.random.default_rng(int(rng.integers(2**63))), history)
        self.open: list[_Bracket] = []
        self.cycle = 0
        self.exhausted = False
        self.entry: dict[str, _Bracket] = {}  # key -> the bracket it entered

    def tell(self, trial: Trial) -> None:
        key = self.history.key(trial.arch)
        bracket = self.entry.get(key)
        if bracket is None or trial.budget not in bracket.budgets:
            return
        rung = bracket.budgets.index(trial.budget)
        if rung == 0 and key not in bracket.scores[0]:
            self.inner.tell(trial)
        score = self.objectives.score(trial)
        bracket.scores[rung][key] = max(score, bracket.scores[rung].get(key, -math.inf))
        self._promote(bracket)

    def _promote(self, bracket: _Bracket) -> None:
        """Fill every rung whose lower rung is complete with the best of that rung."""
        if bracket.wants_new():
            return
        bracket.filled[0] = True
        for i in range(len(bracket.budgets) - 1):
            if bracket.filled[i + 1] or not bracket.complete(i):
                continue
            scores = bracket.scores[i]
            key = self.history.key
            ranked = [a for a in bracket.members[i] if math.isfinite(scores[key(a)])]
            ranked.sort(key=lambda a: -scores[key(a)])  # stable: ties keep proposal order
            bracket.members[i + 1] = ranked[: bracket.sizes[i + 1]]
            bracket.filled[i + 1] = True
            bracket.todo.extend((a, i + 1) for a in bracket.members[i + 1])

    def _new_bracket(self) -> _Bracket:
        cycle = self._brackets()
        first, n = cycle[self.cycle % len(cycle)]
        self.cycle += 1
        bracket = _Bracket(self._rungs[first:], n, self.eta)
        self.open.append(bracket)
        return bracket

    def _sample(self, bracket: _Bracket) -> Ask:
        """A new candidate from the sampler into ``bracket``'s first rung (``None``: the
        sampler is exhausted; :data:`WAIT`: it has nothing now)."""
        cand = self.inner.ask()
        if cand is WAIT:
            return WAIT
        if cand is None:
            self.exhausted = True
            for b in self.open:
                b.close()
                self._promote(b)
            return None
        self.entry[self.history.key(cand.arch)] = bracket
        bracket.members[0].append(cand.arch)
        if not bracket.wants_new():
            self._promote(bracket)
        return Candidate(cand.arch, bracket.budgets[0])

    def ask(self) -> Ask:
        for _ in range(2):  # a second pass after the sampler runs dry: its last promotions
            for bracket in self.open:
                if bracket.todo:
                    arch, rung = bracket.todo.pop(0)
                    return Candidate(arch, bracket.budgets[rung])
            self.open = [b for b in self.open if not b.finished]
            if self.exhausted:
                break
            growing = [b for b in self.open if b.wants_new()]
            cand = self._sample(growing[0] if growing else self._new_bracket())
            if cand is not None:
                return cand
        # Brackets still open wait for pending results, which may promote more candidates.
        return WAIT if self.open else None


@register_strategy("hyperband")
class Hyperband(SuccessiveHalving):
    """Hyperband (Li et al. 2017): successive halving run in brackets that start at
    different budgets — from many candidates at the smallest budget to a few at the full
    budget — so that a misleading low fidelity cannot ruin the search. Brackets are cycled
    in that order; ``sampler`` feeds them as in :class:`SuccessiveHalving` (BOHB-like with
    ``sampler: bayesian``).

    Use it instead of successive halving when you do not know how much a small budget can be
    trusted.

    Args:
        budgets: Increasing budget fractions ending at 1.
        min_budget: Instead of ``budgets``: the smallest, then ``* eta`` up to 1.
        eta: Keep the best ``1/eta`` at each rung.
        sampler: Strategy proposing new candidates.

    Example:
        >>> Hyperband(budgets=[1 / 9, 1 / 3, 1.0])._brackets()
        [(0, 9), (1, 5), (2, 3)]
    """

    def __init__(
        self,
        *,
        budgets: Sequence[float] | None = None,
        min_budget: float | None = None,
        eta: float = 3,
        sampler: str | Mapping[str, Any] = "random",
    ) -> None:
        super().__init__(budgets=budgets, min_budget=min_budget, eta=eta, sampler=sampler)

    def _brackets(self) -> list[tuple[int, int]]:
        s_max = len(self.rung_budgets) - 1
        return [(s_max - s, math.ceil((s_max + 1) / (s + 1) * self.eta**s)) for s in range(s_max, -1, -1)]
