"""Conformance checks that every executor must pass, as a test class that takes a factory.

Subclass :class:`ExecutorConformance` in a test module (its name must start with ``Test``)
and give it a ``make`` factory returning a fresh, unstarted executor; pytest runs every
``test_*`` check on it::

    class TestTwoLocalWorkers(ExecutorConformance):
        make = staticmethod(lambda: LocalExecutor(workers=2))

The checks, on the module-level evaluators below (so that worker processes can import them):
every submitted trial ends exactly once with the outcome the inline reference gives; a
trial's exception, :class:`~nasforge.TrialFailed` reason and NaN metric each fail that trial
alone, with its reason; ``free()`` counts the slots left; a :class:`~nasforge.FatalError`
from the evaluator stops the search (``wait`` raises it); ``shutdown`` may be called twice.

Example:
    >>> from nasforge.executors import InlineExecutor
    >>> class Inline(ExecutorConformance):
    ...     make = staticmethod(lambda: InlineExecutor())
    >>> Inline().test_every_trial_ends_once_as_the_inline_reference_says()
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._errors import FatalError, TrialFailed
from .._trial import Candidate, TrialState
from ..evaluators import Function
from ..executors import Executor, InlineExecutor, Outcome
from ..space import Arch


def square(arch: Arch) -> dict[str, float]:
    """``{"y": x**2}``; fails for some ``x`` in each of the ways a trial can fail."""
    x = int(arch["x"])  # type: ignore[arg-type]
    if x == 3:
        raise ValueError("three is not allowed")
    if x == 5:
        raise TrialFailed("five does not fit")
    if x == 7:
        return {"y": math.nan}
    return {"y": float(x * x)}


def stop_at_four(arch: Arch) -> dict[str, float]:
    """Stops the whole search at ``x == 4`` (a fatal error)."""
    if arch["x"] == 4:
        raise FatalError("the data went away")
    return {"y": float(arch["x"])}


def _run_all(executor: Executor, fn: Callable[[Arch], Any], xs: tuple[int, ...] | list[int]) -> dict[int, Outcome]:
    executor.start(Function(fn))
    pending = list(enumerate(xs))
    outcomes: dict[int, Outcome] = {}
    running = 0
    try:
        while pending or running:
            while pending and executor.free() > 0:
                number, x = pending.pop(0)
                executor.submit(number, Candidate(Arch({"x": x})))
                running += 1
            ended = executor.wait()
            assert ended, "wait() returned no outcome while trials were running"
            for o in ended:
                assert o.number not in outcomes, f"trial {o.number} ended twice"
                outcomes[o.number] = o
                running -= 1
    finally:
        executor.shutdown()
    return outcomes


class ExecutorConformance:
    """The checks; a subclass sets ``make`` (a fresh, unstarted executor)."""

    make: Callable[[], Executor]
    XS: tuple[int, ...] = tuple(range(10))

    def test_every_trial_ends_once_as_the_inline_reference_says(self) -> None:
        got = _run_all(type(self).make(), square, self.XS)
        want = _run_all(InlineExecutor(), square, self.XS)
        assert sorted(got) == list(range(len(self.XS)))
        for number, ref in want.items():
            o = got[number]
            assert (o.state, o.metrics) == (ref.state, ref.metrics), f"trial {number}: {o} != {ref}"
            if ref.state is TrialState.FAILED:
                assert o.error is not None and ref.error is not None
                assert o.error.split(" (at ")[0] == ref.error.split(" (at ")[0]

    def test_each_kind_of_failure_fails_its_trial_alone_with_its_reason(self) -> None:
        got = _run_all(type(self).make(), square, self.XS)
        failed = {n: o.error or "" for n, o in got.items() if o.state is TrialState.FAILED}
        assert set(failed) == {3, 5, 7}
        assert failed[3].startswith("ValueError: three is not allowed")
        assert failed[5] == "five does not fit"
        assert "NaN" in failed[7]
        assert all(got[n].state is TrialState.COMPLETE for n in got if n not in failed)

    def test_free_counts_the_slots_left(self) -> None:
        executor = type(self).make()
        executor.start(Function(square))
        try:
            slots = executor.free()
            assert slots >= 1
            executor.submit(0, Candidate(Arch({"x": 1})))
            assert executor.free() == slots - 1
            ended = executor.wait()
            assert [o.number for o in ended] == [0] and executor.free() == slots
        finally:
            executor.shutdown()

    def test_a_fatal_error_stops_the_search(self) -> None:
        try:
            _run_all(type(self).make(), stop_at_four, [4])
        except FatalError as exc:
            assert "the data went away" in str(exc)
        else:
            raise AssertionError("a FatalError in the evaluator did not stop the search")

    def test_shutdown_twice_is_harmless(self) -> None:
        executor = type(self).make()
        executor.start(Function(square))
        executor.shutdown()
        executor.shutdown()
