"""Conformance checks that every evaluator must pass, as a test class that takes a factory.

Subclass :class:`EvaluatorConformance` in a test module (its name must start with ``Test``),
give it ``make`` (a fresh evaluator) and ``space`` (a space it can evaluate; its first
architectures are used), and pytest runs every ``test_*`` check::

    class TestMyTable(EvaluatorConformance):
        space = staticmethod(lambda: SearchSpace({"k": Choice([1, 3])}))
        make = staticmethod(lambda: Table({"1": {"acc": 0.5}, "3": {"acc": 0.7}}, key="{k}", metric="acc"))

The checks: it produces every metric it declares (``metrics``), as finite floats; the same
architecture gives the same metrics from a fresh evaluator (same seed, same numbers); the full
budget given as ``1.0`` is the same as ``None``; its ``constraints(space)`` hook, where it has
one, returns constraints and leaves every architecture it keeps evaluable; and, when it can
be stored, the evaluator rebuilt from its ``to_config()`` gives the same metrics.

Example:
    >>> from nasforge.evaluators import Table
    >>> from nasforge.space import SearchSpace, Choice
    >>> class Lookup(EvaluatorConformance):
    ...     space = staticmethod(lambda: SearchSpace({"k": Choice([1, 3])}))
    ...     make = staticmethod(lambda: Table({"1": {"acc": 0.5}, "3": {"acc": 0.7}}, key="{k}", metric="acc"))
    >>> Lookup().test_declared_metrics_are_produced()
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from .._errors import NasforgeError
from ..evaluators import Evaluator, make_evaluator
from ..space import Arch, SearchSpace


class EvaluatorConformance:
    """The checks; a subclass sets ``make`` and ``space`` (factories) and may lower ``count``."""

    make: Callable[[], Evaluator]
    space: Callable[[], SearchSpace]
    count: int = 3
    """How many architectures of the space (in enumeration order) each check evaluates."""

    def _archs(self) -> list[Arch]:
        space = type(self).space()
        hook = getattr(type(self).make(), "constraints", None)
        if callable(hook):
            space = space.with_constraints(hook(space))
        return [a for a in islice(space.enumerate(), 10 * self.count) if space.satisfies(a)][: self.count]

    def test_declared_metrics_are_produced(self) -> None:
        evaluator = type(self).make()
        declared = list(getattr(evaluator, "metrics", None) or [])
        assert declared, f"{type(evaluator).__name__} declares no metrics"
        for arch in self._archs():
            metrics = evaluator.evaluate(arch).metrics
            missing = [m for m in declared if m not in metrics]
            assert not missing, f"{arch}: declared metrics {missing} were not produced (got {sorted(metrics)})"
            assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values()), metrics

    def test_same_architecture_same_metrics_from_a_fresh_evaluator(self) -> None:
        for arch in self._archs():
            a = type(self).make().evaluate(arch).metrics
            b = type(self).make().evaluate(arch).metrics
            assert _comparable(a) == _comparable(b), f"{arch}: {a} != {b}"

    def test_full_budget_is_none(self) -> None:
        evaluator = type(self).make()
        arch = self._archs()[0]
        assert _comparable(evaluator.evaluate(arch, 1.0).metrics) == _comparable(evaluator.evaluate(arch).metrics)

    def test_rebuilt_from_its_config_gives_the_same_metrics(self, tmp_path: Path) -> None:
        evaluator = type(self).make()
        to_config = getattr(evaluator, "to_config", None)
        if not callable(to_config):
            return
        try:
            config = to_config()
        except NasforgeError:  # a lambda, rows in memory: not storable, and it says so
            return
        rebuilt = make_evaluator(config, type(self).space(), tmp_path).evaluator
        for arch in self._archs():
            assert _comparable(rebuilt.evaluate(arch).metrics) == _comparable(evaluator.evaluate(arch).metrics)


TIMING = ("latency_ms", "train_seconds")
"""Metrics that measure the machine, not the architecture: not compared."""


def _comparable(metrics: object) -> dict[str, float]:
    return {k: v for k, v in dict(metrics).items() if k not in TIMING}  # type: ignore[call-overload]
