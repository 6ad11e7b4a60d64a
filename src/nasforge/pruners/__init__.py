"""Pruners: stop poor trials at intermediate steps (epochs) while the search goes on.

A pruner reads the curves of the judged metric (the primary objective) that trials report
with :func:`nasforge.evaluators.report_step`; the study asks it after each report. Configure
one with the top-level ``pruner:`` key (``asha``, ``{name: median, warmup_steps: 2}``) or
``Study(..., pruner=...)``.

Example:
    >>> from nasforge.pruners import make_pruner
    >>> make_pruner({"name": "asha", "eta": 3}).rungs(upto=9)
    [1, 3, 9]
"""

from ._base import PRUNERS, Curves, Pruner, check_pruner, make_pruner, register_pruner
from ._rules import ASHA, MedianStopping, rung_steps

__all__ = [
    "ASHA",
    "PRUNERS",
    "Curves",
    "MedianStopping",
    "Pruner",
    "check_pruner",
    "make_pruner",
    "register_pruner",
    "rung_steps",
]
