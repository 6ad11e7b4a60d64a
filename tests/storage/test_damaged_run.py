"""A damaged study.db seen through the command line: status, report, explain and resume each
exit 2 with one line naming the file and the trial (issue 14: they printed tracebacks)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from nasforge.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runs")
    for name in ("toy.yaml", "toy_score.py"):
        shutil.copy(EXAMPLES / name, folder / name)
    run = folder / "run"
    assert main(["search", str(folder / "toy.yaml"), "--run-dir", str(run)]) == 0
    return run


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("UPDATE trials SET metrics = '{bad' WHERE number = 7", "trial 7: metrics is not valid JSON"),
        ("UPDATE trials SET state = 'exploded' WHERE number = 4", "trial 4: state 'exploded' is not one of"),
    ],
)
@pytest.mark.parametrize("command", ["status", "report", "explain", "resume"])
def test_a_bad_row_is_one_line_in_every_command(
    run_dir: Path, tmp_path: Path, sql: str, expected: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(run_dir, damaged)
    db = sqlite3.connect(damaged / "study.db")
    db.execute(sql)
    db.commit()
    db.close()
    capsys.readouterr()
    assert main([command, str(damaged)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert str(damaged / "study.db") in err and expected in err and "--check" in err


@pytest.mark.parametrize("command", ["report", "resume"])
def test_a_stored_arch_missing_a_decision_is_one_line(
    run_dir: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(run_dir, damaged)
    db = sqlite3.connect(damaged / "study.db")
    db.execute("""UPDATE trials SET arch = '{"kernel": 3, "channels": 16}' WHERE number = 5""")
    db.commit()
    db.close()
    capsys.readouterr()
    assert main([command, str(damaged)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and "trial 5" in err and "depth" in err
