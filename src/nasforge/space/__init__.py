"""Search spaces: what an architecture is, with no deep-learning framework.

Example:
    >>> import numpy as np
    >>> from nasforge.space import SearchSpace, Choice, IntRange
    >>> space = SearchSpace({"kernel": Choice([3, 5]), "depth": IntRange(1, 3)})
    >>> arch = space.sample(np.random.default_rng(0))
    >>> sorted(arch)
    ['depth', 'kernel']
"""

from ._arch import Arch, Value
from ._builtins import BUILTIN_SPACES, NB201_OPS, builtin, register_space
from ._cell import Cell
from ._config import from_config
from ._domains import Choice, Domain, FloatRange, IntRange
from ._expr import Expression
from ._space import Conditional, Constraint, Decision, Repeat, SearchSpace

__all__ = [
    "BUILTIN_SPACES",
    "NB201_OPS",
    "Arch",
    "Cell",
    "Choice",
    "Conditional",
    "Constraint",
    "Decision",
    "Domain",
    "Expression",
    "FloatRange",
    "IntRange",
    "Repeat",
    "SearchSpace",
    "Value",
    "builtin",
    "from_config",
    "register_space",
]
