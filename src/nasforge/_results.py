"""The read model of a stored study: its settings, space, objectives and trials, and the one
answer to "which trial is best" that status, ``best.json``, the leaderboard, the report and
``explain`` all share.

It reads storage only: it imports neither the study nor the run-directory layer, so anything
that presents results (``report/``, the CLI) sits on it without reaching into the search.

Example:
    >>> from nasforge.space import SearchSpace, Choice
    >>> from nasforge.storage import InMemoryStorage
    >>> from nasforge._trial import Objectives, Trial, TrialState
    >>> from nasforge.space import Arch
    >>> st = InMemoryStorage()
    >>> st.put_trial(Trial(0, Arch({"w": 1}), state=TrialState.COMPLETE, metrics={"acc": 0.9}, violation=1.0))
    >>> st.put_trial(Trial(1, Arch({"w": 2}), state=TrialState.COMPLETE, metrics={"acc": 0.8}))
    >>> data = RunData.from_storage(st, space=SearchSpace({"w": Choice([1, 2])}), objectives=Objectives.parse("acc"))
    >>> data.best.number  # trial 0 breaks a constraint
    1
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ConfigError
from ._trial import Objectives, Trial, TrialState
from .space import SearchSpace, from_config
from .storage import SQLiteStorage, Storage

DB_NAME = "study.db"
"""The SQLite file of a run directory."""


def db_path(run_dir: str | os.PathLike[str]) -> Path:
    """Where a run directory keeps its SQLite study."""
    return Path(run_dir) / DB_NAME


def open_storage(run_dir: str | os.PathLike[str]) -> SQLiteStorage:
    """The storage of an existing run directory (one clear line when there is none)."""
    path = db_path(run_dir)
    if not path.is_file():
        raise ConfigError("run_dir", f"{str(Path(run_dir))!r} holds no study ({DB_NAME} is missing)")
    return SQLiteStorage(path)


def budget_key(trial: Trial) -> float:
    """A trial's fidelity, with ``None`` (full budget) as 1.0."""
    return 1.0 if trial.budget is None else float(trial.budget)


def stored_objectives(meta: Mapping[str, Any]) -> Objectives:
    """The objectives and metric constraints a study stored."""
    constraints = meta.get("constraints")
    if constraints is None:  # stored before constraints moved to the objectives: the strategy's alias
        config = meta.get("config") if isinstance(meta.get("config"), Mapping) else {}
        strategy = config.get("strategy") if isinstance(config, Mapping) else None
        constraints = config.get("constraints") if isinstance(config, Mapping) else None
        if constraints is None and isinstance(strategy, Mapping):
            constraints = strategy.get("constraints")
    return Objectives.parse(meta.get("objectives") or {}, constraints=constraints or [])


def stored_space(meta: Mapping[str, Any], where: str) -> SearchSpace:
    """The search space a study stored (its config's ``space:``, or the Python-made space's
    ``to_config()`` form)."""
    config = meta.get("config")
    if isinstance(config, Mapping) and "space" in config:
        return from_config(config["space"])
    if "space_config" in meta:
        return from_config(meta["space_config"])
    reason = meta.get("space_error") or "no stored space"
    raise ConfigError("run_dir", f"{where} cannot be read back: {reason}")


@dataclass
class RunData:
    """Everything a report or an analysis reads about one run, held read-only.

    Build it with :meth:`load` (a run directory, a study, or a ``RunData``) or
    :meth:`from_storage`; no evaluator is built.
    """

    name: str
    meta: dict[str, Any]
    space: SearchSpace
    objectives: Objectives
    trials: list[Trial]
    run_dir: Path | None = None
    _complete: list[Trial] | None = field(default=None, repr=False)

    @classmethod
    def from_storage(
        cls,
        storage: Storage,
        *,
        space: SearchSpace | None = None,
        objectives: Objectives | None = None,
        run_dir: str | os.PathLike[str] | None = None,
    ) -> RunData:
        """From a storage; ``space`` and ``objectives`` default to the stored ones."""
        meta = storage.get_meta()
        if run_dir is None and isinstance(storage, SQLiteStorage):
            run_dir = storage.path.parent
        where = repr(str(run_dir)) if run_dir is not None else "the study"
        space = space if space is not None else stored_space(meta, where)
        trials = storage.trials(space=space)  # an unreadable row or a stored arch the space lacks: one line
        objectives = objectives if objectives is not None else stored_objectives(meta)
        if objectives.constraints and "constraints" not in meta:
            # Stored before trials carried their violation: judge them now, the same way.
            trials = [replace(t, violation=objectives.violation(t)) for t in trials]
        name = str(meta.get("name") or (Path(run_dir).name if run_dir is not None else "study"))
        return cls(name, meta, space, objectives, trials, Path(run_dir) if run_dir is not None else None)

    @classmethod
    def load(cls, source: Any) -> RunData:
        """From a run directory, anything with ``results()`` (a study, a run directory
        object) or an existing :class:`RunData`."""
        if isinstance(source, RunData):
            return source
        if callable(getattr(source, "results", None)):
            out = source.results()
            if isinstance(out, RunData):
                return out
        if isinstance(source, str | os.PathLike):
            storage = open_storage(source)
            try:
                return cls.from_storage(storage, run_dir=source)
            finally:
                storage.close()
        raise ConfigError("source", f"must be a run directory or a Study, got {type(source).__name__}")

    # -- the one definition of best ------------------------------------------------------------

    @property
    def best(self) -> Trial | None:
        """The best trial (:meth:`Objectives.best`: complete, feasible, at the top budget)."""
        return self.objectives.best(self.trials)

    @property
    def best_stopped(self) -> Trial | None:
        """With no complete trial, the stopped trial a final model falls back to
        (:meth:`Objectives.best_stopped`)."""
        return self.objectives.best_stopped(self.trials)

    @property
    def pareto_front(self) -> list[Trial]:
        """The non-dominated feasible trials (:meth:`Objectives.pareto_front`)."""
        return self.objectives.pareto_front(self.trials)

    @property
    def ranked(self) -> list[Trial]:
        """The trials ``best`` chooses among, best first (:meth:`Objectives.ranked`)."""
        return self.objectives.ranked(self.trials)

    # -- derived views -------------------------------------------------------------------------

    @property
    def primary(self) -> str:
        """The primary objective's metric name."""
        return self.objectives.primary.metric

    @property
    def complete(self) -> list[Trial]:
        """Complete trials with a finite value of every objective, by number (feasible or not:
        plots show every measured architecture)."""
        if self._complete is None:
            names = self.objectives.names
            self._complete = [
                t
                for t in self.trials
                if t.state is TrialState.COMPLETE
                and all(isinstance(t.metrics.get(m), int | float) and math.isfinite(t.metrics[m]) for m in names)
            ]
        return self._complete

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
        """The run config the study was created with (the YAML, or the Python components'
        ``to_config()``); empty when none was stored."""
        cfg = self.meta.get("config")
        return cfg if isinstance(cfg, Mapping) else {}

    @property
    def resumable(self) -> bool:
        """Whether the stored config can rebuild the evaluator (resume, ``--evaluate``)."""
        return "evaluator" in self.config() and not self.meta.get("resume_error")

    def trial_dict(self, trial: Trial) -> dict[str, Any]:
        """A trial as plain data (``best.json``, ``status --json``)."""
        return {
            "trial": trial.number,
            "arch": trial.arch.to_dict(),
            "arch_string": self.space.to_string(trial.arch),
            "metrics": dict(trial.metrics),
            "report": dict(trial.report),
            "budget": trial.budget,
            "violation": trial.violation,
        }

    def summary(self) -> dict[str, Any]:
        """Counts by state, budget, the best trial and (several objectives) the Pareto front,
        as plain data: what ``nasforge status --json`` prints."""
        counts = {s.value: 0 for s in TrialState}
        for t in self.trials:
            counts[t.state.value] += 1
        budget = self.config().get("budget") or self.meta.get("budget") or {}
        best = self.best
        out: dict[str, Any] = {
            "name": self.name,
            "trials": len(self.trials),
            "counted": sum(1 for t in self.trials if t.counts_toward_budget),
            "interrupted": sum(1 for t in self.trials if t.interrupted),
            "at_deadline": sum(1 for t in self.trials if t.interrupted and t.state is TrialState.PRUNED),
            "states": counts,
            "infeasible": sum(1 for t in self.trials if t.state is TrialState.COMPLETE and not t.feasible),
            "budget": {"trials": budget.get("trials"), "seconds": budget.get("seconds")},
            "elapsed_seconds": self.meta.get("elapsed_seconds"),
            "objectives": self.objectives.to_config(),
            "constraints": self.objectives.constraints_config(),
            "best": None if best is None else self.trial_dict(best),
        }
        if len(self.objectives) > 1:
            out["pareto_front"] = [self.trial_dict(t) for t in self.pareto_front]
        return out
