"""Small helpers shared by strategies (module functions, not base-class methods)."""

from __future__ import annotations

import numpy as np

from .._errors import ConfigError
from ..space import Arch, SearchSpace
from ._history import History


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
