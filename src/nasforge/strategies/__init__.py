"""Search strategies: ask/tell searchers that decide which architecture to try next.

A strategy reads the study's :class:`History` (what was asked and told) and answers each
``ask`` with a :class:`~nasforge.Candidate`, :data:`WAIT` (nothing now) or ``None``
(exhausted).

Example:
    >>> import numpy as np
    >>> from nasforge import Objectives
    >>> from nasforge.space import builtin
    >>> space, objectives = builtin("seed-cnn"), Objectives.parse("accuracy")
    >>> s = make_strategy("random")
    >>> s.start(space, objectives, np.random.default_rng(0), History(space, objectives))
    >>> s.ask().arch["kernel"] in (1, 3, 5)
    True
    >>> make_strategy("evolution", {"population": 8}).to_config()
    {'name': 'evolution', 'population': 8, 'sample_size': 5}
"""

from .._trial import MetricConstraint
from ._base import STRATEGIES, WAIT, Ask, Strategy, Wrapper, register_strategy, registered_name, strategy_label
from ._basic import GridSearch, HillClimbing, RandomSearch
from ._bayesian import BayesianOptimization
from ._evolution import RegularizedEvolution
from ._fidelity import Hyperband, SuccessiveHalving
from ._gp import GaussianProcess
from ._history import History
from ._local import LocalSearch
from ._make import DEFAULT_STRATEGY, as_strategy, make_strategy
from ._nsga2 import NSGA2, crowding_distance, non_dominated_sort
from ._scalarize import Scalarize, WeightedSum
from ._transfer import Transfer, TransferSource
from ._warm import WarmStart

__all__ = [
    "DEFAULT_STRATEGY",
    "NSGA2",
    "STRATEGIES",
    "WAIT",
    "Ask",
    "BayesianOptimization",
    "GaussianProcess",
    "GridSearch",
    "HillClimbing",
    "History",
    "Hyperband",
    "LocalSearch",
    "MetricConstraint",
    "RandomSearch",
    "RegularizedEvolution",
    "Scalarize",
    "Strategy",
    "SuccessiveHalving",
    "Transfer",
    "TransferSource",
    "WarmStart",
    "WeightedSum",
    "Wrapper",
    "as_strategy",
    "crowding_distance",
    "make_strategy",
    "non_dominated_sort",
    "register_strategy",
    "registered_name",
    "strategy_label",
]
