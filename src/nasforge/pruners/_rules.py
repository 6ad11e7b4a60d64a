"""The built-in pruners: asynchronous successive halving (ASHA) and the median stopping rule."""

from __future__ import annotations

import math

import numpy as np

from .. import _validate as v
from .._errors import ConfigError
from .._validate import called
from ..strategies._fidelity import fidelity_budgets
from ._base import Curves, Pruner, register_pruner


def rung_steps(min_steps: int, eta: float, max_steps: int | None, *, upto: int = 0) -> list[int]:
    """The steps (epochs) at which ASHA judges: with ``max_steps`` known, the epochs of
    :func:`~nasforge.strategies._fidelity.fidelity_budgets` ``(min_steps / max_steps, eta)``
    rounded as the trainer rounds a budget's epochs (so Hyperband over epochs and ASHA share
    their rungs), the last (the full budget) left out; without it ``min_steps * eta**k`` up to
    ``upto``.

    Example:
        >>> rung_steps(1, 3, 10), rung_steps(1, 3, 27), rung_steps(1, 2, None, upto=10)
        ([1, 3], [1, 3, 9], [1, 2, 4, 8])
    """
    if max_steps is not None:
        if min_steps >= max_steps:
            return []
        budgets = fidelity_budgets(None, min_steps / max_steps, eta)[:-1]
        steps = [max(1, math.floor(b * max_steps + 0.5)) for b in budgets]
    else:
        steps, k = [], 0
        while (s := max(1, math.floor(min_steps * eta**k + 0.5))) <= upto:
            steps.append(s)
            k += 1
    return sorted({s for s in steps if max_steps is None or s < max_steps})


@register_pruner("asha")
class ASHA(Pruner):
    """Asynchronous successive halving (Li et al. 2020): at each rung (epochs ``r, r*eta,
    r*eta^2, ...`` below the full training) a trial goes on only if its value is among the
    top ``1/eta`` of the values recorded at that rung so far (at least the best one), judged
    the moment it arrives, so that workers never wait for a rung to fill; the first trial at
    a rung always goes on. Pruned trials free their worker for a new candidate.

    The rungs are those of Hyperband with ``min_budget = min_steps / max_steps`` over the
    trainer's epochs (:func:`rung_steps`).

    Args:
        eta: The reduction factor (> 1): the share ``1/eta`` goes on at each rung.
        min_steps: The first rung, in steps (epochs).
        max_steps: The steps of a full trial; default: the evaluator's (a trainer's epochs).
        min_trials: The first this many trials at a rung go on, whatever their values.

    Example:
        >>> asha, c = ASHA(eta=3, max_steps=9), Curves()
        >>> for n, value in enumerate([0.5, 0.4, 0.6, 0.3]):
        ...     c.record(n, 1, value)
        ...     print(n, asha.prune(c, n, 1))
        0 None
        1 asha: step 1, not in the top 1 of 2 values at this rung
        2 None
        3 asha: step 1, not in the top 1 of 4 values at this rung
    """

    def __init__(self, *, eta: float = 3, min_steps: int = 1, max_steps: int | None = None,
                 min_trials: int = 1) -> None:  # fmt: skip
        with called("ASHA"):
            if isinstance(eta, bool) or not isinstance(eta, int | float) or not 1 < eta < math.inf:
                raise ConfigError("eta", f"must be a finite number > 1 (the reduction factor), got {eta!r}")
            self.eta = eta
            self.min_steps = v.positive_int(min_steps, "min_steps")
            self.max_steps = v.positive_int(max_steps, "max_steps", none_ok=True)
            self.min_trials = v.positive_int(min_trials, "min_trials")
            if self.max_steps is not None and self.min_steps >= self.max_steps:
                raise ConfigError("min_steps", f"must be below max_steps ({self.max_steps}), got {self.min_steps}")
        self._max: int | None = self.max_steps
        self._rungs: set[int] | None = None if self._max is None else set(rung_steps(self.min_steps, eta, self._max))

    def start(self, *, max_steps: int | None) -> None:
        if self.max_steps is None and max_steps is not None:
            if self.min_steps >= max_steps:
                raise ConfigError(
                    "pruner.min_steps",
                    f"must be below the {max_steps} steps (epochs) of a full trial, got {self.min_steps}: no trial "
                    "would reach a rung",
                )
            self._max = max_steps
            self._rungs = set(rung_steps(self.min_steps, self.eta, max_steps))

    def rungs(self, upto: int = 0) -> list[int]:
        """The rung steps (those up to ``upto`` when the full number of steps is unknown)."""
        if self._rungs is not None:
            return sorted(self._rungs)
        return rung_steps(self.min_steps, self.eta, None, upto=upto)

    def is_rung(self, step: int) -> bool:
        """Whether trials are judged after ``step``."""
        if self._rungs is not None:
            return step in self._rungs
        return step in rung_steps(self.min_steps, self.eta, None, upto=step)

    def prune(self, curves: Curves, number: int, step: int) -> str | None:
        if not self.is_rung(step):
            return None
        values = curves.at(step)
        if len(values) <= self.min_trials or number not in values:
            return None
        keep = max(1, int(len(values) / self.eta + 1e-9))
        threshold = sorted(values.values(), reverse=True)[keep - 1]
        if values[number] >= threshold:
            return None
        return f"asha: step {step}, not in the top {keep} of {len(values)} values at this rung"


@register_pruner("median")
class MedianStopping(Pruner):
    """The median stopping rule (Golovin et al. 2017, Optuna's ``MedianPruner``): stop a trial
    whose value after a step is worse than the median of the other trials' values at the
    same step, once past ``warmup_steps`` and with at least ``min_trials`` others to compare.

    Args:
        warmup_steps: Never stop a trial at these first steps.
        min_trials: How many other trials must have reported a step before it is judged.

    Example:
        >>> rule, c = MedianStopping(min_trials=2), Curves()
        >>> for n, value in enumerate([0.5, 0.7, 0.4, 0.8]):
        ...     c.record(n, 1, value)
        >>> rule.prune(c, 2, 1), rule.prune(c, 3, 1)
        ('median: step 1, 0.4 below the median 0.7 of 3 other trials', None)
    """

    def __init__(self, *, warmup_steps: int = 0, min_trials: int = 5) -> None:
        with called("MedianStopping"):
            self.warmup_steps = v.non_negative_int(warmup_steps, "warmup_steps")
            self.min_trials = v.positive_int(min_trials, "min_trials")

    def prune(self, curves: Curves, number: int, step: int) -> str | None:
        if step <= self.warmup_steps:
            return None
        values = curves.at(step)
        mine = values.pop(number, None)
        if mine is None or len(values) < self.min_trials:
            return None
        others = [x for x in values.values()]
        median = float(np.median(others))
        if mine >= median or math.isnan(median):
            return None
        return f"median: step {step}, {mine:.4g} below the median {median:.4g} of {len(others)} other trials"
