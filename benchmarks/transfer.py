"""Transfer across studies on NAS-Bench-201: leave one data set out.

Each of CIFAR-10, CIFAR-100 and ImageNet16-120 is the target once; the other two are sources.
A source study is an earlier search on the source's ``*-val`` column (``--source-strategy``,
``--source-trials`` look-ups, its own seed). On the target, each strategy searches ``--queries``
look-ups on the target's ``*-val`` column, from the same seed:

* ``none``: no transfer;
* ``transfer``: ``strategy: {name: ..., transfer: [source A, source B]}`` (seeds from the
  sources' best, negative transfer dropped);
* ``transfer+refined``: the same, in the space ``nasforge.refine`` narrowed from the first
  source's study (with the source table's repeat noise); "kept" says how often that space still
  holds the target's best-by-validation cell;
* ``transfer+misleading``: the two sources and a third, misleading one: a study of the first
  source's table that *minimized* validation accuracy (its "best" are the worst cells); how often
  it is dropped as negative transfer, and what it costs;
* ``seeds only`` (bayesian): ``transfer: {..., prior: false}``, the seeding without the rank-based
  prior that ``bayesian`` gets by default (``prior: auto``);
* the Optuna peer: ``optuna-tpe`` (TPESampler, default options) with ``none`` and with
  ``enqueued``: the same seeds (``--top`` best of each source, interleaved) through
  ``study.enqueue_trial``, the Optuna way.

Reported per target: test regret (oracle test accuracy of the table's best-by-validation cell
minus the test accuracy of the best-by-validation cell found so far) at 10/25/50/100 queries,
mean ± s.e. over seeds; and the median number of queries to reach the target's top 1% by
validation (``> Q``: not reached in ``--queries``), and to its top 0.1% (16 cells), which tells
apart methods that all reach the top 1% at their first seed.

    NASFORGE_NB201=../shared/benchmarks/nasbench201_12epoch.csv nice python benchmarks/transfer.py --seeds 10
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
from nasforge.strategies import Transfer, TransferSource, make_strategy

DATASETS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet": "ImageNet16-120"}
MARKS = (10, 25, 50, 100)
VARIANTS = ("none", "transfer", "transfer+refined", "transfer+misleading", "seeds only")
OPTUNA = ("none", "enqueued")


def optuna_tpe(space: SearchSpace, table: Any, metric: str, seeds: list[dict[str, Any]], queries: int,
               seed: int) -> list[tuple[float, float]]:  # fmt: skip
    """(val, test) of each of ``queries`` TPE trials, the ``seeds`` enqueued first."""
    import optuna

    from nasforge.space import Arch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    for arch in seeds:
        study.enqueue_trial(dict(arch))
    target = metric.replace("-val", "-test")
    out = []
    for _ in range(queries):
        trial = study.ask()
        arch = Arch({d.name: trial.suggest_categorical(d.name, list(d.domain.values())) for d in space.decisions})
        res = table.evaluate(arch, None)
        study.tell(trial, float(res.metrics[metric]))
        out.append((float(res.metrics[metric]), float(res.report[target])))
    return out


def repeat_noise(space: SearchSpace, value: dict[str, float]) -> float:
    groups: dict[str, list[float]] = defaultdict(list)
    for key, v in value.items():
        groups[space.canonical(space.from_string(key))].append(v)
    reps = [g for g in groups.values() if len(g) > 1]
    dof = sum(len(g) - 1 for g in reps)
    return math.sqrt(sum(float(((np.array(g) - np.mean(g)) ** 2).sum()) for g in reps) / dof)


def search(space: SearchSpace, table: Any, metric: str, strategy: Any, trials: int, seed: int) -> Any:
    return nasforge.search(space, table, strategy=strategy, objectives={metric: "maximize"}, trials=trials, seed=seed,
                           progress=False)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=os.environ.get("NASFORGE_NB201"), help="the NB201 CSV ($NASFORGE_NB201)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--strategies", default="random,evolution,bayesian")
    parser.add_argument("--source-strategy", default="evolution")
    parser.add_argument("--source-trials", type=int, default=100)
    parser.add_argument("--top", type=int, default=10, help="seeds from each source")
    parser.add_argument("--optuna", action=argparse.BooleanOptionalAction, default=True, help="run the Optuna TPE peer")
    parser.add_argument("--targets", default=",".join(DATASETS), help="target data sets")
    args = parser.parse_args()
    if not args.table or not Path(args.table).is_file():
        parser.error("point --table or NASFORGE_NB201 at nasbench201_12epoch.csv")
    space = builtin("nasbench201")
    tables = {ds: nasbench201(args.table, metric=f"{ds}-val", report=[f"{ds}-test"], space=space) for ds in DATASETS}
    strategies = args.strategies.split(",")
    print(f"sources: {args.source_strategy} x {args.source_trials} trials each; targets: {args.queries} queries, "
          f"{args.seeds} seeds; {args.top} seeds per source\n")  # fmt: skip
    for target in args.targets.split(","):
        t0 = time.perf_counter()
        table = tables[target]
        val = {k: float(r[f"{target}-val"]) for k, r in table.rows.items()}
        test = {k: float(r[f"{target}-test"]) for k, r in table.rows.items()}
        ranked = sorted(val, key=lambda k: -val[k])
        best_rows = [k for k in ranked if val[k] == val[ranked[0]]]
        oracle = float(np.mean([test[k] for k in best_rows]))
        best_classes = {space.canonical(space.from_string(k)) for k in best_rows}
        threshold = val[ranked[math.ceil(0.01 * len(ranked)) - 1]]
        strict = val[ranked[math.ceil(0.001 * len(ranked)) - 1]]
        sources_ds = [ds for ds in DATASETS if ds != target]
        regret: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
        reach: dict[tuple[str, str], list[int]] = defaultdict(list)
        reach_strict: dict[tuple[str, str], list[int]] = defaultdict(list)
        dropped: dict[str, int] = defaultdict(int)
        kept = []
        for seed in range(args.seeds):
            sources, studies = [], []
            for j, ds in enumerate(sources_ds):
                st = search(space, tables[ds], f"{ds}-val", args.source_strategy, args.source_trials, 100 * seed + j)
                studies.append(st)
                sources.append(TransferSource.from_run(st.results(), name=ds))
            worst = nasforge.search(space, tables[sources_ds[0]], strategy=args.source_strategy,
                                    objectives={f"{sources_ds[0]}-val": "minimize"}, trials=args.source_trials,
                                    seed=100 * seed + 7, progress=False)  # fmt: skip
            misleading = TransferSource.from_run(worst.results(), name="misleading")
            src_val = {k: float(r[f"{sources_ds[0]}-val"]) for k, r in tables[sources_ds[0]].rows.items()}
            refined = nasforge.refine(studies[0], noise=repeat_noise(space, src_val), seed=seed).space
            kept.append(any(refined.satisfies(space.from_string(k)) for k in best_rows)
                        or any(refined.canonical(a) in best_classes for a in refined.enumerate()))  # fmt: skip
            seeds = [a for k in range(args.top) for src in sources if k < len(src.archs) for a in [src.archs[k]]]
            runs: list[tuple[str, str, list[tuple[float, float]], Any]] = []
            for name in strategies:
                for variant in VARIANTS:
                    if variant == "seeds only" and name != "bayesian":
                        continue
                    inner = make_strategy(name)
                    given = [*sources, misleading] if variant == "transfer+misleading" else sources
                    prior = False if variant == "seeds only" else "auto"
                    strategy = inner if variant == "none" else Transfer(inner, given, top=args.top, prior=prior)
                    where = refined if variant == "transfer+refined" else space
                    st = search(where, table, f"{target}-val", strategy, args.queries, 1000 + seed)
                    trials = sorted(st.trials, key=lambda t: t.number)
                    pairs = [(float(t.metrics[f"{target}-val"]), float(t.report[f"{target}-test"])) for t in trials
                             if f"{target}-val" in t.metrics]  # fmt: skip
                    runs.append((name, variant, pairs, strategy))
            if args.optuna:
                for variant in OPTUNA:
                    given_seeds = seeds if variant == "enqueued" else []
                    runs.append(("optuna-tpe", variant, optuna_tpe(space, table, f"{target}-val", given_seeds,
                                                                   args.queries, 1000 + seed), None))  # fmt: skip
            for name, variant, pairs, strategy in runs:
                best_val, best_test, curve, first, first_strict = -math.inf, math.nan, [], args.queries + 1, args.queries + 1
                for q, (v, test_v) in enumerate(pairs, 1):
                    if v > best_val:
                        best_val, best_test = v, test_v
                    if v >= threshold and first > args.queries:
                        first = q
                    if v >= strict and first_strict > args.queries:
                        first_strict = q
                    if q in MARKS:
                        curve.append(oracle - best_test)
                regret[(name, variant)].append(curve)
                reach[(name, variant)].append(first)
                reach_strict[(name, variant)].append(first_strict)
                if isinstance(strategy, Transfer):
                    for src, why in strategy.dropped.items():
                        dropped[f"{name}/{variant}/{src} ({'prior' if 'Kendall' in why else 'seeds'})"] += 1
        print(f"### NAS-Bench-201 {DATASETS[target]} as target (sources {', '.join(DATASETS[d] for d in sources_ds)}; "
              f"{time.perf_counter() - t0:.0f} s)\n")  # fmt: skip
        print("| strategy | transfer | " + " | ".join(f"regret @{m}" for m in MARKS)
              + " | queries to top 1% (median; reached) | to top 0.1% (median; reached) |")  # fmt: skip
        print("|---|---|" + "---|" * len(MARKS) + "---|---|")
        rows = [(n, v) for n in strategies for v in VARIANTS if (n, v) in regret]
        rows += [("optuna-tpe", v) for v in OPTUNA if ("optuna-tpe", v) in regret]
        for name, variant in rows:
            r = np.array(regret[(name, variant)])
            cells = [f"{r[:, k].mean():.2f} ± {r[:, k].std(ddof=1) / math.sqrt(len(r)):.2f}" for k in range(r.shape[1])]
            reached = []
            for qs in (reach, reach_strict):
                q = np.array(qs[(name, variant)])
                med = np.median(q)
                reached.append(f"{'> ' + str(args.queries) if med > args.queries else f'{med:.0f}'}; {np.mean(q <= args.queries):.0%}")
            print(f"| {name} | {variant} | " + " | ".join(cells) + f" | {reached[0]} | {reached[1]} |")
        print(f"\nrefined space (from the {DATASETS[sources_ds[0]]} study) keeps the target's best: {np.mean(kept):.0%}; "
              f"sources dropped as negative transfer: {dict(dropped) or 'none'}\n", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
