"""The storage protocol: where trials and the study's settings live.

Reading is never silent about damage. :meth:`Storage.trials` raises :class:`StorageError` (one
line naming the file, the trial and the way forward) when a stored row cannot be read;
``trials(skip_bad=True)`` returns the readable trials and warns (:class:`StorageWarning`)
naming each one it left out; :meth:`Storage.read_trials` gives both lists to a caller that
shows them; :meth:`Storage.check` lists every problem (the file's own integrity check included)
for ``nasforge status --check``. An unreadable row stays in the file, and
:meth:`Storage.next_number` counts it, so new trials never overwrite it.
"""

from __future__ import annotations

import json
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import NasforgeError, SpaceError
from .._trial import Trial, TrialState
from ..space import Arch

if TYPE_CHECKING:
    from ..space import SearchSpace


class StorageError(NasforgeError):
    """A study's records cannot be read or written: a damaged file, an unreadable row, a full
    disk. The message names the file (and the trial) and says how to go on; trials already
    stored are kept. ``disk_full``: the write failed for want of space."""

    def __init__(
        self, message: str, *, path: str | None = None, number: int | None = None, disk_full: bool = False
    ) -> None:
        self.path = path
        self.number = number
        self.disk_full = disk_full
        super().__init__(message)


class StorageWarning(UserWarning):
    """Unreadable trial rows were left out of a read (``trials(skip_bad=True)``)."""


@dataclass(frozen=True)
class RowProblem:
    """A stored trial row that cannot be read: its number (``None`` when even that is
    unreadable) and why."""

    number: int | None
    reason: str

    def __str__(self) -> str:
        return f"trial {self.number if self.number is not None else '?'}: {self.reason}"


@dataclass
class TrialsRead:
    """What :meth:`Storage.read_trials` found: the readable trials by number, the rows it could
    not read, and the number the next new trial must take (past every row, readable or not)."""

    trials: list[Trial]
    problems: list[RowProblem] = field(default_factory=list)
    next_number: int = 0


class Storage(ABC):
    """Trial records and study settings; holds no live objects.

    The study is the only writer: every state change of a trial is one call (one transaction
    for SQLite), made before the strategy is told. A write that fails (a full disk) raises
    :class:`StorageError` and leaves every trial stored before it intact.
    """

    @property
    def where(self) -> str:
        """The storage as messages name it (a file path, or ``the in-memory storage``)."""
        return "the in-memory storage"

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
    def read_trials(self, *, space: SearchSpace | None = None) -> TrialsRead:
        """Every readable trial by number, and a :class:`RowProblem` for each row that is not;
        with ``space``, a stored architecture that is not one of its architectures (a decision
        missing, a value outside its domain; constraints are not checked) is a problem too.
        Raises :class:`StorageError` only when nothing can be read at all."""

    def trials(self, *, skip_bad: bool = False, space: SearchSpace | None = None) -> list[Trial]:
        """All trials, by number.

        A row that cannot be read raises :class:`StorageError` naming the first such trial and
        how many there are; with ``skip_bad=True`` the readable trials are returned and a
        :class:`StorageWarning` names every row left out (the rows stay in the file). ``space``
        also checks each stored architecture against it (see :meth:`read_trials`).
        """
        read = self.read_trials(space=space)
        if read.problems:
            if not skip_bad:
                first = read.problems[0]
                more = f" ({len(read.problems)} unreadable trials in all)" if len(read.problems) > 1 else ""
                raise StorageError(
                    f"{self.where}: {first}{more}; {self._check_hint()} lists every damaged row; "
                    f"{self._repair_hint()}deleting those rows (keep a copy of the file first) lets resume go on "
                    "without them, and in Python trials(skip_bad=True) reads the others",
                    path=self.where,
                    number=first.number,
                )
            shown = "; ".join(str(p) for p in read.problems[:10])
            extra = f"; and {len(read.problems) - 10} more" if len(read.problems) > 10 else ""
            warnings.warn(
                StorageWarning(
                    f"{self.where}: left out {len(read.problems)} unreadable trial(s), kept in the file: {shown}{extra}"
                ),
                stacklevel=2,
            )
        return read.trials

    def next_number(self) -> int:
        """The number for a new trial: past every stored row, readable or not."""
        return self.read_trials().next_number

    def check(self, *, space: SearchSpace | None = None) -> list[str]:
        """Every problem found, one line each (empty when the storage is healthy): the file's
        integrity check (SQLite ``PRAGMA quick_check``), settings that cannot be read, and the
        trial rows that cannot be read (or, with ``space``, whose architecture does not fit it).
        For ``nasforge status --check``."""
        problems = list(self._integrity())
        try:
            self.get_meta()
        except StorageError as exc:
            problems.append(str(exc))
        try:
            problems.extend(str(p) for p in self.read_trials(space=space).problems)
        except StorageError as exc:
            problems.append(str(exc))
        return problems

    def _integrity(self) -> list[str]:
        """Problems of the medium itself (none for memory)."""
        return []

    def _check_hint(self) -> str:
        return "`Storage.check()`"

    def _repair_hint(self) -> str:
        """How to copy the readable trials into a new store, as the start of a clause ("" if none)."""
        return ""

    def close(self) -> None:
        """Release files or connections."""


def _plain(value: Any, number: int) -> Any:
    """A metric as a JSON number: NumPy scalars become Python numbers; anything else is refused."""
    item = getattr(value, "item", None)
    if callable(item):
        plain = item()
        if isinstance(plain, int | float):
            return plain
    raise StorageError(f"trial {number}: a metric must be a number, got {type(value).__name__} {value!r}", number=number)


def _report_value(value: Any) -> Any:
    """A report value as JSON: NumPy scalars and arrays as numbers and lists, anything else as text."""
    for attr in ("tolist", "item"):
        fn = getattr(value, attr, None)
        if callable(fn):
            try:
                return fn()
            except (TypeError, ValueError):
                break
    return str(value)


def trial_to_row(t: Trial) -> dict[str, Any]:
    """A trial as a flat record of JSON-friendly values (NumPy numbers as Python numbers).
    A metric that is not a number raises :class:`StorageError`: it could not be read back."""
    for name, value in t.metrics.items():
        if isinstance(value, str | bytes) or (value is not None and not isinstance(value, int | float)
                                              and not callable(getattr(value, "item", None))):
            raise StorageError(
                f"trial {t.number}: metric {name!r} must be a number, got {type(value).__name__} {value!r}",
                number=t.number,
            )
    return {
        "number": t.number,
        "arch": t.arch.to_json(),
        "budget": t.budget,
        "state": t.state.value,
        "metrics": json.dumps(dict(t.metrics), default=lambda v: _plain(v, t.number)),
        "report": json.dumps(dict(t.report), default=lambda v: _report_value(v)),
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


class BadRow(ValueError):
    """A stored row that does not decode into a trial (raised by :func:`trial_from_row`)."""


def _json_object(row: Mapping[str, Any], key: str) -> dict[str, Any]:
    text = row[key]
    if not isinstance(text, str | bytes):
        raise BadRow(f"{key} is not JSON text (got {type(text).__name__})")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadRow(f"{key} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise BadRow(f"{key} must be a JSON object, got {type(value).__name__}")
    return value


def _int(row: Mapping[str, Any], key: str, *, optional: bool = False) -> int | None:
    v = row[key]
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise BadRow(f"{key} must be an integer, got {v!r}")
    return v


def _number(row: Mapping[str, Any], key: str) -> float | None:
    v = row[key]
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise BadRow(f"{key} must be a number, got {v!r}")
    return float(v)


def trial_from_row(row: Mapping[str, Any]) -> Trial:
    """Inverse of :func:`trial_to_row`; a row that does not decode raises :class:`BadRow`
    naming the column and what is wrong with it.

    Example:
        >>> t = Trial(3, Arch({"k": 1}), state=TrialState.COMPLETE, metrics={"acc": 0.5})
        >>> trial_from_row(trial_to_row(t)) == t
        True
        >>> trial_from_row({**trial_to_row(t), "state": "exploded"})
        Traceback (most recent call last):
        ...
        nasforge.storage._base.BadRow: state 'exploded' is not one of pending, running, complete, failed, pruned
    """
    try:
        number = _int(row, "number")
        arch_values = _json_object(row, "arch")
        try:
            arch = Arch(arch_values)
        except TypeError as exc:
            raise BadRow(f"arch: {exc}") from None
        budget = _number(row, "budget")
        if budget is not None and not 0.0 < budget <= 1.0:
            raise BadRow(f"budget must be in (0, 1] or null, got {budget!r}")
        try:
            state = TrialState(row["state"])
        except ValueError:
            names = ", ".join(s.value for s in TrialState)
            raise BadRow(f"state {row['state']!r} is not one of {names}") from None
        metrics = _json_object(row, "metrics")
        for name, value in metrics.items():
            if value is not None and (isinstance(value, str) or not isinstance(value, int | float)):
                raise BadRow(f"metric {name!r} must be a number, got {value!r}")
        report = _json_object(row, "report")
        error = row["error"]
        if error is not None and not isinstance(error, str):
            raise BadRow(f"error must be text or null, got {error!r}")
        violation = _number(row, "violation") if "violation" in row else 0.0
        if violation is not None and (math.isnan(violation) or violation < 0):
            raise BadRow(f"violation must be a number >= 0, got {violation!r}")
        assert number is not None
        return Trial(
            number=number,
            arch=arch,
            budget=budget,
            state=state,
            metrics=metrics,
            report=report,
            error=error,
            started=_number(row, "started"),
            finished=_number(row, "finished"),
            cost_seconds=_number(row, "cost_seconds"),
            interrupted=bool(_int(row, "interrupted")),
            requeued_from=_int(row, "requeued_from", optional=True),
            enqueued=bool(_int(row, "enqueued")),
            asked_after=_int(row, "asked_after") or 0,
            tell_seq=_int(row, "tell_seq", optional=True),
            violation=violation or 0.0,
        )
    except KeyError as exc:
        raise BadRow(f"column {exc} is missing") from None


def check_arch(trial: Trial, space: SearchSpace) -> RowProblem | None:
    """A problem when ``trial``'s architecture is not one of ``space``'s (constraints aside)."""
    try:
        space.validate(trial.arch, field="arch", constraints=False)
    except SpaceError as exc:
        return RowProblem(trial.number, f"the stored architecture does not fit the space: {exc}")
    return None


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
        trial_to_row(trial)  # refuses what a persistent storage could not read back, as they do
        self._trials[trial.number] = trial

    def read_trials(self, *, space: SearchSpace | None = None) -> TrialsRead:
        trials = [self._trials[k] for k in sorted(self._trials)]
        problems = [p for t in trials if space is not None and (p := check_arch(t, space)) is not None]
        bad = {p.number for p in problems}
        return TrialsRead(
            [t for t in trials if t.number not in bad], problems, max(self._trials, default=-1) + 1
        )
