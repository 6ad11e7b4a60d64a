"""Conformance checks that every search strategy must pass.

``tests/strategies/test_conformance.py`` runs each check over every registered strategy;
a new strategy gets them by registering (and, if it needs options to be tested, an entry in
that file). The checks run whole studies on toy problems whose score is a formula with a
known optimum, so each one tests real behaviour:

- the optimum is found within a budget (:func:`check_finds_optimum`);
- the same seed gives the same trials, also in a freshly spawned process
  (:func:`check_same_seed`, :func:`trials_in_spawned_process`);
- a study stopped and reopened from its SQLite file continues exactly as an uninterrupted
  one (:func:`check_resume`);
- no architecture is proposed twice at the same budget, by canonical key, and every one
  meets the space's constraints (:func:`check_trials`);
- ``ask`` returns ``None`` once the space is exhausted, and not before
  (:func:`check_exhaustion`);
- asks made while earlier candidates are pending propose no duplicates
  (:func:`check_pending_asks`).

Example:
    >>> problem = PROBLEMS["chain"]
    >>> len(problem.optimum()), problem.space().cardinality
    (1, 80)
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._trial import Objectives, Trial, TrialState
from ..evaluators import Function
from ..space import Arch, Cell, Choice, Conditional, FloatRange, IntRange, Repeat, SearchSpace
from ..storage import InMemoryStorage, SQLiteStorage
from ..strategies import STRATEGIES, Strategy, make_strategy
from ..study import Study

# -- toy problems -------------------------------------------------------------------------


def _chain_space() -> SearchSpace:
    return SearchSpace(
        {"kernel": Choice([1, 3, 5, 7]), "width": Choice([8, 16, 32, 64]), "depth": IntRange(1, 5)}, name="toy-chain"
    )


def _wobble(value: float, budget: float | None) -> float:
    """The error of a smaller budget: up to 0.8 below the full score, deterministic."""
    return (1.0 - (1.0 if budget is None else budget)) * (value % 5) / 6.25


def _chain_score(arch: Arch, budget: float | None = None) -> dict[str, float]:
    k, w, d = int(arch["kernel"]), [8, 16, 32, 64].index(int(arch["width"])), int(arch["depth"])
    score = -((k - 3) ** 2) - (w - 2) ** 2 - (d - 3) ** 2
    return {"score": score - _wobble(7 * k + 3 * w + d, budget), "cost": float(k * (w + 1) + d)}


def _constrained_space() -> SearchSpace:
    return _chain_space().with_constraints([lambda a: int(a["kernel"]) + int(a["depth"]) <= 6])


def _constrained_score(arch: Arch, budget: float | None = None) -> dict[str, float]:
    out = _chain_score(arch, budget)
    return {"score": out["score"] + 2 * int(arch["depth"]), "cost": out["cost"]}


def _cell_space() -> SearchSpace:
    return SearchSpace({"cell": Cell(nodes=3, ops=["none", "skip_connect", "conv", "pool"])}, name="toy-cell")


def _cell_score(arch: Arch, budget: float | None = None) -> dict[str, float]:
    key = _cell_space().canonical(arch)
    if key == "0":
        return {"score": -3.0 - _wobble(0, budget), "cost": 0.0}
    convs, pools = key.count("conv("), key.count("pool(")
    score = 2 * convs - pools + (1 if "x" in key.split("+") else 0)
    return {"score": score - _wobble(5 * convs + 3 * pools + len(key), budget), "cost": float(convs)}


def _nested_space() -> SearchSpace:
    return SearchSpace(
        {
            "optimizer": Choice(["sgd", "adam"]),
            "momentum": Conditional(FloatRange(0.0, 0.9, grid=4), parent="optimizer", values=("sgd",)),
            "layers": Repeat({"units": Choice([16, 32, 64])}, 1, 3),
        },
        name="toy-nested",
    )


def _nested_score(arch: Arch, budget: float | None = None) -> dict[str, float]:
    depth = int(arch["layers"])
    units = [int(arch[f"layers.{i}.units"]) for i in range(depth)]
    first = 3 * float(arch["momentum"]) if arch["optimizer"] == "sgd" else 1.5
    score = first + sum(u == 32 for u in units) - 0.3 * (depth - 2) ** 2
    return {"score": score - _wobble(len(units) + sum(units) // 16, budget), "cost": float(sum(units))}


@dataclass(frozen=True)
class ToyProblem:
    """A small space with a formula for a score (maximize) and a cost (minimize); lower
    budgets shift the score by a deterministic error below 0.8, less than the gap between
    the best architecture and the next, so that multi-fidelity strategies can be tested."""

    name: str
    space: Callable[[], SearchSpace]
    score: Callable[..., dict[str, float]]

    def evaluator(self) -> Function:
        """The score as an evaluator (takes ``budget``)."""
        return Function(self.score, name=self.name)

    def classes(self) -> dict[str, Arch]:
        """One architecture per canonical key, in enumeration order."""
        space = self.space()
        out: dict[str, Arch] = {}
        for arch in space.enumerate():
            out.setdefault(space.canonical(arch), arch)
        return out

    def optimum(self) -> set[str]:
        """Canonical keys of the best architectures at the full budget."""
        scores = {k: self.score(a)["score"] for k, a in self.classes().items()}
        top = max(scores.values())
        return {k for k, s in scores.items() if s == top}

    def pareto_front(self) -> set[str]:
        """Canonical keys of the (score max, cost min) Pareto front at the full budget."""
        points = {k: (self.score(a)["score"], -self.score(a)["cost"]) for k, a in self.classes().items()}
        return {
            k for k, p in points.items() if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points.values())
        }


PROBLEMS: dict[str, ToyProblem] = {
    p.name: p
    for p in (
        ToyProblem("chain", _chain_space, _chain_score),
        ToyProblem("constrained", _constrained_space, _constrained_score),
        ToyProblem("cell", _cell_space, _cell_score),
        ToyProblem("nested", _nested_space, _nested_score),
    )
}
"""The toy problems by name (names travel to spawned processes; functions do not)."""


# -- running ------------------------------------------------------------------------------


def objectives_for(name: str) -> dict[str, str]:
    """``score`` alone, plus ``cost`` for a multi-objective strategy."""
    if STRATEGIES[name].multi_objective:
        return {"score": "maximize", "cost": "minimize"}
    return {"score": "maximize"}


def run_study(
    name: str,
    options: Mapping[str, Any],
    problem: str,
    *,
    seed: int = 0,
    trials: int | None = None,
    storage: Any = None,
) -> Study:
    """Run strategy ``name`` with ``options`` on toy ``problem``; returns the study."""
    p = PROBLEMS[problem]
    study = Study(
        p.space(), p.evaluator(), make_strategy(name, dict(options)), objectives_for(name),
        storage=storage if storage is not None else InMemoryStorage(), seed=seed,
    )  # fmt: skip
    return study.run(trials=trials)


def signature(trials: list[Trial]) -> list[tuple[str, float | None, str]]:
    """What must repeat exactly: each trial's architecture, budget and state, in order."""
    return [(t.arch.to_json(), t.budget, t.state.value) for t in trials]


def _trials_job(job: tuple[str, dict[str, Any], str, int, int]) -> list[tuple[str, float | None, str]]:
    name, options, problem, seed, trials = job
    return signature(run_study(name, options, problem, seed=seed, trials=trials).trials)


def trials_in_spawned_process(
    jobs: list[tuple[str, dict[str, Any], str, int, int]],
) -> list[list[tuple[str, float | None, str]]]:
    """Run ``(name, options, problem, seed, trials)`` studies in one freshly spawned process
    (new interpreter, new hash seed) and return their :func:`signature` s."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.map(_trials_job, jobs)


# -- checks -------------------------------------------------------------------------------


def check_trials(study: Study) -> None:
    """No (canonical architecture, budget) twice, every architecture meets the constraints,
    every budget is ``None`` or in (0, 1]."""
    seen: set[tuple[str, float | None]] = set()
    for t in study.trials:
        key = (study.space.canonical(t.arch), t.budget)
        assert key not in seen, f"trial {t.number} repeats {key}"
        seen.add(key)
        study.space.validate(t.arch)  # meets decisions and constraints
        assert t.budget is None or 0 < t.budget <= 1, f"trial {t.number} has budget {t.budget}"


def check_finds_optimum(name: str, options: Mapping[str, Any], problem: str, trials: int, seeds: range) -> None:
    """With each seed, the best trial (or, multi-objective, the Pareto front) is the known
    optimum after ``trials`` trials."""
    p = PROBLEMS[problem]
    for seed in seeds:
        study = run_study(name, options, problem, seed=seed, trials=trials)
        check_trials(study)
        space = study.space
        if STRATEGIES[name].multi_objective:
            front = {space.canonical(t.arch) for t in study.pareto_front}
            assert front == p.pareto_front(), f"seed {seed}: front {sorted(front)} != {sorted(p.pareto_front())}"
        else:
            best = study.best
            assert best is not None and best.budget in (None, 1.0)
            assert space.canonical(best.arch) in p.optimum(), f"seed {seed}: best {best.arch} is not the optimum"


def check_same_seed(
    name: str, options: Mapping[str, Any], problem: str, trials: int
) -> list[tuple[str, float | None, str]]:
    """Two studies with the same seed run the same trials; returns that sequence."""
    a = signature(run_study(name, options, problem, seed=3, trials=trials).trials)
    b = signature(run_study(name, options, problem, seed=3, trials=trials).trials)
    assert a == b, "the same seed gave different trials"
    assert len(a) == trials or trials > len(PROBLEMS[problem].classes())
    return a


def check_resume(name: str, options: Mapping[str, Any], problem: str, folder: Path, *, every: int, trials: int) -> None:
    """A study stopped every ``every`` trials runs the same trials as an uninterrupted one,
    replaying without mismatch: stops alternate between reopening the SQLite file with a new
    study and strategy, and running the same study object again (which restarts its
    strategy and replays)."""
    whole = signature(run_study(name, options, problem, seed=5, trials=trials).trials)
    path = folder / f"{name}-{problem}.db"
    done = 0
    parts: list[tuple[str, float | None, str]] = []
    while done < trials:
        storage = SQLiteStorage(path)
        try:
            p = PROBLEMS[problem]
            study = Study(
                p.space(), p.evaluator(), make_strategy(name, dict(options)), objectives_for(name),
                storage=storage, seed=5,
            )  # fmt: skip
            for _ in range(2):
                done = min(done + every, trials)
                study.run(trials=done)
                assert study.replay_mismatches == 0, f"replay disagreed {study.replay_mismatches} times"
            parts = signature(study.trials)
        finally:
            storage.close()
    assert parts == whole, "the resumed study ran different trials"


def check_exhaustion(name: str, options: Mapping[str, Any], problem: str) -> None:
    """Without a budget the study ends because ``ask`` returns ``None``, after every
    canonical architecture was tried; ``ask`` keeps returning ``None``."""
    p = PROBLEMS[problem]
    study = run_study(name, options, problem, seed=1)
    check_trials(study)
    tried = {study.space.canonical(t.arch) for t in study.trials}
    assert tried == set(p.classes()), f"{len(tried)} of {len(p.classes())} architectures tried before None"
    assert study.strategy.ask() is None


def check_pending_asks(name: str, options: Mapping[str, Any], problem: str, *, batch: int = 4, seed: int = 2) -> None:
    """Ask ``batch`` times before telling (results told in reverse order) until the strategy
    is exhausted: no (canonical architecture, budget) is proposed twice, and ``ask`` says
    ``None`` only when nothing is pending or the space is used up."""
    p = PROBLEMS[problem]
    space = p.space()
    objectives = Objectives.parse(objectives_for(name))
    strategy: Strategy = make_strategy(name, dict(options))
    strategy.validate(space, objectives)
    strategy.start(space, objectives, np.random.default_rng(seed))
    seen: set[tuple[str, float | None]] = set()
    number = tell_seq = 0
    for _ in range(10_000):
        asked = []
        for _ in range(batch):
            cand = strategy.ask()
            if cand is None:
                break
            key = (space.canonical(cand.arch), cand.budget)
            assert key not in seen, f"ask {number} repeats {key} while earlier candidates are pending"
            assert space.satisfies(cand.arch)
            seen.add(key)
            asked.append(Trial(number, cand.arch, cand.budget, asked_after=tell_seq))
            number += 1
        if not asked:
            break
        for trial in reversed(asked):
            metrics = p.score(trial.arch, budget=trial.budget)
            state = TrialState.COMPLETE if math.isfinite(metrics["score"]) else TrialState.FAILED
            strategy.tell(Trial(trial.number, trial.arch, trial.budget, state, metrics, tell_seq=tell_seq))
            tell_seq += 1
    tried = {k for k, _ in seen}
    assert tried == set(p.classes()), f"only {len(tried)} of {len(p.classes())} architectures tried"


# Options used in the checks (small populations so that the toy spaces exercise every phase)
# and the trials within which each strategy must find the toy optimum for every seed tried.
# A strategy registered later without an entry is tested with its defaults and must find
# the optimum within as many trials as the space has architectures.
SETTINGS: dict[str, tuple[dict[str, Any], int]] = {
    "grid": ({}, 80),
    "random": ({}, 80),
    "hill-climbing": ({}, 40),
    "local-search": ({"initial": 3}, 25),
    "evolution": ({"population": 6, "sample_size": 3}, 50),
    "bayesian": ({"initial": 4, "patience": 6}, 20),
    "successive-halving": ({"budgets": [0.25, 0.5, 1.0], "eta": 2}, 140),
    "hyperband": ({"budgets": [0.25, 0.5, 1.0], "eta": 2, "sampler": "evolution"}, 80),
    "nsga2": ({"population": 16}, 75),
}


def settings(name: str) -> tuple[dict[str, Any], int]:
    """Options of strategy ``name`` in the checks, and the trials within which it must find the
    toy optimum (defaults and 80 trials for a strategy without an entry)."""
    return SETTINGS.get(name, ({}, 80))
