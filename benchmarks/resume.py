"""Time to resume a long model-based study: from opening its SQLite file to its first new trial.

A resumed study rebuilds its strategy by replaying every stored ask and tell. Bayesian
optimization used to refit its Gaussian process for each replayed ask; it now takes the
stored answer of each ask (``History.replaying``) and fits only once, at the first new ask.
This script runs ``--trials`` trials of nasforge's ``bayesian`` (one objective; with
``--parego`` also ParEGO with two) on the NAS-Bench-201 space with a free function into
SQLite, then times, in the same process, on two copies of that file: resuming with the stored
answers (what nasforge does) and resuming with every ask recomputed (the old replay, for the
ratio; both must run the same next trial), and Optuna's TPE resuming a study of as many
trials from its own SQLite file (``load_study`` + one trial), when Optuna is installed. That a
resume continues exactly as an uninterrupted run is a test
(``tests/strategies/test_search_strategies.py``).

    python benchmarks/resume.py [--trials 1000] [--parego]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from nasforge import SQLiteStorage, Study
from nasforge.evaluators import Function
from nasforge.space import NB201_OPS, builtin
from nasforge.strategies import History

EDGES = ["cell.0-1", "cell.0-2", "cell.1-2", "cell.0-3", "cell.1-3", "cell.2-3"]


def score(arch: Any) -> dict[str, float]:
    ranks = [NB201_OPS.index(str(arch[e])) for e in EDGES]
    return {"acc": float(sum(r * (i + 1) for i, r in enumerate(ranks))), "size": float(sum(r > 0 for r in ranks))}


def study(path: Path, objectives: dict[str, str]) -> Study:
    return Study(builtin("nasbench201"), Function(score), "bayesian", objectives, storage=SQLiteStorage(path),
                 seed=0, progress=False)  # fmt: skip


def resume_seconds(path: Path, objectives: dict[str, str], done: int) -> tuple[float, list[Any]]:
    """Seconds from opening the study to the end of its first new trial, and its trials."""
    t0 = time.perf_counter()
    s = study(path, objectives).run(trials=done + 1)
    seconds = time.perf_counter() - t0
    assert s.replay_mismatches == 0
    return seconds, [t.arch for t in s.trials]


class _NoAnswers:
    """``History.replaying`` that never holds an answer: every replayed ask is recomputed."""

    def __get__(self, obj: object, owner: type | None = None) -> None:
        return None

    def __set__(self, obj: object, value: object) -> None:
        pass


def optuna_resume_seconds(folder: Path, trials: int) -> float | None:
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(logging.WARNING)
    url = f"sqlite:///{folder / 'optuna.db'}"

    def objective(trial: Any) -> float:
        return score({e: trial.suggest_categorical(e, list(NB201_OPS)) for e in EDGES})["acc"]

    optuna.create_study(study_name="s", storage=url, direction="maximize",
                        sampler=optuna.samplers.TPESampler(seed=0)).optimize(objective, n_trials=trials)  # fmt: skip
    t0 = time.perf_counter()
    again = optuna.load_study(study_name="s", storage=url, sampler=optuna.samplers.TPESampler(seed=1))
    again.optimize(objective, n_trials=1)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--parego", action="store_true", help="also two objectives (ParEGO: slow to search)")
    args = parser.parse_args()
    n = args.trials
    cases = [("bayesian", {"acc": "maximize"})]
    if args.parego:
        cases.append(("bayesian (ParEGO, 2 objectives)", {"acc": "maximize", "size": "minimize"}))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for label, objectives in cases:
            path, copy = folder / f"{len(objectives)}.db", folder / f"{len(objectives)}-old.db"
            t0 = time.perf_counter()
            study(path, objectives).run(trials=n)
            search = time.perf_counter() - t0
            shutil.copy(path, copy)
            fast, trials = resume_seconds(path, objectives, n)
            History.replaying = _NoAnswers()  # type: ignore[assignment]  # shadows the instance attribute
            try:
                slow, old = resume_seconds(copy, objectives, n)
            finally:
                del History.replaying
            assert trials == old, "resuming with the stored answers ran a different trial"
            rows.append((label, f"{search:.1f}", f"{fast:.2f}", f"{slow:.1f}", f"{slow / fast:.0f}×"))
        optuna_s = optuna_resume_seconds(folder, n)
    print(f"Resume after {n} trials (NB201 space, free function, SQLite): seconds to the end of the first new trial\n")
    print("| strategy | search of n trials (s) | resume (s) | resume, every ask recomputed (s) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if optuna_s is not None:
        print(f"| Optuna TPE (load_study + 1 trial) | | {optuna_s:.2f} | | |")


if __name__ == "__main__":
    main()
