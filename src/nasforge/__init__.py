"""nasforge: neural architecture search that is complete, pleasant and honest about numbers.

The parts, in the order data flows (each imports only those before it): ``space`` (decisions,
sampling, canonical keys), ``strategies`` (ask/tell over a :class:`~nasforge.strategies.History`
the study owns; ``ask`` answers a candidate, ``WAIT`` or ``None``), ``evaluators`` (metrics they
declare; a ``constraints(space)`` hook), :class:`Study` (the loop; each trial's constraint
violation computed once), :class:`RunData` (the one read model: best and Pareto front for
status, ``best.json``, report and explain), :class:`RunDir` (the run directory as a service:
create, open, resume, finish). Each package builds its own YAML (``make_*``); ``config`` composes
them once, with the checks of ``_validate``; nothing unused or unread is silently ignored.

Example:
    >>> import nasforge
    >>> from nasforge.evaluators import Function
    >>> space = nasforge.space.builtin("seed-cnn")
    >>> study = nasforge.search(space, Function(lambda a: {"score": -a["kernel"]}),
    ...                         strategy="grid", objectives={"score": "maximize"}, progress=False)
    >>> study.best.arch["kernel"]
    1
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError, FatalError, NasforgeError, SpaceError, TrialFailed
from ._version import __version__

if TYPE_CHECKING:
    from . import space
    from ._load import load_model
    from ._results import RunData
    from ._trial import Candidate, MetricConstraint, Objective, Objectives, Trial, TrialState
    from .evaluators import Evaluator, Function, Result, Table, TrialPruned, report_step
    from .pruners import Pruner
    from .report import Refinement, explain, importance, refine, write_report
    from .run import RunDir, search
    from .space import Arch, SearchSpace
    from .storage import InMemoryStorage, SQLiteStorage, Storage
    from .strategies import Strategy
    from .study import Study

_LAZY: dict[str, str] = {
    "space": ".space",
    "load_model": "._load",
    "RunData": "._results",
    "Candidate": "._trial",
    "MetricConstraint": "._trial",
    "Objective": "._trial",
    "Objectives": "._trial",
    "Trial": "._trial",
    "TrialState": "._trial",
    "Evaluator": ".evaluators",
    "Function": ".evaluators",
    "Result": ".evaluators",
    "Table": ".evaluators",
    "TrialPruned": ".evaluators",
    "report_step": ".evaluators",
    "Pruner": ".pruners",
    "Refinement": ".report",
    "explain": ".report",
    "importance": ".report",
    "refine": ".report",
    "write_report": ".report",
    "RunDir": ".run",
    "search": ".run",
    "Arch": ".space",
    "SearchSpace": ".space",
    "InMemoryStorage": ".storage",
    "SQLiteStorage": ".storage",
    "Storage": ".storage",
    "Strategy": ".strategies",
    "Study": ".study",
}
"""Public names by the module that defines them, imported on first use: ``import nasforge``
stays light (the command line writes a starting search's config before numpy and torch load)."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nasforge' has no attribute {name!r}")
    loaded = importlib.import_module(module, __name__)
    value = loaded if module == "." + name else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "Pruner",
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
    "TrialPruned",
    "TrialState",
    "__version__",
    "explain",
    "importance",
    "load_model",
    "refine",
    "report_step",
    "search",
    "space",
    "write_report",
]
