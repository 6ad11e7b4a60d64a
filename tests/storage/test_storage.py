"""Storage: SQLite and in-memory keep trials exactly."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from nasforge import Arch, ConfigError, InMemoryStorage, SQLiteStorage, Trial, TrialState
from nasforge.storage import StorageError, StorageWarning
from nasforge.storage._sqlite import _COLUMNS as SQLITE_COLUMNS
from nasforge.testing.storages import StorageConformance


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


# -- the conformance suite over every storage --------------------------------------------


class TestInMemoryStorage(StorageConformance):
    make = staticmethod(lambda folder: InMemoryStorage())


class TestSQLiteStorage(StorageConformance):
    make = staticmethod(lambda folder: SQLiteStorage(folder / "study.db"))
    reopen = staticmethod(lambda folder: SQLiteStorage(folder / "study.db"))


# -- a damaged or full SQLite file: one line naming the file and the trial ---------------


def stored(tmp_path: Path, n: int = 5, pad: int = 0) -> Path:
    path = tmp_path / "run" / "study.db"
    s = SQLiteStorage(path)
    for k in range(n):
        report = {"pad": f"trial-{k}-marker" + "x" * pad} if pad else {}
        s.put_trial(Trial(k, Arch({"k": k % 3}), state=TrialState.COMPLETE, metrics={"acc": k / n}, report=report))
    s.set_meta({"name": "damaged"})
    s.close()  # the last connection checkpoints the WAL into the file
    return path


def edit(path: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, args)
    db.commit()
    db.close()


@pytest.mark.parametrize(
    "sql, args, expected",
    [
        ("UPDATE trials SET metrics = ? WHERE number = 3", ("{bad",), "trial 3: metrics is not valid JSON"),
        ("UPDATE trials SET metrics = ? WHERE number = 3", ("[1, 2]",), "trial 3: metrics must be a JSON object, got list"),
        ("UPDATE trials SET metrics = ? WHERE number = 3", ('{"acc": "high"}',), "trial 3: metric 'acc' must be a number"),
        ("UPDATE trials SET arch = ? WHERE number = 3", ("not json",), "trial 3: arch is not valid JSON"),
        ("UPDATE trials SET arch = ? WHERE number = 3", ('{"k": [1]}',), "trial 3: arch: arch value of 'k' must be"),
        ("UPDATE trials SET report = ? WHERE number = 3", ('"text"',), "trial 3: report must be a JSON object, got str"),
        ("UPDATE trials SET state = ? WHERE number = 3", ("exploded",), "trial 3: state 'exploded' is not one of"),
        ("UPDATE trials SET budget = ? WHERE number = 3", (7.0,), r"trial 3: budget must be in \(0, 1\]"),
        ("UPDATE trials SET budget = ? WHERE number = 3", ("half",), "trial 3: budget must be a number"),
        ("UPDATE trials SET started = ? WHERE number = 3", ("noon",), "trial 3: started must be a number"),
        ("UPDATE trials SET asked_after = ? WHERE number = 3", (1.5,), "trial 3: asked_after must be an integer"),
        ("UPDATE trials SET violation = ? WHERE number = 3", (-1.0,), "trial 3: violation must be a number >= 0"),
    ],
)
def test_a_bad_row_is_one_line_naming_the_file_and_trial(tmp_path: Path, sql: str, args: tuple, expected: str) -> None:
    path = stored(tmp_path)
    edit(path, sql, *args)
    s = SQLiteStorage(path)
    with pytest.raises(StorageError) as info:
        s.trials()
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and re.search(expected, text)
    assert info.value.number == 3 and f"nasforge status {path.parent} --check" in text
    # never dropped silently: skip_bad names it, check lists it, and new trials go past it
    with pytest.warns(StorageWarning, match="left out 1 unreadable trial.*trial 3"):
        assert [t.number for t in s.trials(skip_bad=True)] == [0, 1, 2, 4]
    assert len(s.check()) == 1 and re.search(expected, s.check()[0])
    edit(path, "DELETE FROM trials WHERE number = 4")
    assert s.next_number() == 4  # trial 3 is unreadable, not gone


def test_a_damaged_page_in_the_middle_loses_only_its_rows(tmp_path: Path) -> None:
    path = stored(tmp_path, n=300, pad=400)
    data = bytearray(path.read_bytes())
    page = data.index(b"trial-150-marker") // 4096
    data[page * 4096 : (page + 1) * 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    s = SQLiteStorage(path)  # the study's settings live on another page
    assert s.get_meta() == {"name": "damaged"}
    with pytest.raises(StorageError, match=r"trial \d+: its row is on a damaged page of the file .*unreadable trials in all"):
        s.trials()
    read = s.read_trials()
    lost = [p.number for p in read.problems]
    assert 150 in lost and 0 < len(lost) < 20
    assert sorted([t.number for t in read.trials] + lost) == list(range(300))  # every row read or reported
    assert read.next_number == 300
    problems = s.check()
    assert problems[0].startswith(f"{path}: ") and "damaged" in problems[0]
    assert len(problems) == 1 + len(lost)


def test_a_file_damaged_beyond_reading_is_one_line(tmp_path: Path) -> None:
    path = stored(tmp_path, n=50, pad=400)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xee" * (4096 - 100)  # the schema page, past the header
    path.write_bytes(bytes(data))
    with pytest.raises((StorageError, ConfigError)) as info:
        SQLiteStorage(path).trials()
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_bad_setting_names_its_key(tmp_path: Path) -> None:
    path = stored(tmp_path)
    edit(path, "UPDATE meta SET value = ? WHERE key = 'name'", "{oops")
    s = SQLiteStorage(path)
    with pytest.raises(StorageError, match="the stored setting 'name' is not valid JSON"):
        s.get_meta()
    assert len(s.trials()) == 5 and len(s.check()) == 1


def test_a_full_disk_is_one_line_and_keeps_what_was_stored(tmp_path: Path) -> None:
    path = stored(tmp_path)
    s = SQLiteStorage(path)
    pages = s._db.execute("PRAGMA page_count").fetchone()[0]
    s._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    big = Trial(5, Arch({"k": 1}), state=TrialState.COMPLETE, report={"pad": "x" * 100_000})
    with pytest.raises(StorageError) as info:
        s.put_trial(big)
    text = str(info.value)
    assert "\n" not in text and "the disk is full (storing trial 5 failed); every trial stored before is kept" in text
    assert f"nasforge resume {path.parent}" in text and info.value.number == 5
    with pytest.raises(StorageError, match="the disk is full"):
        s.set_meta({"big": "y" * 100_000})
    assert len(s.trials()) == 5 and s.get_meta() == {"name": "damaged"}
    assert len(SQLiteStorage(path).trials()) == 5


def test_an_old_file_without_the_violation_column_opens(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE trials (number INTEGER PRIMARY KEY, arch TEXT NOT NULL, budget REAL, state TEXT NOT NULL,
            metrics TEXT NOT NULL, report TEXT NOT NULL, error TEXT, started REAL, finished REAL, cost_seconds REAL,
            interrupted INTEGER NOT NULL DEFAULT 0, requeued_from INTEGER, enqueued INTEGER NOT NULL DEFAULT 0,
            asked_after INTEGER NOT NULL DEFAULT 0, tell_seq INTEGER);
        INSERT INTO meta VALUES ('schema_version', '1');
        INSERT INTO trials (number, arch, state, metrics, report) VALUES (0, '{"k": 1}', 'complete', '{"acc": 1}', '{}');
        """
    )
    db.commit()
    db.close()
    s = SQLiteStorage(path)
    (t,) = s.trials()
    assert t.violation == 0.0 and t.metrics == {"acc": 1}
    s.put_trial(Trial(1, Arch({"k": 2}), state=TrialState.COMPLETE, violation=0.25))
    assert SQLiteStorage(path).trials()[1].violation == 0.25


JUNK: list[object] = [None, "", "{bad", "[1]", '"text"', "null", "NaN", 1.5, -3, 2**62, b"\x00\xff", "exploded", '{"k": [1]}']


def test_any_junk_in_any_column_is_read_or_reported_never_raised(tmp_path: Path) -> None:
    """Each column of a stored trial set to each junk value: the row is either read (the value
    was acceptable) or reported as a problem naming trial 2; the other trials always read."""
    path = stored(tmp_path)
    columns = [c for c in SQLITE_COLUMNS if c != "number"]
    for column in columns:
        for value in JUNK:
            db = sqlite3.connect(path)
            db.execute("SAVEPOINT junk")
            try:
                db.execute(f"UPDATE trials SET {column} = ? WHERE number = 2", (value,))
            except sqlite3.IntegrityError:  # NOT NULL: SQLite itself refuses this junk
                db.close()
                continue
            db.commit()
            db.close()
            read = SQLiteStorage(path).read_trials()
            numbers = [t.number for t in read.trials]
            assert [0, 1, 3, 4] == [n for n in numbers if n != 2], (column, value)
            assert (2 in numbers) != any(p.number == 2 for p in read.problems), (column, value)
            assert all("\n" not in str(p) for p in read.problems)
            path.unlink()
            stored(tmp_path)


def test_a_metric_that_is_not_a_number_is_not_written(tmp_path: Path) -> None:
    s = SQLiteStorage(tmp_path / "s.db")
    with pytest.raises(StorageError, match="trial 0: metric 'acc' must be a number, got str 'high'"):
        s.put_trial(Trial(0, Arch({"k": 1}), state=TrialState.COMPLETE, metrics={"acc": "high"}))  # type: ignore[dict-item]
    np = pytest.importorskip("numpy")
    s.put_trial(Trial(1, Arch({"k": 1}), state=TrialState.COMPLETE, metrics={"acc": np.float32(0.5)},
                      report={"curve": np.arange(3)}))  # fmt: skip
    (t,) = s.trials()
    assert t.metrics == {"acc": 0.5} and t.report == {"curve": [0, 1, 2]}
