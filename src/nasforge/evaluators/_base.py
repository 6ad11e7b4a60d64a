"""The evaluator protocol: turn an architecture (and a budget) into numbers."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .._errors import TrialFailed
from ..space import Arch


@dataclass(frozen=True)
class Result:
    """What an evaluation produced.

    ``metrics`` are visible to the search; ``report`` values are recorded but hidden from it
    (e.g. a test accuracy); ``artifacts`` are paths or small values to keep (not shown).
    """

    metrics: Mapping[str, float]
    report: Mapping[str, Any] = field(default_factory=dict)
    cost_seconds: float = 0.0
    artifacts: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Evaluator(Protocol):
    """Anything with ``evaluate(arch, budget) -> Result``.

    ``budget`` is the fidelity as a fraction of the full budget in (0, 1], or ``None`` for the
    full budget. Raise :class:`nasforge.TrialFailed` for an expected failure; any other
    exception also fails the trial (its type and message are stored).
    """

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result: ...


def check_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """``metrics`` as floats; a missing, non-numeric or NaN value fails the trial."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TrialFailed(f"metric {name!r} is not a number: {value!r}") from None
        if math.isnan(number):
            raise TrialFailed(f"metric {name!r} is NaN")
        out[str(name)] = number
    return out


class Function:
    """An evaluator from any callable ``arch -> {metric: value}`` (or ``arch -> float``,
    recorded as metric ``value``); the callable may take ``budget`` as a keyword.

    Example:
        >>> f = Function(lambda arch: {"score": arch["x"] ** 2})
        >>> f.evaluate(Arch({"x": 3})).metrics
        {'score': 9.0}
    """

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__qualname__", "function")
        import inspect

        try:
            self._takes_budget = "budget" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            self._takes_budget = False

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result:
        import time

        t0 = time.perf_counter()
        out = self.fn(arch, budget=budget) if self._takes_budget else self.fn(arch)
        elapsed = time.perf_counter() - t0
        if isinstance(out, Result):
            return out
        if isinstance(out, int | float):
            out = {"value": out}
        if not isinstance(out, Mapping):
            raise TrialFailed(f"{self.name} returned {type(out).__name__}, expected a dict of metrics")
        return Result(check_metrics(out), cost_seconds=elapsed)
