"""Value domains of single decisions: categorical choice, integer range, float range."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import SpaceError
from ._arch import Value

INT_LIMIT = 2**63 - 1
"""Largest magnitude of an integer value or bound: samplers draw int64 numbers."""

MAX_GRID = 1_000_000
"""Most points of a float range's grid."""


def _check_flag(value: Any, name: str) -> bool:
    """The flag as a ``bool``; refuse one that is not a real boolean (``'no'`` would read as true)."""
    if not isinstance(value, bool | np.bool_):
        raise SpaceError(name, f"must be true or false, got {value!r}")
    return bool(value)


class Domain(ABC):
    """The values one decision can take.

    A domain knows how to sample, enumerate, step to neighbouring values and encode a value
    as numbers for surrogate models; it knows nothing of other decisions.
    """

    @property
    @abstractmethod
    def size(self) -> float:
        """Number of values (``math.inf`` for a continuous range)."""

    @abstractmethod
    def values(self) -> list[Value]:
        """All values in a stable order (the grid); continuous ranges need ``grid`` points."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Value:
        """One value drawn with ``rng``."""

    @abstractmethod
    def neighbors(self, value: Value) -> list[Value]:
        """Values one step away from ``value`` (all other values for a categorical choice)."""

    @abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether ``value`` belongs to the domain."""

    @property
    @abstractmethod
    def width(self) -> int:
        """Length of :meth:`encode`'s output."""

    @abstractmethod
    def encode(self, value: Value) -> list[float]:
        """``value`` as :attr:`width` numbers in [0, 1]."""

    @property
    def default(self) -> Value:
        """The value a decision takes when it becomes active by a deterministic move."""
        return self.values()[0]

    def mutate(self, value: Value, rng: np.random.Generator) -> Value:
        """A value different from ``value`` (``value`` itself when there is no other)."""
        for _ in range(32):
            new = self.sample(rng)
            if new != value:
                return new
        return value

    @abstractmethod
    def to_config(self) -> dict[str, Any]:
        """The YAML/JSON form that :func:`nasforge.space.from_config` reads back."""

    def describe(self) -> str:
        """One line for summaries (the config form, plus what it implies, e.g. ``(ordered)``)."""
        return str(self.to_config())

    def between(self, a: Value, b: Value, rng: np.random.Generator) -> Value:
        """A crossover of two parents' values: ``a`` or ``b`` at random (ordered domains may
        pick a value between them)."""
        return (a, b)[int(rng.integers(2))]


LOG_SPAN = 10.0
"""An ordered choice of positive numbers whose largest value is more than this many times its
smallest is encoded on a log scale (``[16, 32, ..., 512]``, ``[5e-4, 1e-3, 5e-3, 1e-2]``)."""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


class Choice(Domain):
    """A choice among a fixed list of values: ordered or categorical.

    A choice of numbers is **ordered** by value unless ``ordered=False``: its neighbours are
    the adjacent values (no jumps: ``Choice([16, 32, 64]).neighbors(16) == [32]``), it is
    encoded in one column (the value's rank scaled to [0, 1], or its log value scaled to
    [0, 1] when the values are positive and span more than :data:`LOG_SPAN` times), a
    mutation moves to an adjacent value half of the time and to any other value otherwise,
    and a crossover picks a value between its parents' (inclusive). Labels are categorical
    (every other value is a neighbour, one-hot encoding) unless ``ordered=True``, which orders
    them as listed and encodes them by rank.

    Example:
        >>> Choice([1, 3, 5]).neighbors(3)
        [1, 5]
        >>> Choice([16, 32, 64]).neighbors(16)
        [32]
        >>> Choice(["a", "b", "c"]).neighbors("a")
        ['b', 'c']
        >>> Choice(["small", "medium", "large"], ordered=True).encode("medium")
        [0.5]
    """

    def __init__(self, values: Sequence[Value], *, ordered: bool | None = None) -> None:
        if isinstance(values, str | bytes | Mapping):
            raise SpaceError("choice", f"must be a list of values, got {values!r}")
        try:
            vals = list(values)
        except TypeError:
            raise SpaceError("choice", f"must be a list of values, got {values!r}") from None
        if not vals:
            raise SpaceError("choice", "must be a non-empty list, got []")
        for v in vals:
            # Checked before anything hashes or compares the values (a list is unhashable).
            if not isinstance(v, bool | int | float | str):
                raise SpaceError("choice", f"values must be numbers, strings or booleans, got {v!r}")
            if isinstance(v, float) and not math.isfinite(v):
                raise SpaceError("choice", f"values must be finite numbers, got {v!r}")
        if len({(type(v).__name__, v) for v in vals}) != len(vals):
            raise SpaceError("choice", f"values must be distinct, got {vals}")
        numeric = all(_is_number(v) for v in vals)
        if ordered is not None:
            ordered = _check_flag(ordered, "ordered")
        self.ordered_given = ordered
        """``ordered`` as given (``None``: decided by the values), for :meth:`to_config`."""
        self.choices: tuple[Value, ...] = tuple(vals)
        self.ordered: bool = numeric if ordered is None else ordered
        """Whether the values are ordered (numbers by value, labels as listed)."""
        # Positions in the order: numbers by value, anything else as listed.
        self._order: tuple[Value, ...] = (
            tuple(sorted(vals, key=float)) if self.ordered and numeric else tuple(vals)  # type: ignore[arg-type]
        )
        self._rank = {(type(v).__name__, v): k for k, v in enumerate(self._order)}
        self.log: bool = (
            self.ordered
            and numeric
            and len(vals) > 1
            and min(float(v) for v in vals) > 0
            and max(float(v) for v in vals) > LOG_SPAN * min(float(v) for v in vals)
        )
        """Whether the encoding is on a log scale (ordered positive numbers spanning > 10x)."""

    def __repr__(self) -> str:
        extra = f", ordered={self.ordered_given}" if self.ordered_given is not None else ""
        return f"Choice({list(self.choices)!r}{extra})"

    @property
    def size(self) -> float:
        return len(self.choices)

    def values(self) -> list[Value]:
        return list(self.choices)

    @property
    def order(self) -> list[Value]:
        """The values in their order (numbers by value, labels as listed)."""
        return list(self._order)

    def rank(self, value: Value) -> int:
        """Position of ``value`` in :attr:`order`."""
        k = self._rank.get((type(value).__name__, value))
        if k is None:
            for v in self._order:  # 3 for 3.0 and back
                if v == value and not isinstance(v, bool) and not isinstance(value, bool):
                    return self._rank[(type(v).__name__, v)]
            raise ValueError(f"{value!r} is not a value of {self!r}")
        return k

    def sample(self, rng: np.random.Generator) -> Value:
        return self.choices[int(rng.integers(len(self.choices)))]

    def neighbors(self, value: Value) -> list[Value]:
        if not self.ordered:
            return [v for v in self.choices if v != value]
        k = self.rank(value)
        return [self._order[j] for j in (k - 1, k + 1) if 0 <= j < len(self._order)]

    def mutate(self, value: Value, rng: np.random.Generator) -> Value:
        """Unordered: any other value. Ordered: an adjacent value with probability 1/2, else any
        other value (so one mutation can still cross the whole range)."""
        if self.ordered and len(self._order) > 2 and rng.uniform() < 0.5:
            near = self.neighbors(value)
            return near[int(rng.integers(len(near)))]
        return super().mutate(value, rng)

    def between(self, a: Value, b: Value, rng: np.random.Generator) -> Value:
        """A crossover of ``a`` and ``b``: ordered, a uniform value from ``a`` to ``b`` in the
        order (both included); unordered, ``a`` or ``b``."""
        if not self.ordered:
            return (a, b)[int(rng.integers(2))]
        i, j = sorted((self.rank(a), self.rank(b)))
        return self._order[int(rng.integers(i, j + 1))]

    def contains(self, value: Any) -> bool:
        return any(type(v) is type(value) and v == value for v in self.choices) or (
            _is_number(value) and any(_is_number(v) and v == value for v in self.choices)
        )

    @property
    def width(self) -> int:
        return 1 if self.ordered else len(self.choices)

    def encode(self, value: Value) -> list[float]:
        if not self.ordered:
            return [1.0 if v == value else 0.0 for v in self.choices]
        if len(self._order) == 1:
            return [0.0]
        if self.log:
            low, high = math.log(float(self._order[0])), math.log(float(self._order[-1]))
            return [(math.log(float(value)) - low) / (high - low)]
        return [self.rank(value) / (len(self._order) - 1)]

    def index(self, value: Value) -> int:
        """Position of ``value`` in the list."""
        return self.choices.index(value)

    def describe(self) -> str:
        """The config form, with ``(ordered)`` or ``(ordered, log scale)`` when ordered."""
        kind = " (ordered, log scale)" if self.log else " (ordered)" if self.ordered else ""
        return f"{self.to_config()}{kind}"

    def to_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"choice": list(self.choices)}
        if self.ordered_given is not None and self.ordered_given != all(_is_number(v) for v in self.choices):
            out["ordered"] = self.ordered_given
        return out


class IntRange(Domain):
    """Integers ``low, low + step, ..., <= high``; ``log`` samples log-uniformly (step 1 only).

    Example:
        >>> IntRange(16, 64, step=16).values()
        [16, 32, 48, 64]
    """

    def __init__(self, low: int, high: int, *, step: int = 1, log: bool = False) -> None:
        for name, v in (("low", low), ("high", high), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise SpaceError("int", f"{name} must be an integer, got {v!r}")
            if abs(v) > INT_LIMIT:
                raise SpaceError("int", f"{name} must lie within +-2**63 (int64), got {v}")
        log = _check_flag(log, "log")
        if low > high:
            raise SpaceError("int", f"low <= high must hold, got low={low}, high={high}")
        if step < 1:
            raise SpaceError("int", f"step must be >= 1, got {step}")
        if (high - low) // step + 1 > INT_LIMIT:
            raise SpaceError("int", f"holds more than 2**63 values (low={low}, high={high}, step={step}); narrow it")
        if log and (low < 1 or step != 1):
            raise SpaceError("int", "log: true needs low >= 1 and step 1")
        self.low, self.high, self.step, self.log = low, high, step, log

    def __repr__(self) -> str:
        extra = (f", step={self.step}" if self.step != 1 else "") + (", log=True" if self.log else "")
        return f"IntRange({self.low}, {self.high}{extra})"

    @property
    def size(self) -> float:
        return (self.high - self.low) // self.step + 1

    def values(self) -> list[Value]:
        return list(range(self.low, self.high + 1, self.step))

    @property
    def default(self) -> Value:
        return self.low

    def sample(self, rng: np.random.Generator) -> Value:
        if self.log:
            x = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return min(int(x), self.high)
        return self.low + self.step * int(rng.integers(int(self.size)))

    def neighbors(self, value: Value) -> list[Value]:
        v = int(value)
        return [n for n in (v - self.step, v + self.step) if self.low <= n <= self.high]

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )

    @property
    def width(self) -> int:
        return 1

    def encode(self, value: Value) -> list[float]:
        if self.high == self.low:
            return [0.0]
        if self.log:
            return [(math.log(float(value)) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))]
        return [(float(value) - self.low) / (self.high - self.low)]

    def to_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"int": [self.low, self.high]}
        if self.step != 1:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out


class FloatRange(Domain):
    """Real numbers in ``[low, high]``, uniform or log-uniform.

    A continuous range has no finite grid; give ``grid=N`` to enumerate N evenly spaced points
    (in log space when ``log``). Neighbours are one grid step away (10 points when no grid).

    Example:
        >>> FloatRange(1e-4, 1e-1, log=True, grid=4).values()
        [0.0001, 0.001, 0.01, 0.1]
    """

    def __init__(self, low: float, high: float, *, log: bool = False, grid: int | None = None) -> None:
        for name, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SpaceError("float", f"{name} must be a finite number, got {v!r}")
        log = _check_flag(log, "log")
        if low >= high:
            raise SpaceError("float", f"low < high must hold, got low={low}, high={high}")
        if log and low <= 0:
            raise SpaceError("float", f"log: true needs low > 0, got low={low}")
        if grid is not None and (isinstance(grid, bool) or not isinstance(grid, int) or not 2 <= grid <= MAX_GRID):
            raise SpaceError("float", f"grid must be an integer from 2 to {MAX_GRID:,}, got {grid!r}")
        self.low, self.high, self.log, self.grid = float(low), float(high), log, grid

    def __repr__(self) -> str:
        extra = (", log=True" if self.log else "") + (f", grid={self.grid}" if self.grid is not None else "")
        return f"FloatRange({self.low!r}, {self.high!r}{extra})"

    def _to_unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def _from_unit(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        if self.log:
            return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))
        return float(self.low + u * (self.high - self.low))

    @property
    def size(self) -> float:
        return math.inf if self.grid is None else self.grid

    def values(self) -> list[Value]:
        if self.grid is None:
            raise SpaceError("float", "a continuous range cannot be enumerated; give it `grid: N` points")
        return [self._point(i) for i in range(self.grid)]

    def _point(self, i: int) -> float:
        """Grid point ``i`` of ``grid`` (rounded to 12 significant digits, so it prints cleanly)."""
        assert self.grid is not None
        return float(f"{self._from_unit(i / (self.grid - 1)):.12g}")

    @property
    def default(self) -> Value:
        return self.low

    def sample(self, rng: np.random.Generator) -> Value:
        if self.grid is not None:
            return self._point(int(rng.integers(self.grid)))
        return self._from_unit(float(rng.uniform()))

    def neighbors(self, value: Value) -> list[Value]:
        if self.grid is not None:
            guess = round(min(max(self._to_unit(float(value)), 0.0), 1.0) * (self.grid - 1))
            near = [j for j in (guess - 1, guess, guess + 1) if 0 <= j < self.grid]
            i = min(near, key=lambda j: abs(self._point(j) - float(value)))
            return [self._point(j) for j in (i - 1, i + 1) if 0 <= j < self.grid]
        u = self._to_unit(float(value))
        step = 1.0 / 9.0
        return [self._from_unit(x) for x in (u - step, u + step) if -1e-12 <= x <= 1 + 1e-12]

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and self.low - 1e-12 * abs(self.low) <= value <= self.high + 1e-12 * abs(self.high)
        )

    @property
    def width(self) -> int:
        return 1

    def encode(self, value: Value) -> list[float]:
        return [self._to_unit(float(value))]

    def to_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"float": [self.low, self.high]}
        if self.log:
            out["log"] = True
        if self.grid is not None:
            out["grid"] = self.grid
        return out
