"""Helpers every plot and text of the report shares. What a report reads — a run's settings,
space, objectives and trials — is the shared read model, :class:`nasforge._results.RunData`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._results import RunData, budget_key

__all__ = ["RunData", "best_so_far", "budget_key", "fmt", "fmt_seconds"]


def best_so_far(scores: np.ndarray) -> np.ndarray:
    """Running maximum of larger-is-better ``scores``."""
    return np.maximum.accumulate(scores) if len(scores) else scores


def fmt(value: Any, digits: int = 4) -> str:
    """A value for people: floats to ``digits`` significant digits, the rest as ``str``."""
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    return str(value)


def fmt_seconds(seconds: float | None) -> str:
    """``3723.4`` -> ``"1 h 2 min 3 s"``; ``None`` -> ``"not recorded"``."""
    if seconds is None or not math.isfinite(seconds):
        return "not recorded"
    if seconds < 60:
        return f"{seconds:.3g} s"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return (f"{h} h " if h else "") + f"{m} min {s} s"
