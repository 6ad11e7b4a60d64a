"""Evaluators: turn an architecture into numbers (tables, functions, training, proxies).

Each evaluator declares the metrics it produces (``metrics``), builds itself from its YAML
form (``from_config``, picked by :func:`make_evaluator`) and gives that form back
(``to_config``). Those that need it narrow the study's space through a
``constraints(space)`` hook; :class:`Trainer` is also a :class:`Finalizer` (retrain and test
the best architecture).

:class:`Trainer` (real PyTorch training) and :class:`ZeroCost` (zero-cost proxies) are imported
on first use, so that importing nasforge does not import torch.
"""

from typing import TYPE_CHECKING, Any

from .._errors import TrialFailed
from ._base import (
    WARM_RANKER_KEYS,
    Evaluator,
    EvaluatorSetup,
    Finalizer,
    FinalModel,
    Function,
    Ranker,
    Result,
    callable_spec,
    check_metrics,
    load_callable,
)
from ._config import (
    EVALUATORS,
    EvaluatorBuilder,
    check_decisions,
    check_objectives,
    declared_metrics,
    make_evaluator,
    register_evaluator,
)
from ._table import NB201_COLUMNS, Table, format_key, nasbench201

if TYPE_CHECKING:
    from ._proxies import PROXIES, ZeroCost, proxy
    from ._trainer import Trainer

__all__ = [
    "EVALUATORS",
    "NB201_COLUMNS",
    "PROXIES",
    "WARM_RANKER_KEYS",
    "Evaluator",
    "EvaluatorBuilder",
    "EvaluatorSetup",
    "FinalModel",
    "Finalizer",
    "Function",
    "Ranker",
    "Result",
    "Table",
    "Trainer",
    "TrialFailed",
    "ZeroCost",
    "callable_spec",
    "check_decisions",
    "check_metrics",
    "check_objectives",
    "declared_metrics",
    "format_key",
    "load_callable",
    "make_evaluator",
    "nasbench201",
    "proxy",
    "register_evaluator",
]


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        from ._trainer import Trainer

        return Trainer
    if name in ("PROXIES", "ZeroCost", "proxy"):
        from . import _proxies

        return getattr(_proxies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
