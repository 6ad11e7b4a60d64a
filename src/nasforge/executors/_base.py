"""Executors: where evaluations run. The study decides what to run; an executor only runs it."""

from __future__ import annotations

import inspect
import math
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import _validate as v
from .._errors import FatalError, NotStorable, TrialFailed
from .._trial import Candidate, TrialState
from .._validate import called
from ..evaluators import Evaluator, check_metrics
from ..evaluators._steps import StepContext, StepDecider, TrialPruned, finite_metrics, step_context


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


@dataclass(frozen=True)
class TrialWatch:
    """What the study hands each trial besides its candidate: the search's ``deadline`` (a
    ``time.time()`` value), whether a pruner judges its step reports (``prune``) and the
    metric it judges. Picklable: process executors send it with each trial."""

    deadline: float | None = None
    prune: bool = False
    metric: str | None = None

    @property
    def active(self) -> bool:
        """Whether trials report steps at all (a pruner or a deadline)."""
        return self.prune or self.deadline is not None


StepHandler = Callable[[int, int, dict[str, float]], "str | None"]
"""``on_step(number, step, metrics) -> reason | None``: the study's answer to a step report
of trial ``number`` (why it should stop, or ``None`` to go on)."""

DEADLINE_GRACE_SECONDS = 1.5
"""How long after the deadline an executor waits for running trials to stop by themselves
before the study abandons them (and the executor's shutdown kills their workers)."""


def run_trial(evaluator: Evaluator, number: int, candidate: Candidate, watch: TrialWatch | None = None,
              decide: StepDecider | None = None) -> Outcome:  # fmt: skip
    """Evaluate one candidate and turn every way it can end into an :class:`Outcome`.

    A :class:`TrialFailed` stores its reason; any other exception stores its type, message
    and the last line of its traceback; NaN metrics fail the trial. A :class:`FatalError`
    gives a ``fatal`` outcome, which the executor raises in the search process (so that it
    crosses process boundaries). ``sys.exit()`` called by the evaluator fails the trial (it
    must not end the search silently); ``KeyboardInterrupt`` propagates.

    With ``watch`` the evaluation runs inside a step context (:func:`nasforge.evaluators.report_step`
    answers from ``decide`` and the deadline); :class:`TrialPruned` gives a pruned outcome
    with its partial metrics, and every reported step is kept in ``report["steps"]``.
    """
    started = time.time()
    t0 = time.perf_counter()
    ctx = None
    if watch is not None and watch.active:
        ctx = StepContext(number, watch.deadline, decide if watch.prune else None, watch.metric)
    try:
        with step_context(ctx):
            result = evaluator.evaluate(candidate.arch, candidate.budget)
        metrics = check_metrics(result.metrics)
    except TrialPruned as exc:
        return pruned_outcome(number, exc, ctx, started, time.perf_counter() - t0)
    except FatalError as exc:
        return Outcome(number, TrialState.FAILED, error=str(exc), started=started, finished=time.time(),
                       cost_seconds=time.perf_counter() - t0, fatal=True)  # fmt: skip
    except TrialFailed as exc:
        return Outcome(number, TrialState.FAILED, error=exc.reason, started=started, finished=time.time(),
                       cost_seconds=time.perf_counter() - t0, report=steps_report(ctx))  # fmt: skip
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
    report = {**dict(result.report), **steps_report(ctx)}
    return Outcome(number, TrialState.COMPLETE, metrics, report, None, started, time.time(), cost)


def steps_report(ctx: StepContext | None) -> dict[str, Any]:
    """``{"steps": [...]}``: the steps a trial reported (as stored), or nothing."""
    if ctx is None or not ctx.steps:
        return {}
    return {"steps": [stored_step(s) for s in ctx.steps]}


def stored_step(step: Mapping[str, float]) -> dict[str, float | None]:
    """One reported step as stored: rounded values, ``None`` for NaN or infinite ones."""
    return {k: (round(float(val), 6) if math.isfinite(val) else None) for k, val in step.items()}


def pruned_outcome(number: int, exc: TrialPruned, ctx: StepContext | None, started: float,
                   cost: float) -> Outcome:  # fmt: skip
    """The outcome of a trial that raised :class:`TrialPruned`: its partial metrics (given, or
    the last reported step's), the step it reached and why."""
    last = ctx.steps[-1] if ctx is not None and ctx.steps else None
    metrics = finite_metrics(exc.metrics if exc.metrics is not None else last)
    step = exc.step if exc.step is not None else (int(last["step"]) if last is not None else None)
    reason = exc.reason or (ctx.stopped if ctx is not None else None) or "pruned"
    report: dict[str, Any] = {"pruned_at": step, "pruned_reason": reason, **steps_report(ctx)}
    at = f" at step {step}" if step is not None else ""
    return Outcome(number, TrialState.PRUNED, metrics, report, f"pruned{at}: {reason}", started, time.time(), cost)


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

    trial_watch: TrialWatch = TrialWatch()
    """What each trial is handed (deadline, pruning); set by :meth:`watch`."""

    on_step: StepHandler | None = None
    """The study's answer to step reports; set by :meth:`watch`."""

    def watch(self, watch: TrialWatch, on_step: StepHandler | None = None) -> None:
        """Hand every trial submitted from now on ``watch`` and answer its step reports with
        ``on_step`` (the study calls this before :meth:`start`). Once ``watch.deadline`` plus
        :data:`DEADLINE_GRACE_SECONDS` has passed, :meth:`wait` may return no outcome: the
        study then stops the trials still running."""
        self.trial_watch, self.on_step = watch, on_step

    def _decider(self, number: int) -> StepDecider | None:
        """``on_step`` bound to trial ``number`` (for :func:`run_trial`)."""
        on_step = self.on_step
        if on_step is None:
            return None
        return lambda step, metrics: on_step(number, step, metrics)

    def _stop_at(self) -> float | None:
        """When :meth:`wait` gives up on running trials (``time.time()``), or ``None``."""
        deadline = self.trial_watch.deadline
        return None if deadline is None else deadline + DEADLINE_GRACE_SECONDS

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


MAX_INLINE_WORKERS = 1024
"""The most parallel workers the inline executor imitates (each is a candidate asked and stored
before the first one runs)."""


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
            # the study asks this many candidates before the first one runs: bounded
            self.workers = v.integer(workers, "workers", low=1, high=MAX_INLINE_WORKERS)
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
        outcome = run_trial(self._evaluator, number, candidate, self.trial_watch, self._decider(number))
        if outcome.fatal:
            raise FatalError(outcome.error or "a trial stopped the search")
        return [outcome]

    def shutdown(self) -> None:
        self._queue.clear()
