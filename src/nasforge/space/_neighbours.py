"""Neighbours along one decision: the architectures that differ from a given one in one
decision alone (decisions that appear or disappear because of it, such as the layers of a
deeper network or a conditional option, may differ too). ``explain`` and ``nasforge explain
--evaluate`` read and fill these."""

from __future__ import annotations

from ._arch import Arch
from ._space import SearchSpace

_ABSENT = object()


def ancestors(space: SearchSpace) -> dict[str, set[str]]:
    """Each decision's chain of parents (the decisions it depends on through conditions or depth)."""
    out: dict[str, set[str]] = {}
    for d in space.decisions:
        chain: set[str] = set()
        parent = d.parent
        while parent is not None:
            chain.add(parent)
            parent = space.decision(parent).parent
        out[d.name] = chain
    return out


def neighbour_decision(best: Arch, other: Arch, ancestors: dict[str, set[str]]) -> str | None:
    """The one decision along which ``other`` is a neighbour of ``best``, or ``None``.

    Decisions active in both must be equal but one; decisions active in only one of them must
    depend on that one (a layer that a depth change adds, a conditional option).
    """
    changed: str | None = None
    only_one: list[str] = []
    for name in set(best) | set(other):
        a, b = best.get(name, _ABSENT), other.get(name, _ABSENT)
        if a is _ABSENT or b is _ABSENT:
            only_one.append(name)
        elif a != b:
            if changed is not None:
                return None
            changed = name
    if changed is None:
        return None
    if any(changed not in ancestors.get(n, set()) for n in only_one):
        return None
    return changed

def one_change_neighbours(space: SearchSpace, arch: Arch, *, limit: int = 64) -> list[Arch]:
    """Architectures of ``space`` that differ from ``arch`` in one decision, for every other value
    of each decision (up to ``limit`` values each; ranges step outward one value at a time, and a
    deeper network copies its last layer), keeping the constraints. The walk along a decision
    goes on past a value that breaks them (a row missing from a table), so the values beyond it
    are still reached."""
    parents = ancestors(space)
    out: dict[Arch, None] = {}
    around: dict[Arch, list[Arch]] = {}  # each architecture's neighbours, built once for every decision
    for name in space.active_names(arch):
        seen = {arch[name]}
        size = space.decision(name).domain.size  # once every value is seen, a further step finds none
        frontier = [arch]
        while frontier and len(seen) <= limit and len(seen) < size:
            step = []
            for a in frontier:
                if a not in around:
                    around[a] = space.neighbors(a, satisfying=False)
                for n in around[a]:
                    if name in n and n[name] not in seen and neighbour_decision(arch, n, parents) == name:
                        seen.add(n[name])
                        if space.satisfies(n):
                            out.setdefault(n)
                        step.append(n)
            frontier = step
    return list(out)
