"""SQLite storage: the embedded default, one file per run directory."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .._trial import Trial
from ._base import Storage, trial_from_row, trial_to_row

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


class SQLiteStorage(Storage):
    """Trials in a SQLite file (WAL journal; each state change is one committed transaction,
    so a killed process loses at most the change it was making).

    Example:
        >>> import tempfile, os
        >>> s = SQLiteStorage(os.path.join(tempfile.mkdtemp(), "study.db"))
        >>> s.get_meta()
        {}
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(trials)")}
            if "violation" not in columns:  # a study stored before trials carried their violation
                self._db.execute("ALTER TABLE trials ADD COLUMN violation REAL NOT NULL DEFAULT 0")
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ConfigError("run_dir", f"{str(self.path)!r} is not a nasforge study database ({exc})") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (json.dumps(SCHEMA_VERSION),))
        elif json.loads(row[0]) != SCHEMA_VERSION:
            raise ConfigError("run_dir", f"{self.path} has schema version {row[0]}, this nasforge reads {SCHEMA_VERSION}")

    def get_meta(self) -> dict[str, Any]:
        rows = self._db.execute("SELECT key, value FROM meta WHERE key != 'schema_version'").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def set_meta(self, values: dict[str, Any]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in values.items()]
            )

    def put_trial(self, trial: Trial) -> None:
        row = trial_to_row(trial)
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                f"INSERT OR REPLACE INTO trials ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                [row[c] for c in _COLUMNS],
            )

    def trials(self) -> list[Trial]:
        cur = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM trials ORDER BY number")
        return [trial_from_row(dict(zip(_COLUMNS, r))) for r in cur.fetchall()]

    def close(self) -> None:
        self._db.close()
