"""SQLite storage: the embedded default, one file per run directory."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import ConfigError
from .._trial import Trial
from ._base import BadRow, RowProblem, Storage, StorageError, TrialsRead, check_arch, trial_from_row, trial_to_row

if TYPE_CHECKING:
    from ..space import SearchSpace

T = TypeVar("T")

SALVAGE_GAP = 1000
"""When the file is damaged past its last readable trial and its highest number cannot be read,
trial numbers are probed one by one until this many in a row hold nothing."""

SCHEMA_VERSION = 1

_COLUMNS = (
    "number", "arch", "budget", "state", "metrics", "report", "error", "started", "finished",
    "cost_seconds", "interrupted", "requeued_from", "enqueued", "asked_after", "tell_seq", "violation",
)  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY,
    arch TEXT NOT NULL,
    budget REAL,
    state TEXT NOT NULL,
    metrics TEXT NOT NULL,
    report TEXT NOT NULL,
    error TEXT,
    started REAL,
    finished REAL,
    cost_seconds REAL,
    interrupted INTEGER NOT NULL DEFAULT 0,
    requeued_from INTEGER,
    enqueued INTEGER NOT NULL DEFAULT 0,
    asked_after INTEGER NOT NULL DEFAULT 0,
    tell_seq INTEGER,
    violation REAL NOT NULL DEFAULT 0
);
"""

_ADDED_COLUMNS = {"violation": "REAL NOT NULL DEFAULT 0"}
"""Columns added after schema version 1 was first written; an older file gains them when opened."""


class SQLiteStorage(Storage):
    """Trials in a SQLite file (WAL journal; each state change is one committed transaction,
    so a killed process loses at most the change it was making).

    Every SQLite failure reaches the caller as one line naming the file: a file that is not a
    study (:class:`ConfigError`), a damaged page, an unreadable row, a full disk or a locked
    file (:class:`StorageError`, with the way forward). A damaged page in the middle of the
    trials is read around: the rows on other pages are still read (see :meth:`read_trials`).

    Example:
        >>> import tempfile, os
        >>> s = SQLiteStorage(os.path.join(tempfile.mkdtemp(), "study.db"))
        >>> s.get_meta(), s.check()
        ({}, [])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError("run_dir", f"cannot create {str(self.path.parent)!r}: {exc.strerror or exc}") from None
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigError("run_dir", f"cannot open {str(self.path)!r} ({exc})") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(trials)")}
            for name, decl in _ADDED_COLUMNS.items():
                if name not in columns:  # a study stored before trials carried this column
                    self._db.execute(f"ALTER TABLE trials ADD COLUMN {name} {decl}")
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (json.dumps(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if _kind(exc) == "notadb":
                raise ConfigError("run_dir", f"{str(self.path)!r} is not a nasforge study database ({exc})") from None
            raise self._error(exc, "opening it") from None
        try:
            version = json.loads(row[0]) if row is not None else SCHEMA_VERSION
        except ValueError:
            version = row[0] if row is not None else None
        if version != SCHEMA_VERSION:
            self._db.close()
            raise ConfigError("run_dir", f"{self.path} has schema version {version}, this nasforge reads {SCHEMA_VERSION}")

    @property
    def where(self) -> str:
        return str(self.path)

    def _check_hint(self) -> str:
        return f"`nasforge status {self.path.parent} --check`"

    def _repair_hint(self) -> str:
        return f"`nasforge repair {self.path.parent}` copies the others into a new study.db (keeping this file), or "

    # -- errors ---------------------------------------------------------------------------

    def _error(self, exc: sqlite3.Error, doing: str, *, number: int | None = None) -> StorageError:
        """One line for a SQLite failure: what happened, that stored trials are kept, what to do."""
        run_dir = self.path.parent
        kind = _kind(exc)
        if kind == "corrupt" and _is_io_error(exc) and _no_space_left(run_dir):
            kind = "full"  # SQLite reports a write into a full file system as an I/O error (the WAL index, a new page)
        if kind == "full":
            message = (
                f"{self.path}: the disk is full ({doing} failed); every trial stored before is kept. "
                f"Free some space, then `nasforge resume {run_dir}` goes on"
            )
        elif kind == "locked":
            message = (
                f"{self.path}: {doing} failed: the file is locked by another process ({exc}); wait for it "
                "or stop it, then try again"
            )
        elif kind == "readonly":
            message = f"{self.path}: {doing} failed: the file cannot be written ({exc}); check its permissions"
        elif kind == "corrupt":
            message = (
                f"{self.path} is damaged ({exc}) while {doing}; `nasforge status {run_dir} --check` lists what "
                "can still be read; `sqlite3 study.db .recover` may rebuild the file (keep a copy first)"
            )
        else:
            message = f"{self.path}: {doing} failed ({type(exc).__name__}: {exc})"
        return StorageError(message, path=str(self.path), number=number, disk_full=kind == "full")

    @contextmanager
    def _writing(self, doing: str, *, number: int | None = None) -> Iterator[None]:
        try:
            with self._db:
                self._db.execute("BEGIN")
                yield
        except sqlite3.Error as exc:
            raise self._error(exc, doing, number=number) from None

    def _query(self, doing: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except sqlite3.Error as exc:
            raise self._error(exc, doing) from None

    # -- the protocol ---------------------------------------------------------------------

    def get_meta(self) -> dict[str, Any]:
        rows = self._query(
            "reading the study settings",
            lambda: self._db.execute("SELECT key, value FROM meta WHERE key != 'schema_version'").fetchall(),
        )
        out: dict[str, Any] = {}
        for k, v in rows:
            try:
                out[k] = json.loads(v)
            except (TypeError, ValueError, RecursionError) as exc:
                raise StorageError(
                    f"{self.path}: the stored setting {k!r} is not valid JSON ({exc}); the study's settings cannot "
                    "be read back (its trials may still be: `nasforge status --check`)",
                    path=str(self.path),
                ) from None
        return out

    def set_meta(self, values: dict[str, Any]) -> None:
        rows = [(k, json.dumps(v)) for k, v in values.items()]
        with self._writing("storing the study settings"):
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)

    def put_trial(self, trial: Trial) -> None:
        row = trial_to_row(trial)
        with self._writing(f"storing trial {trial.number}", number=trial.number):
            self._db.execute(
                f"INSERT OR REPLACE INTO trials ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                [row[c] for c in _COLUMNS],
            )

    def read_trials(self, *, space: SearchSpace | None = None) -> TrialsRead:
        """Every readable trial and a problem for each row that is not. The rows are read in
        one pass; when a damaged page stops that pass, the trials after the last row read are
        fetched one number at a time, so only the rows on damaged pages are lost (and each is
        reported)."""
        select = f"SELECT {', '.join(_COLUMNS)} FROM trials"
        rows: list[tuple[Any, ...]] = []
        problems: list[RowProblem] = []
        damaged: sqlite3.Error | None = None
        try:
            cur = self._db.execute(f"{select} ORDER BY number")
            while batch := cur.fetchmany(512):
                rows.extend(batch)
        except sqlite3.Error as exc:
            damaged = exc
        if damaged is not None:
            if _kind(damaged) != "corrupt":
                raise self._error(damaged, "reading the trials")
            last = rows[-1][0] if rows and isinstance(rows[-1][0], int) else -1
            try:
                top = self._db.execute("SELECT max(number) FROM trials").fetchone()[0]
            except sqlite3.Error:
                top = None
            number, misses, last_hit = last + 1, 0, last
            errors: list[tuple[int, str]] = []
            while (number <= top) if isinstance(top, int) else (misses < SALVAGE_GAP):
                try:
                    got = self._db.execute(f"{select} WHERE number = ?", (number,)).fetchone()
                except sqlite3.Error as exc:
                    errors.append((number, f"its row is on a damaged page of the file ({exc})"))
                    misses += 1
                else:
                    if got is None:
                        misses += 1
                    else:
                        rows.append(got)
                        misses, last_hit = 0, number
                number += 1
            if not isinstance(top, int):  # past the last row read, an error may be no row at all
                tail = [n for n, _ in errors if n > last_hit]
                errors = [(n, e) for n, e in errors if n <= last_hit]
                if tail:
                    errors.append((tail[0], f"this and any later trials are on damaged pages ({damaged})"))
            problems.extend(RowProblem(n, reason) for n, reason in errors)
            if not rows and not problems:
                raise self._error(damaged, "reading the trials")
        trials: list[Trial] = []
        top_number = -1
        for raw in rows:
            record = dict(zip(_COLUMNS, raw))
            num = record["number"] if isinstance(record["number"], int) else None
            try:
                trial = trial_from_row(record)
            except BadRow as exc:
                problems.append(RowProblem(num, str(exc)))
                continue
            finally:
                top_number = max(top_number, num if num is not None else -1)
            problem = check_arch(trial, space) if space is not None else None
            if problem is not None:
                problems.append(problem)
            else:
                trials.append(trial)
        for p in problems:
            top_number = max(top_number, p.number if p.number is not None else -1)
        problems.sort(key=lambda p: -1 if p.number is None else p.number)
        return TrialsRead(trials, problems, top_number + 1)

    def next_number(self) -> int:
        try:
            top = self._db.execute("SELECT max(number) FROM trials").fetchone()[0]
        except sqlite3.Error:
            return super().next_number()  # read around the damage
        return top + 1 if isinstance(top, int) else 0

    def _integrity(self) -> list[str]:
        try:
            lines = [str(r[0]) for r in self._db.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.Error as exc:
            return [f"{self.path}: the file is damaged; its integrity check stops at once ({exc})"]
        return [f"{self.path}: {line}" for line in lines if line != "ok"]

    def close(self) -> None:
        self._db.close()


def _is_io_error(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith("SQLITE_IOERR") or "disk i/o" in str(exc).lower()


def _no_space_left(folder: Path, *, below: int = 1 << 20) -> bool:
    """Whether the file system holding ``folder`` has less than ``below`` bytes free."""
    try:
        return shutil.disk_usage(folder).free < below
    except OSError:
        return False


def _kind(exc: sqlite3.Error) -> str:
    """What a SQLite error means for the user: full, locked, readonly, corrupt, notadb, other."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "full"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return "locked"
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return "readonly"
    if name.startswith("SQLITE_NOTADB") or "not a database" in text:
        return "notadb"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_IOERR")) or "malformed" in text or "disk i/o" in text:
        return "corrupt"
    return "other"
