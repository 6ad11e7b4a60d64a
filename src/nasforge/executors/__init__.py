"""Executors: where evaluations run (inline; local processes and Ray build on the same protocol)."""

from ._base import Executor, InlineExecutor, Outcome, run_trial

__all__ = ["Executor", "InlineExecutor", "Outcome", "run_trial"]
