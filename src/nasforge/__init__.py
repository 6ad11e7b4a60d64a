"""nasforge: neural architecture search that is complete, pleasant and honest about numbers.

Example:
    >>> import nasforge
    >>> from nasforge.evaluators import Function
    >>> space = nasforge.space.builtin("seed-cnn")
    >>> study = nasforge.search(space, Function(lambda a: {"score": -a["kernel"]}),
    ...                         strategy="grid", objectives={"score": "maximize"}, progress=False)
    >>> study.best.arch["kernel"]
    1
"""

from . import space
from ._errors import ConfigError, FatalError, NasforgeError, SpaceError, TrialFailed
from ._load import load_model
from ._results import RunData
from ._trial import Candidate, MetricConstraint, Objective, Objectives, Trial, TrialState
from ._version import __version__
from .evaluators import Evaluator, Function, Result, Table
from .report import Refinement, explain, importance, refine, write_report
from .run import RunDir, search
from .space import Arch, SearchSpace
from .storage import InMemoryStorage, SQLiteStorage, Storage
from .strategies import Strategy
from .study import Study

__all__ = [
    "Arch",
    "Candidate",
    "ConfigError",
    "Evaluator",
    "FatalError",
    "Function",
    "InMemoryStorage",
    "MetricConstraint",
    "NasforgeError",
    "Objective",
    "Objectives",
    "Refinement",
    "Result",
    "RunData",
    "RunDir",
    "SQLiteStorage",
    "SearchSpace",
    "SpaceError",
    "Storage",
    "Strategy",
    "Study",
    "Table",
    "Trial",
    "TrialFailed",
    "TrialState",
    "__version__",
    "explain",
    "importance",
    "load_model",
    "refine",
    "search",
    "space",
    "write_report",
]
