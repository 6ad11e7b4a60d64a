"""Storage: SQLite and in-memory keep trials exactly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nasforge import Arch, ConfigError, InMemoryStorage, SQLiteStorage, Trial, TrialState


def sample_trials() -> list[Trial]:
    a = Arch({"kernel": 3, "act": "relu", "lr": 0.001, "bn": False})
    return [
        Trial(0, a, None, TrialState.COMPLETE, {"acc": 0.9, "params": 1e6}, {"test": 0.88}, None, 1.0, 2.0, 1.0,
              asked_after=0, tell_seq=0),
        Trial(1, a.replace(kernel=5), 0.25, TrialState.FAILED, {}, {}, "ValueError: boom", 2.0, 3.0, 0.5,
              interrupted=True, asked_after=1, tell_seq=1),
        Trial(2, a.replace(kernel=1), None, TrialState.RUNNING, started=4.0, requeued_from=1, asked_after=2),
    ]  # fmt: skip


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_round_trip(kind: str, tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "s.db") if kind == "sqlite" else InMemoryStorage()
    for t in sample_trials():
        storage.put_trial(t)
    storage.set_meta({"name": "x", "config": {"a": [1, 2]}})
    assert storage.trials() == sample_trials()
    assert storage.get_meta() == {"name": "x", "config": {"a": [1, 2]}}
    done = sample_trials()[2]
    storage.put_trial(Trial(2, done.arch, None, TrialState.COMPLETE, {"acc": 0.5}, requeued_from=1, asked_after=2))
    assert storage.trials()[2].state is TrialState.COMPLETE and len(storage.trials()) == 3


def test_sqlite_persists_across_connections_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    s = SQLiteStorage(path)
    for t in sample_trials():
        s.put_trial(t)
    # A second connection sees committed trials while the first is still open.
    assert SQLiteStorage(path).trials() == sample_trials()
    s.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "study.db"
    bad.write_text("not a database at all" * 100)
    with pytest.raises(ConfigError, match="not a nasforge study database"):
        SQLiteStorage(bad)
    assert bad.read_text().startswith("not a database")  # untouched
