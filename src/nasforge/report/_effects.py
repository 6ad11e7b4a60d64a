"""Bootstrapped surrogates of a metric over the space: what each value of each decision does on
average, and what an unmeasured architecture (a one-change neighbour of the best) would score.

What an unmeasured architecture scores: ``forests`` random forests (scikit-learn), each fitted to
a bootstrap resample of the trials drawn with a seeded generator; the estimate is the mean over
the forests and its 95% interval the middle 95% of their answers. (Forests predict a single swap
of the best architecture better than the GP below on NAS-Bench-201: 2.9 against 5.0 points of
error from 100 random trials, the GP smoothing over the swaps that break the network.)

What a value does on average: its marginal mean over the space (:class:`._marginals.SpaceMarginals`:
a GP integrated over a uniform sample of the space, the decision set to each value in turn) minus
the marginal mean at the decision's best value, signed so that positive is better: 0 for the
best value, negative for worse ones; its 95% interval is the GP's posterior of that difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._results import RunData
from .._trial import Trial
from ..space import Arch, Value
from ._marginals import SpaceMarginals, listed_values

MIN_TRIALS = 8
"""Fewest trials a surrogate is fitted to; with fewer, nothing is predicted."""


@dataclass(frozen=True)
class Estimate:
    """A model estimate of a change (positive is better) and its 95% bootstrap interval."""

    change: float
    low: float
    high: float

    @property
    def sure(self) -> int:
        """+1 when the whole interval is above 0, -1 when below, 0 when it holds 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


@dataclass(frozen=True)
class ValueEffect:
    """What one value of a decision does on average: ``effect`` against the decision's best
    value (0 for it), its 95% interval, and ``trials`` that took the value."""

    value: Value
    effect: float
    low: float
    high: float
    trials: int


class Surrogate:
    """Random forests over the trials of one metric (see the module's text).

    Args:
        data: The run.
        metric: The metric to model.
        trials: The trials to fit (complete, at one fidelity).
        forests: Bootstrap resamples (one forest each).
        trees: Trees per forest.
        seed: Seed of the resamples and the forests.
    """

    def __init__(
        self, data: RunData, metric: str, trials: Sequence[Trial], *, forests: int = 16, trees: int = 16, seed: int = 0
    ) -> None:
        from sklearn.ensemble import RandomForestRegressor

        self.space = data.space
        self.metric = metric
        self.sign = data.sign(metric)
        done = [t for t in trials if math.isfinite(float(t.metrics.get(metric, math.nan)))]
        self.trials = done
        x = np.array([self.space.encode(t.arch) for t in done], dtype=np.float64).reshape(len(done), -1)
        y = np.array([float(t.metrics[metric]) for t in done], dtype=np.float64)
        rng = np.random.default_rng(seed)
        self.forests = []
        for _ in range(forests if len(done) >= MIN_TRIALS else 0):
            idx = rng.integers(len(done), size=len(done))
            forest = RandomForestRegressor(
                n_estimators=trees, min_samples_leaf=1, random_state=int(rng.integers(2**31)), n_jobs=1
            )
            forest.fit(x[idx], y[idx])
            self.forests.append(forest)
        self._seed = seed
        self._space_model: SpaceMarginals | None = None

    @property
    def fitted(self) -> bool:
        """Whether there were enough trials (:data:`MIN_TRIALS`) to fit."""
        return bool(self.forests)

    def predict(self, archs: Sequence[Arch]) -> np.ndarray:
        """The metric of ``archs`` by each forest: shape ``(forests, len(archs))``."""
        x = np.array([self.space.encode(a) for a in archs], dtype=np.float64).reshape(len(archs), -1)
        return np.array([f.predict(x) for f in self.forests])

    def change(self, base: Arch, others: Sequence[Arch]) -> list[Estimate]:
        """The predicted change (positive is better) from ``base`` to each of ``others``."""
        if not self.forests or not others:
            return []
        pred = self.predict([base, *others])
        diff = self.sign * (pred[:, 1:] - pred[:, :1])
        lo, hi = np.percentile(diff, [2.5, 97.5], axis=0)
        return [Estimate(float(m), float(a), float(b)) for m, a, b in zip(diff.mean(axis=0), lo, hi)]

    def space_model(self) -> SpaceMarginals:
        """The GP integrated over the space behind :meth:`value_effects` (fitted on first use)."""
        if self._space_model is None:
            y = np.array([float(t.metrics[self.metric]) for t in self.trials], dtype=np.float64)
            self._space_model = SpaceMarginals(self.space, [t.arch for t in self.trials], y, resamples=0, seed=self._seed)
        return self._space_model

    def value_effects(self) -> dict[str, list[ValueEffect]]:
        """For each decision with listed values, every value's :class:`ValueEffect`, best first."""
        if not self.forests:
            return {}
        model = self.space_model()
        out: dict[str, list[ValueEffect]] = {}
        for d in self.space.decisions:
            values = listed_values(d)
            if values is None:
                continue
            marg = model.marginal(d.name)
            values = [v for v in values if v in marg]  # the absence of a conditional is not a value
            if not values:
                continue
            means = self.sign * np.array([marg[v][0] for v in values])
            top = values[int(np.argmax(means))]
            diffs = [model.difference(d.name, v, top) if v != top else (0.0, 0.0) for v in values]
            counts = {v: 0 for v in values}
            for t in self.trials:
                v = t.arch.get(d.name)
                if v in counts:
                    counts[v] += 1
            effects = [
                ValueEffect(v, self.sign * m, self.sign * m - 1.96 * sd, self.sign * m + 1.96 * sd, counts[v])
                for v, (m, sd) in zip(values, diffs)
            ]
            out[d.name] = sorted(effects, key=lambda e: -e.effect)
        return out
