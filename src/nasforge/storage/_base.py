"""The storage protocol: where trials and the study's settings live."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from .._trial import Trial, TrialState
from ..space import Arch


class Storage(ABC):
    """Trial records and study settings; holds no live objects.

    The study is the only writer: every state change of a trial is one call (one transaction
    for SQLite), made before the strategy is told.
    """

    @abstractmethod
    def get_meta(self) -> dict[str, Any]:
        """The study's settings (empty for a new storage)."""

    @abstractmethod
    def set_meta(self, values: dict[str, Any]) -> None:
        """Store (merge) settings; values must be JSON-serialisable."""

    @abstractmethod
    def put_trial(self, trial: Trial) -> None:
        """Insert or replace the record of ``trial.number``."""

    @abstractmethod
    def trials(self) -> list[Trial]:
        """All trials, by number."""

    def close(self) -> None:
        """Release files or connections."""


def trial_to_row(t: Trial) -> dict[str, Any]:
    """A trial as a flat record of JSON-friendly values."""
    return {
        "number": t.number,
        "arch": t.arch.to_json(),
        "budget": t.budget,
        "state": t.state.value,
        "metrics": json.dumps(dict(t.metrics)),
        "report": json.dumps(dict(t.report), default=str),
        "error": t.error,
        "started": t.started,
        "finished": t.finished,
        "cost_seconds": t.cost_seconds,
        "interrupted": int(t.interrupted),
        "requeued_from": t.requeued_from,
        "enqueued": int(t.enqueued),
        "asked_after": t.asked_after,
        "tell_seq": t.tell_seq,
        "violation": t.violation,
    }


def trial_from_row(row: dict[str, Any]) -> Trial:
    """Inverse of :func:`trial_to_row`."""
    return Trial(
        number=int(row["number"]),
        arch=Arch.from_json(row["arch"]),
        budget=row["budget"],
        state=TrialState(row["state"]),
        metrics=json.loads(row["metrics"]),
        report=json.loads(row["report"]),
        error=row["error"],
        started=row["started"],
        finished=row["finished"],
        cost_seconds=row["cost_seconds"],
        interrupted=bool(row["interrupted"]),
        requeued_from=row["requeued_from"],
        enqueued=bool(row["enqueued"]),
        asked_after=int(row["asked_after"]),
        tell_seq=row["tell_seq"],
        violation=float(row.get("violation") or 0.0),
    )


class InMemoryStorage(Storage):
    """Keeps everything in this process; for tests, notebooks and benchmarks."""

    def __init__(self) -> None:
        self._meta: dict[str, Any] = {}
        self._trials: dict[int, Trial] = {}

    def get_meta(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._meta))

    def set_meta(self, values: dict[str, Any]) -> None:
        self._meta.update(json.loads(json.dumps(values)))

    def put_trial(self, trial: Trial) -> None:
        self._trials[trial.number] = trial

    def trials(self) -> list[Trial]:
        return [self._trials[k] for k in sorted(self._trials)]
