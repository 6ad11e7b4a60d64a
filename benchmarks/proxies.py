"""Zero-cost proxies against trained accuracy (Kendall tau), and whether a proxy warm start helps.

1. Trains ``--archs`` architectures of ``--space`` (sampled with ``--seed``; the whole space
   when it is smaller) on ``--dataset`` for ``--epochs`` epochs (holdout validation accuracy,
   1 thread), scores the same architectures with every zero-cost proxy at initialisation,
   and prints Kendall's tau of each proxy with the trained accuracy, its p-value and the
   time per architecture.
2. Runs real searches (the same training) with and without ``warm_start: {proxy:
   --warm-proxy, samples: --warm-samples, top: --warm-top}`` for each ``--inner`` strategy
   and ``--seeds`` seeds, and prints the mean best validation accuracy after k trials.
   Trained results are cached by architecture (training is deterministic per architecture),
   so a network is trained once however many searches meet it.

3. With ``--nb201 [PATH]`` (default ``$NASFORGE_NB201``): the same two parts on the NAS-Bench-201
   table without training, for the data-free proxies (``synflow``, ``params``, ``flops`` of the
   NB201 cell network on 3x32x32 inputs): tau with ``cifar10-val``, and the test-accuracy
   regret (oracle minus found, both picked by validation) after k table queries with and
   without the warm start.

    python benchmarks/proxies.py                       # cnn1d on MNIST-1D, ~5-8 min on 1 core
    python benchmarks/proxies.py --space seed-cnn --dataset digits --archs 27
    python benchmarks/proxies.py --nb201 --archs 200 --inner random,evolution,local-search \
        --seeds 10 --trials 100 --warm-samples 500 --warm-top 10
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Sequence

import numpy as np
import torch
from scipy.stats import kendalltau

from nasforge import Study
from nasforge.evaluators import PROXIES, Result, Trainer, ZeroCost
from nasforge.space import Arch, builtin
from nasforge.strategies import STRATEGIES, WarmStart, make_strategy

BUILTIN = ["synflow", "snip", "grad_norm", "jacob_cov", "naswot", "params", "flops"]
INNER_OPTIONS = {"evolution": {"population": 8, "sample_size": 3}, "local-search": {"initial": 3},
                 "bayesian": {"initial": 5}}  # fmt: skip


class Cached:
    """The trainer's results by architecture id (each network trained once)."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.results: dict[str, Result] = {}
        self.seconds = 0.0

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result:
        if arch.id not in self.results:
            t0 = time.perf_counter()
            self.results[arch.id] = self.trainer.evaluate(arch)
            self.seconds += time.perf_counter() - t0
        return self.results[arch.id]


class CachedRanker:
    """A proxy's ``rank``, remembered by architecture id (the proxy is deterministic per arch)."""

    def __init__(self, zc: ZeroCost) -> None:
        self.zc = zc
        self.scores: dict[str, float] = {}
        self.seconds = 0.0

    def __call__(self, archs: Sequence[Arch]) -> list[float]:
        todo = [a for a in archs if a.id not in self.scores]
        t0 = time.perf_counter()
        for arch, score in zip(todo, self.zc.rank(todo), strict=True):
            self.scores[arch.id] = score
        self.seconds += time.perf_counter() - t0
        return [self.scores[a.id] for a in archs]


def pick(space, n: int, seed: int) -> list[Arch]:  # type: ignore[no-untyped-def]
    if space.cardinality <= n:
        return list(space.enumerate())
    rng = np.random.default_rng(seed)
    found: dict[str, Arch] = {}
    while len(found) < n:
        arch = space.sample(rng)
        found.setdefault(space.canonical(arch), arch)
    return list(found.values())


def finite(values: Sequence[float]) -> list[float]:
    """-inf (an unusable network) as the worst finite value minus one, for rank statistics."""
    ok = [v for v in values if math.isfinite(v)]
    low = min(ok) - 1.0 if ok else 0.0
    return [v if math.isfinite(v) else low for v in values]


def mean_se(xs: Sequence[float]) -> str:
    if len(xs) < 2:
        return f"{xs[0]:.3f}"
    return f"{statistics.fmean(xs):.3f} ± {statistics.stdev(xs) / math.sqrt(len(xs)):.3f}"


def nb201(args: argparse.Namespace) -> None:
    """Parts 1 and 2 on the NAS-Bench-201 table: data-free proxies, table lookups for accuracy."""
    import csv

    from nasforge.evaluators import nasbench201

    table = nasbench201(args.nb201 or None, metric="cifar10-val", report=["cifar10-test"])
    with open(table.path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    oracle = max(rows, key=lambda r: float(r["cifar10-val"]))
    oracle_test = float(oracle["cifar10-test"])
    proxies = ["synflow", "params", "flops"]
    zc = ZeroCost(None, space="nasbench201", proxy=proxies, input_shape=[3, 32, 32], num_classes=10, threads=1,
                  seed=args.seed)  # fmt: skip
    space = builtin("nasbench201")
    space = space.with_constraints(zc.constraints(space))
    archs = pick(space, args.archs, args.seed)
    acc = [table.evaluate(a).metrics["cifar10-val"] for a in archs]
    zc.score(archs[0])
    t0 = time.perf_counter()
    scores = [zc.score(a) for a in archs]
    ms = (time.perf_counter() - t0) / len(archs) * 1e3
    print(f"## Data-free proxies vs NAS-Bench-201 cifar10-val (12-epoch table): {len(archs)} sampled cells\n")
    print(f"Cell network C=16, N=1 on one all-ones 3x32x32 input; {ms:.0f} ms per cell for the three together.\n")
    print("| proxy | Kendall τ | p-value |")
    print("| --- | --- | --- |")
    for name in proxies:
        tau, p = kendalltau(finite([s[name] for s in scores]), acc)
        print(f"| {name} | {float(tau):+.3f} | {float(p):.2g} |")
    wanted = [s for s in args.inner.split(",") if s and s != "none" and s in STRATEGIES]
    if not wanted:
        return
    ranker = CachedRanker(ZeroCost(None, space="nasbench201", proxy=args.warm_proxy, input_shape=[3, 32, 32],
                                   num_classes=10, threads=1, seed=args.seed))  # fmt: skip
    checkpoints = [k for k in (10, 25, 50, 100, 200, 300) if k <= args.trials]
    print(f"\n## Warm start on the table: {args.warm_proxy} ranks {args.warm_samples} sampled cells, the top "
          f"{args.warm_top} go first\n")  # fmt: skip
    print(f"cifar10 test-accuracy regret (percentage points) of the best-by-validation cell found after k "
          f"queries, mean ± standard error over {args.seeds} seeds.\n")  # fmt: skip
    print("| strategy | warm start | " + " | ".join(f"k = {k}" for k in checkpoints) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in checkpoints) + " |")
    for inner in wanted:
        for warm in (False, True):
            regret: dict[int, list[float]] = {k: [] for k in checkpoints}
            for seed in range(args.seeds):
                strategy = make_strategy(inner, INNER_OPTIONS.get(inner, {}))
                if warm:
                    strategy = WarmStart(strategy, ranker, samples=args.warm_samples, top=args.warm_top)
                trials = (
                    Study(space, table, strategy, {"cifar10-val": "maximize"}, seed=seed).run(trials=args.trials).trials
                )
                for k in checkpoints:
                    best = max(trials[:k], key=lambda t: t.metrics["cifar10-val"])
                    regret[k].append(oracle_test - float(best.report["cifar10-test"]))
            label = f"{args.warm_proxy} top {args.warm_top} of {args.warm_samples}" if warm else "none"
            print(f"| {inner} | {label} | " + " | ".join(mean_se(regret[k]) for k in checkpoints) + " |")
    print(f"\nWarm-start ranking: {len(ranker.scores)} cells scored ({ranker.seconds:.0f} s).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="cnn1d")
    parser.add_argument("--dataset", default="mnist1d")
    parser.add_argument("--archs", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="the proxies' mini-batch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--inner", default="random,evolution", help="strategies to warm-start, comma-separated (none: skip)"
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--warm-proxy", default="synflow")
    parser.add_argument("--warm-samples", type=int, default=300)
    parser.add_argument("--warm-top", type=int, default=5)
    parser.add_argument("--nb201", nargs="?", const="", default=None, metavar="PATH",
                        help="the NAS-Bench-201 table instead of training (default: $NASFORGE_NB201)")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.nb201 is not None:
        return nb201(args)
    t_start = time.perf_counter()

    trainer = Trainer(args.dataset, space=args.space, epochs=args.epochs, threads=1, measure_latency=False,
                      seed=args.seed)  # fmt: skip
    space = builtin(args.space)
    space = space.with_constraints(trainer.constraints(space))
    cached = Cached(trainer)
    archs = pick(space, args.archs, args.seed)
    acc = [cached.evaluate(a).metrics["accuracy"] for a in archs]
    train_s = cached.seconds / len(archs)

    rows = []
    for name in [p for p in BUILTIN if p in PROXIES]:
        zc = ZeroCost(trainer.data, space=space, proxy=name, batch_size=args.batch_size, seed=args.seed, threads=1)
        zc.score(archs[0])  # first call: lazy imports and allocator warm-up, not timed
        t0 = time.perf_counter()
        scores = [zc.score(a)[name] for a in archs]
        ms = (time.perf_counter() - t0) / len(archs) * 1e3
        tau, p = kendalltau(finite(scores), acc)
        rows.append((name, float(tau), float(p), ms, sum(not math.isfinite(s) for s in scores)))

    print(f"## Zero-cost proxies vs trained accuracy: {len(archs)} {space.name} architectures on {args.dataset}\n")
    print(f"Validation accuracy after {args.epochs} epochs (holdout 20%, 1 thread): "
          f"{min(acc):.3f} to {max(acc):.3f}, median {statistics.median(acc):.3f}; "
          f"training {train_s:.2f} s per architecture. Proxies on one mini-batch of {args.batch_size}, "
          f"at the initialisation the training starts from.\n")  # fmt: skip
    print("| proxy | Kendall τ | p-value | ms per arch |")
    print("| --- | --- | --- | --- |")
    for name, tau, p, ms, bad in sorted(rows, key=lambda r: -r[1]):
        note = f" ({bad} unusable)" if bad else ""
        print(f"| {name}{note} | {tau:+.3f} | {p:.2g} | {ms:.1f} |")

    wanted = [s for s in args.inner.split(",") if s and s != "none"]
    inners = [s for s in wanted if s in STRATEGIES]
    skipped = [s for s in wanted if s not in STRATEGIES]
    ranker = CachedRanker(ZeroCost(trainer.data, space=space, proxy=args.warm_proxy, batch_size=args.batch_size,
                                   seed=args.seed, threads=1))  # fmt: skip
    checkpoints = sorted({k for k in (1, args.warm_top, 10, args.trials) if k <= args.trials})
    if not inners:
        return
    print(f"\n## Warm start: {args.warm_proxy} ranks {args.warm_samples} sampled architectures, the top "
          f"{args.warm_top} go first\n")  # fmt: skip
    print(f"Best validation accuracy after k trials, mean ± standard error over {args.seeds} seeds "
          f"(search seeds 0-{args.seeds - 1}; real training, cached by architecture).\n")  # fmt: skip
    print("| strategy | warm start | " + " | ".join(f"k = {k}" for k in checkpoints) + " | training s per search |")
    print("| --- | --- | " + " | ".join("---" for _ in checkpoints) + " | --- |")
    for inner in inners:
        for warm in (False, True):
            best: dict[int, list[float]] = {k: [] for k in checkpoints}
            spent: list[float] = []
            for seed in range(args.seeds):
                strategy = make_strategy(inner, INNER_OPTIONS.get(inner, {}))
                if warm:
                    strategy = WarmStart(strategy, ranker, samples=args.warm_samples, top=args.warm_top)
                study = Study(space, cached, strategy, {"accuracy": "maximize"}, seed=seed).run(trials=args.trials)
                curve = np.maximum.accumulate([t.metrics.get("accuracy", 0.0) for t in study.trials])
                for k in checkpoints:
                    best[k].append(float(curve[min(k, len(curve)) - 1]))
                spent.append(sum(t.metrics.get("train_seconds", 0.0) for t in study.trials))
            label = f"{args.warm_proxy} top {args.warm_top} of {args.warm_samples}" if warm else "none"
            cells = " | ".join(mean_se(best[k]) for k in checkpoints)
            print(f"| {inner} | {label} | {cells} | {statistics.fmean(spent):.0f} |")
    if skipped:
        print(f"\n(not registered here, skipped: {', '.join(skipped)})")
    print(f"\nNetworks trained: {len(cached.results)} ({cached.seconds:.0f} s); warm-start ranking: "
          f"{len(ranker.scores)} networks scored ({ranker.seconds:.0f} s); "
          f"total {time.perf_counter() - t_start:.0f} s.")  # fmt: skip


if __name__ == "__main__":
    main()
