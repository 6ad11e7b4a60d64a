"""What a report reads: a run's settings, space, objectives and trials, from a run directory or
a live study, and the arrays every plot and analysis shares."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._trial import Objectives, Trial, TrialState
from ..space import SearchSpace


@dataclass
class RunData:
    """Everything a report or an analysis reads about one run, held read-only.

    Build it with :meth:`load` from a run directory (no evaluator is built) or a :class:`Study`.
    """

    name: str
    meta: dict[str, Any]
    space: SearchSpace
    objectives: Objectives
    trials: list[Trial]
    run_dir: Path | None = None
    _complete: list[Trial] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, source: Any) -> RunData:
        """From a run directory, a :class:`Study` or an existing :class:`RunData`."""
        if isinstance(source, RunData):
            return source
        from ..storage import SQLiteStorage
        from ..study import Study

        if isinstance(source, Study):
            meta = source.storage.get_meta()
            run_dir = source.storage.path.parent if isinstance(source.storage, SQLiteStorage) else None
            return cls(
                str(meta.get("name", source.name)), meta, source.space, source.objectives, source.trials, run_dir
            )
        if isinstance(source, str | os.PathLike):
            from ..run import load_results

            meta, space, objectives, trials = load_results(source)
            return cls(str(meta.get("name", Path(source).name)), meta, space, objectives, trials, Path(source))
        raise ConfigError("source", f"must be a run directory or a Study, got {type(source).__name__}")

    # -- derived views ------------------------------------------------------------------------

    @property
    def primary(self) -> str:
        """The primary objective's metric name."""
        return self.objectives.primary.metric

    @property
    def complete(self) -> list[Trial]:
        """Complete trials with a finite value of every objective, by number."""
        if self._complete is None:
            names = self.objectives.names
            self._complete = [
                t
                for t in self.trials
                if t.state is TrialState.COMPLETE
                and all(isinstance(t.metrics.get(m), int | float) and math.isfinite(t.metrics[m]) for m in names)
            ]
        return self._complete

    @property
    def best(self) -> Trial | None:
        """The best complete trial by the primary objective (as ``study.best``)."""
        return self.objectives.best(self.complete)

    def values(self, metric: str, trials: list[Trial] | None = None) -> np.ndarray:
        """``metric`` of ``trials`` (default: the complete ones) as floats, NaN where missing."""
        rows = self.complete if trials is None else trials
        return np.array([float(t.metrics.get(metric, math.nan)) for t in rows], dtype=np.float64)

    def sign(self, metric: str) -> float:
        """+1 when larger is better for ``metric`` (objectives), -1 when smaller is."""
        for o in self.objectives:
            if o.metric == metric:
                return o.sign
        return 1.0

    def config(self) -> Mapping[str, Any]:
        """The config the run was created with (empty for a study made in Python)."""
        cfg = self.meta.get("config")
        return cfg if isinstance(cfg, Mapping) else {}


def best_so_far(scores: np.ndarray) -> np.ndarray:
    """Running maximum of larger-is-better ``scores``."""
    return np.maximum.accumulate(scores) if len(scores) else scores


def budget_key(trial: Trial) -> float:
    """A trial's fidelity, with ``None`` (full budget) as 1.0."""
    return 1.0 if trial.budget is None else float(trial.budget)


def fmt(value: Any, digits: int = 4) -> str:
    """A value for people: floats to ``digits`` significant digits, the rest as ``str``."""
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    return str(value)


def fmt_seconds(seconds: float | None) -> str:
    """``3723.4`` -> ``"1 h 2 min 3 s"``; ``None`` -> ``"not recorded"``."""
    if seconds is None or not math.isfinite(seconds):
        return "not recorded"
    if seconds < 60:
        return f"{seconds:.3g} s"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return (f"{h} h " if h else "") + f"{m} min {s} s"
