"""Soak: long searches, watching what grows.

1. ``--trials`` (10,000) table trials with 2 local workers and a SQLite run directory, one
   search per strategy (random, evolution; bayesian up to ``--bayes-trials``): the RSS of the
   search process and of each worker every 100 trials, ask+tell milliseconds per trial over
   the last 100 trials (as the history grows), and the size of ``study.db`` (with its WAL).
2. ``--trained`` (100) tiny trained trials (an MLP on scikit-learn digits,
   ``benchmarks/digits_trial.py``, 8 epochs) with 2 local workers: the RSS of the search process and
   of each worker every 20 trials (does a worker's memory grow trial after trial?).
3. ``--trainer`` (0: off) trials of nasforge's own ``Trainer`` (the ``cnn`` space on digits, 2 epochs,
   random search) with 2 local workers, watched the same way: the evaluator users run.

Run: ``nice .venv/bin/python benchmarks/soak.py`` (about 10 minutes on 2 cores);
``--quick`` for a smoke run. Prints one table per search and a summary.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

from nasforge import search
from nasforge.evaluators import Function, Table
from nasforge.executors import LocalExecutor
from nasforge.space import from_config
from nasforge.strategies import make_strategy

PAGE = os.sysconf("SC_PAGE_SIZE")
DECISIONS = {f"d{i}": {"choice": [0, 1, 2, 3, 4]} for i in range(6)}
"""5^6 = 15,625 architectures: room for 10,000 distinct trials."""


def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6
    except OSError:
        return float("nan")


def write_table(path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "acc"])
        for values in itertools.product(range(5), repeat=6):
            acc = 90 - sum((v - 2) ** 2 for v in values) + 0.1 * values[0] * values[5]
            w.writerow(["-".join(map(str, values)), acc])


def db_mb(run: Path) -> tuple[float, float]:
    """Sizes of ``study.db`` and of its write-ahead log (which SQLite checkpoints back into it)."""
    sizes = [
        (run / name).stat().st_size / 1e6 if (run / name).exists() else 0.0 for name in ("study.db", "study.db-wal")
    ]
    return sizes[0], sizes[1]


class Watch:
    """A study callback recording every ``every`` trials: RSS (driver, each worker), ask+tell
    ms per trial since the last record, and the store's size."""

    def __init__(self, strategy: Any, executor: LocalExecutor, run: Path, every: int) -> None:
        self.executor, self.run, self.every = executor, run, every
        self.rows: list[dict[str, Any]] = []
        self.spent = 0.0
        self.calls = 0
        self.t0 = time.perf_counter()
        for name in ("ask", "tell"):
            setattr(strategy, name, self._timed(getattr(strategy, name)))

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.spent += time.perf_counter() - t

        return timed

    def __call__(self, study: Any, trial: Any) -> None:
        self.calls += 1
        if self.calls % self.every:
            return
        workers = [w.process.pid for w in self.executor._pool]
        self.rows.append({
            "trials": self.calls, "driver_mb": rss_mb(os.getpid()), "workers_mb": [rss_mb(p) for p in workers],
            "ask_tell_ms": 1000 * self.spent / self.every, "db_mb": db_mb(self.run)[0], "wal_mb": db_mb(self.run)[1],
            "wall_s": time.perf_counter() - self.t0,
        })  # fmt: skip
        self.spent = 0.0


def soak(name: str, space: Any, evaluator: Any, trials: int, every: int, root: Path, strategy: str,
         metric: str = "acc") -> Watch:  # fmt: skip
    run = root / f"run-{name}"
    executor = LocalExecutor(2)
    strat = make_strategy(strategy, {})
    watch = Watch(strat, executor, run, every)
    search(space, evaluator, strategy=strat, objectives={metric: "maximize"}, trials=trials, run_dir=run,
           executor=executor, callbacks=[watch], progress=False, retrain=False, max_failures_in_a_row=None)  # fmt: skip
    return watch


def show(title: str, watch: Watch, rows: int = 12) -> None:
    picked = watch.rows if len(watch.rows) <= rows else [watch.rows[round(i * (len(watch.rows) - 1) / (rows - 1))]
                                                         for i in range(rows)]  # fmt: skip
    print(f"\n{title}")
    print(f"{'trials':>7} {'driver MB':>10} {'workers MB':>16} {'ask+tell ms':>12} {'study.db MB':>12} {'WAL MB':>7} "
          f"{'wall s':>8}")  # fmt: skip
    for r in picked:
        workers = "/".join(f"{m:.0f}" for m in r["workers_mb"])
        print(f"{r['trials']:>7} {r['driver_mb']:>10.0f} {workers:>16} {r['ask_tell_ms']:>12.2f} "
              f"{r['db_mb']:>12.2f} {r['wal_mb']:>7.2f} {r['wall_s']:>8.0f}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--bayes-trials", type=int, default=2_000)
    p.add_argument("--trained", type=int, default=100)
    p.add_argument("--trainer", type=int, default=0, help="also this many Trainer trials (cnn on digits, 2 epochs)")
    p.add_argument("--strategies", default="random,evolution,bayesian")
    p.add_argument("--quick", action="store_true", help="a smoke run: 500 table trials, 300 bayesian, 20 trained")
    args = p.parse_args()
    if args.quick:
        args.trials, args.bayes_trials, args.trained = 500, 300, 20
    root = Path(tempfile.mkdtemp(prefix="nasforge-soak-"))
    table_file = root / "table.csv"
    write_table(table_file)
    space = from_config({"decisions": DECISIONS})
    key = "-".join(f"{{d{i}}}" for i in range(6))
    table = Table.from_file(table_file, key=key, key_column="key", metric="acc")
    results: dict[str, Watch] = {}
    for strategy in [s for s in args.strategies.split(",") if s]:
        n = args.bayes_trials if strategy == "bayesian" else args.trials
        results[strategy] = soak(strategy, space, table, n, 100, root, strategy)
        show(f"{strategy}: {n} table trials, 2 local workers, SQLite run dir", results[strategy])
    if args.trained:
        import digits_trial

        trained_space = from_config({"decisions": digits_trial.SPACE})
        fn = Function(_trained, metrics=["acc"])
        results["trained"] = soak("trained", trained_space, fn, args.trained, 20, root, "random")
        show(f"trained: {args.trained} tiny trained trials (digits MLP), 2 local workers", results["trained"])
    if args.trainer:
        from nasforge.evaluators import Trainer
        from nasforge.space import builtin

        trainer = Trainer("digits", space="cnn", epochs=2, measure_latency=False)
        results["trainer"] = soak("trainer", builtin("cnn"), trainer, args.trainer, 20, root, "random", "accuracy")
        show(f"trainer: {args.trainer} Trainer trials (cnn on digits, 2 epochs), 2 local workers", results["trainer"])
    print("\nsummary (first record -> last record):")
    for name, w in results.items():
        a, b = w.rows[0], w.rows[-1]
        print(f"  {name}: driver {a['driver_mb']:.0f} -> {b['driver_mb']:.0f} MB, workers "
              f"{sum(a['workers_mb']):.0f} -> {sum(b['workers_mb']):.0f} MB (sum), ask+tell {a['ask_tell_ms']:.2f} -> "
              f"{b['ask_tell_ms']:.2f} ms/trial, study.db {a['db_mb']:.2f} -> {b['db_mb']:.2f} MB "
              f"({1000 * (b['db_mb'] - a['db_mb']) / max(1, b['trials'] - a['trials']):.2f} KB/trial), "
              f"{b['trials'] / b['wall_s']:.1f} trials/s")  # fmt: skip


def _trained(arch: Any) -> dict[str, float]:
    import digits_trial

    return {"acc": digits_trial.train(arch)["accuracy"]}


if __name__ == "__main__":
    main()
