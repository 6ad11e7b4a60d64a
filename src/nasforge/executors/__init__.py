"""Executors: where evaluations run — inline, local worker processes, or Ray.

Example:
    >>> from nasforge.executors import make_executor
    >>> make_executor({"name": "local", "workers": 2, "trial_timeout": 600}).workers
    2
"""

from ._base import DEADLINE_GRACE_SECONDS, Executor, InlineExecutor, Outcome, StepHandler, TrialWatch, run_trial
from ._config import EXECUTORS, config_of, executor_options, make_executor, register_executor
from ._local import LocalExecutor
from ._ray import RayExecutor
from ._worker import describe_exit

__all__ = [
    "DEADLINE_GRACE_SECONDS",
    "EXECUTORS",
    "Executor",
    "InlineExecutor",
    "LocalExecutor",
    "Outcome",
    "RayExecutor",
    "StepHandler",
    "TrialWatch",
    "config_of",
    "describe_exit",
    "executor_options",
    "make_executor",
    "register_executor",
    "run_trial",
]
