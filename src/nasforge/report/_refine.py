"""Space refinement: a narrower search space from what a finished study measured.

From the explanation of a run (:func:`nasforge.explain`: the measured noise, each value's
average effect over the space with a 95% bootstrap interval, the change of each one-decision
swap of the best architecture, measured or predicted, and the best trials), two kinds of change
are made, each with one line of evidence:

* **drop** a value of a decision when it is worse with confidence on both counts: its average
  effect over the space is below that of the decision's best value with 95% confidence (the
  whole interval below 0) *and* swapping it into the best architecture loses beyond the noise
  (measured, or the model's whole interval below 0), and none of the best trials (the top 5%, at
  least 3) takes it;
* **fix** a decision to the best architecture's value when it is indifferent with confidence:
  every value's average effect lies within ``tolerance`` of the best (the whole interval), no
  measured swap differs beyond the noise, and the best trials (the top 10%, at least 5) show no
  preference. A decision left with one value is fixed too.

Why these bars (``benchmarks/refine_nb201.py``, NAS-Bench-201, 100 random trials): requiring the
average effect to lie a whole tolerance (1.96·√2 noise) below 0 and protecting every value of the
top 10% of the trials removed 1-2 values in the median run and saved about a fifth of the queries
to the top 1%; an average effect is a model estimate whose interval already carries its
uncertainty, so "below 0 with confidence" is the bar, and the protected best trials are the top
5%. Now the median run removes 3-4 values, random search needs about half the queries, and the
table's best cell stays in 95-100% of the refined spaces (20 runs per data set, RESULTS.md).

A run with several objectives drops a value only when every objective would drop it and fixes a
decision only when every objective is indifferent to it. Decisions with a range too large to
list, and the depth of a repeated block, are kept as they are. A top-level choice loses values
in its own list; a cell edge, a layer of a repeated block or a conditional decision is narrowed
by a constraint expression (``cell.0-1 not in ['none']``, ``cell.1-3 == 'nor_conv_3x3'``). When
the constraints would leave so few architectures that rejection sampling could miss them (less
than 1 in :data:`MIN_ACCEPTANCE`), the changes with the weakest evidence are undone first.

Example:
    >>> import nasforge
    >>> from nasforge.space import SearchSpace, Choice
    >>> space = SearchSpace({"a": Choice([0, 1, 2, 3]), "b": Choice([0, 1, 2, 3]), "c": Choice(["x", "y"])})
    >>> score = nasforge.Function(lambda x: {"y": 10 * (x["a"] > 0) + x["b"] + 0.001 * (x["c"] == "y")})
    >>> study = nasforge.search(space, score, strategy="grid", objectives={"y": "maximize"}, progress=False)
    >>> [(c.decision, c.action, c.values) for c in nasforge.refine(study, tolerance=0.5).changes]
    [('a', 'drop', (0,)), ('b', 'fix', (3,)), ('c', 'fix', ('y',))]
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .._results import RunData, budget_key
from ..space import Choice, SearchSpace, Value, from_config
from ._explain import Explanation, _explain, show, top_trials

DROP_TOP = (0.05, 3)
"""The best trials whose values are never dropped: this share of the trials, at least this many."""

FIX_TOP = (0.1, 5)
"""The best trials that must use more than one value of a decision for it to be fixed."""

DROP_MARGIN = 0.0
"""A value is dropped only when its average effect's whole interval lies below ``-DROP_MARGIN``
tolerances (0: below 0, worse with 95% confidence)."""

MIN_ACCEPTANCE = 1 / 100
"""Smallest share of the unconstrained space the refined constraints may keep (rejection
sampling of 2,000 tries then misses with probability below e^-20)."""


@dataclass(frozen=True)
class Change:
    """One change to the space: ``action`` ``"drop"`` (``values`` removed) or ``"fix"``
    (``values`` is the one value kept), with the evidence in words and a strength (the margin
    by which the evidence clears its threshold, in tolerances) used to undo the weakest first."""

    decision: str
    action: str
    values: tuple[Value, ...]
    evidence: str
    strength: float = 0.0


@dataclass
class Refinement:
    """A refined space, the changes that made it from ``original``, and the figures behind them."""

    space: SearchSpace
    original: SearchSpace
    changes: list[Change]
    metric: str
    trials: int
    tolerance: float
    undone: list[Change] = field(default_factory=list)
    """Changes dropped because the constraints would have left too few architectures."""

    def to_config(self) -> str | dict[str, Any]:
        """The refined space's config form (:meth:`SearchSpace.to_config`)."""
        return self.space.to_config(drop_python_constraints=True)

    @property
    def text(self) -> str:
        """One line per change, and the sizes before and after."""
        before, after = self.original.cardinality, self.space.cardinality
        lines = [(f"Refined from {self.trials} trials ({self.metric}; differences within {self.tolerance:.4g} are noise): "
                 f"{_count(before)} -> {_count(after)} architectures.")]  # fmt: skip
        lines += [f"  {c.decision}: {c.action} {', '.join(show(v) for v in c.values)} -- {c.evidence}" for c in self.changes]
        if not self.changes:
            lines.append("  no change: no value is worse with confidence and no decision indifferent with confidence.")
        for c in self.undone:
            lines.append(f"  kept {c.decision} ({c.action} {', '.join(show(v) for v in c.values)} undone: "
                         "the constraints would leave too few architectures to sample)")  # fmt: skip
        return "\n".join(lines)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the refined space as YAML (``from_config`` reads it back), the evidence as comments."""
        import yaml

        out = Path(path)
        head = "".join(f"# {line}\n" for line in self.text.splitlines())
        body = yaml.safe_dump(self.to_config(), sort_keys=False, default_flow_style=None, width=120)
        out.write_text(head + body, encoding="utf-8")
        return out


def _count(n: float) -> str:
    return f"{n:,.0f}" if math.isfinite(n) else "infinitely many"


def _top_values(data: RunData, exp: Explanation, name: str, share: float, least: int) -> tuple[set[Any], int]:
    best = data.best
    trials = [t for t in data.complete if budget_key(t) == budget_key(best)] if best is not None else []
    sign = data.sign(exp.metric)
    trials = [t for t in trials if math.isfinite(float(t.metrics.get(exp.metric, math.nan)))]
    k = max(least, math.ceil(share * len(trials)))
    top = top_trials(trials, exp.metric, sign, k)
    return {t.arch[name] for t in top if name in t.arch}, len(top)


def _judge(data: RunData, exp: Explanation, name: str) -> tuple[dict[Any, tuple[str, float]], tuple[str, float] | None]:
    """For one objective: the droppable values of ``name`` (value -> (evidence, strength)) and,
    when the decision is indifferent with confidence, ``(evidence, strength)`` for fixing it."""
    tol = exp.tolerance
    values = exp.value_effects.get(name)
    if not values or tol <= 0:
        return {}, None
    effect = next(e for e in exp.effects if e.decision == name) if any(e.decision == name for e in exp.effects) else None
    local: dict[Any, tuple[float, float, float, str]] = {}
    if effect is not None:
        for a in effect.alternatives:
            local[a.value] = (a.change, a.low, a.high, f"trial {a.trial}")
        for p in effect.predicted:
            local[p.value] = (p.change, p.low, p.high, "predicted")
    top, n_top = _top_values(data, exp, name, DROP_TOP[0], DROP_TOP[1])
    fix_top, _ = _top_values(data, exp, name, FIX_TOP[0], FIX_TOP[1])
    drops: dict[Any, tuple[str, float]] = {}
    best_value = exp.arch.get(name)
    for v in values:
        if v.value == best_value or v.value in top or v.high >= -DROP_MARGIN * tol or v.value not in local:
            continue
        change, low, high, how = local[v.value]
        if high >= 0:
            continue
        words = (f"{exp.metric} on average {v.effect:+.3g} [{v.low:+.3g}, {v.high:+.3g}] against {show(values[0].value)} "
                 f"({v.trials} trials), in the best architecture {change:+.3g} [{low:+.3g}, {high:+.3g}] ({how}); "
                 f"not in the {n_top} best trials")  # fmt: skip
        drops[v.value] = (words, min(-v.high / tol, -high / tol))
    fix = None
    measured = [(c, lo, hi) for c, lo, hi, how in local.values() if how != "predicted"]
    if (
        best_value is not None
        and all(v.low >= -tol for v in values)
        and all(abs(c) <= tol for c, _, _ in measured)
        and len(fix_top) > 1
    ):
        worst = min(values, key=lambda v: v.low)
        fix = ((f"{exp.metric}: every value within {tol:.3g} on average (the worst, {show(worst.value)}, "
               f"{worst.effect:+.3g} [{worst.low:+.3g}, {worst.high:+.3g}], {worst.trials} trials); "
               f"{len(measured)} swaps measured, none beyond the noise; the best trials use {len(fix_top)} of its values"),
               min(1.0 + worst.low / tol, 1.0))  # fmt: skip
    return drops, fix


def _decision_config(config: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    item = config.get("decisions", {}).get(name) if isinstance(config.get("decisions"), Mapping) else None
    return item if isinstance(item, Mapping) and "choice" in item and "when" not in item else None


def _apply(original: SearchSpace, changes: list[Change]) -> SearchSpace:
    base = original.to_config(drop_python_constraints=True)
    config: dict[str, Any] = {"builtin": base} if isinstance(base, str) else copy.deepcopy(dict(base))
    constraints = list(config.get("constraints", []))
    for c in changes:
        item = _decision_config(config, c.decision)
        if item is not None and isinstance(original.decision(c.decision).domain, Choice):
            domain = original.decision(c.decision).domain
            assert isinstance(domain, Choice)
            keep = list(c.values) if c.action == "fix" else [v for v in domain.values() if v not in c.values]
            config["decisions"][c.decision] = {**item, "choice": keep}
        elif c.action == "fix":
            constraints.append(f"{c.decision} == {c.values[0]!r}")
        else:
            constraints.append(f"{c.decision} not in {list(c.values)!r}")
    if constraints:
        config["constraints"] = constraints
    return from_config(config, field="refined space")


def _acceptance(original: SearchSpace, refined: SearchSpace) -> float:
    unconstrained = SearchSpace(refined.spec, name=refined.name).cardinality
    if not math.isfinite(unconstrained) or unconstrained <= 0:
        return 1.0
    return float(refined.cardinality) / float(unconstrained)


def refine(
    source: Any, *, tolerance: float | None = None, noise: float | None = None, seed: int = 0
) -> Refinement:
    """A narrower space from a finished run: values worse with confidence dropped, decisions
    indifferent with confidence fixed, one line of evidence per change (see the module text).

    Args:
        source: A run directory, a :class:`nasforge.Study` or its :class:`RunData`.
        tolerance: Differences of the primary metric up to this count as none (default: from
            the measured noise, as in :func:`nasforge.explain`).
        noise: The standard deviation of one trial's primary metric, when measured elsewhere.
        seed: Seed of the surrogate's bootstrap.

    Returns:
        A :class:`Refinement`: ``.space``, ``.changes``, ``.text`` and ``.write(path)``.
    """
    data = RunData.load(source)
    exp = _explain(data, tolerance=tolerance, evaluated=0, noise=noise, seed=seed)
    objectives = [exp, *exp.others]
    changes: list[Change] = []
    for d in data.space.decisions:
        if d.name not in exp.value_effects or d.name in data.space.repeats:
            continue
        judged = [_judge(data, e, d.name) for e in objectives]
        drops = set(judged[0][0])
        for other, _ in judged[1:]:
            drops &= set(other)
        values = list(d.domain.values())
        fixes = [f for _, f in judged]
        if all(f is not None for f in fixes):
            f0 = fixes[0]
            assert f0 is not None
            changes.append(Change(d.name, "fix", (exp.arch[d.name],), "; ".join(f[0] for f in fixes if f),
                                  min(f[1] for f in fixes if f)))  # fmt: skip
        elif drops:
            dropped = tuple(v for v in values if v in drops)
            words = "; ".join(f"{show(v)}: " + " / ".join(j[0][v][0] for j in judged) for v in dropped)
            strength = min(j[0][v][1] for j in judged for v in dropped)
            if len(dropped) == len(values) - 1:
                changes.append(Change(d.name, "fix", (exp.arch[d.name],), f"every other value dropped ({words})", strength))
            else:
                changes.append(Change(d.name, "drop", dropped, words, strength))
    undone: list[Change] = []
    refined = _apply(data.space, changes)
    while changes and _acceptance(data.space, refined) < MIN_ACCEPTANCE:
        weakest = min((c for c in changes if _decision_config(_base_config(data.space), c.decision) is None),
                      key=lambda c: c.strength, default=None)  # fmt: skip
        if weakest is None:
            break
        changes.remove(weakest)
        undone.append(weakest)
        refined = _apply(data.space, changes)
    if not refined.satisfies(data.best.arch):  # type: ignore[union-attr]
        raise ConfigError("refine", "the refined space lost the run's best architecture; this is a bug in refine")
    trials = exp.trials_considered
    return Refinement(refined, data.space, changes, exp.metric, trials, exp.tolerance, undone)


def _base_config(space: SearchSpace) -> dict[str, Any]:
    base = space.to_config(drop_python_constraints=True)
    return {"builtin": base} if isinstance(base, str) else dict(base)
