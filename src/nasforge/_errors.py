"""The exception types of nasforge.

Two kinds of failure, as in Keras Tuner: :class:`TrialFailed` marks one trial failed and the
search goes on; everything derived from :class:`NasforgeError` that reaches the user is bad input
or a fatal condition and stops before (or without) damaging stored work.
"""

from __future__ import annotations

from typing import Any


class NasforgeError(Exception):
    """Base class of errors that nasforge reports to the user in one line."""


_VERBS = {"must", "is", "are", "needs", "names", "and", "sets", "cannot", "has", "holds", "gives"}
"""First words of messages that read on from the field (``lr must be ...``)."""


class ConfigError(NasforgeError, ValueError):
    """Bad input: a config, space, data set or option that breaks a rule.

    The message names the field (as a dotted path), the rule, what was received and the fix.

    Example:
        >>> str(ConfigError("space.decisions.kernel.choice", "must be a non-empty list, got []"))
        'space.decisions.kernel.choice: must be a non-empty list, got []'
    """

    def __init__(self, field: str, message: str, *, owner: str | None = None) -> None:
        self.field = field
        self.message = message
        self.owner = owner
        """The Python class or function that was called (``Trainer``), when the error reached
        the user through a Python call rather than through a config; see :meth:`called`."""
        super().__init__(self._text())

    def _text(self) -> str:
        if self.owner:
            if not self.field:
                return f"{self.owner}: {self.message}"
            joint = " " if self.message.split(" ", 1)[0] in _VERBS else ": "
            return f"{self.owner}: {self.field}{joint}{self.message}"
        return f"{self.field}: {self.message}" if self.field else self.message

    def _copy(self, field: str, owner: str | None) -> ConfigError:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.field, new.owner = field, owner
        Exception.__init__(new, new._text())
        return new

    def __reduce__(self) -> tuple[Any, ...]:  # pickles across worker processes
        return (_rebuild, (type(self), self.field, self.message, self.owner))

    def within(self, prefix: str) -> ConfigError:
        """The same error one level deeper in a config: its field behind ``prefix``.

        Components raise field names relative to themselves (``lr``); the container that
        built them from a config prefixes its own key on the way out (``evaluator.lr``), as
        NNI's validation paths do. A Python call names the class instead (:meth:`called`).

        Example:
            >>> str(ConfigError("lr", "must be a positive number, got -1").within("evaluator"))
            'evaluator.lr: must be a positive number, got -1'
            >>> str(ConfigError("", "is required").within("evaluator.dataset"))
            'evaluator.dataset: is required'
        """
        if not prefix:
            return self._copy(self.field, None)
        if not self.field:
            field = prefix
        elif self.field.startswith("["):
            field = f"{prefix}{self.field}"
        else:
            field = f"{prefix}.{self.field}"
        return self._copy(field, None)

    def called(self, owner: str) -> ConfigError:
        """The same error as a Python caller of ``owner`` sees it.

        Example:
            >>> str(ConfigError("lr", "must be a positive number, got -1").called("Trainer"))
            'Trainer: lr must be a positive number, got -1'
        """
        return self._copy(self.field, owner)


def _rebuild(cls: type[ConfigError], field: str, message: str, owner: str | None) -> ConfigError:
    return cls(field, message, owner=owner)


class SpaceError(ConfigError):
    """A search space that cannot be used (empty, impossible constraints, not enumerable)."""


class TrialFailed(Exception):
    """Raised by an evaluator for an expected failure of one trial; the search continues."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class FatalError(NasforgeError):
    """Stops the search (e.g. too many consecutive failures); stored trials are kept."""


class NotStorable(NasforgeError, TypeError):
    """A component that cannot be written as a config (``to_config()``): e.g. a lambda given
    as a :class:`nasforge.evaluators.Function`, or a data set held only in memory. The study
    can still run; it cannot be resumed from its run directory."""
