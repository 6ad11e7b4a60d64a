"""Small helpers shared by strategies (module functions, not base-class methods)."""

from __future__ import annotations

import math

import numpy as np

from .._errors import ConfigError
from ..space import Arch, SearchSpace
from ..space._neighbours import one_change_neighbours
from ._history import History


def decision_weights(space: SearchSpace) -> np.ndarray:
    """Per column of ``space.encode``: ``sqrt(2)`` for an ordered choice or a range (and the
    exists-flag of a conditional one), 1 for the columns of a one-hot (unordered) choice, so
    that every decision's largest change is the same Euclidean distance: a categorical change
    flips two one-hot columns (``sqrt(2)``), and an ordered choice or a range moved from one
    end to the other now goes as far. Unweighted, one lengthscale makes the whole range of a
    number count as ``1/sqrt(2)`` of any label change. (Weights, not ``1/sqrt(2)`` on the
    one-hot columns, so that a space of labels alone encodes exactly as before.)

    Example:
        >>> from nasforge.space import Choice
        >>> space = SearchSpace({"act": Choice(["relu", "tanh"]), "units": Choice([16, 32, 64])})
        >>> decision_weights(space).round(3).tolist()
        [1.0, 1.0, 1.414]
    """
    out: list[float] = []
    for d in space.decisions:
        width = d.domain.width
        out.extend([1.0] * width if width > 1 else [math.sqrt(2.0)])
        if d.parent is not None and width == 1:
            out.append(math.sqrt(2.0))  # the exists-flag of a conditional number
    weights = np.asarray(out, dtype=np.float64)
    if len(weights) != space.encoding_width:
        raise AssertionError(f"decision_weights: {len(weights)} columns for an encoding of {space.encoding_width}")
    return weights


def one_change(space: SearchSpace, arch: Arch, *, limit: int = 64) -> list[Arch]:
    """:func:`~nasforge.space._neighbours.one_change_neighbours` (the architectures that differ
    from ``arch`` in one decision), the same list in the same order, computed along each
    decision alone when every decision always exists (no conditions, no depth): the general
    function builds every neighbour of every step and keeps those along the decision, which
    is most of a Bayesian ask on NAS-Bench-201 (``benchmarks/overhead.py``)."""
    if any(d.parent is not None or d.repeat is not None for d in space.decisions):
        return one_change_neighbours(space, arch, limit=limit)
    out: list[Arch] = []  # changes along different decisions are different architectures: no duplicates
    for d in space.decisions:
        seen = {arch[d.name]}
        frontier = [arch[d.name]]
        while frontier and len(seen) <= limit:
            step = []
            for value in frontier:
                for v in d.domain.neighbors(value):
                    if v in seen:
                        continue
                    seen.add(v)
                    step.append(v)  # the walk goes on past a value that breaks a constraint (a missing table row)
                    new = arch.with_values({d.name: v})
                    if space.satisfies(new):
                        out.append(new)
            frontier = step
    return out


def unconstrained(space: SearchSpace) -> SearchSpace | None:
    """``space`` without its constraints (``None`` when it has none): what :func:`near`
    measures a neighbourhood's sparseness against."""
    if not space.constraints:
        return None
    return SearchSpace(space.spec, name=space.name, canonical=space.declared_canonical)


def near(space: SearchSpace, open_space: SearchSpace | None, arch: Arch) -> list[Arch]:
    """The one-decision changes of ``arch`` (:func:`one_change`), and when the constraints
    leave fewer than half of them (a table that holds part of the space, so most changes have
    no row) also the two-decision changes that meet them, nearest first: a local search whose
    every step had a handful of candidates would stall. ``open_space``: ``space`` without its
    constraints (:func:`unconstrained`; ``None``: it has none, nothing is added)."""
    first = one_change(space, arch)
    if open_space is None or 2 * len(first) >= len(open_space_changes := one_change(open_space, arch)):
        return first
    out = dict.fromkeys(first)
    for step in open_space_changes:
        for n in one_change(space, step):
            if n != arch:
                out.setdefault(n)
    return list(out)


def local_neighbours(space: SearchSpace, open_space: SearchSpace | None, arch: Arch) -> list[Arch]:
    """``space.neighbors(arch)``, the steps of local search and hill climbing; when the
    constraints leave fewer than half of the steps of ``open_space`` (``space`` without them: a
    table that holds part of the space) the :func:`near` architectures instead, which reach past
    a missing row and take in two-decision changes. A space without constraints is unchanged."""
    steps = space.neighbors(arch)
    if open_space is not None and 2 * len(steps) < len(open_space.neighbors(arch)):
        return near(space, open_space, arch)
    return steps


def mutate_new(
    space: SearchSpace, history: History, rng: np.random.Generator, parent: Arch, tries: int = 60
) -> Arch | None:
    """A mutation of ``parent`` never asked before: one-decision mutations first, then longer
    random walks from ``parent``; ``None`` if none was found."""
    arch = parent
    for attempt in range(tries):
        child = space.mutate(arch, rng)
        if history.is_new(child):
            return child
        # Every few failures, walk one step further away from the parent.
        arch = child if attempt % 4 == 3 else arch
    return None


def check_population(population: int, space: SearchSpace) -> None:
    """Refuse a population larger than the space (the initial design could never fill it)."""
    if space.cardinality < population:
        raise ConfigError(
            "strategy.population",
            f"is {population} but the space has only {space.cardinality:g} architectures; "
            f"use a population of at most {space.cardinality:g}",
        )
