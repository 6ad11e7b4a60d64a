"""Search strategies: ask/tell searchers that decide which architecture to try next.

Example:
    >>> import numpy as np
    >>> from nasforge import Objectives
    >>> from nasforge.space import builtin
    >>> s = make_strategy("random")
    >>> s.start(builtin("seed-cnn"), Objectives.parse("accuracy"), np.random.default_rng(0))
    >>> s.ask().arch["kernel"] in (1, 3, 5)
    True
"""

from ._base import STRATEGIES, Strategy, make_strategy, register_strategy
from ._basic import GridSearch, HillClimbing, RandomSearch
from ._warm import WarmStart

__all__ = ["GridSearch", "HillClimbing", "RandomSearch", "STRATEGIES", "Strategy", "make_strategy", "register_strategy", "WarmStart"]
