"""Why this architecture: the effect of changing each decision of the best architecture alone.

For each decision of the best architecture, the *neighbours along it* are the architectures that
differ from the best in that decision only (decisions that appear or disappear because of it,
such as the layers of a deeper network or a conditional option, may differ too). The stored
trials at the best trial's fidelity give, for each alternative value, the best such neighbour;
``nasforge explain --evaluate`` (``RunDir.evaluate_neighbours``) first runs the one-step
neighbours that no trial has measured, as new trials of the study; this module only reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .._errors import ConfigError
from .._results import RunData, budget_key
from .._trial import Trial
from ..space import SearchSpace, Value
from ..space._neighbours import ancestors as space_ancestors
from ..space._neighbours import neighbour_decision
from ._data import fmt

_ABSENT = object()

MATTERED, INDIFFERENT, BETTER, UNTESTED = "mattered", "indifferent", "better-alternative", "untested"


@dataclass(frozen=True)
class Alternative:
    """Another value of one decision, as measured on a neighbour of the best architecture.

    ``change`` is the neighbour's metric minus the best's, signed so that positive is better
    (for a minimized metric it is the decrease). ``trials`` counts the trials behind it.
    """

    value: Value
    metric: float
    change: float
    trials: int
    trial: int


@dataclass(frozen=True)
class DecisionEffect:
    """What changing one decision of the best architecture did.

    ``verdict``: ``"mattered"`` (every measured alternative is worse by more than the tolerance),
    ``"indifferent"`` (an alternative is within the tolerance), ``"better-alternative"`` (one is
    better by more than the tolerance) or ``"untested"`` (no neighbour along it was measured).
    ``alternatives`` are best first; ``untried`` lists values of a finite domain with no trial.
    """

    decision: str
    value: Value
    verdict: str
    alternatives: list[Alternative]
    untried: list[Value]
    trials: int
    domain_alternatives: int | None = None
    """Other values the decision can take (``None`` for a continuous or very large range)."""

    @property
    def least_loss(self) -> float | None:
        """How much the best alternative loses (negative: it gains); ``None`` when untested."""
        return -self.alternatives[0].change if self.alternatives else None


@dataclass
class Explanation:
    """The answer to "why this architecture?": one :class:`DecisionEffect` per decision of the
    best architecture, ranked (mattered most first), and the same in plain words (``text``)."""

    trial: int
    arch: dict[str, Value]
    arch_string: str
    metric: str
    direction: str
    value: float
    tolerance: float
    effects: list[DecisionEffect]
    trials_considered: int
    evaluated: int = 0
    previous_best: int | None = None
    """With ``evaluate``: the best trial before the neighbours ran (another one may now be best)."""
    text: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-serialisable)."""
        return asdict(self)


def _alternative_values(space: SearchSpace, name: str, value: Value) -> list[Value] | None:
    dom = space.decision(name).domain
    if dom.size <= 64:
        return [v for v in dom.values() if v != value]
    return None


def _explain(
    data: RunData, *, tolerance: float | None, evaluated: int, previous_best: int | None = None
) -> Explanation:
    best = data.best
    if best is None:
        raise ConfigError("run_dir", f"study {data.name!r} has no complete trial to explain")
    metric, sign = data.primary, data.objectives.primary.sign
    ref = float(best.metrics[metric])
    same_budget = [t for t in data.complete if budget_key(t) == budget_key(best)]
    if tolerance is None:
        vals = [float(t.metrics[metric]) for t in same_budget]
        spread = max(vals) - min(vals) if vals else 0.0
        tolerance = 0.01 * spread
    ancestors = space_ancestors(data.space)
    by_decision: dict[str, dict[Any, list[Trial]]] = {}
    for t in same_budget:
        if t.arch == best.arch:
            continue
        name = neighbour_decision(best.arch, t.arch, ancestors)
        if name is not None:
            by_decision.setdefault(name, {}).setdefault(t.arch[name], []).append(t)
    effects = []
    for name in data.space.active_names(best.arch):
        groups = by_decision.get(name, {})
        alts = []
        for value, ts in groups.items():
            top = max(ts, key=lambda t: sign * float(t.metrics[metric]))
            m = float(top.metrics[metric])
            alts.append(Alternative(value, m, sign * (m - ref), len(ts), top.number))
        alts.sort(key=lambda a: -a.change)
        tried = set(groups)
        others = _alternative_values(data.space, name, best.arch[name])
        untried = [v for v in others or [] if v not in tried]
        if not alts:
            verdict = UNTESTED
        elif alts[0].change > tolerance:
            verdict = BETTER
        elif alts[0].change >= -tolerance:
            verdict = INDIFFERENT
        else:
            verdict = MATTERED
        n_others = None if others is None else len(others)
        effects.append(
            DecisionEffect(name, best.arch[name], verdict, alts, untried, sum(a.trials for a in alts), n_others)
        )
    order = {MATTERED: 0, BETTER: 1, INDIFFERENT: 2, UNTESTED: 3}

    def rank(e: DecisionEffect) -> tuple[int, float]:
        loss = e.least_loss or 0.0
        return order[e.verdict], (loss if e.verdict == BETTER else -loss)

    effects.sort(key=rank)
    exp = Explanation(
        best.number, best.arch.to_dict(), data.space.to_string(best.arch), metric, data.objectives.primary.direction,
        ref, float(tolerance), effects, len(same_budget), evaluated, previous_best,
    )  # fmt: skip
    exp.text = _text(exp, data)
    return exp


def _alt_words(e: DecisionEffect, a: Alternative, metric: str) -> str:
    return f"{e.decision} = {show(a.value)} gives {metric} {fmt(a.metric)} ({a.change:+.4g}; trial {a.trial})"


def show(value: Value) -> str:
    """A decision's value in text: strings quoted, floats to 4 significant digits."""
    return fmt(value) if isinstance(value, float) else repr(value)


def evidence(e: DecisionEffect) -> str:
    """``"2 of 4 alternative values measured, 3 trials"`` (no total for a continuous range)."""
    tried = len(e.alternatives)
    total = e.domain_alternatives
    noun = "alternative value" + ("s" if (total or tried) != 1 else "")
    of = f"{tried} of {total} {noun} measured" if total is not None else f"{tried} {noun} measured"
    return f"{of}, {e.trials} trial{'s' if e.trials != 1 else ''}"


def _text(exp: Explanation, data: RunData) -> str:
    lines = [
        f"Best architecture: trial {exp.trial}, {exp.metric} = {fmt(exp.value)} ({exp.direction}), {exp.arch_string}",
        f"Changing one decision at a time, from {exp.trials_considered} complete trials at the best trial's fidelity"
        + (f" ({exp.evaluated} neighbours just evaluated)" if exp.evaluated else "")
        + f"; differences within {fmt(exp.tolerance)} count as no difference"
        + (" (1% of the observed range)." if exp.tolerance else "."),
    ]
    if exp.previous_best is not None and exp.previous_best != exp.trial:
        lines.append(
            f"A neighbour evaluated just now (trial {exp.trial}) beat the previous best (trial {exp.previous_best}); "
            "its own neighbours may be unmeasured: evaluate again to explain it fully."
        )
    groups = [
        (MATTERED, "Mattered most (every measured alternative is worse):"),
        (BETTER, "Could be better (an alternative measured better at this fidelity):"),
        (INDIFFERENT, "Indifferent (an alternative is as good):"),
        (UNTESTED, "Not tested (no trial changes only this decision):"),
    ]
    for verdict, title in groups:
        effects = [e for e in exp.effects if e.verdict == verdict]
        if not effects:
            continue
        lines.append("")
        lines.append(title)
        if verdict == UNTESTED:
            names = ", ".join(f"{e.decision} = {show(e.value)}" for e in effects)
            lines.append(f"  {names} ({len(effects)} decision{'s' if len(effects) != 1 else ''}, 0 trials).")
            continue
        for k, e in enumerate(effects, 1):
            head = f"  {k}. {e.decision} = {show(e.value)}"
            a = e.alternatives[0]
            if verdict == MATTERED:
                worst = e.alternatives[-1]
                say = f"the closest alternative, {_alt_words(e, a, exp.metric)}"
                if len(e.alternatives) > 1:
                    say += f"; the worst, {show(worst.value)}, loses {fmt(-worst.change)}"
            else:
                say = _alt_words(e, a, exp.metric)
            lines.append(f"{head}: {say}. Evidence: {evidence(e)}.")
    if any(e.verdict == UNTESTED or e.untried for e in exp.effects):
        where = (
            f"nasforge explain {data.run_dir} --evaluate"
            if data.run_dir and data.resumable
            else "RunDir(run_dir).evaluate_neighbours() (a study with a run directory)"
        )
        lines.append("")
        lines.append(f"Unmeasured neighbours can be evaluated with `{where}`.")
    return "\n".join(lines)


def explain(
    source: Any, *, tolerance: float | None = None, evaluated: int = 0, previous_best: int | None = None
) -> Explanation:
    """Why the best architecture of a run: for each of its decisions, the best measured
    neighbour for each alternative value, ranked by how much changing the decision costs, with
    a plain-words summary in ``.text`` that cites the trials behind each statement.

    The explanation only reads results; to measure the unmeasured neighbours first, run
    :meth:`nasforge.run.RunDir.evaluate_neighbours` (``nasforge explain --evaluate``) and pass
    what it returns as ``evaluated`` and ``previous_best``.

    Args:
        source: A run directory, a :class:`nasforge.Study` or its :class:`RunData`.
        tolerance: Differences of the primary metric up to this count as none (default: 1% of
            the metric's observed range).
        evaluated: How many neighbours were just evaluated (said in the text).
        previous_best: The best trial before they ran (another one may now be best).

    Example:
        >>> import nasforge
        >>> from nasforge.space import SearchSpace, Choice
        >>> space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1])})
        >>> study = nasforge.search(space, nasforge.Function(lambda x: {"y": x["a"]}),
        ...                         strategy="grid", objectives={"y": "maximize"}, progress=False)
        >>> [(e.decision, e.verdict) for e in nasforge.explain(study).effects]
        [('a', 'mattered'), ('b', 'indifferent')]
    """
    if tolerance is not None and (
        isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not tolerance >= 0
    ):
        raise ConfigError("tolerance", f"must be a number >= 0, got {tolerance!r}")
    return _explain(RunData.load(source), tolerance=tolerance, evaluated=evaluated, previous_best=previous_best)
