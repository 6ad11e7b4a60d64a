"""Main effects over the space itself: a Gaussian process fitted to the trials, integrated over a
uniform sample of the search space.

What a decision does *on average* (its marginal) and how much of the metric's variance it explains
(its fANOVA main effect, Hutter, Hoos & Leyton-Brown 2014) are properties of the space, not of the
trials a search happened to run. So a model is fitted to the trials and its prediction is averaged
over architectures drawn uniformly from the space (``space.sample``, constraints kept), with the
decision set to each of its values in turn: ``E[f | d = v]`` is the mean of the prediction over
the sample with ``d`` changed to ``v`` (the same sample for every value, so the values are compared
pair by pair). The share of ``d`` is the variance of its marginal over its values (equally
weighted) over the variance of the prediction over the sample; a conditional decision (or a
layer of a repeated block) is set to its values where it exists, its absence left out (that is
its parent's effect), and its share weighted by the part of the space where it exists. Changing a decision that others depend on averages over every way
the space fills what appears. Architectures are encoded with ``space.encode``, which writes a cell in canonical
form (an edge that carries nothing encodes as absent): the model sees that an operation on a dead
edge does nothing, which is most of what a cell's interactions are. Integrating the model over the
space rather than over its one-hot columns taken independently (what a tree-walk fANOVA does) is
what keeps those interactions out of the main effects.

The model is an exact GP with an exponential kernel on the encodings, its lengthscale and noise
picked by marginal likelihood (the kernel of :class:`nasforge.strategies.GaussianProcess`). The
difference of two values' marginals is a linear functional of the GP, so its posterior standard
deviation is exact (:meth:`SpaceMarginals.difference`); the shares, which are not linear, get
their spread from refitting the GP, with the same lengthscale and noise, to bootstrap resamples
of the trials (wider: a resample leaves out a third of the trials). A range with more than :data:`RANGE_POINTS` values is set to
:data:`RANGE_POINTS` of the sample's own values of it, evenly spaced in their order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..space import Arch, Choice, Decision, FloatRange, IntRange, SearchSpace, Value
from ..space._neighbours import ancestors, neighbour_decision, one_change_neighbours

RANGE_POINTS = 32
"""Values listed for a range at most; a longer range is binned into this many groups."""

SAMPLE = 300
"""Architectures drawn from the space to integrate over."""

MAX_GP_TRIALS = 400
"""Most trials the GP is fitted to (a seeded random subset beyond: O(n^3))."""

LENGTHSCALES = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
NOISES = (1e-3, 1e-2, 0.1, 0.3)
ABSENT = "(absent)"
"""The value that stands for a conditional decision's absence."""


def listed_values(d: Decision) -> list[Value] | None:
    """The values of ``d`` that are compared one by one, or ``None`` for a range too long to list."""
    dom = d.domain
    if isinstance(dom, Choice) or (isinstance(dom, IntRange | FloatRange) and dom.size <= RANGE_POINTS):
        return list(dom.values())
    return None


def _dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d, 0.0))


class _GP:
    """Exact GP mean with kernel ``exp(-d / (lengthscale * rms distance))`` on standardised targets."""

    def __init__(self, x: np.ndarray, y: np.ndarray, *, lengthscale: float | None = None, noise: float | None = None,
                 scale: float | None = None) -> None:  # fmt: skip
        self.x = x
        self.mu, self.sd = float(y.mean()), float(y.std()) or 1.0
        z = (y - self.mu) / self.sd
        d = _dists(x, x)
        if scale is None:
            off = d[~np.eye(len(d), dtype=bool)]
            scale = float(np.sqrt(np.mean(off**2))) if off.size and off.any() else 1.0
        self.scale = scale
        best: tuple[float, float, float, np.ndarray, np.ndarray] = (-math.inf, 1.0, NOISES[0], np.zeros(len(z)), np.eye(len(z)))
        for ls in LENGTHSCALES if lengthscale is None else (lengthscale,):
            k = np.exp(-d / (ls * scale))
            for nz in NOISES if noise is None else (noise,):
                try:
                    chol = np.linalg.cholesky(k + nz * np.eye(len(k)))
                except np.linalg.LinAlgError:
                    continue
                alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, z))
                lml = -0.5 * float(z @ alpha) - float(np.log(np.diag(chol)).sum())
                if lml > best[0]:
                    best = (lml, ls, nz, alpha, chol)
        _, self.lengthscale, self.noise, self.alpha, self.chol = best

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-_dists(a, b) / (self.lengthscale * self.scale))

    def functional_sd(self, x: np.ndarray, w: np.ndarray) -> float:
        """Posterior standard deviation of ``w @ f(x)`` (a weighted sum of the function's values)."""
        prior = float(w @ self.kernel(x, x) @ w)
        v = np.linalg.solve(self.chol, self.kernel(self.x, x) @ w)
        return self.sd * math.sqrt(max(prior - float(v @ v), 0.0))

    def mean(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        for s in range(0, len(x), 4096):
            ks = np.exp(-_dists(x[s : s + 4096], self.x) / (self.lengthscale * self.scale))
            out[s : s + 4096] = self.mu + self.sd * (ks @ self.alpha)
        return out


class SpaceMarginals:
    """Each decision's marginal mean of a metric over the space (see the module's text).

    Args:
        space: The search space.
        archs: The measured architectures.
        y: Their values of the metric.
        resamples: Bootstrap refits behind the intervals (0: none).
        sample: Architectures drawn from the space to integrate over.
        seed: Seed of the sample, the subset and the resamples.

    Example:
        >>> from nasforge.space import SearchSpace, Choice
        >>> space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1, 2])})
        >>> archs = list(space.enumerate())
        >>> m = SpaceMarginals(space, archs, np.array([3.0 * a["a"] + 0.1 * a["b"] for a in archs]), resamples=0)
        >>> max(m.shares()[0], key=m.shares()[0].get)
        'a'
    """

    def __init__(self, space: SearchSpace, archs: Sequence[Arch], y: np.ndarray, *, resamples: int = 16,
                 sample: int = SAMPLE, seed: int = 0) -> None:  # fmt: skip
        rng = np.random.default_rng(seed)
        self.space = space
        y = np.asarray(y, dtype=np.float64)
        archs = list(archs)
        if len(archs) > MAX_GP_TRIALS:
            keep = np.sort(rng.choice(len(archs), size=MAX_GP_TRIALS, replace=False))
            archs, y = [archs[i] for i in keep], y[keep]
        self.trials = len(archs)
        x = np.array([space.encode(a) for a in archs], dtype=np.float64).reshape(len(archs), -1)
        base = [space.sample(rng) for _ in range(sample)]
        # The points: every sampled architecture, and each with one decision set to each listed value.
        index: dict[Arch, int] = {}

        def at(a: Arch) -> int:
            return index.setdefault(a, len(index))

        parents = ancestors(space)
        # A decision no other one depends on (and not a depth) is set by substitution; changing
        # one that others depend on takes the space's own one-change neighbours.
        simple = {d.name for d in space.decisions} - set().union(*parents.values()) - set(space.repeats)
        self.groups: dict[str, dict[Value, list[int]]] = {d.name: {} for d in space.decisions}
        own = [at(a) for a in base]
        # The values each decision is set to: its listed values, or for a long range
        # RANGE_POINTS of the sample's own values, evenly spaced in their order.
        grid: dict[str, list[Value]] = {}
        for d in space.decisions:
            listed = listed_values(d)
            if listed is None:
                seen = sorted({a[d.name] for a in base if d.name in a}, key=float)  # type: ignore[arg-type]
                listed = [seen[int(i)] for i in np.unique(np.linspace(0, len(seen) - 1, RANGE_POINTS).round())] if seen else []
            grid[d.name] = listed
        for a, k in zip(base, own):
            moves: dict[tuple[str, Value], list[Arch]] = {}
            if any(n not in simple for n in a):
                for n in one_change_neighbours(space, a, limit=RANGE_POINTS):
                    name = neighbour_decision(a, n, parents)
                    if name is not None and name not in simple:
                        moves.setdefault((name, n[name]), []).append(n)  # every way to fill what appears
            plain = a.to_dict()
            for name in simple & set(a):
                for v in grid[name]:
                    if v != a[name]:
                        n = Arch({**plain, name: v})
                        if space.satisfies(n):
                            moves[(name, v)] = [n]
            for d in space.decisions:
                groups = self.groups[d.name]
                if d.name not in a:
                    groups.setdefault(ABSENT, []).append(k)
                elif d.name not in simple and listed_values(d) is None:
                    groups.setdefault(_bin(d, a[d.name]), []).append(k)  # unpaired: rare (a long range others depend on)
                else:
                    for v in grid[d.name]:
                        if v == a[d.name]:
                            groups.setdefault(v, []).append(k)
                        elif (d.name, v) in moves:
                            groups.setdefault(v, []).extend(at(n) for n in moves[(d.name, v)])
        points = list(index)
        self._own = np.array(own)
        enc = np.array([space.encode(a) for a in points], dtype=np.float64).reshape(len(points), -1)
        self._enc = enc
        self._gp = full = _GP(x, y)
        self.lengthscale, self.noise = full.lengthscale, full.noise
        fits = [full.mean(enc)]
        for _ in range(resamples):
            idx = rng.integers(len(y), size=len(y))
            fits.append(_GP(x[idx], y[idx], lengthscale=full.lengthscale, noise=full.noise, scale=full.scale).mean(enc))
        self._pred = np.array(fits)  # (1 + resamples, points): row 0 is the fit to all trials

    def marginal(self, name: str) -> dict[Value, np.ndarray]:
        """``value -> E[f | name = value]`` per fit (row 0: all trials; then the resamples), in the
        decision's order of values (bins of a long range by their middle; the absence last)."""
        d = self.space.decision(name)
        groups = self.groups[name]
        values = sorted((v for v in groups if v != ABSENT), key=float) if listed_values(d) is None else listed_values(d)  # type: ignore[arg-type]
        order = [v for v in values or [] if v in groups] + ([ABSENT] if ABSENT in groups else [])
        return {v: self._pred[:, groups[v]].mean(axis=1) for v in order}

    def difference(self, name: str, value: Value, other: Value) -> tuple[float, float]:
        """``E[f | name = value] - E[f | name = other]`` by the GP fitted to all trials: its
        posterior mean and standard deviation (exact: a difference of two means over the sample is
        a linear functional of the GP)."""
        groups = self.groups[name]
        a, b = groups[value], groups[other]
        keys = sorted(set(a) | set(b))
        at = {k: i for i, k in enumerate(keys)}
        w = np.zeros(len(keys))
        np.add.at(w, [at[k] for k in a], 1.0 / len(a))
        np.add.at(w, [at[k] for k in b], -1.0 / len(b))
        mean = float(w @ self._pred[0, keys])
        return mean, self._gp.functional_sd(self._enc[keys], w)

    def shares(self) -> list[dict[str, float]]:
        """Per fit (row 0 first), each decision's main-effect share of the variance over the space."""
        total = self._pred[:, self._own].var(axis=1)
        total = np.where(total > 0, total, math.inf)
        per: list[dict[str, float]] = [{} for _ in range(len(self._pred))]
        for d in self.space.decisions:
            m = {v: f for v, f in self.marginal(d.name).items() if v != ABSENT}  # absence: the parent's effect
            if len(m) < 2:
                share = np.zeros(len(self._pred))
            else:
                block = np.array(list(m.values()))  # (values, fits)
                active = 1.0 - len(self.groups[d.name].get(ABSENT, [])) / len(self._own)
                share = active * block.var(axis=0) / total
            for k, s in enumerate(share):
                per[k][d.name] = float(s)
        return per


def _bin(d: Decision, value: Value) -> float:
    """The middle, on the encoded [0, 1] scale, of the one of :data:`RANGE_POINTS` equal bins that
    holds ``value`` of a long range."""
    u = float(d.domain.encode(value)[0])
    return (min(int(u * RANGE_POINTS), RANGE_POINTS - 1) + 0.5) / RANGE_POINTS
