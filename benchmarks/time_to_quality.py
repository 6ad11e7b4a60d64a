"""Test accuracy of the final model against wall time, on real training (issue 11).

For each data set, budget and seed, every method runs as a user would run it: nasforge
methods through ``nasforge search CONFIG --seconds S --seed N`` (the wall time includes the
start, the search and the final retrain, which is also printed on its own), and the peer,
Optuna's TPE with its MedianPruner, in this process over the same space with the same
trainer (each trial reports its per-epoch validation accuracy; ``study.optimize(timeout=S)``,
then the same retrain and test). The tutorial's grid (27 networks of ``seed-cnn``) has no time
budget: it runs once per data set and seed.

    python benchmarks/time_to_quality.py --datasets digits --budgets 30 60 --seeds 0 1 2
    python benchmarks/time_to_quality.py --datasets digits mnist5k mnist1d --budgets 30 60 120 240 --png ttq.png

Prints one row per run and a summary table (mean test accuracy per method and budget), and
writes a PNG plot when asked. Machines here are shared: compare methods measured in the
same run, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

SPACES = {"digits": "cnn", "mnist5k": "cnn", "mnist1d": "cnn1d"}
"""The space each data set is searched in (the built-in chain spaces)."""

EXAMPLES = {"digits": "digits.yaml", "mnist5k": "mnist5k.yaml"}
"""The example whose trainer options and ASHA rungs a data set's runs use (read from the file)."""

MNIST1D_TRAINER: dict[str, Any] = {"validation": 0.2, "epochs": 12, "batch_size": 32, "lr": 0.003,
                                   "scheduler": "onecycle", "measure_latency": False}  # fmt: skip
"""MNIST-1D has no example: its trainer options."""


def example_setup(dataset: str) -> tuple[dict[str, Any], int]:
    """The trainer options every method uses on ``dataset`` (the same networks, trained the same
    way) and ASHA's first rung: those of its example, without ``dataset`` and ``time_limit``
    (the RESULTS rows of 2026-12-01 were measured before the mnist5k example had one)."""
    if dataset not in EXAMPLES:
        return dict(MNIST1D_TRAINER), 2
    example = yaml.safe_load((ROOT / "examples" / EXAMPLES[dataset]).read_text())
    trainer = {k: v for k, v in example["evaluator"].items() if k not in ("dataset", "time_limit")}
    return trainer, int(example["pruner"]["min_steps"])


REFERENCE = {"digits": 0.99, "mnist5k": 0.98, "mnist1d": 0.95}
"""The goals of issue 11 (hand-made reference nets reach about these), drawn as lines."""

METHODS = ["grid", "random", "bayesian", "bayesian+asha", "one-shot", "optuna-tpe+median"]


def config(dataset: str, method: str) -> dict[str, Any]:
    """The run config of a nasforge method on ``dataset`` (the budget comes from the command line)."""
    trainer, min_steps = example_setup(dataset)
    evaluator: dict[str, Any] = {"dataset": dataset, **trainer}
    cfg: dict[str, Any] = {"name": f"{dataset}-{method}", "seed": 0, "space": SPACES[dataset],
                           "objectives": {"accuracy": "maximize"}, "executor": {"name": "local", "workers": 2}}  # fmt: skip
    if method == "grid":
        cfg.update(space="seed-cnn" if dataset != "mnist1d" else "cnn1d", strategy="grid", budget={"trials": 27})
        evaluator = {"dataset": dataset, "folds": 3, "epochs": 10, "batch_size": 64, "lr": 0.001,
                     "measure_latency": False}  # fmt: skip  (the tutorial's own protocol: examples/seed_cnn.yaml)
    elif method == "random":
        cfg["strategy"] = "random"
    elif method == "bayesian":
        cfg["strategy"] = "bayesian"
    elif method == "bayesian+asha":
        cfg.update(strategy="bayesian", pruner={"name": "asha", "eta": 3, "min_steps": min_steps})
    elif method == "one-shot":
        cfg["strategy"] = "evolution"
        evaluator["one_shot"] = {}
    else:
        raise ValueError(method)
    cfg["evaluator"] = evaluator
    return cfg


def run_nasforge(dataset: str, method: str, budget: float, seed: int, work: Path) -> dict[str, Any]:
    cfg = config(dataset, method)
    path = work / f"{dataset}-{method}-{budget:g}-{seed}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run_dir = work / path.stem
    cmd = [sys.executable, "-m", "nasforge.cli", "search", str(path), "--run-dir", str(run_dir), "--seed", str(seed)]
    if method != "grid":
        cmd += ["--seconds", f"{budget:g}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=work)
    wall = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        return {"error": out.strip().splitlines()[-1] if out.strip() else f"exit {proc.returncode}", "wall": wall}
    if not (run_dir / "best" / "arch.json").exists():
        return {"error": "no complete trial within the budget", "wall": wall}
    record = json.loads((run_dir / "best" / "arch.json").read_text())
    retrain = re.search(r"in ([0-9.]+) s", out[out.find("retrained"):]) if "retrained" in out else None
    meta = _meta(run_dir)
    return {"test": record["test_accuracy"], "wall": wall, "retrain": float(retrain.group(1)) if retrain else None,
            "search": meta.get("elapsed_seconds"), "trials": meta.get("trials")}  # fmt: skip


def _meta(run_dir: Path) -> dict[str, Any]:
    from nasforge import SQLiteStorage

    storage = SQLiteStorage(run_dir / "study.db")
    try:
        trials = storage.trials()
        return {"elapsed_seconds": storage.get_meta().get("elapsed_seconds"),
                "trials": sum(t.state.finished for t in trials)}  # fmt: skip
    finally:
        storage.close()


def run_optuna(dataset: str, budget: float, seed: int) -> dict[str, Any]:
    """Optuna TPE + MedianPruner over the same space with the same trainer, 2 trials at once
    (threads, torch with one thread each: the 2 workers of the nasforge runs)."""
    import optuna
    import torch

    from nasforge.evaluators import Trainer
    from nasforge.space import builtin
    from strategies import _suggest  # the same mapping of a space to Optuna parameters as the table benchmark

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    space = builtin(SPACES[dataset])
    current: dict[int, Any] = {}

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        import threading

        trial = current[threading.get_ident()]
        trial.report(metrics["accuracy"], epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()

    t0 = time.perf_counter()
    trainer = Trainer(dataset, space=space, seed=0, threads=1, epoch_reports=True, on_epoch=on_epoch,
                      **example_setup(dataset)[0])  # fmt: skip
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2))  # fmt: skip

    def objective(trial: Any) -> float:
        import threading

        current[threading.get_ident()] = trial
        arch = space.validate(_suggest(space, trial))
        return float(trainer.evaluate(arch).metrics["accuracy"])

    study.optimize(objective, timeout=budget, n_jobs=2, catch=(Exception,))
    search = time.perf_counter() - t0
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        return {"error": "no complete trial", "wall": search}
    best = max(done, key=lambda t: t.value)
    arch = space.validate(dict(best.params))
    r0 = time.perf_counter()
    trainer.threads = None  # the retrain on all the CPUs, as nasforge's
    model = trainer.retrain(arch)
    test = trainer.test(model)
    retrain = time.perf_counter() - r0
    return {"test": test.get("test_accuracy"), "wall": search + retrain, "retrain": retrain, "search": search,
            "trials": len(study.trials)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"], choices=sorted(SPACES))
    parser.add_argument("--budgets", nargs="+", type=float, default=[60.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--png", help="write the plot of test accuracy against wall time here")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"{'data':8} {'method':18} {'budget':>6} {'seed':>4} {'test':>7} {'wall s':>7} {'search s':>8} "
              f"{'retrain s':>9} {'trials':>6}")  # fmt: skip
        for dataset in args.datasets:
            for method in args.methods:
                budgets = [0.0] if method == "grid" else args.budgets
                for budget in budgets:
                    for seed in args.seeds:
                        r = (run_optuna(dataset, budget, seed) if method == "optuna-tpe+median"
                             else run_nasforge(dataset, method, budget, seed, work))  # fmt: skip
                        r.update(dataset=dataset, method=method, budget=budget, seed=seed)
                        rows.append(r)
                        if "error" in r:
                            print(f"{dataset:8} {method:18} {budget:6g} {seed:4} error: {r['error']}", flush=True)
                            continue
                        print(f"{dataset:8} {method:18} {budget:6g} {seed:4} {r['test']:7.4f} {r['wall']:7.1f} "
                              f"{_f(r.get('search')):>8} {_f(r.get('retrain')):>9} {r.get('trials', '')!s:>6}",
                              flush=True)  # fmt: skip
    summarize(rows)
    if args.png:
        plot(rows, Path(args.png))


def _f(x: Any) -> str:
    return f"{x:.1f}" if isinstance(x, int | float) else "-"


def summarize(rows: list[dict[str, Any]]) -> None:
    import numpy as np

    print("\nmean test accuracy (± s.e. over seeds), mean wall seconds in brackets")
    keys = sorted({(r["dataset"], r["method"], r["budget"]) for r in rows}, key=lambda k: (k[0], k[2], METHODS.index(k[1])))
    for dataset, method, budget in keys:
        got = [r for r in rows if (r["dataset"], r["method"], r["budget"]) == (dataset, method, budget) and "test" in r]
        if not got:
            print(f"{dataset:8} {method:18} {budget:6g}  no result")
            continue
        acc = np.array([r["test"] for r in got])
        se = acc.std(ddof=1) / np.sqrt(len(acc)) if len(acc) > 1 else 0.0
        wall = np.mean([r["wall"] for r in got])
        goal = REFERENCE[dataset]
        print(f"{dataset:8} {method:18} {budget:6g}  {acc.mean():.4f} ± {se:.4f} [{wall:5.0f} s]  "
              f"{'≥' if acc.mean() >= goal else '<'} goal {goal}")  # fmt: skip


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    datasets = sorted({r["dataset"] for r in rows})
    fig = Figure(figsize=(4.5 * len(datasets), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    for i, dataset in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), i + 1)
        for method in METHODS:
            got = [r for r in rows if r["dataset"] == dataset and r["method"] == method and "test" in r]
            if got:
                ax.plot([r["wall"] for r in got], [r["test"] for r in got], "o", label=method, alpha=0.8)
        ax.axhline(REFERENCE[dataset], color="grey", linestyle="--", linewidth=1, label="goal / hand-made net")
        ax.set(title=dataset, xlabel="wall seconds (search + retrain)", ylabel="test accuracy")
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=150)
    print(f"plot: {path}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
