"""Evaluators: turn an architecture into numbers (tables, functions, training, proxies).

Each evaluator declares the metrics it produces (``metrics``), builds itself from its YAML
form (``from_config``, picked by :func:`make_evaluator`) and gives that form back
(``to_config``). Those that need it narrow the study's space through a
``constraints(space)`` hook; :class:`Trainer` is also a :class:`Finalizer` (retrain and test
the best architecture).

:class:`Trainer` (real PyTorch training), :class:`OneShot` (weight sharing) and :class:`ZeroCost`
(zero-cost proxies) are imported on first use, so that importing nasforge does not import torch.
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
    static_constraints,
)
from ._steps import (
    DEADLINE,
    StepContext,
    TrialPruned,
    current_step_context,
    past_deadline,
    report_step,
    step_context,
    steps_wanted,
    stop_reason,
    trial_deadline,
)
from ._table import NB201_COLUMNS, Table, format_key, nasbench201

if TYPE_CHECKING:
    from ._hooks import Augmentation, FitContext
    from ._oneshot import OneShot
    from ._proxies import PROXIES, ZeroCost, proxy
    from ._trainer import Trainer

__all__ = [
    "DEADLINE",
    "EVALUATORS",
    "NB201_COLUMNS",
    "PROXIES",
    "WARM_RANKER_KEYS",
    "Augmentation",
    "Evaluator",
    "EvaluatorBuilder",
    "EvaluatorSetup",
    "FinalModel",
    "Finalizer",
    "FitContext",
    "Function",
    "OneShot",
    "Ranker",
    "Result",
    "StepContext",
    "Table",
    "Trainer",
    "TrialFailed",
    "TrialPruned",
    "ZeroCost",
    "callable_spec",
    "check_decisions",
    "check_metrics",
    "check_objectives",
    "current_step_context",
    "declared_metrics",
    "format_key",
    "load_callable",
    "make_evaluator",
    "nasbench201",
    "past_deadline",
    "proxy",
    "register_evaluator",
    "report_step",
    "static_constraints",
    "step_context",
    "steps_wanted",
    "stop_reason",
    "trial_deadline",
]


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        from ._trainer import Trainer

        return Trainer
    if name in ("FitContext", "Augmentation"):
        from . import _hooks

        return getattr(_hooks, name)
    if name == "OneShot":
        from ._oneshot import OneShot

        return OneShot
    if name in ("PROXIES", "ZeroCost", "proxy"):
        from . import _proxies

        return getattr(_proxies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
