"""Check ``explain`` and ``importance`` from a small search against the whole NAS-Bench-201 table.

For each seed, a search of ``--trials`` table look-ups (random by default) runs through
``nasforge.search`` with the table evaluator; then

* **importance**: the fANOVA shares of the 6 edges from those trials (``compute_importance``)
  against the exact main-effect shares over all 15,625 cells (the variance of each edge's
  marginal mean over the table, over the total variance): Spearman's rank correlation;
* **swap effects**: the explanation's change for every single-operation swap of the best
  architecture found (24 swaps: measured where a trial measured it, else the surrogate's
  prediction) against the table's own difference: mean absolute error in accuracy points, for
  all swaps and for the predicted ones alone; and the share of the table's differences that
  fall inside the stated 95% intervals;
* **known facts in the words**: whether the text says (a) ``nor_conv_3x3`` is the best value on
  average of most edges, (b) ``none`` or ``avg_pool_3x3`` is worse beyond the noise on an edge
  into a compute node, (c) the best trials share ``cell.0-3 = 'skip_connect'`` (the residual skip
  from the input to the output) or the best keeps it as a decision that mattered.

The noise of one trial is measured on the table itself: equivalent cells (same canonical key)
were trained separately, so the pooled spread of their values is the table's repeat noise; it is
passed to ``explain(noise=...)``.

    NASFORGE_NB201=../shared/benchmarks/nasbench201_12epoch.csv nice python benchmarks/explain_nb201.py --seeds 20
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
from scipy.stats import spearmanr

import nasforge
from nasforge.evaluators import nasbench201
from nasforge.report import compute_importance, explain
from nasforge.space import Arch, builtin

EDGES = ["cell.0-1", "cell.0-2", "cell.1-2", "cell.0-3", "cell.1-3", "cell.2-3"]
COMPUTE_INTO = {"cell.0-1", "cell.0-2", "cell.1-2"}  # edges feeding the intermediate (compute) nodes


def table_truth(rows: dict[str, dict[str, Any]], space: Any, metric: str) -> dict[str, Any]:
    """Exact main-effect shares per edge, each arch's value, and the repeat noise."""
    archs, vals = [], []
    for key, row in rows.items():
        archs.append(space.from_string(key))
        vals.append(float(row[metric]))
    y = np.array(vals)
    total = float(y.var())
    shares = {}
    for e in EDGES:
        by: dict[str, list[float]] = defaultdict(list)
        for a, v in zip(archs, y):
            by[a[e]].append(v)
        means = np.array([np.mean(by[o]) for o in sorted(by)])
        shares[e] = float(((means - y.mean()) ** 2).mean() / total)
    groups: dict[str, list[float]] = defaultdict(list)
    for a, v in zip(archs, y):
        groups[space.canonical(a)].append(float(v))
    reps = [g for g in groups.values() if len(g) > 1]
    dof = sum(len(g) - 1 for g in reps)
    pooled = sum(float(((np.array(g) - np.mean(g)) ** 2).sum()) for g in reps) / dof
    value = {space.to_string(a): float(v) for a, v in zip(archs, y)}
    test = {space.to_string(a): float(rows[k][metric.replace("-val", "-test")]) for a, k in zip(archs, rows)}
    return {"shares": shares, "noise": math.sqrt(pooled), "groups": len(reps), "value": value, "test": test}


def one_seed(space: Any, table: Any, truth: dict[str, Any], metric: str, strategy: str, trials: int, seed: int,
             evaluate: bool, search: int | None = None) -> dict[str, Any]:  # fmt: skip
    """One search of ``trials`` look-ups; with ``evaluate``, ``search`` (default ``trials - 24``)
    searched, then ``study.evaluate_neighbours`` (what ``nasforge explain --evaluate`` runs: the
    best's unmeasured neighbours, and a better neighbour's, until the best's are all measured)
    within the rest of the ``trials``."""
    first = (trials - 24 if search is None else search) if evaluate else trials
    study = nasforge.search(space, table, strategy=strategy, objectives={metric: "maximize"}, trials=first,
                            seed=seed, progress=False)  # fmt: skip
    if evaluate:
        study.evaluate_neighbours(max_trials=trials - first)
    n_trials = len(study.trials)
    imp = compute_importance(study, seed=seed)
    rho = float(spearmanr([imp.shares[e] for e in EDGES], [truth["shares"][e] for e in EDGES]).statistic)
    exp = explain(study, noise=truth["noise"], seed=seed)
    best = Arch(exp.arch)
    ref, tref = truth["value"][space.to_string(best)], truth["test"][space.to_string(best)]
    errs: dict[str, list[float]] = {"measured": [], "predicted": [], "test": [], "floor": []}
    inside = 0
    for e in exp.effects:
        said = [(a.value, a.change, a.low, a.high, "measured") for a in e.alternatives]
        said += [(p.value, p.change, p.low, p.high, "predicted") for p in e.predicted]
        for value, change, low, high, kind in said:
            key = space.to_string(Arch({**best.to_dict(), e.decision: value}))
            true = truth["value"][key] - ref
            errs[kind].append(abs(change - true))
            errs["test"].append(abs(change - (truth["test"][key] - tref)))
            errs["floor"].append(abs(true - (truth["test"][key] - tref)))  # the table's own val/test disagreement
            inside += low <= true <= high
    n = len(errs["measured"]) + len(errs["predicted"])
    text = exp.text
    best_avg = [vs[0].value for vs in exp.value_effects.values() if vs]
    fact_a = best_avg.count("nor_conv_3x3") > max(best_avg.count(o) for o in set(best_avg) - {"nor_conv_3x3"} or [""])
    fact_b = any(
        v.value in ("none", "avg_pool_3x3") and v.high < -exp.tolerance
        for name, vs in exp.value_effects.items() if name in COMPUTE_INTO for v in vs
    )  # fmt: skip
    fact_c = any(s.decision == "cell.0-3" and s.value == "skip_connect" for s in exp.shared) or (
        best["cell.0-3"] == "skip_connect"
        and any(e.decision == "cell.0-3" and e.verdict == "mattered" for e in exp.effects)
    )
    mean = lambda a: float(np.mean(a)) if a else math.nan
    return {"rho": rho, "mae": mean(errs["measured"] + errs["predicted"]), "mae_pred": mean(errs["predicted"]),
            "mae_test": mean(errs["test"]), "floor": mean(errs["floor"]), "n_pred": len(errs["predicted"]), "n": n, "trials": n_trials,
            "inside": inside / max(1, n), "facts": (fact_a, fact_b, fact_c), "best": exp.arch_string,
            "text": text}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=os.environ.get("NASFORGE_NB201"), help="the NB201 CSV ($NASFORGE_NB201)")
    parser.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100", "imagenet"])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--strategy", default="random")
    parser.add_argument("--evaluate", action="store_true", help="search --search trials, then measure the best's "
                        "neighbours (and a better neighbour's, until the best's are all measured) up to --trials")
    parser.add_argument("--search", type=int, help="with --evaluate: trials searched before (default: trials - 24)")
    parser.add_argument("--show", action="store_true", help="print the first seed's explanation")
    args = parser.parse_args()
    if not args.table or not Path(args.table).is_file():
        parser.error("point --table or NASFORGE_NB201 at nasbench201_12epoch.csv")
    metric = f"{args.dataset}-val"
    space = builtin("nasbench201")
    table = nasbench201(args.table, metric=metric, space=space)
    rows = {k: dict(r) for k, r in table.rows.items()}
    truth = table_truth(rows, space, metric)
    print(f"table: {len(rows)} cells, {metric}; repeat noise {truth['noise']:.3f} points "
          f"(pooled over {truth['groups']} classes of equivalent cells)")  # fmt: skip
    print("exact main-effect shares:", {e: round(s, 3) for e, s in truth["shares"].items()})
    out = []
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        r = one_seed(space, table, truth, metric, args.strategy, args.trials, seed, args.evaluate, args.search)
        out.append(r)
        print(f"seed {seed:2d}: {r['trials']} trials, spearman {r['rho']:+.3f}  swap MAE {r['mae']:.2f} (predicted "
              f"{r['mae_pred']:.2f}, {r['n_pred']}/{r['n']}; against the test column {r['mae_test']:.2f}, "
              f"floor {r['floor']:.2f})  "
              f"inside 95% {r['inside']:.0%}  facts {r['facts']}  best {r['best']}", flush=True)  # fmt: skip
        if args.show and seed == 0:
            print(r["text"])
    rho = np.array([r["rho"] for r in out])
    mae = np.array([r["mae"] for r in out])
    pred = np.array([r["mae_pred"] for r in out])
    test = np.array([r["mae_test"] for r in out])
    floor = np.array([r["floor"] for r in out])
    facts = np.array([r["facts"] for r in out])
    se = lambda a: float(np.nanstd(a, ddof=1) / math.sqrt(np.sum(~np.isnan(a))))
    searched = args.trials - 24 if args.search is None else args.search
    how = f"{searched} searched + neighbours until the best's are measured" if args.evaluate else f"{args.trials} trials"
    print(f"\n{args.strategy}, {how} (at most {args.trials}), {args.seeds} seeds ({time.perf_counter() - t0:.0f} s):")
    print(f"  importance Spearman vs the full table: mean {rho.mean():.3f} ± {se(rho):.3f}, median {np.median(rho):.3f}, "
          f"share >= 0.9: {np.mean(rho >= 0.9):.0%}")  # fmt: skip
    print(f"  swap-effect MAE (points): all {mae.mean():.2f} ± {se(mae):.2f}; predicted only {np.nanmean(pred):.2f} ± {se(pred):.2f}; "
          f"against the test column's swap effects {test.mean():.2f} ± {se(test):.2f} "
          f"(the table's own val-vs-test swap disagreement: {floor.mean():.2f})")
    print(f"  table's swap effect inside the stated 95% interval: {np.mean([r['inside'] for r in out]):.0%}")
    print(f"  facts in the words: conv3x3 best on average {facts[:, 0].mean():.0%}, none/pool worse on a compute edge "
          f"{facts[:, 1].mean():.0%}, residual skip 0->3 {facts[:, 2].mean():.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
