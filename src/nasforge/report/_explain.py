"""Why this architecture: the effect of changing each decision of the best architecture alone,
with the confidence of every statement.

For each decision of the best architecture, the *neighbours along it* are the architectures that
differ from the best in that decision only (decisions that appear or disappear because of it,
such as the layers of a deeper network or a conditional option, may differ too). The stored
trials at the best trial's fidelity give, for each alternative value, the best such neighbour;
``nasforge explain --evaluate`` (``Study.evaluate_neighbours``) first runs the one-step
neighbours that no trial has measured, as new trials of the study, and a better neighbour's in
turn, until every neighbour of the best is measured; this module only reads.

Confidence. A difference counts only beyond the measured noise (:mod:`._noise`: fold scores,
seed columns or repeated evaluations; 1% of the observed range, said as a guess, when nothing
measured it). Each measured change carries a 95% interval: paired over the folds when both
trials recorded fold scores (a t interval over the fold differences), else the noise of a
difference of two trials. Bootstrapped forests (:mod:`._effects`) fitted to every trial at
the fidelity predict each change too, corroborating a verdict that rests on one trial (or not)
and predicting the neighbours nobody measured; a GP integrated over the space
(:mod:`._marginals`) gives each value's average effect, with the 95% interval of its posterior. What the best trials share (a value over-represented among them, by a
hypergeometric test) is said last. A run with several objectives is explained for each, at the
same architecture.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._results import RunData, budget_key
from .._trial import Trial
from ..space import Arch, SearchSpace, Value
from ..space._neighbours import ancestors as space_ancestors
from ..space._neighbours import neighbour_decision, one_change_neighbours
from ._data import fmt
from ._effects import Estimate, Surrogate, ValueEffect
from ._noise import Noise, measure_noise

MATTERED, INDIFFERENT, BETTER, UNTESTED = "mattered", "indifferent", "better-alternative", "untested"

MAX_MODEL_TRIALS = 2000
"""Most trials the surrogate is fitted to (a seeded random subset beyond)."""


@dataclass(frozen=True)
class Alternative:
    """Another value of one decision, as measured on a neighbour of the best architecture.

    ``change`` is the neighbour's metric minus the best's, signed so that positive is better
    (for a minimized metric it is the decrease). ``trials`` counts the trials behind it.
    ``low``..``high`` is its 95% interval (paired over folds, or the noise of two trials);
    ``model`` the surrogate's prediction of the same change from every trial.
    """

    value: Value
    metric: float
    change: float
    trials: int
    trial: int
    low: float = math.nan
    high: float = math.nan
    model: Estimate | None = None
    equivalent: bool = False
    """Measured on an equivalent architecture (the same network: same canonical key)."""


@dataclass(frozen=True)
class Predicted:
    """An alternative value nobody measured, as the surrogate predicts it (positive is better)."""

    value: Value
    change: float
    low: float
    high: float


@dataclass(frozen=True)
class DecisionEffect:
    """What changing one decision of the best architecture did.

    ``verdict``: ``"mattered"`` (every measured alternative is worse beyond the noise: its
    interval lies below 0), ``"indifferent"`` (an alternative is not distinguishable from the
    best), ``"better-alternative"`` (one is better beyond the noise) or ``"untested"`` (no
    neighbour along it was measured). ``alternatives`` are best first; ``untried`` lists values
    of a finite domain with no trial, ``predicted`` the surrogate's guess for them.
    ``rests_on_one``: the verdict rests on a single trial of the deciding alternative, with no
    repeat and no agreement of the surrogate.
    """

    decision: str
    value: Value
    verdict: str
    alternatives: list[Alternative]
    untried: list[Value]
    trials: int
    domain_alternatives: int | None = None
    """Other values the decision can take (``None`` for a continuous or very large range)."""
    predicted: list[Predicted] = field(default_factory=list)
    rests_on_one: bool = False

    @property
    def least_loss(self) -> float | None:
        """How much the best alternative loses (negative: it gains); ``None`` when untested."""
        return -self.alternatives[0].change if self.alternatives else None


@dataclass(frozen=True)
class Shared:
    """A value over-represented among the best trials: ``top`` of the ``top_of`` best trials
    take it, against ``overall`` of ``trials``; ``p`` is the hypergeometric tail probability."""

    decision: str
    value: Value
    top: int
    top_of: int
    overall: int
    trials: int
    p: float


@dataclass
class Explanation:
    """The answer to "why this architecture?": one :class:`DecisionEffect` per decision of the
    best architecture, ranked (mattered most first), and the same in plain words (``text``).

    ``tolerance`` is the difference that still counts as none, from ``noise`` (its standard
    deviation ``sigma`` per trial, ``None`` when nothing measured it, and how: ``noise_source``).
    ``value_effects``: each value's average effect over the space (the surrogate); ``shared``:
    what the best trials have in common; ``others``: the same architecture explained for each
    further objective of the run.
    """

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
    sigma: float | None = None
    noise_source: str = ""
    value_effects: dict[str, list[ValueEffect]] = field(default_factory=dict)
    shared: list[Shared] = field(default_factory=list)
    others: list[Explanation] = field(default_factory=list)
    model_trials: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-serialisable)."""
        return asdict(self)

    def for_metric(self, metric: str) -> Explanation:
        """The explanation of one objective (this one or one of :attr:`others`)."""
        for exp in [self, *self.others]:
            if exp.metric == metric:
                return exp
        raise ConfigError("metric", f"{metric!r} is not an objective of this run; its objectives are "
                          f"{[e.metric for e in [self, *self.others]]}")  # fmt: skip


def _alternative_values(space: SearchSpace, name: str, value: Value) -> list[Value] | None:
    dom = space.decision(name).domain
    if dom.size <= 64:
        return [v for v in dom.values() if v != value]
    return None


def _folds(t: Trial, metric: str) -> list[float] | None:
    folds = t.report.get(f"fold_{metric}")
    if isinstance(folds, list | tuple) and len(folds) >= 2 and all(isinstance(v, int | float) for v in folds):
        return [float(v) for v in folds]
    return None


def _interval(best: Trial, alt: Trial, change: float, metric: str, sign: float, half: float | None) -> tuple[float, float]:
    """The 95% interval of ``change``: ``half`` given (a tolerance), else paired over the folds
    (t interval), else nothing known (``nan``)."""
    if half is not None:
        return change - half, change + half
    fb, fa = _folds(best, metric), _folds(alt, metric)
    if fb is not None and fa is not None and len(fb) == len(fa):
        from scipy.stats import t as student

        d = sign * (np.array(fa) - np.array(fb))
        k = len(d)
        w = float(student.ppf(0.975, k - 1) * np.std(d, ddof=1) / math.sqrt(k))
        return change - w, change + w
    return math.nan, math.nan


def top_trials(trials: list[Trial], metric: str, sign: float, k: int) -> list[Trial]:
    """The ``k`` best trials by ``metric``, and every trial tied with the ``k``-th."""
    ranked = sorted(trials, key=lambda t: -sign * float(t.metrics[metric]))
    if len(ranked) <= k:
        return ranked
    cut = sign * float(ranked[k - 1].metrics[metric])
    return [t for t in ranked if sign * float(t.metrics[metric]) >= cut]


def _shared(data: RunData, trials: list[Trial], metric: str, sign: float, best: Arch) -> list[Shared]:
    """Values of the best architecture's decisions over-represented among the best trials."""
    from scipy.stats import hypergeom

    n = len(trials)
    if n < 20:
        return []
    top = top_trials(trials, metric, sign, max(5, math.ceil(0.1 * n)))
    out = []
    for name in data.space.active_names(best):
        counts: dict[Any, int] = {}
        for t in trials:
            if name in t.arch:
                counts[t.arch[name]] = counts.get(t.arch[name], 0) + 1
        top_counts: dict[Any, int] = {}
        for t in top:
            if name in t.arch:
                top_counts[t.arch[name]] = top_counts.get(t.arch[name], 0) + 1
        if not top_counts:
            continue
        value, x = max(top_counts.items(), key=lambda kv: kv[1])
        present = sum(top_counts.values())
        p = float(hypergeom.sf(x - 1, sum(counts.values()), counts[value], present))
        if 2 * x >= present and p < 0.05:
            out.append(Shared(name, value, x, present, counts[value], sum(counts.values()), p))
    return sorted(out, key=lambda s: s.p)


def _explain_metric(
    data: RunData, best: Trial, metric: str, direction: str, sign: float, same_budget: list[Trial], *,
    tolerance: float | None, noise: float | None, seed: int,
) -> Explanation:  # fmt: skip
    ref = float(best.metrics[metric])
    usable = [t for t in same_budget if math.isfinite(float(t.metrics.get(metric, math.nan)))]
    measured: Noise = measure_noise(data, metric, usable, noise=noise)
    if tolerance is not None:
        tol, half, source = float(tolerance), float(tolerance), "the tolerance given"
    elif measured.tolerance is not None:
        tol = half = measured.tolerance
        source = measured.source
        if measured.source.startswith("the median standard error over the folds"):
            half = None  # pairs with fold scores on both sides get a paired interval
    else:
        vals = [float(t.metrics[metric]) for t in usable]
        tol = half = 0.01 * (max(vals) - min(vals)) if vals else 0.0
        source = f"{measured.source}: 1% of the observed range, a guess"
    anc = space_ancestors(data.space)
    by_decision: dict[str, dict[Any, list[Trial]]] = {}
    for t in usable:
        if t.arch == best.arch:
            continue
        name = neighbour_decision(best.arch, t.arch, anc)
        if name is not None:
            by_decision.setdefault(name, {}).setdefault(t.arch[name], []).append(t)
    model_set = usable
    if len(model_set) > MAX_MODEL_TRIALS:
        keep = np.sort(np.random.default_rng(seed).choice(len(model_set), size=MAX_MODEL_TRIALS, replace=False))
        model_set = [model_set[i] for i in keep]
    model = Surrogate(data, metric, model_set, seed=seed)
    neighbours: dict[tuple[str, Any], Arch] = {}
    for arch in one_change_neighbours(data.space, best.arch):
        name = neighbour_decision(best.arch, arch, anc)
        if name is not None:
            neighbours.setdefault((name, arch[name]), arch)
    # A neighbour nobody measured may be the same network as one that was (an op on an edge
    # that carries nothing, an isomorphic cell): that trial measures it.
    by_key: dict[str, Trial] = {}
    for t in usable:
        k = data.space.canonical(t.arch)
        if k not in by_key or sign * float(t.metrics[metric]) > sign * float(by_key[k].metrics[metric]):
            by_key[k] = t
    equivalent: dict[tuple[str, Any], Trial] = {}
    for (name, value), arch in neighbours.items():
        if value not in by_decision.get(name, {}):
            twin = by_key.get(data.space.canonical(arch))
            if twin is not None:
                equivalent[(name, value)] = twin
    predictions: dict[tuple[str, Any], Estimate] = {}
    if model.fitted:
        keys = list(neighbours)
        predictions = dict(zip(keys, model.change(best.arch, [neighbours[k] for k in keys])))
    effects = []
    for name in data.space.active_names(best.arch):
        groups = by_decision.get(name, {})
        alts = []
        for value, ts in groups.items():
            top = max(ts, key=lambda t: sign * float(t.metrics[metric]))
            m = float(top.metrics[metric])
            change = sign * (m - ref)
            low, high = _interval(best, top, change, metric, sign, half)
            if math.isnan(low):  # folds on one side only: the noise of two trials
                low, high = change - tol, change + tol
            alts.append(Alternative(value, m, change, len(ts), top.number, low, high, predictions.get((name, value))))
        for (n, value), twin in equivalent.items():
            if n == name:
                m = float(twin.metrics[metric])
                change = sign * (m - ref)
                low, high = _interval(best, twin, change, metric, sign, half)
                if math.isnan(low):
                    low, high = change - tol, change + tol
                alts.append(Alternative(value, m, change, 1, twin.number, low, high, predictions.get((name, value)),
                                        equivalent=True))  # fmt: skip
        alts.sort(key=lambda a: -a.change)
        tried = {a.value for a in alts}
        others = _alternative_values(data.space, name, best.arch[name])
        untried = [v for v in others or [] if v not in tried]
        predicted = sorted(
            (Predicted(v, e.change, e.low, e.high) for v in untried if (e := predictions.get((name, v))) is not None),
            key=lambda p: -p.change,
        )
        rests = False
        if not alts:
            verdict = UNTESTED
        elif alts[0].low > 0:
            verdict = BETTER
        elif all(a.high < 0 for a in alts):
            verdict = MATTERED
        else:
            verdict = INDIFFERENT
        if verdict in (MATTERED, BETTER):
            a = alts[0]
            agrees = a.model is not None and a.model.sure == (1 if verdict == BETTER else -1)
            rests = a.trials == 1 and not agrees
        n_others = None if others is None else len(others)
        effects.append(DecisionEffect(name, best.arch[name], verdict, alts, untried, sum(a.trials for a in alts),
                                      n_others, predicted, rests))  # fmt: skip
    order = {MATTERED: 0, BETTER: 1, INDIFFERENT: 2, UNTESTED: 3}

    def rank(e: DecisionEffect) -> tuple[int, float]:
        loss = e.least_loss
        if loss is None:  # untested: by the predicted loss, when there is one
            loss = -e.predicted[0].change if e.predicted else 0.0
        return order[e.verdict], (loss if e.verdict == BETTER else -loss)

    effects.sort(key=rank)
    return Explanation(
        best.number, best.arch.to_dict(), data.space.to_string(best.arch), metric, direction, ref, float(tol),
        effects, len(usable), sigma=measured.sigma if tolerance is None else None, noise_source=source,
        value_effects=model.value_effects(), shared=_shared(data, usable, metric, sign, best.arch),
        model_trials=len(model.trials) if model.fitted else 0,
    )  # fmt: skip


def _explain(
    data: RunData, *, tolerance: float | None, evaluated: int, previous_best: int | None = None,
    noise: float | None = None, seed: int = 0,
) -> Explanation:  # fmt: skip
    best = data.best
    if best is None:
        raise ConfigError("run_dir", f"study {data.name!r} has no complete trial to explain")
    same_budget = [t for t in data.complete if budget_key(t) == budget_key(best)]
    exps = []
    for k, o in enumerate(data.objectives):
        exps.append(_explain_metric(data, best, o.metric, o.direction, o.sign, same_budget,
                                    tolerance=tolerance if k == 0 else None, noise=noise if k == 0 else None,
                                    seed=seed))  # fmt: skip
    exp = exps[0]
    exp.evaluated, exp.previous_best, exp.others = evaluated, previous_best, exps[1:]
    exp.text = _text(exp, data)
    for other in exp.others:
        other.text = _text(other, data, primary=False)
    if exp.others:
        exp.text += "".join("\n\n" + o.text for o in exp.others)
    return exp


def show(value: Value) -> str:
    """A decision's value in text: strings quoted, floats to 4 significant digits."""
    return fmt(value) if isinstance(value, float) else repr(value)


def _ci(low: float, high: float) -> str:
    return f"[{low:+.3g}, {high:+.3g}]"


def _alt_words(e: DecisionEffect, a: Alternative, metric: str) -> str:
    twin = ", the same network" if a.equivalent else ""
    return (f"{e.decision} = {show(a.value)} gives {metric} {fmt(a.metric)} "
            f"({a.change:+.4g} {_ci(a.low, a.high)}; trial {a.trial}{twin})")  # fmt: skip


def evidence(e: DecisionEffect) -> str:
    """``"2 of 4 alternative values measured, 3 trials"`` (no total for a continuous range)."""
    tried = len(e.alternatives)
    total = e.domain_alternatives
    noun = "alternative value" + ("s" if (total or tried) != 1 else "")
    of = f"{tried} of {total} {noun} measured" if total is not None else f"{tried} {noun} measured"
    return f"{of}, {e.trials} trial{'s' if e.trials != 1 else ''}"


def _confidence(e: DecisionEffect, model_trials: int) -> str:
    """What the verdict of a mattered or better decision rests on."""
    a = e.alternatives[0]
    m = a.model
    model = f"the model of {model_trials} trials predicts {m.change:+.3g} {_ci(m.low, m.high)}" if m else ""
    if e.rests_on_one:
        why = f"{model}, not sure of it" if m else "no model (too few trials)"
        return f" Rests on one trial (trial {a.trial}): no repeat; {why}."
    if a.trials > 1:
        return f" {a.trials} trials measured {show(a.value)}" + (f"; {model}." if m else ".")
    return f" One trial (trial {a.trial}); {model}, which agrees."


def _text(exp: Explanation, data: RunData, *, primary: bool = True) -> str:
    lines = []
    if primary:
        head = f"Best architecture: trial {exp.trial}, {exp.metric} = {fmt(exp.value)} ({exp.direction}), {exp.arch_string}"
        if exp.others:
            head += f" (best by {exp.metric}, the first objective; on the Pareto front of {len(data.pareto_front)} trials)"
        lines.append(head)
    else:
        lines.append(f"The same architecture for {exp.metric} ({exp.direction}): {exp.metric} = {fmt(exp.value)}.")
    how = (f"1.96 x sqrt(2) x sigma, sigma = {fmt(exp.sigma)} per trial from {exp.noise_source}"
           if exp.sigma is not None else exp.noise_source)  # fmt: skip
    lines.append(
        f"Changing one decision at a time, from {exp.trials_considered} complete trials at the best trial's fidelity"
        + (f" ({exp.evaluated} neighbour{'s' if exp.evaluated != 1 else ''} just evaluated)" if exp.evaluated else "")
        + f"; differences within {fmt(exp.tolerance)} count as no difference ({how})."
        + " Intervals are 95%."
    )
    if primary and exp.previous_best is not None and exp.previous_best != exp.trial:
        if any(e.untried for e in exp.effects):
            lines.append(
                f"A neighbour evaluated just now (trial {exp.trial}) beat the previous best (trial {exp.previous_best}); "
                "its own neighbours are not all measured: evaluate again to explain it fully."
            )
        else:
            lines.append(
                f"Evaluating neighbours moved the best from trial {exp.previous_best} to trial {exp.trial} (a better "
                "neighbour, then its neighbours), until none of the best's neighbours was better: every change below "
                "is measured."
            )
    groups = [
        (MATTERED, "Mattered most (every measured alternative is worse beyond the noise):"),
        (BETTER, "Could be better (an alternative measured better beyond the noise at this fidelity):"),
        (INDIFFERENT, "Indifferent (an alternative is within the noise):"),
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
            conf = _confidence(e, exp.model_trials) if verdict in (MATTERED, BETTER) else ""
            lines.append(f"{head}: {say}. Evidence: {evidence(e)}.{conf}")
    guessed = [e for e in exp.effects if e.predicted]
    if guessed:
        lines.append("")
        lines.append(f"Predicted, not measured (a model of {exp.model_trials} trials; change and 95% interval):")
        for e in guessed:
            alts = ", ".join(f"{show(p.value)} {p.change:+.3g} {_ci(p.low, p.high)}" for p in e.predicted)
            lines.append(f"  {e.decision} = {show(e.value)}: {alts}.")
    worse = []
    for name, values in exp.value_effects.items():
        if len(values) < 2:
            continue
        bad = [v for v in values if v.high < -exp.tolerance]
        top = values[0]
        said = ", ".join(f"{show(v.value)} {v.effect:+.3g} {_ci(v.low, v.high)} ({v.trials} trials)" for v in bad)
        line = f"  {name}: best {show(top.value)} ({top.trials} trials); " + (
            f"worse beyond the noise: {said}." if bad else "no value worse beyond the noise."
        )
        worse.append((min((v.effect for v in bad), default=0.0), line))
    if worse:
        lines.append("")
        lines.append(f"On average over the space (model of {exp.model_trials} trials; effect against the best value):")
        lines.extend(w for _, w in sorted(worse, key=lambda w: w[0]))
    if exp.shared:
        lines.append("")
        k = exp.shared[0].top_of
        lines.append(f"What the best trials share (values over-represented among the {k} best):")
        for s in exp.shared:
            lines.append(f"  {s.decision} = {show(s.value)} in {s.top} of the {s.top_of} best "
                         f"({s.overall} of all {s.trials}; p = {s.p:.2g}).")  # fmt: skip
    if primary and any(e.verdict == UNTESTED or e.untried for e in exp.effects):
        lines.append("")
        if data.run_dir and data.resumable:
            lines.append(f"Unmeasured neighbours can be evaluated with `nasforge explain {data.run_dir} --evaluate`.")
        else:  # no run directory, or parts it cannot rebuild (a lambda, a function of __main__)
            lines.append("Unmeasured neighbours can be evaluated by `study.evaluate_neighbours()` on the study that "
                         "made these trials (`explain --evaluate` needs a run it can resume).")  # fmt: skip
    return "\n".join(lines)


def explain(
    source: Any, *, tolerance: float | None = None, evaluated: int = 0, previous_best: int | None = None,
    noise: float | None = None, seed: int = 0,
) -> Explanation:  # fmt: skip
    """Why the best architecture of a run: for each of its decisions, the best measured
    neighbour for each alternative value with a 95% interval, ranked by how much changing the
    decision costs, with a plain-words summary in ``.text`` that cites the trials behind each
    statement and what each verdict rests on; for a run with several objectives, the same
    architecture is explained for each (``.others``, ``.for_metric(name)``).

    The explanation only reads results; to measure the unmeasured neighbours first, run
    :meth:`nasforge.run.RunDir.evaluate_neighbours` (``nasforge explain --evaluate``) and pass
    what it returns as ``evaluated`` and ``previous_best``.

    Args:
        source: A run directory, a :class:`nasforge.Study` or its :class:`RunData`.
        tolerance: Differences of the primary metric up to this count as none (default: from the
            measured noise, see :mod:`nasforge.report._noise`; 1% of the range when none was measured).
        evaluated: How many neighbours were just evaluated (said in the text).
        previous_best: The best trial before they ran (another one may now be best).
        noise: The standard deviation of one trial's primary metric, when measured elsewhere
            (e.g. a benchmark table's seeds); the tolerance is then ``1.96 * sqrt(2) * noise``.
        seed: Seed of the surrogate's bootstrap.

    Example:
        >>> import nasforge
        >>> from nasforge.space import SearchSpace, Choice
        >>> space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1])})
        >>> study = nasforge.search(space, nasforge.Function(lambda x: {"y": x["a"]}),
        ...                         strategy="grid", objectives={"y": "maximize"}, progress=False)
        >>> [(e.decision, e.verdict) for e in nasforge.explain(study).effects]
        [('a', 'mattered'), ('b', 'indifferent')]
    """
    for name, value in (("tolerance", tolerance), ("noise", noise)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0):
            raise ConfigError(name, f"must be a number >= 0, got {value!r}")
    return _explain(RunData.load(source), tolerance=tolerance, evaluated=evaluated, previous_best=previous_best,
                    noise=noise, seed=seed)  # fmt: skip


__all__ = ["Alternative", "DecisionEffect", "Explanation", "Predicted", "Shared", "explain"]

