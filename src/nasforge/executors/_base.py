"""Executors: where evaluations run. The study decides what to run; an executor only runs it."""

from __future__ import annotations

import inspect
import math
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from .. import _validate as v
from .._errors import FatalError, NotStorable, TrialFailed
from .._trial import Candidate, TrialState
from .._validate import called
from ..evaluators import Evaluator, check_metrics


@dataclass(frozen=True)
class Outcome:
    """How one submitted evaluation ended."""

    number: int
    state: TrialState
    metrics: dict[str, float] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0
    cost_seconds: float = 0.0
    fatal: bool = False
    """The evaluator raised :class:`FatalError`: the executor stops the search with it."""


def run_trial(evaluator: Evaluator, number: int, candidate: Candidate) -> Outcome:
    """Evaluate one candidate and turn every way it can end into an :class:`Outcome`.

    A :class:`TrialFailed` stores its reason; any other exception stores its type, message
    and the last line of its traceback; NaN metrics fail the trial. A :class:`FatalError`
    gives a ``fatal`` outcome, which the executor raises in the search process (so that it
    crosses process boundaries). ``sys.exit()`` called by the evaluator fails the trial (it
    must not end the search silently); ``KeyboardInterrupt`` propagates.
    """
    started = time.time()
    t0 = time.perf_counter()
    try:
        result = evaluator.evaluate(candidate.arch, candidate.budget)
        metrics = check_metrics(result.metrics)
    except FatalError as exc:
        return Outcome(number, TrialState.FAILED, error=str(exc), started=started, finished=time.time(),
                       cost_seconds=time.perf_counter() - t0, fatal=True)  # fmt: skip
    except TrialFailed as exc:
        return Outcome(number, TrialState.FAILED, error=exc.reason, started=started, finished=time.time(),
                       cost_seconds=time.perf_counter() - t0)  # fmt: skip
    except SystemExit as exc:  # the user's code called sys.exit(): that trial failed, the search goes on
        return Outcome(number, TrialState.FAILED, error=f"the evaluator called sys.exit({exc.code!r})",
                       started=started, finished=time.time(), cost_seconds=time.perf_counter() - t0)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a trial's crash must not stop the search
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
        return Outcome(number, TrialState.FAILED, error=f"{type(exc).__name__}: {exc}{at}", started=started,
                       finished=time.time(), cost_seconds=time.perf_counter() - t0)  # fmt: skip
    elapsed = time.perf_counter() - t0
    cost = result.cost_seconds if result.cost_seconds and math.isfinite(result.cost_seconds) else elapsed
    return Outcome(number, TrialState.COMPLETE, metrics, dict(result.report), None, started, time.time(), cost)


class Executor(ABC):
    """Runs evaluations, possibly several at once.

    The study calls :meth:`start` once, :meth:`submit` while :meth:`free` slots remain, then
    :meth:`wait` for at least one outcome, and :meth:`shutdown` at the end (also on errors).
    """

    @abstractmethod
    def start(self, evaluator: Evaluator) -> None:
        """Prepare to run evaluations with ``evaluator``."""

    @abstractmethod
    def free(self) -> int:
        """How many more evaluations can be submitted now."""

    @abstractmethod
    def submit(self, number: int, candidate: Candidate) -> None:
        """Start evaluating ``candidate`` as trial ``number``."""

    @abstractmethod
    def wait(self) -> list[Outcome]:
        """Block until at least one submitted evaluation ends; return those that ended."""

    def shutdown(self) -> None:
        """Stop workers and release resources."""

    config_name: str | None = None
    """The name that selects this class in ``executor: {name: ...}`` (set on registration)."""

    def to_config(self) -> dict[str, Any]:
        """The ``executor:`` config that rebuilds this executor: its registered name and each
        constructor option whose value differs from the default (read back from the
        attribute of the same name, or ``_name`` where the class keeps the given value apart
        from a derived one). :class:`NotStorable` for an unregistered class.

        Example:
            >>> InlineExecutor(workers=2).to_config()
            {'name': 'inline', 'workers': 2}
        """
        name = type(self).config_name
        if name is None:
            raise NotStorable(
                f"executor {type(self).__name__} is not registered (register_executor) and cannot be stored"
            )
        out: dict[str, Any] = {"name": name}
        state = vars(self)
        for option, param in constructor_options(type(self)).items():
            value = state[f"_{option}"] if f"_{option}" in state else getattr(self, option)
            if value != param.default:
                out[option] = value
        return out


def constructor_options(cls: type) -> dict[str, inspect.Parameter]:
    """The options of ``cls.__init__`` that a config may set, by name."""
    params = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return {p: v for p, v in sorted(params.items()) if p != "self" and v.kind in kinds}


class InlineExecutor(Executor):
    """Runs each evaluation in the calling process (tests, debugging).

    With ``workers=N`` it imitates N parallel workers deterministically: up to N candidates
    are submitted, and each :meth:`wait` evaluates the oldest one only, so the strategy is
    asked again while N - 1 others are still "running". Same seed and same ``workers`` give
    the same trials, which makes it the reference for strategies under parallelism.

    Args:
        workers: How many submitted evaluations may be outstanding at once.

    Example:
        >>> from nasforge.evaluators import Function
        >>> from nasforge.space import Arch
        >>> ex = InlineExecutor(workers=2)
        >>> ex.start(Function(lambda a: {"y": a["x"]}))
        >>> ex.submit(0, Candidate(Arch({"x": 1}))); ex.submit(1, Candidate(Arch({"x": 2})))
        >>> [o.number for o in ex.wait()], ex.free()
        ([0], 1)
    """

    def __init__(self, *, workers: int = 1) -> None:
        with called("InlineExecutor"):
            self.workers = v.positive_int(workers, "workers")
        self._queue: list[tuple[int, Candidate]] = []
        self._evaluator: Evaluator | None = None

    def start(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator
        self._queue.clear()

    def free(self) -> int:
        return self.workers - len(self._queue)

    def submit(self, number: int, candidate: Candidate) -> None:
        self._queue.append((number, candidate))

    def wait(self) -> list[Outcome]:
        if self._evaluator is None:
            raise RuntimeError("InlineExecutor.wait() before start()")
        if not self._queue:
            raise RuntimeError("InlineExecutor.wait() with nothing submitted")
        number, candidate = self._queue.pop(0)
        outcome = run_trial(self._evaluator, number, candidate)
        if outcome.fatal:
            raise FatalError(outcome.error or "a trial stopped the search")
        return [outcome]

    def shutdown(self) -> None:
        self._queue.clear()
