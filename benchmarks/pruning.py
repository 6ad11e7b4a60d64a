"""Pruning inside trials and time budgets that hold (issue 11, parts 2 and 3).

On digits (space ``cnn``, or ``--space seed-cnn``, 2 local workers, the trainer options of ``time_to_quality.py``),
``bayesian`` with and without ``asha`` at the same ``seconds`` budget: the test accuracy of the
best architecture retrained on all the search data, the search's wall time, how far it ran past
its budget (the deadline overshoot: search seconds - S; the retrain is timed apart), and how
many trials completed, were pruned at a rung, or were stopped at the deadline.

    python benchmarks/pruning.py                  # S = 20 and 40, seed 0
    python benchmarks/pruning.py --seconds 30 --seeds 0 1

The machines here are shared: compare rows measured in the same run, not absolute times.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from nasforge import Study, TrialState
from nasforge.evaluators import DEADLINE, Trainer
from nasforge.executors import LocalExecutor
from nasforge.space import builtin

TRAINER: dict[str, Any] = {"validation": 0.2, "epochs": 12, "batch_size": 32, "lr": 0.003, "scheduler": "cosine",
                           "measure_latency": False, "threads": 1}  # fmt: skip


def run(seconds: float, pruner: str | None, seed: int, trainer: Trainer, space: str) -> dict[str, Any]:
    study = Study(builtin(space), trainer, "bayesian", {"accuracy": "maximize"}, executor=LocalExecutor(2),
                  seed=seed, progress=False, pruner=pruner)  # fmt: skip
    t0 = time.perf_counter()
    study.run(seconds=seconds)
    search = time.perf_counter() - t0
    trials = study.trials
    best = study.best
    t1 = time.perf_counter()
    test = trainer.test(trainer.retrain(best.arch))["test_accuracy"] if best is not None else float("nan")
    return {
        "method": "bayesian" + ("+" + pruner if pruner else ""),
        "S": seconds,
        "seed": seed,
        "search_s": search,
        "overshoot_s": search - seconds,
        "retrain_s": time.perf_counter() - t1,
        "complete": sum(t.state is TrialState.COMPLETE for t in trials),
        "pruned": sum(t.state is TrialState.PRUNED and t.report.get("pruned_reason") != DEADLINE for t in trials),
        "deadline": sum(t.report.get("pruned_reason") == DEADLINE for t in trials),
        "val": best.metrics["accuracy"] if best is not None else float("nan"),
        "test": test,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[20.0, 40.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--space", default="cnn", choices=["cnn", "seed-cnn"])
    args = parser.parse_args()
    trainer = Trainer("digits", space=args.space, **TRAINER)
    rows = []
    print("| method | S | seed | search s | overshoot s | retrain s | complete | pruned | deadline | val acc | test acc |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for seconds in args.seconds:
        for seed in args.seeds:
            for pruner in (None, "asha"):
                r = run(seconds, pruner, seed, trainer, args.space)
                rows.append(r)
                print(f"| {r['method']} | {r['S']:g} | {r['seed']} | {r['search_s']:.1f} | {r['overshoot_s']:+.2f} | "
                      f"{r['retrain_s']:.1f} | {r['complete']} | {r['pruned']} | {r['deadline']} | {r['val']:.4f} | "
                      f"{r['test']:.4f} |", flush=True)  # fmt: skip
    worst = max(r["overshoot_s"] for r in rows)
    print(f"\nlargest deadline overshoot: {worst:+.2f} s over {len(rows)} searches")


if __name__ == "__main__":
    main()
