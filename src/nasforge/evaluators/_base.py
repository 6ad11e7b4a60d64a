"""The evaluator protocol: turn an architecture (and a budget) into numbers; the optional
capabilities (final model, warm-start ranking); the ``function:`` evaluator."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .._errors import ConfigError, FatalError, NotStorable, TrialFailed
from .._refs import callable_ref, import_ref
from .._validate import called, check_keys, str_list
from ..space import Arch, SearchSpace

if TYPE_CHECKING:
    from torch import nn


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

    Optional, by duck typing (each is small, and checked where it is used):

    - ``metrics``: the names of the metrics it produces (a list); objectives and constraints
      that name another metric are refused before any work (:func:`check_objectives`).
    - ``constraints(space) -> list[Constraint]``: the study narrows its space with them
      (e.g. to the architectures that can be built for the data's shape).
    - ``to_config() -> dict``: the ``evaluator:`` config that rebuilds it.
    - :class:`Finalizer`: retrain and test the best architecture.
    """

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result: ...


@runtime_checkable
class Finalizer(Protocol):
    """An evaluator that can make the final model of the best architecture.

    ``retrain(arch)`` trains it on all the search data (for the full budget) and returns the
    network in eval mode; ``test(model)`` scores it once on data the search never saw and
    returns numbers (e.g. ``{"test_accuracy": 0.97, "test_loss": 0.1}``); ``final_info(arch,
    model)`` is what the writer of ``RUN_DIR/best/`` needs (see :class:`FinalModel`).
    """

    def retrain(self, arch: Arch) -> nn.Module: ...

    def test(self, model: nn.Module) -> dict[str, float]: ...

    def final_info(self) -> FinalModel: ...


@dataclass(frozen=True)
class FinalModel:
    """What writing a final model needs besides the network (``models.save_model``'s
    arguments): the builder's name (``models.CUSTOM`` for a user's function), the input
    shape, the number of classes, the builder's options, and the record fields that describe
    how it was trained (data set, classes, epochs, sample counts, seed)."""

    space: str
    input_shape: tuple[int, ...]
    num_classes: int
    model_options: dict[str, Any]
    info: dict[str, Any]


@runtime_checkable
class Ranker(Protocol):
    """Scores architectures cheaply, larger is better (for a warm start)."""

    def rank(self, archs: Sequence[Arch]) -> list[float]: ...


WARM_RANKER_KEYS = ("proxy", "batch_size", "dataset", "model", "input_shape", "classes", "seed")
"""The options of a warm start's ranker (:meth:`EvaluatorSetup.ranker`), besides its counts."""


@dataclass
class EvaluatorSetup:
    """What building an evaluator from its config gives: the evaluator, the objectives to
    use when the config gives none, and how to build a warm-start ranker on the same data.

    ``resolved`` holds evaluator settings found outside the config (e.g. a path from the
    environment), stored with the run so that resume and report need no environment.
    """

    evaluator: Evaluator
    objectives: dict[str, str] = field(default_factory=dict)
    resolved: dict[str, Any] = field(default_factory=dict)
    space: SearchSpace | None = field(default=None, repr=False)
    """The space the evaluator was built for (its model builder, for a ranker); the study
    narrows it, not the evaluator."""
    base_dir: Path = field(default=Path("."), repr=False)
    make_ranker: Callable[..., Ranker] | None = field(default=None, repr=False)
    """``make_ranker(proxy, **options)``; set by :func:`make_evaluator`."""
    strategy: str | None = None
    """The strategy to use when the config names none (``None``: the default strategy), e.g.
    ``evolution`` for a one-shot evaluator, whose trials cost a fraction of a second."""

    def ranker(self, proxy: str, **options: Any) -> Ranker:
        """A zero-cost proxy ranker (``ZeroCost``) for a warm start.

        When the evaluator trains or is itself a proxy, the ranker scores networks of its data
        set and model builder (its seed, device and threads too) unless ``dataset``,
        ``input_shape`` or ``classes`` are given; otherwise (a table, a function) give
        ``dataset`` (or, for the data-free ``synflow``, ``params`` and ``flops``,
        ``input_shape`` and ``classes``) and the space must have a model builder. Options:
        ``batch_size``, ``model`` (builder options), ``seed``, ``dataset``, ``input_shape``,
        ``classes``. Errors name fields relative to the warm-start config.
        """
        if self.make_ranker is None:
            raise ConfigError("", "this evaluator setup cannot build a ranker (it was not made by make_evaluator)")
        return self.make_ranker(proxy, **options)


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


load_callable = import_ref
"""Import ``module:attribute`` for ``function:`` (see :func:`nasforge._refs.import_ref`)."""

callable_spec = callable_ref
"""``module:qualname`` of a callable that can be imported back, else ``None``."""


class Function:
    """An evaluator from any callable ``arch -> {metric: value}`` (or ``arch -> float``,
    recorded as metric ``value``); the callable may take ``budget`` as a keyword.

    A function that trains in steps may report each step's metrics with
    :func:`nasforge.evaluators.report_step` (and stop when it answers ``True``, raising
    :class:`nasforge.evaluators.TrialPruned`); ``step_metrics`` declares the metrics those
    reports hold, which a ``pruner`` needs (a pruner with a function that declares none is
    refused: nothing would be pruned).

    ``metrics`` declares the metric names it returns, so that objectives naming another
    metric are refused before any work. Without it the first result is checked instead: a
    result that lacks a metric the objectives need stops the search (:class:`FatalError`)
    naming what the function returned.

    :meth:`to_config` gives ``{"function": "module:qualname"}`` when the callable can be
    imported back by that name; for a lambda, a nested function or a function of
    ``__main__`` it raises :class:`nasforge.NotStorable` (such a study runs, but cannot be
    resumed from its run directory).

    Example:
        >>> f = Function(lambda arch: {"score": arch["x"] ** 2}, metrics=["score"])
        >>> f.evaluate(Arch({"x": 3})).metrics
        {'score': 9.0}
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        metrics: Sequence[str] | None = None,
        step_metrics: Sequence[str] | None = None,
    ) -> None:
        with called("Function"):
            if not callable(fn):
                raise ConfigError("fn", f"must be a callable arch -> {{metric: value}}, got {fn!r}")
            self.fn = fn
            self.name = name or getattr(fn, "__qualname__", "function")
            self.metrics: list[str] | None = (
                None if metrics is None else str_list(metrics, "metrics", what="a list of metric names", empty_ok=False)
            )
            if self.metrics is not None and not all(m.strip() for m in self.metrics):
                raise ConfigError("metrics", f"metric names must be non-empty, got {self.metrics!r}")
            self.step_metrics: list[str] | None = (
                None
                if step_metrics is None
                else str_list(step_metrics, "step_metrics", what="a list of metric names", empty_ok=False)
            )
        self.expected: tuple[str, ...] = ()
        """Metrics the objectives need, checked on each result when :attr:`metrics` is not
        declared (set by :func:`check_objectives`)."""
        try:
            self._takes_budget = "budget" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            self._takes_budget = False

    def expect(self, names: Collection[str]) -> None:
        """Check every result for ``names`` (the objectives' metrics)."""
        self.expected = tuple(names)

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result:
        t0 = time.perf_counter()
        out = self.fn(arch, budget=budget) if self._takes_budget else self.fn(arch)
        elapsed = time.perf_counter() - t0
        if isinstance(out, Result):
            result = out
        else:
            if isinstance(out, int | float):
                out = {"value": out}
            if not isinstance(out, Mapping):
                raise TrialFailed(f"{self.name} returned {type(out).__name__}, expected a dict of metrics")
            result = Result(check_metrics(out), cost_seconds=elapsed)
        missing = [m for m in self.expected if m not in result.metrics]
        if missing:
            raise FatalError(
                f"objectives.{missing[0]}: {self.name} returned the metrics {sorted(result.metrics)}, without "
                f"{missing[0]!r}; name one of those in the objectives, or return {missing[0]!r}"
            )
        return result

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], space: SearchSpace, base: Path) -> EvaluatorSetup:
        """``{function: module:callable[, metrics: [names], step_metrics: [names]]}``; errors
        name relative fields."""
        check_keys(spec, {"function", "metrics", "step_metrics"})
        fn = load_callable(spec["function"], base, "function")
        try:
            function = cls(fn, name=spec["function"], metrics=spec.get("metrics"), step_metrics=spec.get("step_metrics"))
        except ConfigError as exc:
            raise exc.within("") from None
        return EvaluatorSetup(function, space=space, base_dir=base)

    def to_config(self) -> dict[str, Any]:
        """``{"function": "module:qualname"}`` (and ``metrics``); :class:`NotStorable` when
        the callable cannot be imported back by its name."""
        spec = callable_spec(self.fn)
        if spec is None:
            raise NotStorable(
                f"function {self.name!r} cannot be stored as `module:callable` (a lambda, a nested function or a "
                "function of __main__); define it at the top level of an importable module to resume from a run directory"
            )
        out: dict[str, Any] = {"function": spec}
        if self.metrics is not None:
            out["metrics"] = list(self.metrics)
        if self.step_metrics is not None:
            out["step_metrics"] = list(self.step_metrics)
        return out
