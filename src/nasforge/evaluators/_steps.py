"""Reports from inside a trial: an evaluator tells the study each step's (epoch's) metrics and
learns whether to stop; the study's pruner and its deadline answer.

The executor sets a :class:`StepContext` around each evaluation (a context variable, so the
same code works inline, in a worker process and in a Ray task); outside a study there is no
context and :func:`report_step` answers ``False`` (never stop).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import TrialFailed

StepDecider = Callable[[int, dict[str, float]], "str | None"]
"""``decide(step, metrics) -> reason | None``: why the trial should stop now, or ``None``."""

DEADLINE = "deadline"
"""The reason of a trial stopped because the search's time budget ended."""


class TrialPruned(Exception):
    """Raised by an evaluator to end its trial as pruned (stopped early, not failed).

    The trial is stored as :attr:`~nasforge.TrialState.PRUNED` with ``metrics`` (the partial
    results, e.g. the last epoch's validation metrics; default: the last reported step's),
    ``report["pruned_at"]`` (``step``) and ``report["pruned_reason"]``. A pruned trial counts
    toward the trial budget and is never the best.

    Example:
        >>> from nasforge.evaluators import report_step
        >>> def evaluate(arch):
        ...     for epoch in range(1, 10):
        ...         metrics = {"acc": 1 - 1 / (epoch + arch["x"])}
        ...         if report_step(epoch, metrics):
        ...             raise TrialPruned("pruned", metrics=metrics, step=epoch)
        ...     return metrics
        >>> evaluate({"x": 1})["acc"]  # outside a study nothing stops it
        0.9
    """

    def __init__(self, reason: str = "pruned", *, metrics: Mapping[str, float] | None = None,
                 step: int | None = None) -> None:  # fmt: skip
        super().__init__(reason)
        self.reason = reason
        self.metrics = dict(metrics) if metrics is not None else None
        self.step = step


@dataclass
class StepContext:
    """What a running trial knows of its study: the deadline (a ``time.time()`` value), the
    pruner's decider and the metric it judges, and the steps reported so far."""

    number: int = 0
    deadline: float | None = None
    decide: StepDecider | None = None
    metric: str | None = None
    steps: list[dict[str, float]] = field(default_factory=list)
    stopped: str | None = None
    """The reason of the last "stop" answer (``None``: never told to stop)."""


_CURRENT: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("nasforge_step_context", default=None)


@contextlib.contextmanager
def step_context(ctx: StepContext | None) -> Iterator[StepContext | None]:
    """Run the body with ``ctx`` as the current trial's context (executors call this around
    an evaluation)."""
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)


def current_step_context() -> StepContext | None:
    """The context of the trial running in this thread, or ``None`` outside a study."""
    return _CURRENT.get()


def steps_wanted() -> bool:
    """Whether the study listens to step reports (a pruner or a deadline is active): an
    evaluator may skip the work of per-step validation when it is not."""
    ctx = _CURRENT.get()
    return ctx is not None and (ctx.decide is not None or ctx.deadline is not None)


def trial_deadline() -> float | None:
    """When the search's time budget ends (``time.time()``), or ``None``: an evaluator that
    works in small pieces (batches) checks it between them (:func:`past_deadline`)."""
    ctx = _CURRENT.get()
    return None if ctx is None else ctx.deadline


def past_deadline() -> bool:
    """Whether the search's time budget has ended; cheap enough to call once per batch."""
    ctx = _CURRENT.get()
    return ctx is not None and ctx.deadline is not None and time.time() >= ctx.deadline


def _as_floats(step: int, metrics: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(metrics, Mapping):
        raise TrialFailed(f"report_step({step}, ...) needs a dict of metrics, got {type(metrics).__name__}")
    out: dict[str, float] = {}
    for name, value in metrics.items():
        try:
            out[str(name)] = float(value)
        except (TypeError, ValueError):
            raise TrialFailed(f"report_step({step}): metric {name!r} is not a number: {value!r}") from None
    return out


def report_step(step: int, metrics: Mapping[str, float]) -> bool:
    """Report the metrics after ``step`` (an epoch, counted from 1, increasing) and learn
    whether the trial should stop now: ``True`` when the study's pruner judges it poor or the
    search's time budget has ended. Then end the trial with
    ``raise TrialPruned(reason, metrics=metrics, step=step)`` (the reason is in
    :func:`stop_reason`). Outside a study (no context) it records nothing and answers ``False``.

    A NaN value counts as the worst value. A report that lacks the metric the pruner judges
    fails the trial, naming it.

    Example:
        >>> report_step(1, {"accuracy": 0.5})
        False
    """
    ctx = _CURRENT.get()
    if ctx is None:
        return False
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise TrialFailed(f"report_step: the step must be a positive integer (an epoch from 1), got {step!r}")
    if ctx.steps and step <= ctx.steps[-1]["step"]:
        raise TrialFailed(f"report_step({step}) after step {int(ctx.steps[-1]['step'])}: steps must increase")
    values = _as_floats(step, metrics)
    ctx.steps.append({"step": float(step), **values})
    if ctx.deadline is not None and time.time() >= ctx.deadline:
        ctx.stopped = DEADLINE
        return True
    if ctx.decide is None:
        return False
    if ctx.metric is not None and ctx.metric not in values:
        raise TrialFailed(
            f"report_step({step}) gave {sorted(values)}, without {ctx.metric!r}, the metric the pruner judges"
        )
    reason = ctx.decide(step, values)
    if reason:
        ctx.stopped = reason
        return True
    return False


def stop_reason() -> str | None:
    """Why the last :func:`report_step` answered ``True`` (``"deadline"``, or the pruner's
    reason), or ``None``."""
    ctx = _CURRENT.get()
    return None if ctx is None else ctx.stopped


def finite_metrics(metrics: Mapping[str, float] | None) -> dict[str, float]:
    """The finite values of ``metrics`` (a pruned trial's partial results as stored)."""
    out: dict[str, float] = {}
    for name, value in (metrics or {}).items():
        if name == "step":
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[str(name)] = number
    return out
