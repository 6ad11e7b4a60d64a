"""Evaluators: turn an architecture into numbers (tables, functions, training, proxies).

:class:`Trainer` (real PyTorch training) and :class:`ZeroCost` (zero-cost proxies) are imported
on first use, so that importing nasforge does not import torch.
"""

from typing import TYPE_CHECKING, Any

from .._errors import TrialFailed
from ._base import Evaluator, Function, Result, check_metrics
from ._table import NB201_COLUMNS, Table, format_key, nasbench201

if TYPE_CHECKING:
    from ._proxies import PROXIES, ZeroCost, proxy
    from ._trainer import Trainer

__all__ = ["NB201_COLUMNS", "PROXIES", "Evaluator", "Function", "Result", "Table", "Trainer", "TrialFailed", "ZeroCost", "check_metrics", "format_key", "nasbench201", "proxy"]


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        from ._trainer import Trainer

        return Trainer
    if name in ("PROXIES", "ZeroCost", "proxy"):
        from . import _proxies

        return getattr(_proxies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
