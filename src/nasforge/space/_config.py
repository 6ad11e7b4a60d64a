"""Search spaces from YAML/JSON data (the same model as the Python API)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._errors import SpaceError
from ._arch import Arch
from ._builtins import builtin
from ._cell import Cell
from ._domains import Choice, Domain, FloatRange, IntRange
from ._expr import Expression
from ._space import MAX_REPEAT, Conditional, Constraint, Repeat, SearchSpace

CHECK_SAMPLES = 8
"""Random architectures (besides the first and the deepest) on which each constraint
expression is evaluated when a space is read, so one that raises is refused before any work."""


def _keys(data: Mapping[str, Any], allowed: set[str], field: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpaceError(f"{field}.{unknown[0]}", f"unknown key; allowed keys are {sorted(allowed)}")


def _pair(value: Any, field: str) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise SpaceError(field, f"must be a list [low, high], got {value!r}")
    return value[0], value[1]


def _reraise(exc: SpaceError, field: str) -> SpaceError:
    return SpaceError(field, exc.message)


_EXPONENT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")
"""A number in exponent notation, which YAML 1.1 (PyYAML) reads as a string without a dot
(``5e-4``) or an exponent sign (``1.0e3``)."""


def _numbers(values: list[Any]) -> list[Any]:
    """``values`` with exponent-notation strings read as floats, when every other value is a
    number: ``choice: [5e-4, 1e-3, 5e-3]`` is a list of numbers (ordered, log scale), though
    PyYAML reads each item as a string."""
    if any(isinstance(v, str) and _EXPONENT.fullmatch(v) for v in values) and all(
        (isinstance(v, int | float) and not isinstance(v, bool)) or (isinstance(v, str) and _EXPONENT.fullmatch(v))
        for v in values
    ):
        return [float(v) if isinstance(v, str) else v for v in values]
    return values


def _domain(data: Any, field: str) -> Domain | Conditional:
    if not isinstance(data, Mapping):
        raise SpaceError(field, f"must be a mapping such as {{choice: [1, 3, 5]}}, got {data!r}")
    kinds = [k for k in ("choice", "int", "float") if k in data]
    if len(kinds) != 1:
        raise SpaceError(field, "needs exactly one of `choice`, `int`, `float`, `repeat`, `cell`")
    kind = kinds[0]
    domain: Domain
    try:
        if kind == "choice":
            _keys(data, {"choice", "ordered", "when"}, field)
            if not isinstance(data["choice"], list) or not data["choice"]:
                raise SpaceError(f"{field}.choice", f"must be a non-empty list, got {data['choice']!r}")
            try:
                domain = Choice(_numbers(data["choice"]), ordered=data.get("ordered"))
            except SpaceError as exc:
                if exc.field == "ordered":
                    raise _reraise(exc, f"{field}.ordered") from None
                raise
        elif kind == "int":
            _keys(data, {"int", "step", "log", "when"}, field)
            low, high = _pair(data["int"], f"{field}.int")
            domain = IntRange(low, high, step=data.get("step", 1), log=data.get("log", False))
        else:
            _keys(data, {"float", "log", "grid", "when"}, field)
            low, high = _pair(data["float"], f"{field}.float")
            domain = FloatRange(low, high, log=data.get("log", False), grid=data.get("grid"))
    except SpaceError as exc:
        if exc.field in ("choice", "int", "float"):
            raise _reraise(exc, f"{field}.{kind}") from None
        if exc.field == "log":
            raise _reraise(exc, f"{field}.log") from None
        raise
    if "when" in data:
        when = data["when"]
        if not isinstance(when, Mapping) or len(when) != 1:
            raise SpaceError(f"{field}.when", f"must map one decision to its values, e.g. {{optimizer: [sgd]}}, got {when!r}")
        (parent, values), = when.items()
        values = values if isinstance(values, list) else [values]
        return Conditional(domain, str(parent), tuple(values))
    return domain


def _decision(name: str, data: Any, field: str) -> Domain | Conditional | Repeat | Cell:
    if isinstance(data, Mapping) and "repeat" in data:
        _keys(data, {"repeat", "block"}, field)
        rep = data["repeat"]
        if isinstance(rep, Mapping):
            _keys(rep, {"min", "max"}, f"{field}.repeat")
            low, high = rep.get("min", 1), rep.get("max", 1)
        else:
            low, high = _pair(rep, f"{field}.repeat")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or not 0 <= low <= high:
            raise SpaceError(f"{field}.repeat", f"needs integers 0 <= min <= max, got min={low!r}, max={high!r}")
        if high > MAX_REPEAT:
            raise SpaceError(f"{field}.repeat", f"max must be at most {MAX_REPEAT} layers, got {high}")
        block = data.get("block")
        if not isinstance(block, Mapping) or not block:
            raise SpaceError(f"{field}.block", "must map decision names to decisions")
        return Repeat({str(k): _domain(v, f"{field}.block.{k}") for k, v in block.items()}, low, high)
    if isinstance(data, Mapping) and "cell" in data:
        _keys(data, {"cell"}, field)
        cell = data["cell"]
        if not isinstance(cell, Mapping):
            raise SpaceError(f"{field}.cell", "must be a mapping {nodes: N, ops: [...]}")
        _keys(cell, {"nodes", "ops", "none_op", "identity_op", "linear_ops"}, f"{field}.cell")
        try:
            return Cell(
                nodes=cell.get("nodes"),  # type: ignore[arg-type]
                ops=cell.get("ops") or [],
                none_op=cell.get("none_op", "none"),
                identity_op=cell.get("identity_op", "skip_connect"),
                linear_ops=cell.get("linear_ops", ["avg_pool_3x3"]),
            )
        except SpaceError as exc:
            raise SpaceError(f"{field}.{exc.field}", exc.message) from None
    return _domain(data, field)


def from_config(data: Any, *, field: str = "space") -> SearchSpace:
    """A :class:`SearchSpace` from config data: a built-in name, or a mapping with
    ``decisions`` (and optional ``constraints``, a list of expressions), or ``builtin`` plus
    ``constraints``.

    Example:
        >>> space = from_config({"decisions": {"kernel": {"choice": [1, 3, 5]}, "depth": {"int": [1, 4]}}})
        >>> space.cardinality
        12
    """
    if isinstance(data, str):
        return builtin(data, field=field)
    if not isinstance(data, Mapping):
        raise SpaceError(field, f"must be a built-in name or a mapping with `decisions`, got {data!r}")
    _keys(data, {"decisions", "constraints", "builtin", "name"}, field)
    if ("builtin" in data) == ("decisions" in data):
        raise SpaceError(field, "needs exactly one of `builtin` (a name) or `decisions` (a mapping)")
    if "builtin" in data:
        space = builtin(str(data["builtin"]), field=f"{field}.builtin")
    else:
        decisions = data["decisions"]
        if not isinstance(decisions, Mapping) or not decisions:
            raise SpaceError(f"{field}.decisions", "must map decision names to decisions")
        parsed = {str(k): _decision(str(k), v, f"{field}.decisions.{k}") for k, v in decisions.items()}
        space = SearchSpace(parsed, name=str(data.get("name", "space")))
    raw = data.get("constraints", [])
    if not isinstance(raw, list):
        raise SpaceError(f"{field}.constraints", f"must be a list of expressions, got {raw!r}")
    constraints = []
    expressions: list[Expression] = []
    for k, item in enumerate(raw):
        if isinstance(item, Mapping):
            _keys(item, {"expr"}, f"{field}.constraints[{k}]")
        text = item.get("expr") if isinstance(item, Mapping) else item
        if not isinstance(text, str):
            raise SpaceError(f"{field}.constraints[{k}]", f"must be an expression string, got {item!r}")
        expr = Expression(text, names=space.names, field=f"{field}.constraints[{k}]")
        expressions.append(expr)
        constraints.append(Constraint(expr.holds, text, expression=text))
    if expressions:
        # As the space will: in order, each only while the ones before it hold (a constraint
        # may guard the next, e.g. "k != 3" before "1 / (k - 3) > 0").
        for arch in _probe_archs(space):
            for expr in expressions:
                if not expr.holds(arch):
                    break
    if constraints:
        space = space.with_constraints(constraints)
        space.check_possible()
    return space


def _probe_archs(space: SearchSpace) -> list[Arch]:
    """Architectures of ``space`` (constraints ignored) to try each constraint expression on:
    the first (every decision at its default), the deepest (every repeat at its most layers)
    and a few drawn with a fixed seed."""
    rng = np.random.default_rng(0)
    deepest = {name: r.max for name, r in space.repeats.items()}
    return [
        space._fill({}, None),  # the space's own filling rule, without its constraints
        space._fill({}, None, deepest),
        *(space._fill({}, rng) for _ in range(CHECK_SAMPLES)),
    ]
