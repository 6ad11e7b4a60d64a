"""Evaluators: turn an architecture into numbers (tables, functions, training, proxies)."""

from .._errors import TrialFailed
from ._base import Evaluator, Function, Result, check_metrics
from ._table import NB201_COLUMNS, Table, format_key, nasbench201

__all__ = ["Evaluator", "Function", "NB201_COLUMNS", "Result", "Table", "TrialFailed", "check_metrics", "format_key", "nasbench201"]
