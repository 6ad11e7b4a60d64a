"""`kill -9` of `nasforge search` at fixed and random moments from 0.1 s to 5 s after it starts,
including before anything is written, with the inline and the local executor; then
`nasforge resume DIR` finishes exactly the budget: no trial lost, none run twice, none changed.

A kill before the search wrote its config (about 0.15 s after start: the CLI writes it before
it imports numpy or torch) leaves
either no directory or one holding only its lock. Nothing there knows the config, so
`resume` cannot start it: the test asserts that `resume` refuses in one line naming the way
forward (`nasforge search CONFIG --run-dir DIR`), writes nothing, and that this search then
finishes the budget in the same directory.
"""

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

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")]

BUDGET = 40
FIXED = [0.3, 1.0, 2.0]
RANDOM = [float(t) for t in np.random.default_rng(14).uniform(0.1, 5.0, size=2)]


def nasforge(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "nasforge.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cwd)  # fmt: skip




@pytest.mark.parametrize("executor", ["inline", "local"])
@pytest.mark.parametrize("moment", FIXED + RANDOM, ids=[f"{t:.2f}s" for t in FIXED + RANDOM])
def test_kill_9_at_a_moment_then_resume_finishes_exactly_the_budget(
    tmp_path: Path, executor: str, moment: float
) -> None:
    module = write_trial_module(tmp_path)
    ex = "inline" if executor == "inline" else {"name": "local", "workers": 2}
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config(module, "paced", budget={"trials": BUDGET}, executor=ex)))
    run = tmp_path / "run"
    db = run / "study.db"

    proc = nasforge("search", str(cfg), "--run-dir", str(run), cwd=tmp_path)
    time.sleep(moment)
    finished_before_the_kill = proc.poll() is not None
    if not finished_before_the_kill:  # a fast machine may finish first: then there is nothing to kill
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended between poll() and the kill
            finished_before_the_kill = True
    proc.communicate(timeout=30)
    before = complete_trials(db)
    if finished_before_the_kill:
        assert len(before) == BUDGET

    if not db.exists() and not (run / "config.pending.json").exists():
        # Killed before the config was written: nothing can know it. resume says so, writes nothing.
        existed = sorted(p.name for p in run.iterdir()) if run.exists() else None
        proc = nasforge("resume", str(run), cwd=tmp_path)
        _, err = proc.communicate(timeout=60)
        lines = err.decode().strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, err.decode()
        assert "nothing to resume" in lines[0] and f"nasforge search CONFIG --run-dir {run}" in lines[0]
        assert (sorted(p.name for p in run.iterdir()) if run.exists() else None) == existed
        proc = nasforge("search", str(cfg), "--run-dir", str(run), cwd=tmp_path)
    else:
        proc = nasforge("resume", str(run), cwd=tmp_path)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()[-2000:]

    storage = SQLiteStorage(db)
    try:
        trials = storage.trials()
    finally:
        storage.close()
    assert [t.number for t in trials] == list(range(len(trials)))  # no number twice, none missing
    assert all(t.state.finished for t in trials)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) == BUDGET, [(t.number, t.state, t.error) for t in trials if t.state is not TrialState.COMPLETE]
    assert len({t.arch for t in complete}) == BUDGET  # no completed trial was run again
    after = {t.number: (t.arch, dict(t.metrics)) for t in complete}
    assert all(after[n] == v for n, v in before.items())  # what was stored before the kill is kept as it was
    failed = [t for t in trials if t.state is TrialState.FAILED]
    assert all(t.interrupted for t in failed)  # the only failures are the trials the kill interrupted
    reruns = [t.requeued_from for t in trials if t.requeued_from is not None]
    assert len(reruns) == len(set(reruns)) and all(trials[n].interrupted for n in reruns)
    assert not (run / "config.pending.json").exists()
