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
from ._bayesian import BayesianOptimization
from ._evolution import RegularizedEvolution
from ._fidelity import Hyperband, SuccessiveHalving
from ._gp import GaussianProcess
from ._local import LocalSearch
from ._nsga2 import NSGA2, MetricConstraint, crowding_distance, non_dominated_sort
from ._warm import WarmStart

__all__ = [
    "NSGA2",
    "STRATEGIES",
    "BayesianOptimization",
    "GaussianProcess",
    "GridSearch",
    "HillClimbing",
    "Hyperband",
    "LocalSearch",
    "MetricConstraint",
    "RandomSearch",
    "RegularizedEvolution",
    "Strategy",
    "SuccessiveHalving",
    "WarmStart",
    "crowding_distance",
    "make_strategy",
    "non_dominated_sort",
    "register_strategy",
]
