"""The command line: search, status, resume, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nasforge.cli import main


def write_config(tmp_path: Path, table_csv: Path, **changes) -> Path:  # type: ignore[no-untyped-def]
    config = {
        "name": "toy-table",
        "seed": 3,
        "space": {"decisions": {"kernel": {"choice": [1, 3, 5, 7]}, "width": {"choice": [8, 16, 32, 64]}, "depth": {"int": [1, 5]}}},
        "evaluator": {"table": table_csv.name, "key": "{kernel}-{width}-{depth}", "metric": "acc", "report": ["test_acc"]},
        "strategy": {"name": "hill-climbing"},
        "objectives": {"acc": "maximize"},
        "budget": {"trials": 12},
    }
    for key, value in changes.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_search_status_resume(tmp_path: Path, table_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, table_csv)
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "rank" in out and "test_acc" in out and str(run / "best.json") in out
    best = json.loads((run / "best.json").read_text())
    assert set(best) >= {"arch", "metrics"} and "acc" in best["metrics"]
    assert main(["status", str(run), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counted"] == 12 and status["states"]["complete"] == 12
    assert status["best"]["metrics"]["acc"] == best["metrics"]["acc"]
    # A larger budget from the command line of a new search; resume continues a stopped one.
    assert main(["search", str(cfg), "--run-dir", str(tmp_path / "run2"), "--trials", "20", "--seed", "4"]) == 0
    assert main(["resume", str(tmp_path / "run2")]) == 0
    capsys.readouterr()
    assert main(["status", str(tmp_path / "run2"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counted"] == 20


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"strategy": {"name": "annealing"}}, "strategy.name: unknown strategy 'annealing'"),
        ({"strategy": {"name": "random", "population": 3}}, "strategy.population: unknown option"),
        ({"budget": {"trials": "ten"}}, "budget.trials: must be a positive integer"),
        ({"budget": {"trails": 3}}, "budget.trails: unknown key"),
        ({"seed": "x"}, "seed: must be an integer"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"space": {"decisions": {"kernel": {"choice": []}}}}, "space.decisions.kernel.choice: must be a non-empty list"),
        ({"objectives": {"acc": "maximise"}}, "objectives.acc: must be `maximize` or `minimize`"),
        ({"evaluator": {"table": "results.csv", "key": "{kernel}", "metric": "accuracy"}}, "evaluator.metric: column 'accuracy'"),
        ({"evaluator": {"table": "results.csv", "key": "{size}", "metric": "acc"}}, "evaluator.key: names 'size'"),
        ({"evaluator": {"table": "results.csv", "key_column": "id", "key": "{kernel}", "metric": "acc"}}, "evaluator.key_column"),
        ({"evaluator": {"table": "missing.csv", "key": "{kernel}", "metric": "acc"}}, "evaluator.table: file"),
        ({"evaluator": {"function": "no_such_module:f"}}, "evaluator.function: cannot import"),
        ({"space": None}, "space: is required"),
        ({"evaluator": {"proxy": "synflow"}}, "evaluator.dataset: is missing: `proxy` belongs to the `dataset:` evaluator"),
        ({"evaluator": {"metric": "acc"}}, "evaluator.table: is missing"),
    ],
)
def test_bad_config_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, table_csv: Path, capsys: pytest.CaptureFixture[str], changes, message  # type: ignore[no-untyped-def]
) -> None:
    cfg = write_config(tmp_path, table_csv, **changes)
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err, err
    assert len(err.splitlines()) == 1
    assert not run.exists()


def test_run_dir_holding_a_study_is_refused_and_untouched(tmp_path: Path, table_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, table_csv)
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.suffix != ".db-shm"}
    capsys.readouterr()
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert "already holds a study" in err and "nasforge resume" in err
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.name in before}
    assert after["best.json"] == before["best.json"] and after["study.db"] == before["study.db"]


def test_missing_run_dir_and_bad_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(tmp_path / "nowhere")]) == 2
    assert "holds no study" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("space: [unclosed\n")
    assert main(["search", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_installed_command_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("space: seed-cnn\nevaluator: {table: nope.csv, metric: acc}\n")
    exe = Path(sys.executable).parent / "nasforge"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "nasforge.cli"]
    proc = subprocess.run([*cmd, "search", str(bad)], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: evaluator.table:") and "Traceback" not in proc.stderr


def test_the_command_flushes_everything_and_keeps_its_exit_code_after_the_fast_exit(tmp_path: Path) -> None:
    """`nasforge` ends with os._exit after main (no module teardown): the whole output still
    arrives through a pipe, the atexit handlers run, and the exit code is main's."""
    exe = Path(sys.executable).parent / "nasforge"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "nasforge.cli"]
    toy = Path(__file__).resolve().parent.parent / "examples" / "toy.yaml"
    proc = subprocess.run([*cmd, "search", str(toy), "--trials", "4", "--run-dir", str(tmp_path / "run")],
                          capture_output=True, text=True, cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith("Results: ")  # the last line, flushed
    assert (tmp_path / "run" / "best.json").is_file()
    # a reader that stops after one line: no traceback, exit 0
    shell = subprocess.run(f"{' '.join(cmd)} search {toy} --trials 4 --run-dir {tmp_path / 'run2'} | head -1",
                           shell=True, capture_output=True, text=True, cwd=tmp_path, check=False)  # fmt: skip
    assert "Traceback" not in shell.stderr and shell.stdout.count("\n") == 1


def test_help_lists_one_line_per_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("search", "resume", "status"):
        assert any(line.strip().startswith(name) for line in out.splitlines())


NB201 = os.environ.get("NASFORGE_NB201")


@pytest.mark.skipif(not NB201 or not Path(NB201).is_file(), reason="NASFORGE_NB201 table not available")
def test_nb201_example_runs_100_trials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parent.parent / "examples" / "nb201_random.yaml"
    assert main(["search", str(example), "--run-dir", str(tmp_path / "nb")]) == 0
    assert "cifar10-test" in capsys.readouterr().out
    assert main(["status", str(tmp_path / "nb"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counted"] == 100 and info["best"]["report"]["cifar10-test"] > 80


def test_data_shows_what_would_be_loaded(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "digits"]) == 0
    out = capsys.readouterr().out
    assert "1438 search samples + 359 test samples" in out and "10 classes" in out
    assert main(["data", "no-such-data.csv"]) == 2
    assert "neither a built-in data set" in capsys.readouterr().err


def test_a_time_budget_shows_a_bar_of_seconds_and_the_search_time(
    tmp_path: Path, table_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    cfg = write_config(tmp_path, table_csv, budget={"seconds": 2}, strategy="random")
    assert main(["search", str(cfg), "--run-dir", str(tmp_path / "run")]) == 0
    out = capsys.readouterr()
    assert re.search(r"\] [0-9]/2 s  [0-9]+ trials  best acc=", out.err), out.err  # the bar follows time
    assert re.search(r"^search: [0-9.]+ s of a 2 s budget \([0-9.]+ s of it this command's start: imports, data, checks\)$",
                     out.out, re.MULTILINE), out.out  # fmt: skip


def test_the_time_budget_counts_from_the_command_s_start(
    tmp_path: Path, table_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--seconds S` ends the search S seconds after the command began: a command whose start
    (here pretended to be 60 s ago) used the budget runs no trial and says why."""
    import re
    import time

    cfg = write_config(tmp_path, table_csv, budget={"seconds": 30}, strategy="random")
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)], started=time.monotonic() - 60) == 0
    out = capsys.readouterr()
    assert "the time budget (30 s) ended before this run's first trial (0.0 s spent by earlier runs, 6" in out.err
    assert re.search(r"^search: 6[0-9.]+ s of a 30 s budget \(6[0-9.]+ s of it this command's start", out.out, re.MULTILINE)
    assert main(["status", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counted"] == 0
    # a resume with more seconds runs trials: 60 s were spent, the other 30 go to this resume
    # (the 80 architectures of the table's space take far less)
    assert main(["resume", str(run), "--seconds", "90"]) == 0
    capsys.readouterr()
    assert main(["status", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counted"] > 0


def test_resume_with_a_new_budget_goes_on_and_keeps_it(tmp_path: Path, table_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, table_csv, strategy="random")
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run), "--trials", "5"]) == 0
    assert main(["resume", str(run), "--trials", "9"]) == 0
    capsys.readouterr()
    assert main(["status", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counted"] == 9 and info["budget"]["trials"] == 9
    before = (run / "study.db").read_bytes()
    assert main(["resume", str(run), "--seconds", "-1"]) == 2  # refused before anything is written
    assert "budget.seconds: must be a positive number of seconds, got -1.0" in capsys.readouterr().err
    assert (run / "study.db").read_bytes() == before
