"""Storage of trials and study settings: SQLite (default) and in-memory.

A damaged store is never read silently: see :class:`Storage` (``trials``, ``read_trials``,
``check``) and :class:`StorageError`.
"""

from ._base import (
    BadRow,
    InMemoryStorage,
    RowProblem,
    Storage,
    StorageError,
    StorageWarning,
    TrialsRead,
    trial_from_row,
    trial_to_row,
)
from ._sqlite import SQLiteStorage

__all__ = [
    "BadRow",
    "InMemoryStorage",
    "RowProblem",
    "SQLiteStorage",
    "Storage",
    "StorageError",
    "StorageWarning",
    "TrialsRead",
    "trial_from_row",
    "trial_to_row",
]
