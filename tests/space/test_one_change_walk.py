"""``one_change_neighbours`` builds each architecture's neighbours once and stops a decision's
walk when all its values are seen; its list must equal the plain walk's, in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.space import Arch, Choice, Conditional, FloatRange, IntRange, SearchSpace, builtin
from nasforge.space._neighbours import ancestors, neighbour_decision, one_change_neighbours


def plain_walk(space: SearchSpace, arch: Arch, limit: int) -> list[Arch]:
    """The walk written directly: for each decision, step from ``arch`` through the space's
    neighbours, keeping those that change only that decision to a value not yet seen."""
    parents = ancestors(space)
    out: dict[Arch, None] = {}
    for name in space.active_names(arch):
        seen = {arch[name]}
        frontier = [arch]
        while frontier and len(seen) <= limit:
            step = []
            for a in frontier:
                for n in space.neighbors(a):
                    if name in n and n[name] not in seen and neighbour_decision(arch, n, parents) == name:
                        seen.add(n[name])
                        out.setdefault(n)
                        step.append(n)
            frontier = step
    return list(out)


SPACES = {
    "cnn (depth)": builtin("cnn"),
    "ranges": SearchSpace({"a": IntRange(1, 40), "b": FloatRange(0.0, 1.0), "c": Choice([1, 2, 4, 8])}),
    "conditional": SearchSpace({
        "opt": Choice(["sgd", "adam"]),
        "momentum": Conditional(Choice([0.0, 0.5, 0.9]), parent="opt", values=("sgd",)),
        "width": Choice([16, 32, 64]),
    }),
}


@pytest.mark.parametrize("name", sorted(SPACES))
@pytest.mark.parametrize("limit", [64, 3])
def test_the_walk_gives_the_plain_walk_s_list(name: str, limit: int) -> None:
    space = SPACES[name]
    rng = np.random.default_rng(1)
    for _ in range(4):
        arch = space.sample(rng)
        got = one_change_neighbours(space, arch, limit=limit)
        assert got == plain_walk(space, arch, limit) and got  # same architectures, same order
