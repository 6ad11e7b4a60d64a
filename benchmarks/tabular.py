"""nasforge's MLP search on tabular data against scikit-learn, on the same splits.

For each data set (breast_cancer and wine: classification, test accuracy; diabetes:
regression, test R²), all bundled with scikit-learn, and each seed, one stratified test split
is set aside by ``nasforge.data.Dataset.from_arrays(..., seed=seed)``; every method trains on
the rest and is scored once on that test split:

* ``nasforge``: the default config of ``examples/tabular.yaml`` (space ``mlp``, bayesian, 3-fold
  CV, 20 epochs, lr 0.003), ``--seconds`` of search, then the best architecture retrained on all
  the search data; inputs (and the regression target) standardized with training statistics;
* ``nasforge raw``: the same search with ``standardize=False`` (what the first version did);
* scikit-learn: ``StandardScaler + LogisticRegression`` (``Ridge`` for regression),
  ``StandardScaler + MLPClassifier`` (``MLPRegressor``) and ``HistGradientBoosting*``, default
  settings, fitted on the same training part.

Prints a markdown table: mean test score over the seeds, and its standard deviation.

    python benchmarks/tabular.py [--seconds 120] [--seeds 3] [--sets breast_cancer,wine,diabetes]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nasforge
from nasforge.data import Dataset
from nasforge.evaluators import Trainer
from nasforge.space import builtin

SETS: dict[str, tuple[Callable[..., Any], str]] = {
    "breast_cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
}


def nasforge_score(ds: Dataset, seconds: float, seed: int, standardize: bool) -> float:
    trainer = Trainer(ds, space="mlp", folds=3, epochs=20, lr=3e-3, seed=seed, threads=1, standardize=standardize,
                      measure_latency=False)  # fmt: skip
    goal = {"mse": "minimize"} if ds.regression else {"accuracy": "maximize"}
    study = nasforge.search(builtin("mlp"), trainer, strategy="bayesian", objectives=goal, seconds=seconds,
                            seed=seed, progress=False)  # fmt: skip
    assert study.best is not None
    model = trainer.retrain(study.best.arch)
    scores = trainer.test(model)
    return scores["test_r2"] if ds.regression else scores["test_accuracy"]


def sklearn_scores(ds: Dataset, seed: int) -> dict[str, float]:
    x, y, xt, yt = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    if ds.regression:
        models = {
            "scaled Ridge": make_pipeline(StandardScaler(), Ridge()),
            "scaled MLPRegressor": make_pipeline(StandardScaler(), MLPRegressor(max_iter=2000, random_state=seed)),
            "HistGradientBoosting": HistGradientBoostingRegressor(random_state=seed),
        }
    else:
        models = {
            "scaled LogisticRegression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
            "scaled MLPClassifier": make_pipeline(StandardScaler(), MLPClassifier(max_iter=2000, random_state=seed)),
            "HistGradientBoosting": HistGradientBoostingClassifier(random_state=seed),
        }
    out = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        pred = model.predict(xt)
        out[name] = float(r2_score(yt, pred)) if ds.regression else float(accuracy_score(yt, pred))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="search budget per data set and seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows: dict[str, dict[str, list[float]]] = {}
    for name in args.sets.split(","):
        loader, task = SETS[name]
        bunch = loader()
        for seed in range(args.seeds):
            ds = Dataset.from_arrays(bunch.data, bunch.target, name=name, task=task, seed=seed)
            t0 = time.perf_counter()
            found = {
                "nasforge (standardized)": nasforge_score(ds, args.seconds, seed, True),
                "nasforge raw (unscaled)": nasforge_score(ds, args.seconds, seed, False),
                **sklearn_scores(ds, seed),
            }
            for method, score in found.items():
                rows.setdefault(name, {}).setdefault(method, []).append(score)
            shown = ", ".join(f"{m} {s:.4f}" for m, s in found.items())
            print(f"{name} seed {seed} ({time.perf_counter() - t0:.0f} s): {shown}", file=sys.stderr)
    metric = {"breast_cancer": "test accuracy", "wine": "test accuracy", "diabetes": "test R²"}
    print(f"\n{args.seeds} seeds, {args.seconds:g} s of search per data set and seed; mean ± std over the seeds\n")
    for name, methods in rows.items():
        print(f"| {name} ({metric[name]}) | mean | std |\n|---|---|---|")
        for method, scores in methods.items():
            std = statistics.pstdev(scores) if len(scores) > 1 else float("nan")
            print(f"| {method} | {np.mean(scores):.4f} | {std:.4f} |")
        print()


if __name__ == "__main__":
    main()
