"""Storage of trials and study settings: SQLite (default) and in-memory."""

from ._base import InMemoryStorage, Storage, trial_from_row, trial_to_row
from ._sqlite import SQLiteStorage

__all__ = ["InMemoryStorage", "SQLiteStorage", "Storage", "trial_from_row", "trial_to_row"]
