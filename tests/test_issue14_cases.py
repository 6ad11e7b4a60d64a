"""Issue 14's cases that the fuzz suites do not reach, each through the command line: a damaged
page in the middle of ``study.db``; a disk that fills while a study is created, while it runs,
and while a report is written (a real, small file system: skipped where one cannot be
mounted); a ``best/`` folder whose writing fails; ``resume`` of a directory that holds nothing
to resume; and a stop on ``max_failures_in_a_row`` with trials still running."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from nasforge import RunDir, SQLiteStorage, TrialState
from nasforge.cli import main
from nasforge.evaluators import FinalModel, Function
from nasforge.space import Choice, SearchSpace

SCORE = "def score(arch):\n    return {'score': -abs(arch['x'] - 500)}\n"


def write_search(folder: Path, module: str, trials: int, *, strategy: str = "grid") -> Path:
    """A config of ``trials`` cheap function trials over ``x`` in 0..999 (grid: x = 0, 1, ...)."""
    (folder / f"{module}.py").write_text(SCORE)
    cfg = folder / "search.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "i14", "seed": 0, "space": {"decisions": {"x": {"int": [0, 999]}}},
        "evaluator": {"function": f"{module}:score", "metrics": ["score"]}, "strategy": strategy,
        "objectives": {"score": "maximize"}, "budget": {"trials": trials},
    }))  # fmt: skip
    return cfg


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    # besides the error, only the search's header and its progress bar
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("[", "nasforge: searching"))]
    assert "Traceback" not in out + err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def stored(db: Path) -> list[tuple[int, str, bool]]:
    con = sqlite3.connect(db)
    try:
        return [
            (n, s, bool(i)) for n, s, i in con.execute("SELECT number, state, interrupted FROM trials ORDER BY number")
        ]
    finally:
        con.close()


# -- a damaged page in the middle of study.db ------------------------------------------------


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("grid")
    cfg = write_search(folder, "i14_grid_score", 300)
    run = folder / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 0
    return run


def damage_page_of(db: Path, text: bytes) -> None:
    """Overwrite the 4 KiB page of ``db`` that holds ``text`` (the WAL was folded into it on close)."""
    data = bytearray(db.read_bytes())
    page = data.index(text) // 4096
    assert 0 < page < len(data) // 4096 - 1  # in the middle: not the header, not the last page
    data[page * 4096 : (page + 1) * 4096] = b"\xff" * 4096
    db.write_bytes(bytes(data))


def copy_of(grid_run: Path, run: Path, *, damaged: bool = False) -> Path:
    """A copy of the grid run at ``run`` (with the page holding trial 150 damaged); its study.db."""
    shutil.copytree(grid_run, run)
    if damaged:
        damage_page_of(run / "study.db", b'{"x":150}')
    return run / "study.db"


def execute(db: Path, *statements: str) -> None:
    """Run SQL statements on a study file and commit them (damage made by hand)."""
    con = sqlite3.connect(db)
    try:
        for sql in statements:
            con.execute(sql)
        con.commit()
    finally:
        con.close()


@pytest.mark.parametrize("command", ["status", "report", "explain", "resume"])
def test_a_damaged_page_is_one_line_naming_the_file_and_a_trial_in_every_command(
    grid_run: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "damaged"
    db = copy_of(grid_run, run, damaged=True)
    before = db.read_bytes()
    capsys.readouterr()
    assert main([command, str(run)]) == 2
    line = one_line(capsys)
    assert f"{db}: trial " in line and "damaged page" in line and f"nasforge status {run} --check" in line
    assert db.read_bytes() == before and not (run / "report.html").exists()


def test_status_check_lists_every_row_on_the_damaged_page(
    grid_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "damaged"
    copy_of(grid_run, run, damaged=True)
    capsys.readouterr()
    assert main(["status", str(run), "--check"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lost = [int(m) for m in re.findall(r"^trial (\d+): its row is on a damaged page", out, re.MULTILINE)]
    assert 150 in lost and 0 < len(lost) < 300  # that page's rows, each named, and only them
    assert lost == list(range(lost[0], lost[0] + len(lost)))


# -- resume of a directory that holds nothing to resume ---------------------------------------


@pytest.mark.parametrize("content", [None, {}, {".lock": "12345\n"}, {"notes.txt": "mine"}])
def test_resume_of_a_directory_without_a_study_or_config_is_one_line_and_writes_nothing(
    tmp_path: Path, content: dict[str, str] | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kill before the search wrote its config leaves no directory or only its lock: nothing
    there knows the config, so resume says how to start it (a directory holding the pending
    config is started: tests/test_run.py)."""
    run = tmp_path / "run"
    if content is not None:
        run.mkdir()
        for name, text in content.items():
            (run / name).write_text(text)
    capsys.readouterr()
    assert main(["resume", str(run)]) == 2
    line = one_line(capsys)
    assert "nothing to resume" in line and f"nasforge search CONFIG --run-dir {run}" in line
    if content is None:
        assert not run.exists()
    else:
        assert {p.name: p.read_text() for p in run.iterdir()} == content


# -- best/ is written whole or not at all ---------------------------------------------------------


def test_a_failure_while_writing_best_leaves_the_previous_best_folder_and_no_partial_one(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    class Breaks(nn.Module):  # its weights save, its summary (which runs it) fails: a write that stops half-way
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 3)

        def forward(self, x):  # type: ignore[no-untyped-def]
            raise RuntimeError("cannot run")

    class Finalizing(Function):
        broken = False

        def retrain(self, arch):  # type: ignore[no-untyped-def]
            return Breaks() if self.broken else nn.Linear(2, 3)

        def test(self, model):  # type: ignore[no-untyped-def]
            return {"test_accuracy": 0.5}

        def final_info(self) -> FinalModel:
            return FinalModel("custom", (2,), 3, {}, {"dataset": "toy", "test_samples": 10})

    space = SearchSpace({"w": Choice([1, 2])})
    run = RunDir(tmp_path / "fin")
    study = run.create(space, Finalizing(lambda a: {"acc": float(a["w"])}), "grid", "acc", progress=False)
    study.run()
    torch.manual_seed(0)
    run.write_final_model(study.evaluator, study.trials[0].arch, space)  # type: ignore[arg-type]
    best = run.path / "best"
    before = {p.name: p.read_bytes() for p in best.iterdir()}
    assert "model.safetensors" in before
    study.evaluator.broken = True  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="cannot run"):
        run.write_final_model(study.evaluator, study.trials[1].arch, space)  # type: ignore[arg-type]
    assert {p.name: p.read_bytes() for p in best.iterdir()} == before
    assert sorted(p.name for p in run.path.iterdir() if p.name.startswith("best")) == ["best"]


# -- a stop on max_failures_in_a_row leaves no trial running ----------------------------------------


@pytest.mark.slow
def test_a_stop_on_failures_in_a_row_with_two_workers_leaves_no_trial_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "i14_fails.py").write_text(
        "import time\n\ndef bad(arch):\n    time.sleep(0.05 * (arch['x'] % 3))\n    raise ValueError(f\"bad {arch['x']}\")\n"
    )
    cfg = tmp_path / "fails.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "fails", "space": {"decisions": {"x": {"int": [0, 99]}}},
        "evaluator": {"function": "i14_fails:bad", "metrics": ["score"]}, "objectives": {"score": "maximize"},
        "budget": {"trials": 20, "max_failures_in_a_row": 3}, "executor": {"name": "local", "workers": 2},
    }))  # fmt: skip
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    capsys.readouterr()
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 1
    line = one_line(capsys)
    assert "failed trials in a row; last error: ValueError: bad" in line and "max_failures_in_a_row=3" in line
    rows = stored(run / "study.db")
    assert rows and all(state != "running" for _, state, _ in rows), rows
    assert all(state == "failed" for _, state, _ in rows)
    assert sum(not interrupted for *_, interrupted in rows) >= 3  # the three in a row; any other was interrupted


# -- a full disk: a real small file system ------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted at ``tmp_path/disk`` (needs the right to mount: skipped without it);
    resize it with :func:`resize`."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root on Linux")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def resize(disk: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)


def test_a_disk_full_while_the_study_is_created_leaves_nothing_and_says_so(
    small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config (then the study file) is written first; with no room for the study, nothing of
    the directory is left (it was: a study.db whose log was lost, which neither search nor
    resume could use) and the line says to search again once there is room."""
    monkeypatch.chdir(tmp_path)
    cfg = write_search(tmp_path, "i14_full_create", 20)
    failed = 0
    for size in ("32k", "64k", "96k", "128k"):
        resize(small_disk, size)
        run = small_disk / "run"
        capsys.readouterr()
        code = main(["search", str(cfg), "--run-dir", str(run)])
        if code == 0:  # room enough: the search ran
            assert len(stored(run / "study.db")) == 20
            shutil.rmtree(run)
            continue
        failed += 1
        line = one_line(capsys)
        assert code == 2 and "disk" in line and "full" in line, line
        if run.exists():  # the study was whole: it resumes once there is room
            assert "nasforge resume" in line
            resize(small_disk, "16m")
            assert main(["resume", str(run)]) == 0 and len(stored(run / "study.db")) == 20
            shutil.rmtree(run)
        else:
            assert "nothing was stored" in line and "run the search again" in line
    assert failed  # at least one size was too small to create the study


def test_a_disk_full_while_searching_keeps_the_stored_trials_and_resume_finishes(
    small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_search(tmp_path, "i14_full_search", 300, strategy="random")
    resize(small_disk, "512k")  # the log (WAL) grows past it after some trials
    run = small_disk / "run"
    capsys.readouterr()
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 2
    line = one_line(capsys)
    assert f"{run / 'study.db'}: the disk is full" in line and f"nasforge resume {run}" in line
    resize(small_disk, "16m")
    kept = {t.number: (t.arch, dict(t.metrics)) for t in SQLiteStorage(run / "study.db").trials()
            if t.state is TrialState.COMPLETE}  # fmt: skip
    assert 0 < len(kept) < 300
    assert main(["resume", str(run)]) == 0
    trials = SQLiteStorage(run / "study.db").trials()
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) == 300 and len({t.arch for t in complete}) == 300
    assert all((t.arch, dict(t.metrics)) == kept[t.number] for t in complete if t.number in kept)


def test_a_report_on_a_full_disk_leaves_no_partial_file(
    small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    small = tmp_path / "small"
    assert main(["search", str(write_search(tmp_path, "i14_report", 12)), "--run-dir", str(small)]) == 0
    resize(small_disk, "600k")  # the run (~20 KB) fits, the page (plotly embedded, > 1 MB) does not
    run = small_disk / "run"
    shutil.copytree(small, run)
    before = sorted(p.name for p in run.iterdir())
    capsys.readouterr()
    assert main(["report", str(run)]) == 1
    line = one_line(capsys)
    assert "No space left on device" in line and str(run / "report.html") in line
    assert sorted(p.name for p in run.iterdir()) == before  # no report.html.tmp


# -- huge but valid time limits with worker processes --------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "changes",
    [{"budget": {"trials": 3, "seconds": 1e18}}, {"executor": {"name": "local", "workers": 1, "trial_timeout": 1e308}}],
    ids=["seconds=1e18", "trial_timeout=1e308"],
)
def test_a_huge_time_budget_or_trial_timeout_runs_with_local_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, changes: dict[str, object]
) -> None:
    """Waiting on a worker's pipe overflowed on such a timeout (an OverflowError traceback after
    study.db was written); the wait is now taken in parts."""
    cfg = write_search(tmp_path, "i14_huge_wait", 3, strategy="random")
    data = {**yaml.safe_load(cfg.read_text()), "executor": {"name": "local", "workers": 1}, **changes}
    cfg.write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["search", str(cfg), "--run-dir", str(tmp_path / "run")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert [s for _, s, _ in stored(tmp_path / "run" / "study.db")] == ["complete"] * 3


def test_deleting_the_rows_status_check_lists_lets_resume_go_on(
    grid_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The way forward the one line names: delete the listed rows, then resume finishes the budget."""
    run = tmp_path / "bad-row"
    db = copy_of(grid_run, run)
    execute(db, "UPDATE trials SET metrics = '{bad' WHERE number = 7",
            "DELETE FROM trials WHERE number >= 290")  # work left for resume  # fmt: skip
    capsys.readouterr()
    assert main(["resume", str(run)]) == 2
    line = one_line(capsys)
    assert "trial 7: metrics is not valid JSON" in line and "deleting those rows" in line
    assert main(["status", str(run), "--check"]) == 1
    listed = [int(n) for n in re.findall(r"^trial (\d+):", capsys.readouterr().out, re.MULTILINE)]
    assert listed == [7]
    execute(db, "DELETE FROM trials WHERE number = 7")
    assert main(["resume", str(run)]) == 0
    rows = stored(db)
    assert len(rows) == 300 and all(state == "complete" for _, state, _ in rows) and 7 not in [n for n, *_ in rows]


# -- a refused resume writes nothing ---------------------------------------------------------------


@pytest.mark.parametrize("args", [("--trials", "0"), ("--trials", "-1"), ("--seconds", "nan"), ("--seconds", "0")])
def test_a_refused_new_budget_is_not_stored_and_the_run_still_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: tuple[str, str]
) -> None:
    """``resume --trials 0`` stored the budget before the config refused it, so every later
    resume (``--trials 8`` included) was refused: the directory could not go on."""
    monkeypatch.chdir(tmp_path)
    cfg = write_search(tmp_path, "i14_budget", 8, strategy="random")
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run), "--trials", "4"]) == 0
    before = SQLiteStorage(run / "study.db").get_meta()
    capsys.readouterr()
    assert main(["resume", str(run), *args]) == 2
    assert one_line(capsys).startswith(f"error: budget.{args[0].removeprefix('--')}: ")
    assert SQLiteStorage(run / "study.db").get_meta() == before
    assert main(["resume", str(run), "--trials", "6"]) == 0
    assert [s for _, s, _ in stored(run / "study.db")] == ["complete"] * 6


# -- a spreadsheet's CSV (a UTF-8 byte-order mark) reads as its columns --------------------------


def test_a_table_and_a_data_file_saved_with_a_byte_order_mark_read_their_first_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark: the first column was read as
    '\\ufeffkey' and the table refused for lacking a key column (the data file: lacking its target)."""
    pytest.importorskip("torch")
    from nasforge.data import describe_data, load_dataset

    monkeypatch.chdir(tmp_path)
    rows = "".join(f"{x},{x / 10}\n" for x in range(10))
    (tmp_path / "t.csv").write_bytes(("\ufeffkey,acc\n" + rows).encode())
    cfg = tmp_path / "bom.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "bom", "space": {"decisions": {"x": {"int": [0, 9]}}}, "strategy": "grid",
        "evaluator": {"table": "t.csv", "key": "{x}", "metric": "acc"}, "objectives": {"acc": "maximize"},
        "budget": {"trials": 10},
    }))  # fmt: skip
    assert main(["search", str(cfg), "--run-dir", str(tmp_path / "run")]) == 0
    assert [s for _, s, _ in stored(tmp_path / "run" / "study.db")] == ["complete"] * 10
    data = "".join(f"{i % 7},{i % 3},{'ab'[i % 2]}\n" for i in range(40))
    (tmp_path / "d.csv").write_bytes(("\ufeffsize,depth,kind\n" + data).encode())
    assert load_dataset({"csv": "d.csv", "target": "kind"}).classes == ("a", "b")
    assert "2 classes: a (" in describe_data("d.csv")  # the target, the last column, found without the mark


# -- a bad command line is one line too ------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, says",
    [
        (["search", "c.yaml", "--seconds", "abc"], "argument --seconds: invalid float value: 'abc'"),
        (["search", "c.yaml", "--trials", "1.5"], "argument --trials: invalid int value: '1.5'"),
        (["search", "c.yaml", "--seed", "x"], "argument --seed: invalid int value: 'x'"),
        (["search", "c.yaml", "--executor", "nosuch"], "argument --executor: invalid choice: 'nosuch'"),
        (["search"], "the following arguments are required: config"),
        (["resume", "run", "--workers", "two"], "argument --workers: invalid int value: 'two'"),
        (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    ],
)
def test_a_bad_command_line_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], says: str
) -> None:
    """argparse printed its usage (three lines) before the error."""
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    line = one_line(capsys)
    assert says in line and "--help`" in line
    assert list(tmp_path.iterdir()) == []


def test_a_search_where_no_trial_completes_says_so_in_one_warning_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python's warning format showed nasforge's file and line and a source line
    (``study.run(trials=trials, seconds=seconds)``), which reads like a traceback."""
    (tmp_path / "i14_none.py").write_text("def score(arch):\n    return None\n")
    cfg = tmp_path / "none.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "none", "space": {"decisions": {"x": {"int": [0, 9]}}}, "evaluator": {"function": "i14_none:score"},
        "objectives": {"score": "maximize"}, "budget": {"trials": 3},
    }))  # fmt: skip
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["search", str(cfg), "--run-dir", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "no trial" in line]
    expected = (
        "warning: no trial of study 'none' completed (3 failed); last error (trial 2): "
        "i14_none:score returned NoneType, expected a dict of metrics"
    )
    assert warned == [expected]
    assert "study.run(" not in err and ".py:" not in err


def test_a_pending_config_left_beside_a_study_is_removed_by_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill between the study's rename into place and the removal of the pending config
    leaves both; resume runs the study and the stale config goes."""
    from nasforge import _rundir
    from nasforge.config import read_config_file

    monkeypatch.chdir(tmp_path)
    cfg = write_search(tmp_path, "i14_pending", 8, strategy="random")
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run), "--trials", "4"]) == 0
    _rundir.begin(run, _rundir.Pending(read_config_file(cfg), tmp_path, cfg.resolve()))
    assert main(["resume", str(run), "--trials", "8"]) == 0
    assert not (run / "config.pending.json").exists()
    assert [s for _, s, _ in stored(run / "study.db")] == ["complete"] * 8


# -- nasforge repair: a new study.db from what the damaged one can still read ------------------


@pytest.mark.parametrize("damage", ["page", "row"])
def test_repair_copies_the_readable_trials_keeps_the_damaged_file_and_resume_fills_the_budget(
    grid_run: Path, tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "damaged"
    db = copy_of(grid_run, run, damaged=damage == "page")
    if damage == "row":
        execute(db, "UPDATE trials SET state = 'exploded' WHERE number = 7")
    before = db.read_bytes()
    capsys.readouterr()
    assert main(["status", str(run)]) == 2
    assert f"nasforge repair {run}" in one_line(capsys)
    assert main(["repair", str(run)]) == 0
    out, err = capsys.readouterr()
    lost = [int(n) for n in re.findall(r"^trial (\d+): left out", out, re.MULTILINE)]
    assert (lost == [7]) if damage == "row" else (150 in lost and 0 < len(lost) < 300)
    assert f"{300 - len(lost)} readable trials copied" in out and "study.db.damaged" in out and "Traceback" not in err
    assert (run / "study.db.damaged").read_bytes() == before  # the damaged file is kept as it was
    assert main(["status", str(run), "--check"]) == 0
    assert main(["repair", str(run)]) == 0 and "nothing to repair" in capsys.readouterr().out
    assert main(["resume", str(run)]) == 0  # the lost trials' share of the budget is run again
    rows = stored(db)
    assert sum(state == "complete" for _, state, _ in rows) == 300
    assert set(range(300)) - set(lost) <= {n for n, _, _ in rows}  # every readable trial kept, none run again


def test_repair_of_a_healthy_run_changes_nothing(grid_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "healthy"
    before = copy_of(grid_run, run).read_bytes()
    capsys.readouterr()
    assert main(["repair", str(run)]) == 0
    assert "no damage found" in capsys.readouterr().out
    assert (run / "study.db").read_bytes() == before and not (run / "study.db.damaged").exists()


def test_a_repair_on_a_full_disk_leaves_the_damaged_file_as_it_was(
    small_disk: Path, grid_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resize(small_disk, "16m")
    run = small_disk / "run"
    before = copy_of(grid_run, run, damaged=True).read_bytes()
    room = 64 * 1024 + len(before) // 3  # enough to open the damaged file (its -shm), not for the copy
    (small_disk / "filler").write_bytes(b"\0" * max(0, shutil.disk_usage(small_disk).free - room))
    capsys.readouterr()
    assert main(["repair", str(run)]) != 0
    _, err = capsys.readouterr()
    assert "Traceback" not in err and "the disk is full" in err and "left as it was" in err, err
    assert f"`nasforge repair {run}` again" in err and "resume" not in err  # a resume would still meet the damage
    assert (run / "study.db").read_bytes() == before
    assert not list(run.glob("study.db.repairing*")) and not (run / "study.db.damaged").exists()
