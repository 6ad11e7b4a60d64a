"""The ask/tell protocol every strategy follows, and the registry of strategies by name."""

from __future__ import annotations

import enum
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, TypeAlias, TypeVar

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, MetricConstraint, Objectives, Trial
from ..space import Arch, SearchSpace
from ._history import History


class _Wait(enum.Enum):
    WAIT = "wait"

    def __repr__(self) -> str:
        return "WAIT"


WAIT: Final = _Wait.WAIT
"""What :meth:`Strategy.ask` returns for "nothing to propose now; ask again after the next
tell" (e.g. a rung of successive halving waiting for results). ``None`` means exhausted."""

Ask: TypeAlias = Candidate | Literal[_Wait.WAIT] | None
"""The answer of :meth:`Strategy.ask`."""


class Strategy(ABC):
    """Decides which architecture to try next; knows nothing of training or storage.

    The protocol, called by the study:

    - :meth:`validate` once, before any work: refuse a space or objectives it cannot search;
    - :meth:`start` on every run of the study, with the study's :class:`History`;
    - :meth:`ask` for each new trial: a :class:`Candidate`, :data:`WAIT` (nothing now, ask
      again after the next tell) or ``None`` (nothing left to try, ever);
    - :meth:`tell` with each finished trial.

    The study records every asked candidate and told trial in the history *before* the
    strategy hears of it, so a strategy never marks anything: it asks the history whether an
    architecture is new (``self.history.is_new``, ``self.history.sample_new(self.rng)``) and
    must not propose one already asked (pending or done, by canonical key). The study refuses
    such a duplicate with a :class:`~nasforge.FatalError`.

    On resume the study rebuilds a strategy by calling ``start`` with the same seed and
    replaying the stored asks and tells in their original order, so a strategy keeps all its
    state in memory and never pickles it. An ``ask`` that answers :data:`WAIT` or ``None``
    is not replayed, so it must leave the strategy's state as it found it. While an ask is
    replayed, ``self.history.replaying`` holds the candidate it answered the first time: a
    model-based strategy may return it instead of refitting its model, as long as everything
    else the ask does (random draws, its bookkeeping) happens as before.

    Subclasses take their options as keyword-only constructor arguments and store them
    unchanged under the same names (derived values are properties or computed in
    ``start``), so that :meth:`to_config` can read them back; ``start`` resets every piece
    of search state, because a study calls it again on each run.
    """

    min_objectives: ClassVar[int] = 1
    """Fewest objectives the strategy can use (NSGA-II needs two)."""

    max_objectives: ClassVar[int | None] = 1
    """Most objectives the strategy can use (``None``: any number). A single-objective
    strategy refuses several in :meth:`validate` instead of silently using the first."""

    multi_fidelity: ClassVar[bool] = False
    """Whether the strategy asks for budgets below the full one (successive halving, Hyperband):
    the study refuses it with an evaluator that has one fidelity."""

    constraints: Sequence[MetricConstraint] = ()
    """Metric constraints given to the strategy as an option (NSGA-II's ``constraints``, an
    alias of the study's ``constraints``): the study adds them to its objectives, which alone
    judge feasibility (``trial.violation``)."""

    space: SearchSpace
    objectives: Objectives
    rng: np.random.Generator
    history: History

    def validate(self, space: SearchSpace, objectives: Objectives) -> None:
        """Refuse, with a :class:`ConfigError`, a space or objectives this strategy cannot
        search. Called by the study and the config reader before any work; ``start`` may
        assume it passed."""
        n, low, high = len(objectives), self.min_objectives, self.max_objectives
        if n < low:
            raise ConfigError(
                "objectives",
                f"strategy {type(self).__name__} is multi-objective and needs at least {'two' if low == 2 else low} "
                f"objectives, got {objectives.names}; add one (e.g. params: minimize) or use a single-objective "
                "strategy",
            )
        if high is not None and n > high:
            uses = "optimizes a single objective" if high == 1 else f"uses at most {high} objectives"
            kept = repr(objectives.names[0]) if high == 1 else str(objectives.names[:high])
            raise ConfigError(
                "objectives",
                f"strategy `{strategy_label(self)}` {uses} and would ignore all but {kept} of "
                f"{objectives.names}; use `nsga2` (multi-objective) or `bayesian` (ParEGO), weigh them into one "
                "with `scalarize: {weights: {...}}`, or keep one objective and turn the others into `constraints:` "
                "such as `params <= 1e6`",
            )

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        """Bind the strategy to a study and reset its state. Called before any ask or tell,
        again on every run of the study (the history is then replayed into it)."""
        self.space, self.objectives, self.rng, self.history = space, objectives, rng, history

    @abstractmethod
    def ask(self) -> Ask:
        """The next candidate; :data:`WAIT` when there is nothing to propose until a pending
        result is told; ``None`` when there is nothing left to try."""

    def tell(self, trial: Trial) -> None:
        """Learn the outcome of a trial: one this strategy asked for, a re-run of one, or one
        enqueued by the user. The history already holds it."""

    def to_config(self) -> dict[str, Any]:
        """``{"name": registered name, **options}``, the options read back from the
        constructor's keyword-only parameters, so that ``make_strategy(name, options)``
        rebuilds an equal strategy (and a stored study can be resumed from its config)."""
        return {"name": registered_name(type(self)), **{p: plain(getattr(self, p)) for p in _options(type(self))}}

    # -- protected helpers ----------------------------------------------------------------

    def _sample_new(self) -> Arch | None:
        """A random architecture never asked before (``None``: the space is exhausted)."""
        return self.history.sample_new(self.rng)


def plain(value: Any) -> Any:
    """``value`` as plain config data (lists, dicts, numbers, strings)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


STRATEGIES: dict[str, type[Strategy]] = {}
"""Strategies by config name; :func:`register_strategy` adds to it."""

S = TypeVar("S", bound=type[Strategy])


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator that makes a strategy available by ``name`` in configs."""

    def wrap(cls: S) -> S:
        STRATEGIES[name] = cls
        return cls

    return wrap


def registered_name(cls: type[Strategy]) -> str:
    """The config name ``cls`` is registered under; a :class:`ConfigError` when it is not."""
    for name, registered in STRATEGIES.items():
        if registered is cls:
            return name
    raise ConfigError("strategy", f"{cls.__name__} is not registered (@register_strategy), so it has no config name")


def strategy_label(strategy: Strategy) -> str:
    """The registered name of ``strategy``'s class, else the class name (for messages)."""
    try:
        return registered_name(type(strategy))
    except ConfigError:
        return type(strategy).__name__


def _options(cls: type) -> list[str]:
    params = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    return [p for p in params if p != "self" and params[p].kind is inspect.Parameter.KEYWORD_ONLY]


class Wrapper(Strategy):
    """A strategy around another one (a warm start, a transfer from earlier studies): it
    decides some asks itself and hands the rest to ``inner``, and it takes the inner
    strategy's limits on the number of objectives and its metric constraints as its own."""

    inner: Strategy

    @property
    def min_objectives(self) -> int:  # type: ignore[override]
        """As the inner strategy."""
        return self.inner.min_objectives

    @property
    def max_objectives(self) -> int | None:  # type: ignore[override]
        """As the inner strategy."""
        return self.inner.max_objectives

    @property
    def constraints(self) -> Sequence[MetricConstraint]:  # type: ignore[override]
        """As the inner strategy."""
        return self.inner.constraints

    @property
    def multi_fidelity(self) -> bool:  # type: ignore[override]
        """As the inner strategy."""
        return self.inner.multi_fidelity
