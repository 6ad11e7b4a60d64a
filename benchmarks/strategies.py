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

``--minimize`` makes the columns losses (HPOLib's ``val_loss_s0``); ``--id COLUMN`` names the
table's network id (rows with one id are one network: the study deduplicates by it and
"distinct" counts ids); ``--second COLUMN`` (``--second-maximize``) runs two-objective
searches instead (ours: random, nsga2, bayesian = ParEGO; Optuna: NSGA-II, multi-objective
TPE, random) and reports the hypervolume regret on the two search columns, each on the
table's quantile scale (the share of rows at least as good; reference point (1, 1)). The spaces of the two tables in
``../shared/benchmarks/`` are ``benchmarks/spaces/*.yaml``; ``benchmarks/RESULTS.md`` has the
commands.

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
    minimize: bool = False
    id: str | None = None
    second: str | None = None
    """A second objective column (two-objective runs; :func:`main_multi`)."""
    second_minimize: bool = True
    best_rows: set[str] = field(default_factory=set)
    best_classes: set[str] = field(default_factory=set)
    oracle: float = math.nan
    _table: Table | None = field(default=None, repr=False)
    partial: bool = False
    """The table holds part of the space (``--keep``): an Optuna ask that finds no row is told
    as failed and not counted as a query (ours never ask one: the study keeps to the rows)."""

    def __post_init__(self) -> None:
        vals = {k: _num(r.get(self.metric)) for k, r in self.rows.items()}
        top = max(self.sign * v for v in vals.values() if v is not None)
        self.best_rows = {k for k, v in vals.items() if v is not None and _tied(self.sign * v, top)}
        self.oracle = float(np.mean([_num(self.rows[k][self.test]) for k in self.best_rows]))
        self.best_classes = {self.canonical(a) for a in self._archs_of(self.best_rows)}

    @property
    def sign(self) -> float:
        """+1 when the metric is maximized, -1 when minimized."""
        return -1.0 if self.minimize else 1.0

    def reach(self, ks: Sequence[int] = (5, 10, 20, 50, 100)) -> list[tuple[int, float, float]]:
        """What searching on validation can reach: for the ``k`` best networks by validation
        (distinct ids when the table has them), the validation regret of the ``k``-th and the
        mean test regret of the ``k`` (a search that lands on one of them at random)."""
        seen: dict[str, tuple[float, float]] = {}
        for k, row in self.rows.items():
            val, test = _num(row.get(self.metric)), _num(row.get(self.test))
            if val is not None and test is not None:
                seen.setdefault(f"{row.get(self.id)}" if self.id else k, (self.sign * val, self.sign * test))
        pairs = sorted(seen.values(), key=lambda p: -p[0])
        top = pairs[0][0]
        return [(k, top - pairs[k - 1][0], self.sign * self.oracle - float(np.mean([t for _, t in pairs[:k]])))
                for k in ks if k <= len(pairs)]  # fmt: skip

    def table(self) -> Table:
        """The evaluator of every search of this task (one object: what it learns of the space,
        such as whether the table holds all of it, is learnt once)."""
        if self._table is None:
            metrics = [self.metric, *([self.second] if self.second else [])]
            self._table = Table(self.rows, key=self.key, metric=metrics, report=[self.test], source=self.path.name,
                                id=self.id)  # fmt: skip
        return self._table

    def canonical(self, arch: Arch) -> str:
        """The network class of ``arch``: the table's id when it has one, else the space's key."""
        if self.id is not None:
            row = self.rows.get(self.row_key(arch))
            if row is not None and row.get(self.id) not in (None, ""):
                return f"{self.id}:{row[self.id]}"
        return self.space.canonical(arch)

    def _archs_of(self, keys: set[str]) -> list[Arch]:
        if callable(self.key) and self.space.cells:
            return [self.space.from_string(k) for k in keys]
        return [a for a in self.space.enumerate() if self.row_key(a) in keys]

    def row_key(self, arch: Arch) -> str:
        return self.key(arch) if callable(self.key) else format_key(self.key, arch, self.space.names)

    def lookup(self, arch: Arch) -> tuple[float | None, float | None]:
        row = self.rows.get(self.row_key(arch))
        if row is None:
            return None, None
        return _num(row.get(self.metric)), _num(row.get(self.test))


def _tied(value: float, best: float) -> bool:
    """Whether ``value`` equals ``best`` up to float rounding: tables store fractions such as
    1229/1500 computed two ways (0.8193333333333334 and 0.8193333333333332)."""
    return math.isclose(value, best, rel_tol=1e-9, abs_tol=1e-12)


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
    table = task.table()
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
    study = Study(
        task.space, table, strategy, {task.metric: "minimize" if task.minimize else "maximize"}, seed=seed,
        progress=False,
    )
    study.run(trials=queries)
    run = Run([], [], [], [], timer[0], int(timer[1]))
    for t in study.trials:
        run.vals.append(t.metrics.get(task.metric))
        run.tests.append(t.report.get(task.test))
        run.rows.append(task.row_key(t.arch))
        run.classes.append(task.canonical(t.arch))
    return run


def _suggest(space: SearchSpace, trial: Any) -> dict[str, Any]:
    """One Optuna parameter per active decision: a categorical one for a choice (ordered or
    not: Optuna has no ordered categorical) and a grid, an int or float one for a range."""
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
    return values


def run_optuna(task: Task, kind: str, seed: int, queries: int) -> Run:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = {
        "optuna-tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "optuna-tpe-independent": lambda: optuna.samplers.TPESampler(seed=seed, multivariate=False),
        "optuna-random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }[kind]()
    study = optuna.create_study(direction="minimize" if task.minimize else "maximize", sampler=sampler)
    space = task.space
    run = Run([], [], [], [])
    misses = 0
    while len(run.vals) < queries:
        t0 = time.perf_counter()
        trial = study.ask()
        values = _suggest(space, trial)
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
        if task.partial and task.row_key(arch) not in task.rows and misses < 50 * queries:
            misses += 1  # a table measured on part of the space: a look-up that finds no row costs nothing
            continue
        run.vals.append(val)
        run.tests.append(test)
        run.rows.append(task.row_key(arch))
        run.classes.append(task.canonical(arch))
    return run


# -- two objectives ---------------------------------------------------------------------------

MULTI_OURS: dict[str, dict[str, Any]] = {"random": {}, "nsga2": {}, "bayesian": {}}
MULTI_OPTUNA = ["optuna-nsga2", "optuna-motpe", "optuna-random"]


def _points(task: Task, pairs: Sequence[tuple[float | None, float | None]], columns: np.ndarray) -> np.ndarray:
    """Finite (metric, second) pairs as minimization points on the table's quantile scale:
    each coordinate is the share of the table's rows at least as good, so a table's heavy
    tail (diverged runs) does not squash the differences between good rows."""
    signs = np.array([-task.sign, 1.0 if task.second_minimize else -1.0])
    pts = [(a, b) for a, b in pairs if a is not None and b is not None]
    if not pts:
        return np.empty((0, 2))
    raw = np.array(pts, dtype=np.float64) * signs
    return np.stack([np.searchsorted(columns[k], raw[:, k], side="right") / len(columns[k]) for k in range(2)], 1)


def hypervolume(points: np.ndarray) -> float:
    """Area dominated by 2-D minimization ``points`` (in [0, 1]) up to the reference (1, 1)."""
    pts = points[(points < 1.0).all(axis=1)] if len(points) else points
    if not len(pts):
        return 0.0
    area, best_y = 0.0, 1.0
    for x, y in sorted(map(tuple, pts)):
        if y < best_y:
            area += (1.0 - x) * (best_y - y)
            best_y = y
    return area


def run_multi_ours(task: Task, name: str, seed: int, queries: int) -> list[tuple[float | None, float | None]]:
    assert task.second is not None
    objectives = {task.metric: "minimize" if task.minimize else "maximize",
                  task.second: "minimize" if task.second_minimize else "maximize"}  # fmt: skip
    study = Study(task.space, task.table(), make_strategy(name, MULTI_OURS[name]), objectives, seed=seed, progress=False)
    study.run(trials=queries)
    return [(t.metrics.get(task.metric), t.metrics.get(task.second)) for t in study.trials]


def run_multi_optuna(task: Task, kind: str, seed: int, queries: int) -> list[tuple[float | None, float | None]]:
    import optuna

    assert task.second is not None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = {
        "optuna-nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
        "optuna-motpe": lambda: optuna.samplers.TPESampler(seed=seed),  # with two directions: MOTPE
        "optuna-random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }[kind]()
    directions = ["minimize" if task.minimize else "maximize", "minimize" if task.second_minimize else "maximize"]
    study = optuna.create_study(directions=directions, sampler=sampler)
    out: list[tuple[float | None, float | None]] = []
    for _ in range(queries):
        trial = study.ask()
        values = _suggest(task.space, trial)
        arch = Arch(values)
        row = task.rows.get(task.row_key(arch)) if task.space.satisfies(arch) else None
        a, b = (None, None) if row is None else (_num(row.get(task.metric)), _num(row.get(task.second)))
        if a is None or b is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, [a, b])
        out.append((a, b))
    return out


def main_multi(task: Task, names: Sequence[str], seeds: int, marks: Sequence[int]) -> str:
    """Hypervolume regret (of the table's Pareto front, on the two search columns on the
    table's quantile scale, reference point (1, 1)) after N queries, mean ± s.e. over seeds."""
    assert task.second is not None
    signs = np.array([-task.sign, 1.0 if task.second_minimize else -1.0])
    pairs_all = [(_num(r.get(task.metric)), _num(r.get(task.second))) for r in task.rows.values()]
    every = np.array([(a, b) for a, b in pairs_all if a is not None and b is not None]) * signs
    columns = np.sort(every, axis=0).T
    best = hypervolume(_points(task, pairs_all, columns))
    lines = [
        (
            f"### {task.title}: hypervolume regret after N queries ({task.metric} "
            f"{'min' if task.minimize else 'max'}, {task.second} {'min' if task.second_minimize else 'max'}; "
            f"on the table's quantile scale, reference point (1, 1); the table's front: {best:.4f}), "
            f"mean ± s.e. over {seeds} seeds"
        ),
        "",
        "| searcher | " + " | ".join(str(m) for m in marks) + " |",
        "|---|" + "---:|" * len(marks),
    ]
    for name in names:
        t0 = time.perf_counter()
        regrets: dict[int, list[float]] = {m: [] for m in marks}
        for seed in range(seeds):
            pairs = (run_multi_optuna(task, name, seed, marks[-1]) if name in MULTI_OPTUNA
                     else run_multi_ours(task, name, seed, marks[-1]))  # fmt: skip
            for m in marks:
                regrets[m].append(best - hypervolume(_points(task, pairs[:m], columns)))
        cells = [f"{np.mean(r):.4f} ± {np.std(r, ddof=1) / math.sqrt(len(r)) if len(r) > 1 else 0.0:.4f}"
                 for r in regrets.values()]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(f"  {task.title} {name} (2 objectives): {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return "\n".join(lines)


@dataclass
class Summary:
    val_regret: float
    """Mean validation regret at the middle mark (how well the search did on what it saw)."""
    regret: dict[int, tuple[float, float]]
    found: dict[int, float]
    found_class: dict[int, float]
    distinct: float
    ms_per_ask: float


def summarize(task: Task, runs: list[Run], marks: Sequence[int]) -> Summary:
    regrets: dict[int, list[float]] = {m: [] for m in marks}
    found: dict[int, list[bool]] = {m: [] for m in marks}
    found_class: dict[int, list[bool]] = {m: [] for m in marks}
    sign = task.sign
    mid = marks[len(marks) // 2]
    top = sign * max(sign * v for v in (_num(r.get(task.metric)) for r in task.rows.values()) if v is not None)
    val_regrets = [sign * (top - sign * max(sign * v for v in run.vals[:mid] if v is not None)) for run in runs]
    for run in runs:
        best_val, best_test = -math.inf, math.nan
        picked: dict[str, float] = {}  # test values of the found rows tied at the best validation
        hit = hit_class = False
        for i, (val, test) in enumerate(zip(run.vals, run.tests), start=1):
            if val is not None and test is not None and (sign * val > best_val or _tied(sign * val, best_val)):
                if not _tied(sign * val, best_val):
                    best_val, picked = sign * val, {}
                picked[run.rows[i - 1]] = test
                best_test = sum(picked.values()) / len(picked)
            hit = hit or run.rows[i - 1] in task.best_rows
            hit_class = hit_class or run.classes[i - 1] in task.best_classes
            if i in regrets:
                regrets[i].append(sign * (task.oracle - best_test))
                found[i].append(hit)
                found_class[i].append(hit_class)
        for m in marks:  # a search that ran out of architectures keeps its last pick
            if len(run.vals) < m:
                regrets[m].append(sign * (task.oracle - best_test))
                found[m].append(hit)
                found_class[m].append(hit_class)
    return Summary(
        val_regret=float(np.mean(val_regrets)),
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
    digits = 3 if abs(task.oracle) >= 5 else 4
    head = ["searcher", *(f"{m}" for m in marks), f"found@{marks[len(marks) // 2]}", f"found@{last}"]
    if show_class:
        head.append(f"found class@{last}")
    head += [f"val regret@{marks[len(marks) // 2]}", f"distinct@{last}", "ms/ask"]
    lines = [
        f"### {task.title}: test regret after N queries (points of {task.test}), mean ± s.e. over {seeds} seeds",
        "",
        f"Oracle (best-by-validation row{'s' if len(task.best_rows) > 1 else ''}): "
        f"{task.metric} {max(_num(task.rows[k][task.metric]) or 0 for k in task.best_rows):.4g}, "
        f"{task.test} {task.oracle:.4g}"
        + (f" (mean of {len(task.best_rows)} tied rows)" if len(task.best_rows) > 1 else ""),
        "",
        "What searching on validation can reach (the k best networks by validation: validation regret of the k-th, "
        "mean test regret of the k): " + "; ".join(f"k={k} {v:.{digits}f} / {t:.{digits}f}" for k, v, t in task.reach()),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for name, s in results.items():
        cells = [name, *(f"{s.regret[m][0]:.{digits}f} ± {s.regret[m][1]:.{digits}f}" for m in marks)]
        cells += [f"{100 * s.found[marks[len(marks) // 2]]:.0f}%", f"{100 * s.found[last]:.0f}%"]
        if show_class:
            cells.append(f"{100 * s.found_class[last]:.0f}%")
        cells += [f"{s.val_regret:.{digits}f}", f"{s.distinct:.0f}", f"{s.ms_per_ask:.2f}"]
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
    parser.add_argument("--minimize", action="store_true", help="the --metric and --test columns are losses")
    parser.add_argument("--second", help="a second objective column: run two-objective searches (hypervolume)")
    parser.add_argument("--second-maximize", action="store_true", help="the --second column is maximized")
    parser.add_argument("--id", help="the table's column naming each row's network (rows of one id are one network)")
    parser.add_argument("--keep", type=float, help="keep this share of the table's rows (a random subset, seed 0): "
                        "a table measured on part of the space")
    parser.add_argument("--datasets", default="cifar10,cifar100,imagenet", help="NAS-Bench-201 datasets")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--queries", default="25,50,100,200,300")
    parser.add_argument("--strategies", default=",".join([*OURS, *OPTUNA]), help="comma-separated searchers")
    args = parser.parse_args(argv)
    marks = [int(q) for q in args.queries.split(",")]
    names = [n for n in args.strategies.split(",") if n]
    if args.second and args.strategies == parser.get_default("strategies"):
        names = [*MULTI_OURS, *MULTI_OPTUNA]
    known = [*MULTI_OURS, *MULTI_OPTUNA] if args.second else [*OURS, *OPTUNA]
    for n in names:
        if n not in known:
            parser.error(f"unknown searcher {n!r}; choose from {known}")
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
        table = Table.from_file(
            args.table, key=key, key_column=args.key_column, metric=[args.metric, *([args.second] if args.second else [])],
            report=[args.test], id=args.id,
        )
        rows = {k: dict(r) for k, r in table.rows.items()}
        title = Path(args.table).name
        if args.keep is not None:
            pick = np.random.default_rng(0).random(len(rows)) < args.keep
            rows = {k: r for (k, r), kept in zip(rows.items(), pick) if kept}
            title += f", {len(rows)} rows kept ({args.keep:g})"
        tasks = [Task(title, space, rows, key, args.metric, args.test, Path(args.table),
                      minimize=args.minimize, id=args.id, second=args.second,
                      second_minimize=not args.second_maximize, partial=args.keep is not None)]  # fmt: skip
    print(f"# {' '.join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])])}\n")
    t_all = time.perf_counter()
    for task in tasks:
        if task.second is not None:
            print(main_multi(task, names, args.seeds, marks) + "\n", flush=True)
            continue
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
