"""Crash-safe resume: `kill -9` of `nasforge search` (and its workers) at random moments, then
`nasforge resume`, must finish the budget without losing or repeating work; a second searcher
on the same run directory is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from proc_helpers import complete_trials, config, write_trial_module

from nasforge import SQLiteStorage, TrialState
from nasforge.cli import main
from nasforge.run import lock_run_dir

pytestmark = pytest.mark.slow

BUDGET = 100


def nasforge(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "nasforge.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)  # fmt: skip


def children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"




def wait_for_a_running_trial(db: Path, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    """Wait until ``db`` stores a running trial (or the search ended, or ``timeout``)."""
    import sqlite3

    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if db.exists():
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
                try:
                    (n,) = con.execute("SELECT count(*) FROM trials WHERE state = 'running'").fetchone()
                finally:
                    con.close()
                if n:
                    return
            except sqlite3.Error:
                pass
        time.sleep(0.05)


def test_kill_9_three_times_then_resume_finishes_the_budget(tmp_path: Path) -> None:
    trial_module = write_trial_module(tmp_path)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config(trial_module, "paced", budget={"trials": BUDGET})))
    run = tmp_path / "run"
    db = run / "study.db"
    rng = np.random.default_rng(2024)
    completed: dict[int, tuple] = {}  # type: ignore[type-arg]
    kills = 0
    while kills < 3:
        # resume once anything of the search is on disk (a pending config starts it); a kill before
        # the search wrote its config (a loaded machine imports slowly) leaves nothing: search again.
        resuming = db.exists() or (run / "config.pending.json").exists()
        proc = nasforge("resume", str(run)) if resuming else nasforge("search", str(cfg), "--run-dir", str(run))
        # A random moment: the first kill may come during start-up (before the study exists),
        # later ones while workers start or trials run (trials are stored running on submit).
        if kills and not resuming:  # the last kill came before anything was written: this one comes later
            deadline = time.monotonic() + 60
            while not (db.exists() or (run / "config.pending.json").exists()) and time.monotonic() < deadline:
                time.sleep(0.05)
        if kills:  # the later kills land while a trial runs, however slowly a loaded machine starts workers
            wait_for_a_running_trial(db, proc)
            time.sleep(float(rng.uniform(0.0, 0.4)))
        else:
            time.sleep(float(rng.uniform(0.1, 1.2)))
        workers = children(proc.pid)
        if proc.poll() is not None:  # the budget was done before the kill: nothing to test here
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        deadline = time.monotonic() + 30  # a worker still importing notices its parent's death only once started
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(w) for w in workers), "orphaned workers outlived the killed search"
        now = complete_trials(db)
        assert all(now[n] == v for n, v in completed.items()), "a completed trial changed after a kill"
        completed = now
    assert kills == 3 and len(completed) < BUDGET
    started = db.exists() or (run / "config.pending.json").exists()
    proc = nasforge("resume", str(run)) if started else nasforge("search", str(cfg), "--run-dir", str(run))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()

    trials = SQLiteStorage(db).trials()
    assert [t.number for t in trials] == list(range(len(trials)))  # no number twice, none missing
    assert all(t.state.finished for t in trials)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) == BUDGET
    assert len({t.arch for t in complete}) == BUDGET  # no completed trial was run again
    assert all({t.number: (t.arch, dict(t.metrics)) for t in complete}[n] == v for n, v in completed.items())
    interrupted = [t for t in trials if t.interrupted]
    assert interrupted, "the kills should have caught trials while they ran"
    assert all(t.state is TrialState.FAILED and t.error and t.error.startswith("interrupted") for t in interrupted)
    reruns = [t.requeued_from for t in trials if t.requeued_from is not None]
    assert len(reruns) == len(set(reruns))  # each interrupted trial re-queued at most once
    for t in trials:
        if t.requeued_from is not None:
            assert trials[t.requeued_from].interrupted and trials[t.requeued_from].arch == t.arch


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find worker processes")
def test_workers_busy_in_a_long_trial_die_with_the_killed_search(tmp_path: Path) -> None:
    trial_module = write_trial_module(tmp_path)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config(trial_module, "sleepy")))
    run = tmp_path / "run"
    proc = nasforge("search", str(cfg), "--run-dir", str(run))
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 2:  # the resource tracker is a child too
        time.sleep(0.1)
        workers = children(proc.pid)
    time.sleep(1.0)  # the workers are inside their 120 s trials now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30  # generous on a loaded machine: a liveness check, not a timing
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers and not any(alive(w) for w in workers)


def test_a_second_searcher_of_a_locked_run_dir_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    trial_module = write_trial_module(tmp_path)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config(trial_module, "score", budget={"trials": 4}, executor="inline")))
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 0
    capsys.readouterr()
    with lock_run_dir(run):  # as if another `nasforge search` or `resume` were running there
        proc = nasforge("resume", str(run))
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2
        lines = err.decode().strip().splitlines()
        assert len(lines) == 1 and "is being searched by another nasforge process" in lines[0]
        assert f"(pid {os.getpid()})" in lines[0]
        assert main(["search", str(cfg), "--run-dir", str(run)]) == 2
        assert "is being searched by another nasforge process" in capsys.readouterr().err
    assert main(["resume", str(run)]) == 0  # released: resume works (and has nothing left to run)
    assert len(SQLiteStorage(run / "study.db").trials()) == 4
