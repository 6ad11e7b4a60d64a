"""Does ``refine`` keep the best architectures? Measured on the whole NAS-Bench-201 table.

For each seed: a search of ``--trials`` look-ups (random by default) on a ``*-val`` column, then
``nasforge.refine`` with the table's repeat noise (the pooled spread of equivalent cells, as in
``explain_nb201.py``). Reported:

* **kept**: the share of runs whose refined space still holds the table's best-by-validation
  architecture (any of its equivalent cells, same canonical key) — the goal is >= 95%;
* **top-1% kept**: the share of the table's top-1% cells (by validation) the refined space holds;
* the size of the refined space (cells, of 15,625);
* **queries to the top 1%**: a fresh search (random and evolution, ``--budget`` queries) in the
  refined space and in the full space, from the same seed; the median number of queries until
  one lands in the table's top 1% (runs that never do count as ``budget + 1``), not counting
  the ``--trials`` the refinement cost.

    NASFORGE_NB201=../shared/benchmarks/nasbench201_12epoch.csv nice python benchmarks/refine_nb201.py --seeds 20
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import nasforge
from nasforge.evaluators import nasbench201
from nasforge.space import SearchSpace, builtin


def repeat_noise(space: SearchSpace, value: dict[str, float]) -> float:
    groups: dict[str, list[float]] = defaultdict(list)
    for key, v in value.items():
        groups[space.canonical(space.from_string(key))].append(v)
    reps = [g for g in groups.values() if len(g) > 1]
    dof = sum(len(g) - 1 for g in reps)
    return math.sqrt(sum(float(((np.array(g) - np.mean(g)) ** 2).sum()) for g in reps) / dof)


def queries_to(space: SearchSpace, table: Any, metric: str, strategy: str, budget: int, seed: int, threshold: float) -> int:
    study = nasforge.search(space, table, strategy=strategy, objectives={metric: "maximize"}, trials=budget, seed=seed,
                            progress=False)  # fmt: skip
    for k, t in enumerate(sorted(study.trials, key=lambda t: t.number), 1):
        if t.metrics.get(metric, -math.inf) >= threshold:
            return k
    return budget + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=os.environ.get("NASFORGE_NB201"), help="the NB201 CSV ($NASFORGE_NB201)")
    parser.add_argument("--datasets", default="cifar10,cifar100,imagenet")
    parser.add_argument("--trials", type=int, default=100, help="trials of the search that is refined")
    parser.add_argument("--strategy", default="random", help="strategy of the search that is refined")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=300, help="queries of the searches after refinement")
    parser.add_argument("--searchers", default="random,evolution")
    args = parser.parse_args()
    if not args.table or not Path(args.table).is_file():
        parser.error("point --table or NASFORGE_NB201 at nasbench201_12epoch.csv")
    space = builtin("nasbench201")
    for ds in args.datasets.split(","):
        metric = f"{ds}-val"
        table = nasbench201(args.table, metric=metric, space=space)
        value = {k: float(r[metric]) for k, r in table.rows.items()}
        noise = repeat_noise(space, value)
        ranked = sorted(value, key=lambda k: -value[k])
        top = ranked[0]
        top_classes = {space.canonical(space.from_string(k)) for k in ranked if value[k] == value[top]}
        top1 = ranked[: math.ceil(0.01 * len(ranked))]
        threshold = value[top1[-1]]
        kept, kept1, sizes, changes = [], [], [], []
        q: dict[tuple[str, str], list[int]] = defaultdict(list)
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            study = nasforge.search(space, table, strategy=args.strategy, objectives={metric: "maximize"},
                                    trials=args.trials, seed=seed, progress=False)  # fmt: skip
            refined = nasforge.refine(study, noise=noise, seed=seed)
            rs = refined.space
            members = [a for a in rs.enumerate()]
            classes = {rs.canonical(a) for a in members}
            kept.append(bool(classes & top_classes))
            kept1.append(np.mean([rs.satisfies(space.from_string(k)) or rs.canonical(space.from_string(k)) in classes
                                  for k in top1]))  # fmt: skip
            sizes.append(len(members))
            changes.append(len(refined.changes))
            for name in args.searchers.split(","):
                q[(name, "full")].append(queries_to(space, table, metric, name, args.budget, 1000 + seed, threshold))
                q[(name, "refined")].append(queries_to(rs, table, metric, name, args.budget, 1000 + seed, threshold))
            if seed == 0:
                print(refined.text)
        print(f"\nNAS-Bench-201 {ds}: refine after {args.strategy} x {args.trials} trials, {args.seeds} seeds "
              f"({time.perf_counter() - t0:.0f} s); noise {noise:.3f} points per cell")  # fmt: skip
        print(f"  best-by-validation cell kept: {np.mean(kept):.0%}; top-1% cells kept: {np.mean(kept1):.0%} (mean)")
        print(f"  refined space: median {int(np.median(sizes))} of {len(value)} cells "
              f"(range {min(sizes)}-{max(sizes)}); median {int(np.median(changes))} changes")  # fmt: skip
        for name in args.searchers.split(","):
            full, ref = np.array(q[(name, "full")]), np.array(q[(name, "refined")])
            print(f"  {name}: queries to the top 1% (median; > {args.budget} = not reached): full {np.median(full):.0f}, "
                  f"refined {np.median(ref):.0f}; reached within {args.budget}: {np.mean(full <= args.budget):.0%} / "
                  f"{np.mean(ref <= args.budget):.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
