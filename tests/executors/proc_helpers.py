"""Cheap function evaluators written into a temporary folder and loaded from configs as
``evaluator: {function: MODULE:fn}``, the way a user's own module is found.

Not a ``conftest.py``: the conftest modules of several test folders would clash as the
top-level module ``conftest``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from nasforge import SQLiteStorage, TrialState

SOURCE = """
import ctypes, os, signal, time

def score(arch):
    return {"score": -abs(arch["x"] - 37), "pid": os.getpid()}

def ok(arch):
    time.sleep(0.05)
    return score(arch)

def paced(arch):
    # 60-150 ms per trial, the same for the same arch.
    time.sleep(0.06 + (arch["x"] % 4) * 0.03)
    return {"score": -abs(arch["x"] - 37)}

def slow(arch):
    time.sleep(0.4)
    return score(arch)

def sleepy(arch):
    time.sleep(120)
    return score(arch)

def flaky(arch):
    x = arch["x"]
    if x == 1:
        os._exit(1)
    if x == 2:
        raise MemoryError("simulated: cannot allocate")
    if x == 3:
        time.sleep(60)
    if x == 4:
        os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's out-of-memory killer does
    if x == 5:
        ctypes.string_at(0)  # segmentation fault
    return ok(arch)

def always_fails(arch):
    raise ValueError(f"bad arch {arch['x']}")

def wrong_metric(arch):
    return {"accuracy": 0.5}
"""


def write_trial_module(tmp_path: Path) -> str:
    """Write the functions above as a fresh module in ``tmp_path`` (the config folder); its name."""
    name = "nftrials_" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:10]
    (tmp_path / f"{name}.py").write_text(SOURCE)
    return name


def config(module: str, fn: str, **changes: Any) -> dict[str, Any]:
    """A run config over ``x`` in 0..299 scored by ``module:fn``."""
    data: dict[str, Any] = {
        "name": "proc",
        "seed": 0,
        "space": {"decisions": {"x": {"int": [0, 299]}}},
        "evaluator": {"function": f"{module}:{fn}"},
        "strategy": "random",
        "objectives": {"score": "maximize"},
        "budget": {"trials": 10},
        "executor": {"name": "local", "workers": 2},
    }
    data.update(changes)
    return data


def complete_trials(db: Path) -> dict[int, tuple[Any, dict[str, float]]]:
    """The complete trials stored in ``db`` by number (architecture, metrics); ``{}`` without a file."""
    if not db.exists():
        return {}
    storage = SQLiteStorage(db)
    try:
        return {t.number: (t.arch, dict(t.metrics)) for t in storage.trials() if t.state is TrialState.COMPLETE}
    finally:
        storage.close()
