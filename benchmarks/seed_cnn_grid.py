"""The classic tutorial's method as the baseline: an exhaustive grid of the 27 seed-cnn
architectures on MNIST 5k, against nasforge's default strategy for that space with a third
of the trials, both trained by the same Trainer with the same epochs.

1. Grid: every architecture, timed (the tutorial's method).
2. The default strategy (what ``nasforge search`` uses when a config names none), ``--trials``
   trials, search seed 0, timed. Each architecture is trained with a seed drawn from the
   trainer's seed and its id, so its score does not depend on which search asked for it; the
   script checks that the real run matches the grid's scores.
3. Because of 2, more search seeds cost nothing to replay: every registered strategy that asks
   for full budgets is run for ``--seeds`` seeds against the grid's measured scores and times.

    python benchmarks/seed_cnn_grid.py [--epochs 2] [--trials 9] [--seeds 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from nasforge import Study
from nasforge.config import RunConfig
from nasforge.evaluators import Function, Result, TrialFailed
from nasforge.evaluators import Trainer as _Trainer
from nasforge.space import Arch
from nasforge.strategies import STRATEGIES, make_strategy

OBJ = {"accuracy": "maximize"}


def run(space: Any, evaluator: Any, strategy: Any, trials: int | None, seed: int) -> tuple[Study, float]:
    study = Study(space, evaluator, strategy, OBJ, seed=seed)
    t0 = time.perf_counter()
    study.run(trials=trials)
    return study, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--trials", type=int, default=9)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    evaluator_cfg = {"dataset": "mnist5k", "epochs": args.epochs, "threads": args.threads, "seed": 0}
    cfg = RunConfig.parse({"space": "seed-cnn", "evaluator": evaluator_cfg, "budget": {"trials": args.trials}}, ".")
    trainer = cfg.evaluator
    assert isinstance(trainer, _Trainer)
    default = cfg.strategy_name
    print(f"MNIST 5k: {len(trainer.data.y_train)} search samples (holdout: {len(trainer.splits[0][0])} train / "
          f"{len(trainer.splits[0][1])} validation), {args.epochs} epochs, batch {trainer.batch_size}, "
          f"Adam lr {trainer.lr}, {args.threads} thread(s); default strategy for seed-cnn: {default!r}\n")  # fmt: skip

    grid, grid_s = run(cfg.space, trainer, "grid", None, 0)
    scores = {t.arch: t.metrics["accuracy"] for t in grid.trials}
    costs = {t.arch: float(t.cost_seconds or 0.0) for t in grid.trials}
    best_arch = max(scores, key=lambda a: scores[a])
    ours, ours_s = run(cfg.space, trainer, make_strategy(default, cfg.strategy_options), args.trials, 0)
    same = all(scores[t.arch] == t.metrics["accuracy"] for t in ours.trials)
    ranked = sorted(scores.values(), reverse=True)

    def row(name: str, study: Study, seconds: float) -> str:
        b = study.best
        assert b is not None
        rank = ranked.index(b.metrics["accuracy"]) + 1
        return (f"| {name} | {len(study.trials)} | {b.metrics['accuracy']:.4f} | {rank} of 27 | {seconds:.1f} | "
                f"{seconds / grid_s:.2f} | {cfg.space.to_string(b.arch)} |")  # fmt: skip

    print(
        "| method | trials | best validation accuracy | its rank in the grid | wall s | wall / grid | best architecture |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(row("grid, exhaustive (the tutorial)", grid, grid_s))
    print(row(f"{default} (nasforge default), seed 0", ours, ours_s))
    ratio = ours.best.metrics["accuracy"] / grid.best.metrics["accuracy"]  # type: ignore[union-attr]
    print(f"\naccuracy ratio default / grid: {ratio:.4f}; time ratio: {ours_s / grid_s:.2f}; "
          f"the real default run reproduced the grid's scores of the same architectures: {'yes' if same else 'NO'}\n")  # fmt: skip

    def lookup(arch: Arch, budget: float | None = None) -> Result:
        if budget is not None:
            raise TrialFailed("multi-fidelity")
        return Result({"accuracy": scores[arch]}, cost_seconds=costs[arch])

    print(f"Replayed on the grid's measured scores and times, {args.seeds} search seeds, {args.trials} trials each:\n")
    print(
        "| strategy | mean best validation accuracy | runs that found the grid's best | mean regret (points) | mean training s (vs grid) |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name in sorted(STRATEGIES):
        if name == "grid":
            continue
        try:
            bests, found, seconds = [], 0, []
            for seed in range(args.seeds):
                study, _ = run(cfg.space, Function(lookup), make_strategy(name), args.trials, seed)
                if any(t.error == "multi-fidelity" for t in study.trials):
                    raise TrialFailed("asks for reduced budgets")
                b = study.best
                assert b is not None
                bests.append(b.metrics["accuracy"])
                found += b.arch == best_arch
                seconds.append(sum(costs[t.arch] for t in study.trials))
        except (TrialFailed, Exception) as exc:  # noqa: BLE001 - a strategy that cannot replay is reported, not fatal
            print(f"| {name} | n/a ({exc}) | | | |")
            continue
        mark = " (default)" if name == default else ""
        print(f"| {name}{mark} | {statistics.mean(bests):.4f} | {found} of {args.seeds} | "
              f"{100 * (scores[best_arch] - statistics.mean(bests)):.2f} | "
              f"{statistics.mean(seconds):.1f} ({statistics.mean(seconds) / sum(costs.values()):.2f}) |")  # fmt: skip
    print(f"\ngrid best: {cfg.space.to_string(best_arch)} at {scores[best_arch]:.4f}; "
          f"spread of the 27: {min(scores.values()):.4f}..{max(scores.values()):.4f}, "
          f"median {float(np.median(list(scores.values()))):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
