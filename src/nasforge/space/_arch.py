"""The architecture value: an immutable mapping of decision name to value."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

Value = int | float | str | bool
"""A decision's value; every decision of every space takes one of these."""


def _check_value(name: str, value: Any) -> Value:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    # NumPy scalars come out of samplers; store plain Python values.
    if hasattr(value, "item"):
        return _check_value(name, value.item())
    raise TypeError(f"arch value of {name!r} must be int, float, str or bool, got {type(value).__name__}")


class Arch(Mapping[str, Value]):
    """One architecture: which value each active decision of a space takes.

    Immutable and hashable; ``arch.id`` is a stable hash of its sorted JSON form, the same in
    every process and on every machine.

    Example:
        >>> a = Arch({"kernel": 3, "channels": 32})
        >>> a["kernel"], Arch.from_json(a.to_json()) == a
        (3, True)
    """

    __slots__ = ("_id", "_values")

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        items = {} if values is None else values
        self._values: dict[str, Value] = {str(k): _check_value(str(k), v) for k, v in items.items()}
        self._id: str | None = None

    @classmethod
    def _trusted(cls, values: dict[str, Value]) -> Arch:
        """An arch of values that a space's domains produced (already plain, checked values):
        no per-value check, for enumeration and sampling."""
        arch = cls.__new__(cls)
        arch._values = dict(values)
        arch._id = None
        return arch

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Arch):
            return self._values == other._values
        return NotImplemented

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Arch({inner})"

    @property
    def id(self) -> str:
        """A 16-hex-digit hash of the sorted JSON form; stable across processes."""
        if self._id is None:
            digest = hashlib.sha256(self.to_json().encode()).hexdigest()
            self._id = digest[:16]
        return self._id

    def replace(self, **changes: Value) -> Arch:
        """A copy with some values changed (names with dots: use :meth:`with_values`)."""
        return self.with_values(changes)

    def with_values(self, changes: Mapping[str, Any], *, drop: tuple[str, ...] = ()) -> Arch:
        """A copy with ``changes`` applied and the names in ``drop`` removed."""
        values = {k: v for k, v in self._values.items() if k not in drop}
        values.update(changes)
        return Arch(values)

    def to_dict(self) -> dict[str, Value]:
        """A plain dict copy."""
        return dict(self._values)

    def to_json(self) -> str:
        """Sorted, compact JSON: the stored form and the input of :attr:`id`."""
        return json.dumps(self._values, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Arch:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError(f"an arch's JSON must be an object, got {type(data).__name__}")
        return cls(data)
