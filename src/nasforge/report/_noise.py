"""How noisy one trial's value of a metric is, measured from what the trials recorded.

An explanation calls a difference real only when it is larger than the noise of comparing two
trials. The noise comes, in this order, from:

1. the folds of K-fold cross-validation: the Trainer records each fold's score
   (``fold_accuracy``) and their spread (``accuracy_std``); a trial's value is the mean of the
   folds, so its standard error is the folds' standard deviation (``ddof=1``) over ``sqrt(k)``;
2. a table's seed columns: metrics or report values named ``<metric>_s0``, ``<metric>_s1``, ...
   (``val_loss_s0`` .. ``val_loss_s3``); a metric that is one seed has their standard deviation
   as its noise, a metric that is their mean has it over ``sqrt(n)``;
3. repeated evaluations of one architecture (trials with the same canonical key, e.g.
   equivalent NAS-Bench-201 cells): the pooled standard deviation within the repeats.

The median over the trials is the noise ``sigma`` of one trial; two trials differ beyond noise
when their difference exceeds ``Z * sqrt(2) * sigma`` (95%).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._results import RunData
from .._trial import Trial

Z = 1.96
"""Two-sided 95% normal quantile: the width of every interval in explanations."""


@dataclass(frozen=True)
class Noise:
    """The measured noise of one trial's value of ``metric``.

    ``sigma`` is its standard deviation (``None``: nothing measured it); ``trials`` counts the
    trials (or groups of repeats) behind the estimate; ``source`` says how, in words.
    """

    metric: str
    sigma: float | None
    trials: int
    source: str

    @property
    def tolerance(self) -> float | None:
        """The largest difference of two trials that is still noise (95%): ``Z * sqrt(2) * sigma``."""
        return None if self.sigma is None else Z * math.sqrt(2.0) * self.sigma


def _numbers(value: Any) -> list[float] | None:
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) >= 2:
        try:
            out = [float(v) for v in value]
        except (TypeError, ValueError):
            return None
        return out if all(math.isfinite(v) for v in out) else None
    return None


def _fold_se(trial: Trial, metric: str) -> float | None:
    folds = _numbers(trial.report.get(f"fold_{metric}"))
    if folds is not None:
        return float(np.std(folds, ddof=1) / math.sqrt(len(folds)))
    std = trial.report.get(f"{metric}_std")
    if isinstance(std, int | float) and not isinstance(std, bool) and math.isfinite(std):
        return float(std)  # no fold count recorded: the fold spread itself (an upper bound)
    return None


def _seed_se(trial: Trial, metric: str) -> float | None:
    seed = re.fullmatch(r"(.+)_s(\d+)", metric)
    base = seed.group(1) if seed else metric
    pattern = re.compile(re.escape(base) + r"_s\d+")
    values: list[float] = []
    for source in (trial.metrics, trial.report):
        for key, v in source.items():
            if pattern.fullmatch(key) and isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                values.append(float(v))
    if len(values) < 2:
        return None
    std = float(np.std(values, ddof=1))
    return std if seed else std / math.sqrt(len(values))


def _repeats(data: RunData, trials: Sequence[Trial], metric: str) -> tuple[float, int] | None:
    groups: dict[str, list[float]] = {}
    for t in trials:
        v = t.metrics.get(metric)
        if isinstance(v, int | float) and math.isfinite(v):
            groups.setdefault(data.space.canonical(t.arch), []).append(float(v))
    reps = [g for g in groups.values() if len(g) >= 2]
    dof = sum(len(g) - 1 for g in reps)
    if not dof:
        return None
    pooled = sum(float(np.sum((np.array(g) - np.mean(g)) ** 2)) for g in reps) / dof
    return math.sqrt(pooled), len(reps)


def measure_noise(data: RunData, metric: str, trials: Sequence[Trial], *, noise: float | None = None) -> Noise:
    """The noise of one trial's ``metric`` among ``trials`` (see the module's text); ``noise``
    given by the caller (e.g. a table's seed spread measured elsewhere) wins."""
    if noise is not None:
        return Noise(metric, float(noise), 0, f"given noise {noise:.4g} per trial")
    for what, fn in (("fold", _fold_se), ("seed", _seed_se)):
        found = [s for s in (fn(t, metric) for t in trials) if s is not None]
        if found:
            sigma = float(np.median(found))
            if what == "fold":
                folds = _numbers(next((t.report.get(f"fold_{metric}") for t in trials), None))
                how = f"{len(folds)}-fold" if folds else "K-fold"
                words = f"the median standard error over the folds of {how} cross-validation ({len(found)} trials)"
            else:
                words = f"the median spread of the seed columns of {metric!r} ({len(found)} trials)"
            return Noise(metric, sigma, len(found), words)
    rep = _repeats(data, trials, metric)
    if rep is not None:
        sigma, groups = rep
        return Noise(metric, sigma, groups, f"the spread of repeated evaluations ({groups} architectures measured twice or more)")
    return Noise(metric, None, 0, "no fold scores, seed columns or repeated evaluations")

