"""Function evaluators that train in steps, for the pruning and deadline tests (module level, so
worker processes import them by name). Not a conftest: the name must be unique under tests/."""

from __future__ import annotations

import time
from typing import Any

from nasforge.evaluators import TrialPruned, report_step, stop_reason
from nasforge.space import IntRange, SearchSpace

STEPS = 9


def curve_space() -> SearchSpace:
    return SearchSpace({"x": IntRange(0, 99)})


def curve(arch: Any) -> dict[str, float]:
    """A learning curve that rises to ``x / 100`` over 9 steps; stops when told to."""
    acc = 0.0
    for step in range(1, STEPS + 1):
        acc = arch["x"] / 100 * (1 - 0.5**step)
        if report_step(step, {"acc": acc}):
            raise TrialPruned(stop_reason() or "pruned", metrics={"acc": acc}, step=step)
    return {"acc": acc}


def paced_curve(arch: Any) -> dict[str, float]:
    """``curve`` with 50 ms per step (about 0.5 s a trial)."""
    acc = 0.0
    for step in range(1, 11):
        time.sleep(0.05)
        acc = arch["x"] / 100 * (1 - 0.5**step)
        if report_step(step, {"acc": acc}):
            raise TrialPruned(stop_reason() or "pruned", metrics={"acc": acc}, step=step)
    return {"acc": acc}


def deaf(arch: Any) -> dict[str, float]:
    """Reports one step, then trains for a minute without listening (it must be killed)."""
    report_step(1, {"acc": arch["x"] / 200})
    time.sleep(60)
    return {"acc": arch["x"] / 100}
