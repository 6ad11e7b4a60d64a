"""The search space: decisions, conditions, repeats, cells and constraints."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import SpaceError
from ._arch import Arch, Value
from ._cell import Cell
from ._domains import Domain, IntRange
from ._expr import Expression

MAX_SAMPLE_TRIES = 2000
"""Rejection-sampling attempts before a space is called impossible under its constraints."""

EXACT_COUNT_LIMIT = 2_000_000
"""Largest unconstrained space whose constrained cardinality is counted exactly."""

MAX_REPEAT = 1000
"""Largest ``max`` of a :class:`Repeat` (layers of a variable-depth block)."""

MAX_DECISIONS = 10_000
"""Largest number of flat decisions in a space (repeated layers and cell edges included)."""


@dataclass(frozen=True)
class Conditional:
    """A decision that exists only while decision ``parent`` takes one of ``values``.

    Example:
        >>> from nasforge.space import FloatRange
        >>> Conditional(FloatRange(0.0, 0.99), parent="optimizer", values=("sgd",)).parent
        'optimizer'
    """

    domain: Domain
    parent: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Repeat:
    """A block of decisions repeated ``min..max`` times (variable depth).

    The depth is itself a decision (named like the repeat); layer ``k``'s decisions are named
    ``"{name}.{k}.{decision}"`` and exist only when the depth is at least ``k + 1``. Inside the
    block, a :class:`Conditional` may name a sibling decision of the same layer as parent.
    """

    block: Mapping[str, Domain | Conditional]
    min: int
    max: int


@dataclass(frozen=True)
class Decision:
    """One flat decision of a space: a name, a domain and the condition that makes it exist."""

    name: str
    domain: Domain
    parent: str | None = None
    parent_values: tuple[Value, ...] = ()
    repeat: str | None = None
    layer: int | None = None
    local_name: str | None = None


@dataclass(frozen=True)
class Constraint:
    """A predicate every architecture of the space must satisfy.

    ``name`` appears in errors; ``check`` gets the architecture and returns ``True`` to accept.
    ``expression`` is the source text when the check is an expression (see
    :class:`nasforge.space.Expression`); only such constraints can be written back to a config
    by :meth:`SearchSpace.to_config` (a Python function cannot). ``members``, when given, are
    the architectures that meet it, when they are few and known (a table's rows): the space
    then samples, counts and enumerates from them instead of from the whole product.
    """

    check: Callable[[Arch], bool]
    name: str = "constraint"
    expression: str | None = None
    members: tuple[Arch, ...] | None = field(default=None, compare=False, repr=False)

    def __call__(self, arch: Arch) -> bool:
        return bool(self.check(arch))


class SearchSpace:
    """What an architecture *is*: the decisions, how they depend on each other, and which
    combinations are allowed.

    Build it from a mapping of names to :class:`Choice`, :class:`IntRange`, :class:`FloatRange`,
    :class:`Conditional`, :class:`Repeat` or :class:`Cell`; or from YAML/JSON with
    :func:`nasforge.space.from_config`. It imports no deep-learning framework.

    Example:
        >>> from nasforge.space import Choice
        >>> space = SearchSpace({"kernel": Choice([1, 3, 5]), "units": Choice([64, 128])})
        >>> space.cardinality, len(list(space.enumerate()))
        (6, 6)
    """

    def __init__(
        self,
        decisions: Mapping[str, Domain | Conditional | Repeat | Cell],
        *,
        constraints: Iterable[Constraint | Callable[[Arch], bool]] = (),
        name: str = "space",
        canonical: Callable[[Arch], str | None] | None = None,
    ) -> None:
        if not isinstance(decisions, Mapping) or not decisions:
            raise SpaceError("space.decisions", "must define at least one decision")
        self.name = name
        self.builtin: str | None = None
        """The registered name of a built-in space made by :func:`nasforge.space.builtin`
        (kept while only constraints are added), so :meth:`to_config` can store the name."""
        self.spec: dict[str, Domain | Conditional | Repeat | Cell] = dict(decisions)
        self.cells: dict[str, Cell] = {}
        self.repeats: dict[str, Repeat] = {}
        self.decisions: list[Decision] = []
        for key, item in self.spec.items():
            self._add(key, item)
            if len(self.decisions) > MAX_DECISIONS:
                raise SpaceError(
                    f"space.decisions.{key}",
                    f"makes the space hold more than {MAX_DECISIONS} decisions; make it smaller",
                )
        self._by_name = {d.name: d for d in self.decisions}
        if len(self._by_name) != len(self.decisions):
            seen: set[str] = set()
            dup = ""
            for d in self.decisions:
                if d.name in seen:
                    dup = d.name
                    break
                seen.add(d.name)
            raise SpaceError(f"space.decisions.{dup}", "is defined twice (a decision's name clashes with a layer or cell edge)")
        position = {d.name: k for k, d in enumerate(self.decisions)}
        for k, d in enumerate(self.decisions):
            if d.parent is not None:
                parent = self._by_name.get(d.parent)
                if parent is None or position[parent.name] > k:
                    raise SpaceError(
                        f"space.decisions.{d.name}.when",
                        f"names {d.parent!r}, which must be a decision defined before {d.name!r}",
                    )
                if d.repeat is not None and d.parent == d.repeat:
                    continue  # a layer of a repeat: its depths were made from the repeat's range
                for v in d.parent_values:
                    if not parent.domain.contains(v):
                        raise SpaceError(
                            f"space.decisions.{d.name}.when",
                            f"value {v!r} is not a value of {d.parent!r}",
                        )
        self._parents = {d.parent for d in self.decisions if d.parent is not None}
        # the parent values that make each decision exist, as sets: a layer of a deep repeat
        # exists for hundreds of depths
        self._when: dict[str, frozenset[Value]] = {
            d.name: frozenset(d.parent_values) for d in self.decisions if d.parent is not None
        }
        self.constraints: tuple[Constraint, ...] = tuple(_as_constraint(c) for c in constraints)
        self._cardinality: float | None = None
        self._feasible: list[Arch] | None = None  # every architecture meeting the constraints, when sampling needs it
        if canonical is not None and not callable(canonical):
            raise SpaceError("space.canonical", f"must be a function of an architecture, got {canonical!r}")
        self.declared_canonical = canonical
        """The user's declared equivalence (see :meth:`canonical`), or ``None``."""
        self.canonical_stored_elsewhere = False
        """Whether :attr:`declared_canonical` is rebuilt by another component's config (a
        table's ``id`` column), so :meth:`to_config` leaves it out."""

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {v!r}" for k, v in self.spec.items())
        extra = f", constraints={[c.name for c in self.constraints]!r}" if self.constraints else ""
        return f"SearchSpace({{{inner}}}{extra}, name={self.name!r})"

    def to_config(self, *, drop_python_constraints: bool = False) -> str | dict[str, Any]:
        """The YAML/JSON form that :func:`nasforge.space.from_config` rebuilds into an equal
        space (the same decisions in the same order, constraints, canonical keys and
        :meth:`describe`).

        A built-in space (from :func:`nasforge.space.builtin`) is stored as its name, or as
        ``{builtin: name, constraints: [...]}`` once constraints were added. A constraint
        written as a Python function cannot be stored: it raises :class:`SpaceError` naming
        it, unless ``drop_python_constraints`` leaves such constraints out (for a caller that
        adds them again when it rebuilds the space, e.g. an evaluator's input-shape rules).

        Example:
            >>> from nasforge.space import Choice, from_config
            >>> space = SearchSpace({"kernel": Choice([1, 3])}, constraints=[lambda a: a["kernel"] > 1])
            >>> space.to_config()
            Traceback (most recent call last):
            ...
            nasforge._errors.SpaceError: space.constraints[0]: '<lambda>' is a Python function, which a config cannot hold; write it as an expression string (e.g. "kernel > 1") or pass drop_python_constraints=True and add it again after from_config
            >>> space.to_config(drop_python_constraints=True)
            {'name': 'space', 'decisions': {'kernel': {'choice': [1, 3]}}}
        """
        if self.declared_canonical is not None and not self.canonical_stored_elsewhere and not drop_python_constraints:
            raise SpaceError(
                "space.canonical",
                "is a Python function, which a config cannot hold; declare equivalent architectures with a table's "
                "`id:` column, or pass drop_python_constraints=True and give canonical= again when rebuilding",
            )
        constraints: list[str] = []
        for k, c in enumerate(self.constraints):
            if c.expression is not None:
                constraints.append(c.expression)
            elif not drop_python_constraints:
                raise SpaceError(
                    f"space.constraints[{k}]",
                    f"{c.name!r} is a Python function, which a config cannot hold; write it as an expression "
                    'string (e.g. "kernel > 1") or pass drop_python_constraints=True and add it again after '
                    "from_config",
                )
        if self.builtin is not None:
            return {"builtin": self.builtin, "constraints": constraints} if constraints else self.builtin
        out: dict[str, Any] = {"name": self.name, "decisions": {k: _item_config(v) for k, v in self.spec.items()}}
        if constraints:
            out["constraints"] = constraints
        return out

    # -- construction -------------------------------------------------------------------

    def _add(self, key: str, item: Domain | Conditional | Repeat | Cell) -> None:
        if not isinstance(key, str) or not key or any(ch in key for ch in "{}"):
            raise SpaceError("space.decisions", f"decision names must be non-empty strings without braces, got {key!r}")
        if isinstance(item, Domain):
            self.decisions.append(Decision(key, item))
        elif isinstance(item, Conditional):
            self.decisions.append(Decision(key, item.domain, item.parent, tuple(item.values)))
        elif isinstance(item, Cell):
            self.cells[key] = item
            for name in item.edge_names(key):
                self.decisions.append(Decision(name, item.domain))
        elif isinstance(item, Repeat):
            if not (
                isinstance(item.min, int)
                and isinstance(item.max, int)
                and not isinstance(item.min, bool)
                and not isinstance(item.max, bool)
                and 0 <= item.min <= item.max
            ):
                raise SpaceError(f"space.decisions.{key}.repeat", f"needs 0 <= min <= max, got min={item.min!r}, max={item.max!r}")
            if item.max > MAX_REPEAT:
                raise SpaceError(
                    f"space.decisions.{key}.repeat",
                    f"max must be at most {MAX_REPEAT} layers, got {item.max}",
                )
            if not isinstance(item.block, Mapping) or not item.block:
                raise SpaceError(f"space.decisions.{key}.block", "must define at least one decision")
            self.repeats[key] = item
            self.decisions.append(Decision(key, IntRange(item.min, item.max)))
            for k in range(item.max):
                layer_values = tuple(range(k + 1, item.max + 1))
                for local, sub in item.block.items():
                    full = f"{key}.{k}.{local}"
                    if isinstance(sub, Conditional):
                        if sub.parent not in item.block:
                            raise SpaceError(
                                f"space.decisions.{key}.block.{local}.when",
                                f"names {sub.parent!r}, which is not a decision of this block",
                            )
                        self.decisions.append(
                            Decision(full, sub.domain, f"{key}.{k}.{sub.parent}", tuple(sub.values), key, k, local)
                        )
                    elif isinstance(sub, Domain):
                        self.decisions.append(Decision(full, sub, key, layer_values, key, k, local))
                    else:
                        raise SpaceError(f"space.decisions.{key}.block.{local}", "must be a choice, int or float decision")
        else:
            raise SpaceError(f"space.decisions.{key}", f"unknown decision type {type(item).__name__}")

    def with_constraints(self, constraints: Iterable[Constraint | Callable[[Arch], bool]]) -> SearchSpace:
        """A copy of this space with more constraints (e.g. the input-shape rules of a model)."""
        space = SearchSpace(
            self.spec, constraints=(*self.constraints, *constraints), name=self.name, canonical=self.declared_canonical
        )
        space.builtin = self.builtin
        space.canonical_stored_elsewhere = self.canonical_stored_elsewhere
        return space

    def with_canonical(self, canonical: Callable[[Arch], str | None], *, stored_elsewhere: bool = False) -> SearchSpace:
        """A copy of this space with a declared equivalence (see :meth:`canonical`);
        ``stored_elsewhere``: another component's config rebuilds it (the study installs a
        table's ``id`` column this way), so :meth:`to_config` leaves it out."""
        space = SearchSpace(self.spec, constraints=self.constraints, name=self.name, canonical=canonical)
        space.builtin = self.builtin
        space.canonical_stored_elsewhere = stored_elsewhere
        return space

    # -- structure ----------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Names of all decisions, in order (a parent before its children)."""
        return [d.name for d in self.decisions]

    def decision(self, name: str) -> Decision:
        """The decision called ``name``."""
        return self._by_name[name]

    def _active(self, d: Decision, values: Mapping[str, Value]) -> bool:
        if d.parent is None:
            return True
        return d.parent in values and values[d.parent] in self._when[d.name]

    def active_names(self, arch: Mapping[str, Value]) -> list[str]:
        """Decisions that exist for ``arch`` (conditions and depth applied)."""
        return [d.name for d in self.decisions if self._active(d, arch)]

    def satisfies(self, arch: Arch) -> bool:
        """Whether ``arch`` meets every constraint."""
        return all(c(arch) for c in self.constraints)

    def validate(self, arch: Mapping[str, Any], *, field: str = "arch", constraints: bool = True) -> Arch:
        """``arch`` as an :class:`Arch` of this space, or a :class:`SpaceError` naming what is wrong;
        ``constraints=False`` checks the decisions only (e.g. a stored architecture)."""
        values: dict[str, Value] = {}
        for d in self.decisions:
            if not self._active(d, values):
                continue
            if d.name not in arch:
                raise SpaceError(f"{field}.{d.name}", "is missing")
            v = arch[d.name]
            if not d.domain.contains(v):
                raise SpaceError(f"{field}.{d.name}", f"{v!r} is not a value of this decision ({d.domain.to_config()})")
            values[d.name] = v
        extra = sorted(set(arch) - set(values))
        if extra:
            raise SpaceError(f"{field}.{extra[0]}", "is not an active decision of this space")
        out = Arch(values)
        if constraints and not self.satisfies(out):
            failed = [c.name for c in self.constraints if not c(out)]
            raise SpaceError(field, f"violates constraint {failed[0]!r}")
        return out

    # -- counting and enumeration -------------------------------------------------------

    def _count(self) -> float:
        """Architectures without constraints: decisions form a forest by their parents, and a
        decision's count is the sum over its values of the product of the children active for
        that value. Computed bottom-up (children come after their parent), with no recursion
        and in time linear in decisions x values, also for deep repeats."""
        # children of each parent, grouped by the values that make them active (one group per
        # layer of a repeat), so a deep repeat costs layers x depth set lookups
        groups: dict[str, dict[tuple[Value, ...], list[Decision]]] = {}
        for d in self.decisions:
            if d.parent is not None:
                groups.setdefault(d.parent, {}).setdefault(d.parent_values, []).append(d)
        count: dict[str, float] = {}
        for d in reversed(self.decisions):
            by_values = groups.get(d.name)
            if not by_values:
                count[d.name] = d.domain.size
                continue
            parts: list[tuple[frozenset[Value], float]] = []
            for when, kids in by_values.items():
                product: float = 1
                for c in kids:
                    product = _times(product, count[c.name])
                parts.append((frozenset(when), product))
            total: float = 0
            if d.domain.size <= _WALK_VALUES:
                for v in d.domain.values():
                    product = 1
                    for when_set, part in parts:
                        if v in when_set:
                            product = _times(product, part)
                    total = _plus(total, product)
            else:  # a large parent: only the values named by some condition differ from 1
                named = frozenset().union(*(w for w, _ in parts))
                total = d.domain.size - len(named)
                for v in named:
                    product = 1
                    for when_set, part in parts:
                        if v in when_set:
                            product = _times(product, part)
                    total = _plus(total, product)
            count[d.name] = total
        result: float = 1
        for d in self.decisions:
            if d.parent is None:
                result = _times(result, count[d.name])
        return result

    @property
    def cardinality(self) -> float:
        """Number of distinct architectures (``math.inf`` with a continuous decision, or when
        the count is beyond a float's range).

        With constraints, the count is exact up to ``EXACT_COUNT_LIMIT`` unconstrained
        architectures and an upper bound beyond.
        """
        if self._cardinality is None:
            raw = self._count()
            members = self._members()
            if members is not None:
                raw = len(members)
            elif self.constraints and raw <= EXACT_COUNT_LIMIT:
                raw = sum(1 for _ in self.enumerate())
            # beyond a float's range (a deep repeat), as infinite: callers compare it with floats
            self._cardinality = raw if raw <= sys.float_info.max else math.inf
        return self._cardinality

    def _members(self) -> list[Arch] | None:
        """With a constraint that lists its ``members``: those of the fewest that meet every
        constraint, in enumeration order; ``None`` without such a constraint."""
        listed = [c.members for c in self.constraints if c.members is not None]
        if not listed:
            return None
        if self._feasible is None:
            index = {d.name: {v: i for i, v in enumerate(d.domain.values())} for d in self.decisions
                     if d.domain.size != math.inf}  # fmt: skip

            def order(a: Arch) -> tuple[int, ...]:
                return tuple(index[d.name].get(a[d.name], -1) if d.name in a and d.name in index else -1
                             for d in self.decisions)  # fmt: skip

            self._feasible = sorted((a for a in min(listed, key=len) if self.satisfies(a)), key=order)
        return self._feasible

    def enumerate(self) -> Iterator[Arch]:
        """Every architecture satisfying the constraints, in a stable order: decisions in
        definition order, the last varying fastest, values in domain order."""
        members = self._members()
        if members is not None:
            yield from members
            return
        for d in self.decisions:
            if d.domain.size == math.inf:
                raise SpaceError(
                    f"space.decisions.{d.name}", "a continuous range cannot be enumerated; give it `grid: N` points"
                )
        yield from self._enumerate()

    def _enumerate(self) -> Iterator[Arch]:
        """Depth-first over the active decisions with an explicit stack (no recursion, so a
        deep space does not hit Python's recursion limit)."""
        n = len(self.decisions)
        values: dict[str, Value] = {}
        stack: list[tuple[int, Iterator[Value]]] = []
        i = 0
        while True:
            while i < n:
                d = self.decisions[i]
                if self._active(d, values):
                    it = iter(d.domain.values())
                    values[d.name] = next(it)
                    stack.append((i, it))
                i += 1
            arch = Arch._trusted(values)
            if self.satisfies(arch):
                yield arch
            while stack:
                j, it = stack[-1]
                name = self.decisions[j].name
                v = next(it, _DONE)
                if v is _DONE:
                    stack.pop()
                    del values[name]
                    continue
                values[name] = v  # type: ignore[assignment]
                i = j + 1
                break
            else:
                return

    def check_possible(self) -> None:
        """Raise :class:`SpaceError` if no architecture satisfies the constraints."""
        if not self.constraints:
            return
        if self._count() <= 100_000 and all(d.domain.size != math.inf for d in self.decisions):
            if next(self.enumerate(), None) is None:
                raise SpaceError("space.constraints", f"no architecture satisfies them ({self._constraint_names()})")
            return
        self.sample(np.random.default_rng(0))

    def _constraint_names(self) -> str:
        return ", ".join(c.name for c in self.constraints)

    # -- sampling and moves -------------------------------------------------------------

    def _fill(
        self, base: Mapping[str, Value], rng: np.random.Generator | None, fixed: Mapping[str, Value] = {}
    ) -> Arch:
        """Values for every active decision: ``fixed`` first, then ``base``, then a new value
        (sampled with ``rng``, or copied from the previous layer / the domain default)."""
        values: dict[str, Value] = {}
        for d in self.decisions:
            if not self._active(d, values):
                continue
            if d.name in fixed:
                values[d.name] = fixed[d.name]
            elif d.name in base:
                values[d.name] = base[d.name]
            elif rng is not None:
                values[d.name] = d.domain.sample(rng)
            else:
                prev = f"{d.repeat}.{d.layer - 1}.{d.local_name}" if d.layer else None
                values[d.name] = values.get(prev, d.domain.default) if prev else d.domain.default
        return Arch(values)

    def sample(self, rng: np.random.Generator) -> Arch:
        """A random architecture that satisfies the constraints (uniform per decision). With a
        constraint that lists its ``members`` (a table's rows), one of those that meet every
        constraint, uniformly. When ``MAX_SAMPLE_TRIES`` draws all break them (constraints that few architectures meet, such
        as the rows of a sparse table) and the space has at most ``EXACT_COUNT_LIMIT``
        architectures, those that meet them are enumerated once and drawn from uniformly,
        which is the same distribution as the rejection sampling of a product space."""
        members = self._members()
        if members is not None:  # a constraint that lists what meets it (a table's rows): drawn from those
            if members:
                return members[int(rng.integers(len(members)))]
            raise SpaceError("space.constraints", f"no architecture satisfies them ({self._constraint_names()})")
        for _ in range(MAX_SAMPLE_TRIES):
            arch = self._fill({}, rng)
            if self.satisfies(arch):
                return arch
        if self._feasible is None and self._count() <= EXACT_COUNT_LIMIT and all(
            d.domain.size != math.inf for d in self.decisions
        ):
            self._feasible = list(self.enumerate())
        if self._feasible:
            return self._feasible[int(rng.integers(len(self._feasible)))]
        raise SpaceError(
            "space.constraints",
            f"no architecture satisfying them found in {MAX_SAMPLE_TRIES} samples ({self._constraint_names()}); "
            "loosen the constraints",
        )

    def neighbors(self, arch: Arch, *, satisfying: bool = True) -> list[Arch]:
        """Architectures that differ from ``arch`` in one decision (one step for ranges; a depth
        change adds a copy of the last layer or drops it), satisfying the constraints (all of
        them with ``satisfying=False``)."""
        out: dict[str, Arch] = {}
        for name in self.active_names(arch):
            d = self._by_name[name]
            for v in d.domain.neighbors(arch[name]):
                new = self._fill(arch, None, {name: v})
                if new != arch and (not satisfying or self.satisfies(new)):
                    out.setdefault(new.id, new)
        return list(out.values())

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """``arch`` with one random decision changed to a random other value (decisions that
        appear get random values); ``arch`` itself only if no change is possible."""
        names = self.active_names(arch)
        for _ in range(200):
            name = names[int(rng.integers(len(names)))]
            d = self._by_name[name]
            v = d.domain.mutate(arch[name], rng)
            if v == arch[name]:
                continue
            new = self._fill(arch, rng, {name: v})
            if self.satisfies(new):
                return new
        return arch

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """A child taking each decision from ``a`` or ``b`` at random (uniform crossover); an
        ordered choice takes a value between its parents' (see :meth:`Choice.between`)."""
        for _ in range(100):
            values: dict[str, Value] = {}
            for d in self.decisions:
                if not self._active(d, values):
                    continue
                options = [p[d.name] for p in (a, b) if d.name in p]
                if len(options) == 2:
                    values[d.name] = d.domain.between(options[0], options[1], rng)
                else:
                    values[d.name] = options[0] if options else d.domain.sample(rng)
            child = Arch(values)
            if self.satisfies(child):
                return child
        return a

    # -- keys and encodings -------------------------------------------------------------

    def _canonical_values(self, arch: Mapping[str, Value]) -> dict[str, Value]:
        values = dict(arch)
        for name, cell in self.cells.items():
            for (i, j), op in cell.canonical(cell.ops_of(name, arch)).items():
                values[cell.edge_name(name, i, j)] = op
        return values

    def canonical(self, arch: Mapping[str, Value]) -> str:
        """One key for all architectures that are the same network: the key by which every
        strategy and the study deduplicate.

        With a declared equivalence (``SearchSpace(..., canonical=fn)``, or a table's ``id``
        column, which the study installs), the key is ``fn(arch)``, prefixed ``=`` so it never
        equals a structural key; where ``fn`` returns ``None`` the structural key is used.
        The structural key: inactive decisions do not exist, and each cell is reduced to the
        function it computes (see :meth:`Cell.key`), which merges isomorphic cells, cells that
        differ only in edges carrying nothing, and cells equal as expressions.

        For a space that is one cell, the structural key is that cell's expression, e.g.
        ``nor_conv_3x3(x)+skip...``.

        Example:
            >>> from nasforge.space import Choice
            >>> space = SearchSpace({"a": Choice([1, 2]), "b": Choice([1, 2])}, canonical=lambda x: str(x["a"] * x["b"]))
            >>> space.canonical(Arch({"a": 1, "b": 2})) == space.canonical(Arch({"a": 2, "b": 1}))
            True
        """
        if self.declared_canonical is not None:
            declared = self.declared_canonical(arch if isinstance(arch, Arch) else Arch(arch))
            if declared is not None:
                return f"={declared}"
        if self._is_one_cell():
            name, cell = next(iter(self.cells.items()))
            return cell.key(cell.ops_of(name, arch))
        parts = []
        done: set[str] = set()
        for n in self.active_names(arch):
            cell_name = n.rsplit(".", 1)[0]
            if cell_name in self.cells:
                if cell_name not in done:
                    cell = self.cells[cell_name]
                    parts.append(f"{cell_name}={cell.key(cell.ops_of(cell_name, arch))}")
                    done.add(cell_name)
            else:
                parts.append(f"{n}={arch[n]!r}")
        return ";".join(parts)

    def _is_one_cell(self) -> bool:
        return len(self.cells) == 1 and len(self.decisions) == len(next(iter(self.cells.values())).edges)

    def to_string(self, arch: Mapping[str, Value]) -> str:
        """A readable string of ``arch`` itself (not canonicalised): a one-cell space gives the
        NAS-Bench-201 cell string, other spaces ``name=value`` pairs."""
        if self._is_one_cell():
            name, cell = next(iter(self.cells.items()))
            return cell.to_string(cell.ops_of(name, arch))
        return ",".join(f"{n}={arch[n]}" for n in self.active_names(arch))

    def from_string(self, text: str) -> Arch:
        """Inverse of :meth:`to_string` for one-cell spaces (e.g. NAS-Bench-201 strings)."""
        if not self._is_one_cell():
            raise SpaceError("space", "from_string reads cell strings of one-cell spaces only")
        name, cell = next(iter(self.cells.items()))
        ops = cell.parse(text)
        return Arch({cell.edge_name(name, i, j): op for (i, j), op in ops.items()})

    @property
    def encoding_width(self) -> int:
        """Length of :meth:`encode`'s vectors."""
        return sum(d.domain.width + (1 if d.parent is not None and d.domain.width == 1 else 0) for d in self.decisions)

    def encode(self, arch: Mapping[str, Value]) -> np.ndarray:
        """A fixed-length vector for surrogate models: one-hot categorical choices, ordered
        choices by (log) rank in one column and ranges scaled to [0, 1],
        zeros for decisions that do not exist (plus an exists-flag for conditional ranges).
        Cells are encoded in canonical form, so equivalent cells encode alike."""
        values = self._canonical_values(arch) if self.cells else arch
        out: list[float] = []
        for d in self.decisions:
            present = d.name in values and self._active(d, values)
            out.extend(d.domain.encode(values[d.name]) if present else [0.0] * d.domain.width)
            if d.parent is not None and d.domain.width == 1:
                out.append(1.0 if present else 0.0)
        return np.asarray(out, dtype=np.float64)

    def describe(self) -> list[str]:
        """One line per decision of the spec, for summaries and reports."""
        lines = []
        for key, item in self.spec.items():
            if isinstance(item, Cell):
                lines.append(f"{key}: cell, {item.nodes} nodes, {len(item.edges)} edges, ops {list(item.ops)}")
            elif isinstance(item, Repeat):
                block = ", ".join(f"{k} {v.describe() if isinstance(v, Domain) else v.domain.describe()}" for k, v in item.block.items())
                lines.append(f"{key}: repeat {item.min}..{item.max} of [{block}]")
            elif isinstance(item, Conditional):
                lines.append(f"{key}: {item.domain.describe()} when {item.parent} in {list(item.values)}")
            else:
                lines.append(f"{key}: {item.describe()}")
        lines.extend(f"constraint: {c.name}" for c in self.constraints)
        return lines



_DONE = object()

_WALK_VALUES = 10_000
"""A parent decision with more values is counted from the values its children name."""


def _as_constraint(c: Constraint | Callable[[Arch], bool]) -> Constraint:
    """A :class:`Constraint`; an :class:`~nasforge.space.Expression` keeps its text, so the
    space can still be written to a config."""
    if isinstance(c, Constraint):
        return c
    if isinstance(c, Expression):
        return Constraint(c.holds, c.text, expression=c.text)
    return Constraint(c, getattr(c, "__name__", "constraint"))


def _times(a: float, b: float) -> float:
    """``a * b`` for counts: exact integers, ``inf`` once a count is infinite."""
    if a == 0 or b == 0:
        return 0
    if a == math.inf or b == math.inf:
        return math.inf
    return a * b


def _plus(a: float, b: float) -> float:
    return math.inf if math.inf in (a, b) else a + b


def _item_config(item: Domain | Conditional | Repeat | Cell) -> dict[str, Any]:
    """The config form of one entry of a space's spec (see :meth:`SearchSpace.to_config`)."""
    if isinstance(item, Conditional):
        return {**item.domain.to_config(), "when": {item.parent: list(item.values)}}
    if isinstance(item, Repeat):
        return {"repeat": {"min": item.min, "max": item.max}, "block": {k: _item_config(v) for k, v in item.block.items()}}
    return item.to_config()
