"""The run directory as a service: one definition of best everywhere, and Python-made runs that
the CLI resumes, reports and explains."""

from __future__ import annotations

import json
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest

import nasforge
from nasforge import RunDir
from nasforge.cli import main
from nasforge.evaluators import Function
from nasforge.space import Choice, SearchSpace

MODULE = '''
def width_score(arch):
    w = arch["w"]
    return {"acc": float(w), "params": w * 1e5}
'''


@pytest.fixture
def scorer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A module-level function in an importable module (as a user's would be)."""
    (tmp_path / "widthmod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import importlib

    sys.modules.pop("widthmod", None)
    return importlib.import_module("widthmod").width_score


def _constrained_config(tmp_path: Path) -> Path:
    (tmp_path / "widthmod.py").write_text(MODULE)
    cfg = tmp_path / "nsga.yaml"
    cfg.write_text(
        textwrap.dedent(
            """
            name: constrained
            seed: 3
            space: {name: widths, decisions: {w: {choice: [1, 2, 4, 8, 16, 32]}}}
            evaluator: {function: "widthmod:width_score", metrics: [acc, params]}
            objectives: {acc: maximize, params: minimize}
            constraints: ["params <= 1e6"]
            strategy: {name: nsga2, population: 2}
            budget: {trials: 6}
            """
        )
    )
    return cfg


def test_constrained_nsga2_names_one_feasible_best_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _constrained_config(tmp_path)
    run_dir = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out
    data = RunDir(run_dir).results()
    assert len(data.trials) == 6
    infeasible = [t for t in data.trials if t.metrics.get("params", 0) > 1e6]
    assert infeasible and all(t.violation > 0 for t in infeasible)  # stored with the trial
    best = data.best
    assert best is not None and best.arch["w"] == max(t.arch["w"] for t in data.trials if t.metrics["params"] <= 1e6)
    assert all(t.feasible for t in data.pareto_front)

    assert main(["status", str(run_dir), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["best"]["trial"] == best.number and status["constraints"] == ["params <= 1000000.0"]
    assert {t["trial"] for t in status["pareto_front"]} == {t.number for t in data.pareto_front}
    assert json.loads((run_dir / "best.json").read_text())["trial"] == best.number

    assert main(["explain", str(run_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trial"] == best.number

    assert main(["report", str(run_dir)]) == 0
    html = (run_dir / "report.html").read_text()
    assert f"trial {best.number}: " in html
    assert f"({len(infeasible)} left out: infeasible or at a lower budget)" in html  # not ranked
    assert all(t.feasible for t in data.ranked) and len(data.ranked) == len(data.trials) - len(infeasible)


def test_a_python_run_dir_is_resumed_reported_and_explained_by_the_cli(
    scorer, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    space = SearchSpace({"w": Choice([1, 2, 4, 8]), "v": Choice([0, 1])}, name="two")
    run_dir = tmp_path / "py-run"

    def stop_after_three(study: nasforge.Study, trial: nasforge.Trial) -> None:
        if len(study.trials) >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nasforge.search(space, Function(scorer), strategy="random", objectives={"acc": "maximize"},
                        trials=6, seed=5, run_dir=run_dir, callbacks=[stop_after_three], progress=False)  # fmt: skip
    assert len(RunDir(run_dir).results().trials) == 3

    assert main(["resume", str(run_dir)]) == 0
    capsys.readouterr()
    data = RunDir(run_dir).results()
    assert sum(t.counts_toward_budget for t in data.trials) == 6
    # The resumed run equals an uninterrupted one with the same seed.
    whole = nasforge.search(space, Function(scorer), strategy="random", objectives={"acc": "maximize"},
                            trials=6, seed=5, progress=False)  # fmt: skip
    assert [t.arch for t in data.trials if t.counts_toward_budget] == [t.arch for t in whole.trials]

    assert main(["status", str(run_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["best"]["trial"] == data.best.number  # type: ignore[union-attr]
    assert main(["report", str(run_dir)]) == 0 and (run_dir / "report.html").is_file()
    assert main(["explain", str(run_dir), "--evaluate"]) == 0
    assert "Unmeasured neighbours" not in capsys.readouterr().out
    assert len(RunDir(run_dir).results().trials) > 6  # the neighbours ran as trials of the study


def test_a_run_with_an_unstorable_part_is_readable_and_refuses_resume_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "lambda-run"
    space = SearchSpace({"w": Choice([1, 2, 4])})
    nasforge.search(space, Function(lambda a: {"acc": a["w"]}), strategy="grid", objectives={"acc": "maximize"},
                    run_dir=run_dir, progress=False)  # fmt: skip
    assert main(["status", str(run_dir)]) == 0
    assert "best: trial 2" in capsys.readouterr().out
    assert main(["resume", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "evaluator" in err[0] and "cannot be stored" in err[0]


def test_a_run_dir_that_holds_a_study_is_refused_and_left_unchanged(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    space = SearchSpace({"w": Choice([1, 2])})
    run_dir = tmp_path / "once"
    nasforge.search(space, Function(scorer), strategy="grid", objectives="acc", run_dir=run_dir, progress=False)
    before = (run_dir / "study.db").read_bytes()
    with pytest.raises(nasforge.ConfigError, match="already holds a study"):
        nasforge.search(space, Function(scorer), strategy="grid", objectives="acc", run_dir=run_dir, progress=False)
    assert (run_dir / "study.db").read_bytes() == before


def test_a_refused_study_leaves_no_run_directory_behind(tmp_path: Path) -> None:
    run_dir = tmp_path / "refused"
    with pytest.raises(nasforge.ConfigError):
        nasforge.search(SearchSpace({"w": Choice([1, 2])}), Function(lambda a: {"acc": 1.0}), strategy="grid",
                        objectives={"acc": "sideways"}, run_dir=run_dir, progress=False)  # fmt: skip
    assert not run_dir.exists()


def test_finish_writes_best_once_and_resume_of_a_finished_run_does_not_retrain(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    from nasforge.evaluators import FinalModel

    retrained: list[int] = []

    class Finalizing(Function):
        def retrain(self, arch):  # type: ignore[no-untyped-def]
            retrained.append(arch["w"])
            torch.manual_seed(0)
            return nn.Linear(2, 3)

        def test(self, model):  # type: ignore[no-untyped-def]
            return {"test_accuracy": 0.5}

        def final_info(self) -> FinalModel:
            return FinalModel("custom", (2,), 3, {}, {"dataset": "toy", "test_samples": 10})

    run = RunDir(tmp_path / "fin")
    study = run.create(SearchSpace({"w": Choice([1, 2])}), Finalizing(scorer), "grid", "acc", progress=False)
    study.run()
    lines = run.finish(study)
    assert "test accuracy 0.5000 on 10 held-out samples" in lines[1]
    assert sorted(p.name for p in (run.path / "best").iterdir())[:3] == ["arch.json", "model.onnx", "model.safetensors"]
    assert not (run.path / "best.tmp").exists()
    assert json.loads((run.path / "best" / "arch.json").read_text())["test_accuracy"] == 0.5
    lines = run.finish(study)
    assert retrained == [2] and "not retrained" in lines[0]


def test_a_study_stored_before_trials_had_a_violation_opens_and_is_judged(tmp_path: Path) -> None:
    run_dir = tmp_path / "old"
    study = nasforge.search(SearchSpace({"w": Choice([1, 2, 4, 8, 16])}), Function(lambda a: {"acc": a["w"], "params": a["w"] * 1e5}),
                            strategy="grid", objectives={"acc": "maximize"}, constraints=["params <= 1e6"],
                            storage=nasforge.SQLiteStorage(run_dir / "study.db"), progress=False)  # fmt: skip
    study.storage.close()
    db = sqlite3.connect(run_dir / "study.db")
    db.execute("ALTER TABLE trials DROP COLUMN violation")
    meta = dict(db.execute("SELECT key, value FROM meta"))
    db.execute("DELETE FROM meta WHERE key = 'constraints'")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('config', ?)",
               (json.dumps({"space": {"decisions": {"w": {"choice": [1, 2, 4, 8, 16]}}},
                            "strategy": {"name": "nsga2", "constraints": ["params <= 1e6"]}}),))  # fmt: skip
    db.commit()
    db.close()
    assert "objectives" in meta
    data = RunDir(run_dir).results()
    assert data.best is not None and data.best.arch["w"] == 8  # 16 breaks the constraint kept as the old alias


def test_status_check_lists_each_damaged_row(scorer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    run_dir = tmp_path / "checked"
    nasforge.search(SearchSpace({"w": Choice([1, 2, 4])}), Function(scorer), strategy="grid", objectives="acc",
                    run_dir=run_dir, progress=False)  # fmt: skip
    assert main(["status", str(run_dir), "--check"]) == 0
    assert "no damage found" in capsys.readouterr().out
    db = sqlite3.connect(run_dir / "study.db")
    db.execute("UPDATE trials SET metrics = '{not json' WHERE number = 1")
    db.execute("""UPDATE trials SET arch = '{"v": 3}' WHERE number = 2""")
    db.commit()
    db.close()
    assert main(["status", str(run_dir), "--check"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and "trial 1" in out[0] and "trial 2" in out[1]


def test_resume_starts_a_directory_that_holds_only_the_pending_config(tmp_path: Path) -> None:
    cfg = _constrained_config(tmp_path)
    from nasforge.config import read_config_file

    run = RunDir(tmp_path / "early")
    run.begin(read_config_file(cfg), tmp_path)
    assert main(["resume", str(run.path)]) == 0
    assert run.exists() and run.pending() is None
    assert len(run.results().trials) == 6


def test_a_refused_config_leaves_no_directory_and_a_bad_name_is_not_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _constrained_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(cfg.read_text().replace("nsga2", "no-such-strategy"))
    assert main(["search", str(bad)]) == 2
    assert not (tmp_path / "runs" / "constrained").exists()
    escape = tmp_path / "escape.yaml"
    escape.write_text(cfg.read_text().replace("name: constrained", "name: ../../escape"))
    assert main(["search", str(escape)]) == 2
    assert "plain name" in capsys.readouterr().err and not (tmp_path.parent / "escape").exists()


def test_the_lock_never_follows_a_symbolic_link(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    run_dir = tmp_path / "linked"
    run_dir.mkdir()
    (run_dir / ".lock").symlink_to(target)
    with pytest.raises(nasforge.ConfigError, match="link"):
        RunDir(run_dir).lock().acquire()
    assert target.read_text() == "keep me"


SLOW_MODULE = '''
import time

def slow_score(arch):
    time.sleep(0.3)
    return {"acc": float(arch["w"])}
'''


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_resume_finishes_the_budget(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    (tmp_path / "slowmod.py").write_text(SLOW_MODULE)
    cfg = tmp_path / "slow.yaml"
    cfg.write_text("name: slow\nspace: {decisions: {w: {int: [0, 99]}}}\n"
                   "evaluator: {function: 'slowmod:slow_score', metrics: [acc]}\n"
                   "objectives: {acc: maximize}\nbudget: {trials: 8}\n")  # fmt: skip
    run_dir = tmp_path / "run"
    exe = [sys.executable, "-m", "nasforge.cli"]
    proc = subprocess.Popen([*exe, "search", str(cfg), "--run-dir", str(run_dir)], stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # until a trial has finished
        if (run_dir / "study.db").exists() and any(t.state.finished for t in RunDir(run_dir).results().trials):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated (SIGTERM)" in err and "Traceback" not in err, err
    stopped = RunDir(run_dir).results().trials
    assert not any(t.state.value == "running" for t in stopped)
    done = subprocess.run([*exe, "resume", str(run_dir)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    trials = RunDir(run_dir).results().trials
    assert sum(t.counts_toward_budget for t in trials) == 8
    assert len({t.arch for t in trials if t.counts_toward_budget}) == 8  # none lost, none run twice
