"""Decision importance: functional ANOVA (fANOVA) main effects over a random forest.

A random forest (scikit-learn) is fitted to the complete trials, each architecture encoded with
``space.encode`` (one-hot choices, ranges in [0, 1]). Each tree is a piecewise-constant function
of the architecture; its variance over the space, with every decision's values weighted
equally and independently, splits into the variance of each decision's *marginal* effect plus
interactions (Hutter, Hoos & Leyton-Brown, ICML 2014). The share of a decision is its marginal
variance over the total, computed exactly per tree and averaged over the trees; the one-hot
columns of a decision are one variable (so a cell edge is one decision).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import ConfigError
from ..space import Choice, Decision, FloatRange, IntRange, SearchSpace
from ._data import RunData, budget_key

RANGE_POINTS = 32
"""Points that stand for an integer or float range when integrating over it."""

METHOD = (
    "fANOVA main effects (Hutter, Hoos & Leyton-Brown 2014) over a scikit-learn random forest of "
    "{trees} trees fitted to {n} complete trials{fidelity}: each decision's share is the variance of its "
    "marginal effect over the total variance of the forest's prediction, with every decision's values "
    "weighted equally and independently (a conditional decision's absence counts as one more value), "
    "computed exactly per tree and averaged over trees. The rest ({rest:.0%}) is interactions between decisions."
)


@dataclass(frozen=True)
class Importance:
    """Decision importance for one metric: ``shares`` (decision -> fraction of variance, largest
    first), the fraction left to interactions, and how it was computed."""

    metric: str
    shares: dict[str, float]
    interactions: float
    trials: int
    trees: int
    method: str
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Each share's spread: the middle 95% of the trees' shares (each tree is fitted to a
    bootstrap sample of the trials, so this is a bootstrap interval of one tree's answer,
    wider than the forest's)."""


def marginal_grid(space: SearchSpace) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """The points at which each decision's marginal is taken, laid out for the tree walk:
    which decision owns each point, its weight within its decision (1 / points), the decision
    of each encoding column, and each column's value at every point (0 off its decision)."""
    points = [_points(d) for d in space.decisions]
    owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(points)])
    weights = np.concatenate([np.full(len(p), 1.0 / len(p)) for p in points])
    owner_col: list[int] = []
    local_val: list[np.ndarray] = []
    for i, p in enumerate(points):
        for k in range(p.shape[1]):
            owner_col.append(i)
            col = np.zeros(len(owner))
            col[owner == i] = p[:, k]
            local_val.append(col)
    return owner, weights, np.array(owner_col), local_val


def _points(d: Decision) -> np.ndarray:
    """Encodings (rows) of the values that stand for decision ``d``; an absent row for a
    conditional decision."""
    dom = d.domain
    flag = d.parent is not None and dom.width == 1
    if isinstance(dom, Choice) or (isinstance(dom, IntRange | FloatRange) and dom.size <= RANGE_POINTS):
        rows = [dom.encode(v) for v in dom.values()]
    else:
        rows = [[u] for u in np.linspace(0.0, 1.0, RANGE_POINTS)]
    pts = np.array(rows, dtype=np.float64)
    if flag:
        pts = np.hstack([pts, np.ones((len(pts), 1))])
    if d.parent is not None:
        pts = np.vstack([pts, np.zeros((1, pts.shape[1]))])
    return pts


def _training_set(
    data: RunData, metric: str, max_trials: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    done = [t for t in data.complete if math.isfinite(float(t.metrics.get(metric, math.nan)))]
    if done:
        top = max(budget_key(t) for t in done)
        done = [t for t in done if budget_key(t) == top]
    if len(done) > max_trials:
        keep = np.sort(rng.choice(len(done), size=max_trials, replace=False))
        done = [done[i] for i in keep]
    cache: dict[str, np.ndarray] = {}
    rows = []
    for t in done:
        enc = cache.get(t.arch.id)
        if enc is None:
            enc = cache[t.arch.id] = data.space.encode(t.arch)
        rows.append(enc)
    x = np.array(rows, dtype=np.float64).reshape(len(rows), data.space.encoding_width)
    y = np.array([float(t.metrics[metric]) for t in done], dtype=np.float64)
    return x, y


def _tree_shares(tree: Any, owner_col: np.ndarray, local_val: list[np.ndarray], owner: np.ndarray,
                 weights: np.ndarray, n_dec: int) -> np.ndarray | None:  # fmt: skip
    """Main-effect variance fractions of one fitted tree, or ``None`` for a constant tree."""
    return tree_main_effects(tree, owner_col, local_val, owner, weights, n_dec)[0]


def tree_main_effects(tree: Any, owner_col: np.ndarray, local_val: list[np.ndarray], owner: np.ndarray,
                      weights: np.ndarray, n_dec: int) -> tuple[np.ndarray | None, np.ndarray, float]:  # fmt: skip
    """``(shares, marginal, mean)`` of one fitted tree: main-effect variance fractions per
    decision (``None`` for a constant tree), ``E[f | decision = point]`` at every flattened
    point, and the mean of ``f`` over the space.

    ``owner_col[c]``: decision of encoding column ``c``; ``local_val[c]``: column ``c``'s value at
    every flattened point (all decisions' points concatenated); ``owner``: decision of each point.
    """
    t = tree.tree_
    left, right, feat, thr = t.children_left, t.children_right, t.feature, t.threshold
    value = t.value.reshape(t.node_count, -1)[:, 0]
    leaf_masks: list[np.ndarray] = []
    leaf_vals: list[float] = []
    stack = [(0, np.ones(len(owner), dtype=bool))]
    while stack:
        node, mask = stack.pop()
        if left[node] == -1:
            leaf_masks.append(mask)
            leaf_vals.append(float(value[node]))
            continue
        c = int(feat[node])
        own = owner == owner_col[c]
        goes_left = local_val[c] <= thr[node]
        stack.append((int(left[node]), mask & (~own | goes_left)))
        stack.append((int(right[node]), mask & (~own | ~goes_left)))
    masks = np.array(leaf_masks)
    vals = np.array(leaf_vals)
    onehot = np.zeros((len(owner), n_dec))
    onehot[np.arange(len(owner)), owner] = 1.0
    frac = (masks * weights) @ onehot  # (leaves, decisions): probability of each decision's constraint
    prob = frac.prod(axis=1)
    live = prob > 0
    masks, vals, frac, prob = masks[live], vals[live], frac[live], prob[live]
    mean = float(vals @ prob)
    total = float((vals - mean) ** 2 @ prob)
    if total <= 1e-12 * max(1.0, mean * mean):
        return None, np.full(len(owner), mean), mean
    # E[f | decision i = point v] = sum over leaves of val * 1[v in leaf] * prod_{j != i} frac_j
    coef = (vals * prob)[:, None] / frac[:, owner]
    cond = (coef * masks).sum(axis=0)
    shares = np.bincount(owner, weights=weights * (cond - mean) ** 2, minlength=n_dec) / total
    return np.asarray(shares, dtype=np.float64), np.asarray(cond, dtype=np.float64), mean


def compute_importance(source: Any, *, metric: str | None = None, trees: int = 32, seed: int = 0,
                       max_trials: int = 4000) -> Importance:  # fmt: skip
    """Decision importance of ``metric`` (default: the primary objective) as an :class:`Importance`.

    Uses the complete trials at the highest fidelity (a random subset of ``max_trials`` when there
    are more). Needs at least 4 such trials with different values of the metric.
    """
    from sklearn.ensemble import RandomForestRegressor

    data = RunData.load(source)
    metric = metric or data.primary
    rng = np.random.default_rng(seed)
    x, y = _training_set(data, metric, max_trials, rng)
    if len(y) < 4 or float(np.ptp(y)) == 0.0:
        raise ConfigError(
            "importance", f"needs at least 4 complete trials with different values of {metric!r}, got {len(y)}"
        )
    space: SearchSpace = data.space
    decisions = space.decisions
    owner, weights, owner_col, local_val = marginal_grid(space)
    forest = RandomForestRegressor(
        n_estimators=trees, min_samples_leaf=2, random_state=int(rng.integers(2**31)), n_jobs=1
    )
    forest.fit(x, y)
    per_tree = [
        s for s in (_tree_shares(e, owner_col, local_val, owner, weights, len(decisions)) for e in forest.estimators_)
        if s is not None
    ]  # fmt: skip
    mean_shares = np.mean(per_tree, axis=0) if per_tree else np.zeros(len(decisions))
    shares = {d.name: float(s) for d, s in zip(decisions, mean_shares)}
    spread = np.percentile(per_tree, [2.5, 97.5], axis=0) if per_tree else np.zeros((2, len(decisions)))
    intervals = {d.name: (float(spread[0, i]), float(spread[1, i])) for i, d in enumerate(decisions)}
    ordered = dict(sorted(shares.items(), key=lambda kv: -kv[1]))
    rest = max(0.0, 1.0 - sum(ordered.values()))
    budgets = {budget_key(t) for t in data.complete}
    fidelity = " at the highest fidelity" if len(budgets) > 1 else ""
    return Importance(
        metric, ordered, rest, len(y), trees, METHOD.format(trees=trees, n=len(y), fidelity=fidelity, rest=rest),
        {k: intervals[k] for k in ordered},
    )


def importance(source: Any, *, metric: str | None = None, trees: int = 32, seed: int = 0) -> Mapping[str, float]:
    """How much of the variance of ``metric`` (default: the primary objective) each decision
    explains on its own, largest first: fANOVA main effects over a random forest fitted to the
    complete trials. Each cell edge is a decision; the rest of the variance is interactions.

    Args:
        source: A run directory or a :class:`nasforge.Study`.
        metric: The metric to explain.
        trees: Trees of the random forest.
        seed: Seed of the forest (and of the subset, beyond 4,000 trials).

    Example:
        >>> import nasforge
        >>> from nasforge.space import SearchSpace, Choice
        >>> space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1, 2])})
        >>> study = nasforge.search(space, nasforge.Function(lambda x: {"y": x["a"] + 0.01 * x["b"]}),
        ...                         strategy="grid", objectives={"y": "maximize"})
        >>> list(nasforge.importance(study))[0]
        'a'
    """
    return compute_importance(source, metric=metric, trees=trees, seed=seed).shares
