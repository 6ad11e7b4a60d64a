"""Executors: where evaluations run. The study decides what to run; an executor only runs it."""

from __future__ import annotations

import math
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError, TrialFailed
from .._trial import Candidate, TrialState
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


def run_trial(evaluator: Evaluator, number: int, candidate: Candidate) -> Outcome:
    """Evaluate one candidate and turn every way it can end into an :class:`Outcome`.

    A :class:`TrialFailed` stores its reason; any other exception stores its type, message
    and the last line of its traceback; NaN metrics fail the trial. ``KeyboardInterrupt`` and
    ``SystemExit`` propagate.
    """
    started = time.time()
    t0 = time.perf_counter()
    try:
        result = evaluator.evaluate(candidate.arch, candidate.budget)
        metrics = check_metrics(result.metrics)
    except TrialFailed as exc:
        return Outcome(number, TrialState.FAILED, error=exc.reason, started=started, finished=time.time(),
                       cost_seconds=time.perf_counter() - t0)  # fmt: skip
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
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError("executor.workers", f"must be a positive integer, got {workers!r}")
        self.workers = workers
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
        return [run_trial(self._evaluator, number, candidate)]

    def shutdown(self) -> None:
        self._queue.clear()
