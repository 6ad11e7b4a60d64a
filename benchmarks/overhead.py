"""Per-trial overhead of the search loop (ask + evaluate a free function + persist + tell).

Runs 1,000 trials of a trivial objective on the NAS-Bench-201 space (6 categorical edges)
with nasforge's random and hill-climbing strategies, in memory and with SQLite, and the
same with Optuna's RandomSampler and TPESampler when Optuna is installed (extra `bench`),
in the same process; the model-based ones (nasforge's bayesian, Optuna's TPE) run 300
trials (the first 300 of a search, where they are used). Prints a markdown table of milliseconds per trial and the ratio
against Optuna's random sampler with the same storage.

    python benchmarks/overhead.py [--trials 1000]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from nasforge import InMemoryStorage, SQLiteStorage, Study
from nasforge.evaluators import Function
from nasforge.space import NB201_OPS, builtin

EDGES = ["cell.0-1", "cell.0-2", "cell.1-2", "cell.0-3", "cell.1-3", "cell.2-3"]


def score(arch) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {"acc": float(sum(NB201_OPS.index(str(arch[e])) for e in EDGES))}


MODEL_TRIALS = 300
"""Trials of the model-based searchers (bayesian, TPE)."""


def ours(strategy: str, storage: str, trials: int, tmp: Path) -> float:
    store = SQLiteStorage(tmp / f"{strategy}.db") if storage == "sqlite" else InMemoryStorage()
    study = Study(builtin("nasbench201"), Function(score), strategy, {"acc": "maximize"}, storage=store, seed=0)
    t0 = time.perf_counter()
    study.run(trials=trials)
    return (time.perf_counter() - t0) / trials * 1e3


def optuna_ms(sampler: str, storage: str, trials: int, tmp: Path) -> float | None:
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(logging.WARNING)
    url = f"sqlite:///{tmp / f'optuna-{sampler}.db'}" if storage == "sqlite" else None
    smp = optuna.samplers.RandomSampler(seed=0) if sampler == "random" else optuna.samplers.TPESampler(seed=0)
    study = optuna.create_study(direction="maximize", sampler=smp, storage=url)

    def objective(trial) -> float:  # type: ignore[no-untyped-def]
        return float(sum(NB201_OPS.index(trial.suggest_categorical(e, list(NB201_OPS))) for e in EDGES))

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - t0) / trials * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for storage in ("memory", "sqlite"):
            base = optuna_ms("random", storage, args.trials, tmp)
            for name, ms in [
                ("nasforge random", ours("random", storage, args.trials, tmp)),
                ("nasforge hill-climbing", ours("hill-climbing", storage, args.trials, tmp)),
                ("nasforge bayesian", ours("bayesian", storage, min(args.trials, MODEL_TRIALS), tmp)),
                ("optuna random", base),
                ("optuna TPE", optuna_ms("tpe", storage, min(args.trials, MODEL_TRIALS), tmp)),
            ]:
                ratio = f"{ms / base:.2f}" if ms is not None and base else "n/a"
                rows.append((name, storage, "n/a" if ms is None else f"{ms:.3f}", ratio))
    model = min(args.trials, MODEL_TRIALS)
    print(f"Per-trial overhead, {args.trials} trials (nasforge bayesian, Optuna TPE: {model}), NB201 space\n")
    print("| searcher | storage | ms per trial | ratio vs optuna random (same storage) |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
