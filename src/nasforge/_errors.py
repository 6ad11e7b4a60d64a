"""The exception types of nasforge.

Two kinds of failure, as in Keras Tuner: :class:`TrialFailed` marks one trial failed and the
search goes on; everything derived from :class:`NasforgeError` that reaches the user is bad input
or a fatal condition and stops before (or without) damaging stored work.
"""

from __future__ import annotations


class NasforgeError(Exception):
    """Base class of errors that nasforge reports to the user in one line."""


class ConfigError(NasforgeError, ValueError):
    """Bad input: a config, space, data set or option that breaks a rule.

    The message names the field (as a dotted path), the rule, what was received and the fix.

    Example:
        >>> str(ConfigError("space.decisions.kernel.choice", "must be a non-empty list, got []"))
        'space.decisions.kernel.choice: must be a non-empty list, got []'
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class SpaceError(ConfigError):
    """A search space that cannot be used (empty, impossible constraints, not enumerable)."""


class TrialFailed(Exception):
    """Raised by an evaluator for an expected failure of one trial; the search continues."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class FatalError(NasforgeError):
    """Stops the search (e.g. too many consecutive failures); stored trials are kept."""
