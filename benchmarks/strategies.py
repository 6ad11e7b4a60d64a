"""Search strategies against Optuna on a table of measured architectures (NAS-Bench-201 by default).

Each strategy searches on a validation column for ``--queries`` table look-ups, once per seed.
After 25, 50, 100, 200 and 300 queries it reports the test-accuracy regret of the
best-by-validation architecture found so far: the oracle's test accuracy (that of the
table's best-by-validation row) minus the test accuracy of the row the search picked, as
mean ± standard error over the seeds. Rows tied at the best validation value count as a
uniform choice among them, for the oracle (the table's rows at its best value) and for a
search (the rows it found at its best value) alike: the test accuracy is their mean.
"found" is the share of seeds that queried the table's best-by-validation row itself (any
of the tied rows); "found class" counts an equivalent architecture (same
``space.canonical`` key) too; it is printed only where it differs. Our strategies run through ``nasforge.Study`` with the
``Table`` evaluator, exactly as a user's search does; Optuna's samplers (TPE as Optuna 5.0
sets it by default, which is multivariate; TPE with ``multivariate=False``; random) get one
categorical parameter per decision (the 6 edges for NAS-Bench-201), suggested only when
active. Every query counts, also Optuna's repeats of an architecture it has seen.

The table has one fidelity, so ``successive-halving`` and ``hyperband`` re-measure the same
value at every budget: their rows show what those repeats cost, not what multi-fidelity
gains. ``nsga2`` needs two objectives and is left out.

    NASFORGE_NB201=../shared/benchmarks/nasbench201_12epoch.csv python benchmarks/strategies.py
    python benchmarks/strategies.py --table results.csv --space space.yaml \\
        --key "{kernel}-{width}-{depth}" --metric val_acc --test test_acc --seeds 30

Runs in one process with NumPy on one thread (``OPENBLAS_NUM_THREADS=1`` is set here).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nasforge import Study
from nasforge.evaluators import Table
from nasforge.evaluators._table import format_key
from nasforge.space import Arch, Choice, FloatRange, IntRange, SearchSpace, builtin, from_config
from nasforge.strategies import make_strategy

OURS: dict[str, dict[str, Any]] = {
    "random": {},
    "grid": {},
    "hill-climbing": {},
    "evolution": {},
    "local-search": {},
    "bayesian": {},
    "successive-halving": {"sampler": "evolution"},
    "hyperband": {"sampler": "evolution"},
}
OPTUNA = ["optuna-tpe", "optuna-tpe-independent", "optuna-random"]
NB201_DATASETS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet": "ImageNet16-120"}


@dataclass
class Task:
    """One table to search: the space, how an architecture finds its row, the columns."""

    title: str
    space: SearchSpace
    rows: dict[str, dict[str, Any]]
    key: str | Callable[[Arch], str]
    metric: str
    test: str
    path: Path
    best_rows: set[str] = field(default_factory=set)
    best_classes: set[str] = field(default_factory=set)
    oracle: float = math.nan

    def __post_init__(self) -> None:
        vals = {k: _num(r.get(self.metric)) for k, r in self.rows.items()}
        top = max(v for v in vals.values() if v is not None)
        self.best_rows = {k for k, v in vals.items() if v == top}
        self.oracle = float(np.mean([_num(self.rows[k][self.test]) for k in self.best_rows]))
        self.best_classes = {self.space.canonical(a) for a in self._archs_of(self.best_rows)}

    def _archs_of(self, keys: set[str]) -> list[Arch]:
        if callable(self.key) and self.space.cells:
            return [self.space.from_string(k) for k in keys]
        return [a for a in self.space.enumerate() if self.row_key(a) in keys]

    def row_key(self, arch: Arch) -> str:
        return self.key(arch) if callable(self.key) else format_key(self.key, arch)

    def lookup(self, arch: Arch) -> tuple[float | None, float | None]:
        row = self.rows.get(self.row_key(arch))
        if row is None:
            return None, None
        return _num(row.get(self.metric)), _num(row.get(self.test))


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


@dataclass
class Run:
    """One search: per query, the validation value (None: failed), its test value and the
    row key and canonical key of the architecture."""

    vals: list[float | None]
    tests: list[float | None]
    rows: list[str]
    classes: list[str]
    seconds: float = 0.0
    asks: int = 0


def run_ours(task: Task, name: str, options: dict[str, Any], seed: int, queries: int) -> Run:
    table = Table(task.rows, key=task.key, metric=task.metric, report=[task.test], source=task.path.name)
    strategy = make_strategy(name, options)
    timer = [0.0, 0]

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                timer[0] += time.perf_counter() - t0
                timer[1] += fn.__name__ == "ask"

        return wrapper

    strategy.ask = timed(strategy.ask)  # type: ignore[method-assign]
    strategy.tell = timed(strategy.tell)  # type: ignore[method-assign]
    study = Study(task.space, table, strategy, {task.metric: "maximize"}, seed=seed)
    study.run(trials=queries)
    run = Run([], [], [], [], timer[0], int(timer[1]))
    for t in study.trials:
        run.vals.append(t.metrics.get(task.metric))
        run.tests.append(t.report.get(task.test))
        run.rows.append(task.row_key(t.arch))
        run.classes.append(task.space.canonical(t.arch))
    return run


def run_optuna(task: Task, kind: str, seed: int, queries: int) -> Run:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = {
        "optuna-tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "optuna-tpe-independent": lambda: optuna.samplers.TPESampler(seed=seed, multivariate=False),
        "optuna-random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }[kind]()
    study = optuna.create_study(direction="maximize", sampler=sampler)
    space = task.space
    run = Run([], [], [], [])
    for _ in range(queries):
        t0 = time.perf_counter()
        trial = study.ask()
        values: dict[str, Any] = {}
        for d in space.decisions:
            if d.parent is not None and not (d.parent in values and values[d.parent] in d.parent_values):
                continue
            dom = d.domain
            if isinstance(dom, Choice):
                values[d.name] = trial.suggest_categorical(d.name, list(dom.choices))
            elif isinstance(dom, IntRange):
                values[d.name] = trial.suggest_int(d.name, dom.low, dom.high, step=dom.step, log=dom.log)
            elif isinstance(dom, FloatRange) and dom.grid is not None:
                values[d.name] = trial.suggest_categorical(d.name, dom.values())
            else:
                values[d.name] = trial.suggest_float(d.name, dom.low, dom.high, log=dom.log)  # type: ignore[attr-defined]
        run.seconds += time.perf_counter() - t0
        arch = Arch(values)
        val, test = task.lookup(arch) if space.satisfies(arch) else (None, None)
        t0 = time.perf_counter()
        if val is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, val)
        run.seconds += time.perf_counter() - t0
        run.asks += 1
        run.vals.append(val)
        run.tests.append(test)
        run.rows.append(task.row_key(arch))
        run.classes.append(space.canonical(arch))
    return run


@dataclass
class Summary:
    regret: dict[int, tuple[float, float]]
    found: dict[int, float]
    found_class: dict[int, float]
    distinct: float
    ms_per_ask: float


def summarize(task: Task, runs: list[Run], marks: Sequence[int]) -> Summary:
    regrets: dict[int, list[float]] = {m: [] for m in marks}
    found: dict[int, list[bool]] = {m: [] for m in marks}
    found_class: dict[int, list[bool]] = {m: [] for m in marks}
    for run in runs:
        best_val, best_test = -math.inf, math.nan
        picked: dict[str, float] = {}  # test values of the found rows tied at the best validation
        hit = hit_class = False
        for i, (val, test) in enumerate(zip(run.vals, run.tests), start=1):
            if val is not None and test is not None and val >= best_val:
                if val > best_val:
                    best_val, picked = val, {}
                picked[run.rows[i - 1]] = test
                best_test = sum(picked.values()) / len(picked)
            hit = hit or run.rows[i - 1] in task.best_rows
            hit_class = hit_class or run.classes[i - 1] in task.best_classes
            if i in regrets:
                regrets[i].append(task.oracle - best_test)
                found[i].append(hit)
                found_class[i].append(hit_class)
        for m in marks:  # a search that ran out of architectures keeps its last pick
            if len(run.vals) < m:
                regrets[m].append(task.oracle - best_test)
                found[m].append(hit)
                found_class[m].append(hit_class)
    return Summary(
        regret={m: (float(np.mean(r)), float(np.std(r, ddof=1) / math.sqrt(len(r))) if len(r) > 1 else 0.0)
                for m, r in regrets.items()},
        found={m: float(np.mean(f)) for m, f in found.items()},
        found_class={m: float(np.mean(f)) for m, f in found_class.items()},
        distinct=float(np.mean([len(set(r.classes)) for r in runs])),
        ms_per_ask=1000 * sum(r.seconds for r in runs) / max(1, sum(r.asks for r in runs)),
    )  # fmt: skip


def table_markdown(task: Task, results: dict[str, Summary], marks: Sequence[int], seeds: int) -> str:
    show_class = any(s.found_class != s.found for s in results.values())
    last = marks[-1]
    head = ["searcher", *(f"{m}" for m in marks), f"found@{marks[len(marks) // 2]}", f"found@{last}"]
    if show_class:
        head.append(f"found class@{last}")
    head += [f"distinct@{last}", "ms/ask"]
    lines = [
        f"### {task.title}: test regret after N queries (points of {task.test}), mean ± s.e. over {seeds} seeds",
        "",
        f"Oracle (best-by-validation row{'s' if len(task.best_rows) > 1 else ''}): "
        f"{task.metric} {max(_num(task.rows[k][task.metric]) or 0 for k in task.best_rows):.4g}, "
        f"{task.test} {task.oracle:.4g}"
        + (f" (mean of {len(task.best_rows)} tied rows)" if len(task.best_rows) > 1 else ""),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for name, s in results.items():
        cells = [name, *(f"{s.regret[m][0]:.3f} ± {s.regret[m][1]:.3f}" for m in marks)]
        cells += [f"{100 * s.found[marks[len(marks) // 2]]:.0f}%", f"{100 * s.found[last]:.0f}%"]
        if show_class:
            cells.append(f"{100 * s.found_class[last]:.0f}%")
        cells += [f"{s.distinct:.0f}", f"{s.ms_per_ask:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def nb201_tasks(path: Path, datasets: Sequence[str]) -> list[Task]:
    from nasforge.evaluators import nasbench201

    space = builtin("nasbench201")
    out = []
    for ds in datasets:
        table = nasbench201(path, metric=f"{ds}-val", report=[f"{ds}-test"], space=space)
        rows = {k: dict(r) for k, r in table.rows.items()}
        out.append(Task(f"NAS-Bench-201 {NB201_DATASETS.get(ds, ds)}", space, rows, space.to_string,
                        f"{ds}-val", f"{ds}-test", Path(path)))  # fmt: skip
    return out


def load_space(spec: str) -> SearchSpace:
    """A built-in space name, or a YAML/JSON file holding a space (``decisions: ...``) or a
    run config with ``space:``."""
    p = Path(spec)
    if not p.is_file():
        return builtin(spec, field="--space")
    data = yaml.safe_load(p.read_text())
    if isinstance(data, dict) and "space" in data:
        data = data["space"]
    return from_config(data, field="--space")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", help="a CSV/JSON table of measured architectures (default: $NASFORGE_NB201)")
    parser.add_argument("--space", help="space of --table: a built-in name or a YAML/JSON file (default nasbench201)")
    parser.add_argument("--key", help="row key as a format string over decision names (default: the cell string)")
    parser.add_argument("--key-column", help="the table's key column (default arch, key or the first)")
    parser.add_argument("--metric", help="validation column the searches maximize")
    parser.add_argument("--test", help="test column used for the regret")
    parser.add_argument("--datasets", default="cifar10,cifar100,imagenet", help="NAS-Bench-201 datasets")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--queries", default="25,50,100,200,300")
    parser.add_argument("--strategies", default=",".join([*OURS, *OPTUNA]), help="comma-separated searchers")
    args = parser.parse_args(argv)
    marks = [int(q) for q in args.queries.split(",")]
    names = [n for n in args.strategies.split(",") if n]
    for n in names:
        if n not in OURS and n not in OPTUNA:
            parser.error(f"unknown searcher {n!r}; choose from {[*OURS, *OPTUNA]}")
    if args.table is None:
        path = os.environ.get("NASFORGE_NB201")
        if not path:
            parser.error("set NASFORGE_NB201 to the NAS-Bench-201 CSV or give --table")
        tasks = nb201_tasks(Path(path), [d for d in args.datasets.split(",") if d])
    else:
        if not (args.metric and args.test):
            parser.error("--table needs --metric and --test")
        space = load_space(args.space or "nasbench201")
        key: str | Callable[[Arch], str] = args.key if args.key else space.to_string
        table = Table.from_file(args.table, key=key, key_column=args.key_column, metric=args.metric, report=[args.test])
        rows = {k: dict(r) for k, r in table.rows.items()}
        tasks = [Task(Path(args.table).name, space, rows, key, args.metric, args.test, Path(args.table))]
    print(f"# {' '.join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])])}\n")
    t_all = time.perf_counter()
    for task in tasks:
        results: dict[str, Summary] = {}
        for name in names:
            t0 = time.perf_counter()
            runs = [
                run_optuna(task, name, seed, marks[-1]) if name in OPTUNA
                else run_ours(task, name, OURS[name], seed, marks[-1])
                for seed in range(args.seeds)
            ]  # fmt: skip
            results[name] = summarize(task, runs, marks)
            print(f"  {task.title} {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        print(table_markdown(task, results, marks, args.seeds) + "\n", flush=True)
    print(f"Total time {time.perf_counter() - t_all:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
