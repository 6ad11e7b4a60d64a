"""Conformance checks that every search strategy must pass, as a pytest class to subclass.

Like Optuna's ``optuna/testing/pytest_samplers.py``, :class:`StrategyTests` takes a factory:
a third-party strategy gets every check by subclassing it in a test module::

    from functools import partial
    from nasforge.strategies import make_strategy
    from nasforge.testing.strategies import StrategyTests

    class TestMyStrategy(StrategyTests):
        factory = partial(make_strategy, "my-strategy", {"population": 6})
        optimum_trials = 50

``tests/strategies/test_conformance.py`` does so for every registered strategy, alone and
behind a warm start. The checks run whole studies on toy problems whose score is a formula
with a known optimum, so each one tests real behaviour:

- the optimum is found within a budget (:func:`check_finds_optimum`);
- the same seed gives the same trials, also in a freshly spawned process
  (:func:`check_same_seed`, :func:`trials_in_spawned_process`);
- a study stopped and reopened from its SQLite file continues exactly as an uninterrupted
  one, with no replay mismatch (:func:`check_resume`);
- no architecture is proposed twice at the same budget, by canonical key, and every one
  meets the space's constraints (:func:`check_trials`; the study also refuses a duplicate),
  also where the space declares which architectures are the same network (the ``declared``
  toy problem: ``SearchSpace(..., canonical=fn)``);
- ``ask`` returns ``None`` once the space is exhausted, and not before
  (:func:`check_exhaustion`);
- asks made while earlier candidates are pending propose no duplicates, and ``WAIT`` comes
  only while something is pending (:func:`check_pending_asks`);
- ``to_config()`` rebuilds an equal strategy (:func:`check_round_trip`), and objectives the
  strategy cannot use are refused (:func:`check_refuses_unusable_objectives`).

Example:
    >>> problem = PROBLEMS["chain"]
    >>> len(problem.optimum()), problem.space().cardinality
    (1, 80)
"""

from __future__ import annotations

import functools
import math
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial, TrialState
from ..evaluators import Function
from ..space import Arch, Cell, Choice, Conditional, FloatRange, IntRange, Repeat, SearchSpace
from ..storage import InMemoryStorage, SQLiteStorage
from ..strategies import STRATEGIES, WAIT, Ask, History, Strategy, WarmStart, make_strategy
from ..study import Study

Factory = Callable[[], Strategy]
"""Builds a fresh strategy; picklable (``functools.partial`` of a module-level function) for
the spawned-process check."""

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


def _same_network(arch: Arch) -> str:
    """A declared equivalence: kernel 7 is the same network as kernel 5 (say, a 5x5 kernel
    padded with zeros)."""
    return f"{min(int(arch['kernel']), 5)}-{arch['width']}-{arch['depth']}"


def _declared_space() -> SearchSpace:
    return SearchSpace(_chain_space().spec, name="toy-declared", canonical=_same_network)


def _declared_score(arch: Arch, budget: float | None = None) -> dict[str, float]:
    return _chain_score(arch.with_values({"kernel": min(int(arch["kernel"]), 5)}), budget)


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
        ToyProblem("declared", _declared_space, _declared_score),
    )
}
"""The toy problems by name (names travel to spawned processes; functions do not)."""


# -- building and running ---------------------------------------------------------------


def factory(name: str, options: Mapping[str, Any] | None = None) -> Factory:
    """A picklable factory of strategy ``name`` with ``options``."""
    return functools.partial(make_strategy, name, dict(options or {}))


def rank_by_id(archs: Sequence[Arch]) -> list[float]:
    """A deterministic stand-in for a zero-cost proxy: a fixed pseudo-random score per arch."""
    return [float(int(a.id[:8], 16)) for a in archs]


def warm_started(name: str, options: Mapping[str, Any] | None = None, *, samples: int = 12, top: int = 3) -> Strategy:
    """Strategy ``name`` behind a :class:`WarmStart` that ranks with :func:`rank_by_id`."""
    return WarmStart(make_strategy(name, dict(options or {})), rank_by_id, samples=samples, top=top)


def _as_factory(strategy: str | Factory, options: Mapping[str, Any] | None) -> Factory:
    return factory(strategy, options) if isinstance(strategy, str) else strategy


def objectives_for(strategy: str | Strategy | Factory) -> dict[str, str]:
    """``score`` alone, plus ``cost`` for a strategy that needs two objectives."""
    if isinstance(strategy, str):
        needs = STRATEGIES[strategy].min_objectives
    else:
        needs = (strategy if isinstance(strategy, Strategy) else strategy()).min_objectives
    if needs >= 2:
        return {"score": "maximize", "cost": "minimize"}
    return {"score": "maximize"}


def run_study(
    strategy: str | Factory,
    options: Mapping[str, Any] | None = None,
    problem: str = "chain",
    *,
    seed: int = 0,
    trials: int | None = None,
    storage: Any = None,
) -> Study:
    """Run a strategy (a registered name with ``options``, or a factory) on toy ``problem``."""
    p = PROBLEMS[problem]
    s = _as_factory(strategy, options)()
    study = Study(
        p.space(), p.evaluator(), s, objectives_for(s),
        storage=storage if storage is not None else InMemoryStorage(), seed=seed, progress=False,
    )  # fmt: skip
    return study.run(trials=trials)


def signature(trials: list[Trial]) -> list[tuple[str, float | None, str]]:
    """What must repeat exactly: each trial's architecture, budget and state, in order."""
    return [(t.arch.to_json(), t.budget, t.state.value) for t in trials]


Job = tuple[Factory, str, int, int]
"""``(factory, problem, seed, trials)`` for :func:`trials_in_spawned_process`."""


def _trials_job(job: Job) -> list[tuple[str, float | None, str]]:
    make, problem, seed, trials = job
    return signature(run_study(make, None, problem, seed=seed, trials=trials).trials)


def trials_in_spawned_process(jobs: list[Job]) -> list[list[tuple[str, float | None, str]]]:
    """Run ``(factory, problem, seed, trials)`` studies in one freshly spawned process (new
    interpreter, new hash seed) and return their :func:`signature` s."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.map(_trials_job, jobs)


class Driver:
    """A strategy driven as a study drives it, without evaluating anything: validated,
    started with its own :class:`History`, each ask recorded (a duplicate is an
    ``AssertionError``) and each tell recorded before the strategy hears of it.

    Example:
        >>> d = Driver(make_strategy("grid"), PROBLEMS["chain"].space(), "score")
        >>> cand = d.ask()
        >>> d.history.is_new(cand.arch), len(d.history.pending)
        (False, 1)
    """

    def __init__(self, strategy: Strategy, space: SearchSpace, objectives: Any = "score", seed: int = 0) -> None:
        self.strategy, self.space = strategy, space
        self.objectives = Objectives.parse(objectives)
        strategy.validate(space, self.objectives)
        self.history = History(space, self.objectives)
        strategy.start(space, self.objectives, np.random.default_rng(seed), self.history)

    def ask(self) -> Ask:
        cand = self.strategy.ask()
        if isinstance(cand, Candidate):
            key = (self.history.key(cand.arch), cand.budget)
            assert self.history.is_new(cand.arch, cand.budget), f"ask repeats {key}, which is pending or done"
            self.history.asked(cand)
        return cand

    def tell(self, trial: Trial) -> None:
        shown = trial.for_strategy()
        self.history.told(shown)
        self.strategy.tell(shown)


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


def check_finds_optimum(
    strategy: str | Factory, options: Mapping[str, Any] | None, problem: str, trials: int, seeds: range
) -> None:
    """With each seed, the best trial (or, multi-objective, the Pareto front) is the known
    optimum after ``trials`` trials."""
    p = PROBLEMS[problem]
    make = _as_factory(strategy, options)
    for seed in seeds:
        study = run_study(make, None, problem, seed=seed, trials=trials)
        check_trials(study)
        space = study.space
        if len(study.objectives) > 1:
            front = {space.canonical(t.arch) for t in study.pareto_front}
            assert front == p.pareto_front(), f"seed {seed}: front {sorted(front)} != {sorted(p.pareto_front())}"
        else:
            best = study.best
            assert best is not None and best.budget in (None, 1.0)
            assert space.canonical(best.arch) in p.optimum(), f"seed {seed}: best {best.arch} is not the optimum"


def check_same_seed(
    strategy: str | Factory, options: Mapping[str, Any] | None, problem: str, trials: int
) -> list[tuple[str, float | None, str]]:
    """Two studies with the same seed run the same trials; returns that sequence."""
    make = _as_factory(strategy, options)
    a = signature(run_study(make, None, problem, seed=3, trials=trials).trials)
    b = signature(run_study(make, None, problem, seed=3, trials=trials).trials)
    assert a == b, "the same seed gave different trials"
    assert len(a) == trials or trials > len(PROBLEMS[problem].classes())
    return a


def check_resume(
    strategy: str | Factory, options: Mapping[str, Any] | None, problem: str, folder: Path, *, every: int, trials: int
) -> None:
    """A study stopped every ``every`` trials runs the same trials as an uninterrupted one,
    replaying without mismatch: stops alternate between reopening the SQLite file with a new
    study and strategy, and running the same study object again (which restarts its
    strategy and replays)."""
    make = _as_factory(strategy, options)
    whole = signature(run_study(make, None, problem, seed=5, trials=trials).trials)
    path = folder / f"resume-{problem}.db"
    done = 0
    parts: list[tuple[str, float | None, str]] = []
    while done < trials:
        storage = SQLiteStorage(path)
        try:
            p = PROBLEMS[problem]
            s = make()
            study = Study(p.space(), p.evaluator(), s, objectives_for(s), storage=storage, seed=5, progress=False)
            for _ in range(2):
                done = min(done + every, trials)
                study.run(trials=done)
                assert study.replay_mismatches == 0, f"replay disagreed {study.replay_mismatches} times"
            parts = signature(study.trials)
        finally:
            storage.close()
    assert parts == whole, "the resumed study ran different trials"


def check_exhaustion(strategy: str | Factory, options: Mapping[str, Any] | None, problem: str) -> None:
    """Without a budget the study ends because ``ask`` returns ``None``, after every
    canonical architecture was tried; ``ask`` keeps returning ``None``."""
    p = PROBLEMS[problem]
    study = run_study(_as_factory(strategy, options), None, problem, seed=1)
    check_trials(study)
    tried = {study.space.canonical(t.arch) for t in study.trials}
    assert tried == set(p.classes()), f"{len(tried)} of {len(p.classes())} architectures tried before None"
    assert study.strategy.ask() is None
    assert study.strategy.ask() is None


def check_pending_asks(
    strategy: str | Factory, options: Mapping[str, Any] | None, problem: str, *, batch: int = 4, seed: int = 2
) -> None:
    """Ask ``batch`` times before telling (results told in reverse order) until the strategy
    is exhausted: no (canonical architecture, budget) is proposed twice, ``WAIT`` comes only
    while earlier candidates are pending, and ``None`` only when the space is used up."""
    p = PROBLEMS[problem]
    space = p.space()
    s = _as_factory(strategy, options)()
    driver = Driver(s, space, objectives_for(s), seed=seed)
    seen: set[tuple[str, float | None]] = set()
    number = tell_seq = 0
    answer: Ask = None
    for _ in range(10_000):
        asked: list[Trial] = []
        for _ in range(batch):
            answer = driver.ask()
            if answer is WAIT:
                assert asked, f"ask {number} answered WAIT with nothing pending"
                break
            if answer is None:
                break
            key = (space.canonical(answer.arch), answer.budget)
            assert key not in seen, f"ask {number} repeats {key} while earlier candidates are pending"
            assert space.satisfies(answer.arch)
            seen.add(key)
            asked.append(Trial(number, answer.arch, answer.budget, asked_after=tell_seq))
            number += 1
        if not asked:
            break
        for trial in reversed(asked):
            metrics = p.score(trial.arch, budget=trial.budget)
            state = TrialState.COMPLETE if math.isfinite(metrics["score"]) else TrialState.FAILED
            driver.tell(Trial(trial.number, trial.arch, trial.budget, state, metrics, tell_seq=tell_seq))
            tell_seq += 1
    assert answer is None, "the strategy never said it was exhausted"
    tried = {k for k, _ in seen}
    assert tried == set(p.classes()), f"only {len(tried)} of {len(p.classes())} architectures tried"


def _rank(strategy: Strategy) -> Any:
    return strategy.rank if isinstance(strategy, WarmStart) else None


def check_round_trip(strategy: str | Factory, options: Mapping[str, Any] | None = None) -> None:
    """``to_config()`` is plain data from which ``make_strategy`` rebuilds an equal strategy
    (same class, same config), which runs the same trials."""
    import json

    make = _as_factory(strategy, options)
    original = make()
    cfg = original.to_config()
    assert json.loads(json.dumps(cfg)) == cfg, f"to_config() is not plain data: {cfg!r}"
    rebuilt = make_strategy(cfg["name"], {k: v for k, v in cfg.items() if k != "name"}, rank=_rank(original))
    assert type(rebuilt) is type(original) and rebuilt.to_config() == cfg
    if isinstance(original, WarmStart):
        assert isinstance(rebuilt, WarmStart) and type(rebuilt.inner) is type(original.inner)
    a = run_study(lambda: original, None, "nested", seed=4, trials=15)
    b = run_study(lambda: rebuilt, None, "nested", seed=4, trials=15)
    assert signature(a.trials) == signature(b.trials), "the rebuilt strategy ran different trials"


def check_refuses_unusable_objectives(strategy: str | Factory, options: Mapping[str, Any] | None = None) -> None:
    """A strategy refuses, in ``validate``, fewer objectives than it needs and more than it
    uses, naming the way out; it accepts the numbers it declares."""
    s = _as_factory(strategy, options)()
    space = PROBLEMS["chain"].space()
    one, two = Objectives.parse("score"), Objectives.parse({"score": "maximize", "cost": "minimize"})
    for obj in (one, two):
        if s.min_objectives <= len(obj) and (s.max_objectives is None or len(obj) <= s.max_objectives):
            s.validate(space, obj)
            continue
        with pytest.raises(ConfigError) as info:
            s.validate(space, obj)
        assert info.value.field == "objectives"
        if len(obj) > 1:
            assert "use `nsga2` (multi-objective)" in info.value.message
            assert "`constraints:` such as `params <= 1e6`" in info.value.message
        else:
            assert "needs at least two" in info.value.message


# -- the suite ------------------------------------------------------------------------------


class StrategyTests:
    """Every conformance check as a test method; subclass it with a ``factory``.

    Attributes:
        factory: Builds a fresh strategy (picklable for the spawned-process check).
        optimum_trials: Trials within which the toy optimum must be found for every seed.
        optimum_seeds: Seeds of that check.
    """

    factory: ClassVar[Factory]
    optimum_trials: ClassVar[int] = 80
    optimum_seeds: ClassVar[range] = range(3)

    def make(self) -> Strategy:
        return type(self).factory()

    def test_finds_the_optimum_of_a_toy_space(self) -> None:
        check_finds_optimum(type(self).factory, None, "chain", self.optimum_trials, seeds=self.optimum_seeds)

    @pytest.mark.parametrize("problem", ["constrained", "cell", "nested", "declared"])
    def test_runs_other_spaces_without_duplicates_within_constraints(self, problem: str) -> None:
        study = run_study(type(self).factory, None, problem, trials=40)
        check_trials(study)
        multi_fidelity = any(t.budget is not None for t in study.trials)  # one arch at several budgets
        assert len(study.trials) == min(40, len(PROBLEMS[problem].classes())) or multi_fidelity

    def test_same_seed_same_trials(self) -> None:
        check_same_seed(type(self).factory, None, "chain", 30)

    @pytest.mark.slow
    def test_same_seed_same_trials_in_a_spawned_process(self) -> None:
        here = signature(run_study(type(self).factory, None, "nested", seed=3, trials=25).trials)
        (there,) = trials_in_spawned_process([(type(self).factory, "nested", 3, 25)])
        assert here == there, "a spawned process ran different trials"

    def test_resume_equals_an_uninterrupted_run(self, tmp_path: Path) -> None:
        check_resume(type(self).factory, None, "nested", tmp_path, every=7, trials=30)

    @pytest.mark.parametrize("problem", ["chain", "constrained", "cell", "declared"])
    def test_none_only_when_the_space_is_exhausted(self, problem: str) -> None:
        check_exhaustion(type(self).factory, None, problem)

    def test_asks_while_pending_propose_no_duplicates(self) -> None:
        check_pending_asks(type(self).factory, None, "nested", batch=4)

    def test_to_config_rebuilds_an_equal_strategy(self) -> None:
        check_round_trip(type(self).factory)

    def test_objectives_it_cannot_use_are_refused(self) -> None:
        check_refuses_unusable_objectives(type(self).factory)


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
