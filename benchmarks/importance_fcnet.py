"""Check decision importance from a small search against a whole table other than NAS-Bench-201:
HPOLib FCNet (protein structure), 9 decisions (most of them ordered numbers), 62,208 cells.

For each seed, ``--trials`` random look-ups of ``--metric`` run through ``nasforge.search``; the
shares of ``nasforge.report.compute_importance`` are compared (Spearman over the 9 decisions) with
the exact main-effect shares of the whole table (the variance of each decision's marginal mean
over all cells, over the total variance), on the metric or (``--log``) its logarithm: the raw
losses are heavy-tailed (a few diverged runs hold most of the variance, main effects sum to 3%).
The raw estimator (the variance of the per-value means
of the trials themselves) is shown beside it.

    nice python benchmarks/importance_fcnet.py --table ../shared/benchmarks/hpolib_protein_structure.csv --seeds 20 [--log]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import nasforge
from nasforge.report import compute_importance
from nasforge.space import from_config

SPACE = Path(__file__).parent / "spaces" / "hpolib_fcnet.yaml"
ORDER = ["activation_fn_1", "activation_fn_2", "batch_size", "dropout_1", "dropout_2", "init_lr", "lr_schedule",
         "n_units_1", "n_units_2"]  # fmt: skip
"""The decisions in the order the table's ``arch`` key lists them."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="../shared/benchmarks/hpolib_protein_structure.csv")
    parser.add_argument("--metric", default="val_loss", help="a column of the table (minimized)")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--log", action="store_true", help="the log of the metric (FCNet's losses are heavy-tailed)")
    args = parser.parse_args()
    import yaml

    space = from_config(yaml.safe_load(SPACE.read_text()))
    values: dict[tuple, float] = {}
    with open(args.table, newline="") as fh:
        for row in csv.DictReader(fh):
            parts = row["arch"].split("-")
            key = tuple(type(v)(p) if not isinstance(v, str) else p for p, v in
                        zip(parts, [space.decision(n).domain.values()[0] for n in ORDER]))  # fmt: skip
            values[key] = math.log(float(row[args.metric])) if args.log else float(row[args.metric])
    keys = list(values)
    y = np.array([values[k] for k in keys])
    truth = {}
    for i, name in enumerate(ORDER):
        means = np.array([y[[k[i] == v for k in keys]].mean() for v in space.decision(name).domain.values()])
        truth[name] = float(((means - y.mean()) ** 2).mean() / y.var())
    print(f"table: {len(keys)} cells, {'log ' if args.log else ''}{args.metric}; exact main-effect shares:",
          {n: round(s, 3) for n, s in sorted(truth.items(), key=lambda kv: -kv[1])})  # fmt: skip

    def score(a: nasforge.Arch) -> dict[str, float]:
        return {args.metric: values[tuple(a[n] for n in ORDER)]}

    rhos, raws = [], []
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        study = nasforge.search(space, nasforge.Function(score), strategy="random", objectives={args.metric: "minimize"},
                                trials=args.trials, seed=seed, progress=False)  # fmt: skip
        imp = compute_importance(study, seed=seed)
        rhos.append(float(spearmanr([imp.shares[n] for n in ORDER], [truth[n] for n in ORDER]).statistic))
        ys = np.array([t.metrics[args.metric] for t in study.trials])
        raw = []
        for n in ORDER:
            m = [ys[[t.arch[n] == v for t in study.trials]] for v in space.decision(n).domain.values()]
            raw.append(float(np.var([g.mean() for g in m if len(g)])))
        raws.append(float(spearmanr(raw, [truth[n] for n in ORDER]).statistic))
        print(f"seed {seed:2d}: Spearman {rhos[-1]:+.3f} (raw per-value means {raws[-1]:+.3f})", flush=True)
    se = lambda a: float(np.std(a, ddof=1) / math.sqrt(len(a)))
    print(f"\nrandom x {args.trials} trials, {args.seeds} seeds ({time.perf_counter() - t0:.0f} s): importance Spearman "
          f"{np.mean(rhos):.3f} ± {se(rhos):.3f} (share >= 0.9: {np.mean(np.array(rhos) >= 0.9):.0%}); raw per-value "
          f"means {np.mean(raws):.3f} ± {se(raws):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
