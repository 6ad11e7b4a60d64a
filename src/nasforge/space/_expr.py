"""Constraints written as small expressions over decision names (for YAML configs)."""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._errors import SpaceError
from ._arch import Arch

MAX_EXPRESSION_LENGTH = 2000
"""Longest constraint expression, in characters."""

MAX_RESULT_BITS = 4096
"""Largest integer a power may produce (``9 ** 9 ** 9`` would run for hours)."""

MAX_RESULT_ITEMS = 10_000
"""Longest string or list a repetition may produce (``'ab' * 10**10`` would fill memory)."""


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and b * math.log2(abs(a)) > MAX_RESULT_BITS:
        raise ValueError(f"{a} ** {b} is larger than 2**{MAX_RESULT_BITS}")
    return operator.pow(a, b)


def _mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_RESULT_ITEMS:
            raise ValueError(f"repeating a sequence {n} times makes more than {MAX_RESULT_ITEMS} items")
    return operator.mul(a, b)


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _pow,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_FUNCS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs, "len": len, "sum": sum}
_ARITY: dict[str, tuple[int, int]] = {
    "min": (1, 1_000), "max": (1, 1_000), "abs": (1, 1), "len": (1, 1), "sum": (1, 2), "has": (1, 1), "get": (1, 2),
}  # fmt: skip
"""Fewest and most arguments of each function an expression may call."""


class Expression:
    """A safe arithmetic/boolean expression over an architecture's decisions.

    Decision names may contain dots (``layers.0.kernel``); ``has(name)`` tells whether a
    decision exists; ``get(name, default)`` reads one that may not. No attribute access, no
    calls but ``min max abs len sum has get``.

    Evaluation is bounded (powers and repetitions that would not fit are refused), and an
    expression that raises while it is evaluated raises :class:`SpaceError` naming it.

    Example:
        >>> e = Expression("kernel <= channels // 8", names=["kernel", "channels"])
        >>> e(Arch({"kernel": 3, "channels": 32}))
        True
        >>> Expression("kernel / 0 > 1", names=["kernel"]).holds(Arch({"kernel": 3}))
        Traceback (most recent call last):
        ...
        nasforge._errors.SpaceError: constraint: expression 'kernel / 0 > 1' cannot be evaluated for Arch(kernel=3): ZeroDivisionError: division by zero
    """

    def __init__(self, text: str, *, names: list[str], field: str = "constraint") -> None:
        self.text = text
        self._field = field
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise SpaceError(field, f"expression is {len(text)} characters long; at most {MAX_EXPRESSION_LENGTH} are allowed")
        self._names: dict[str, str] = {}
        source = text
        # Replace dotted decision names by identifiers, longest first so prefixes do not clash.
        for k, name in enumerate(sorted(names, key=len, reverse=True)):
            ident = f"_d{k}"
            pattern = r"(?<![\w.])" + re.escape(name) + r"(?![\w])"
            if name in source and re.search(pattern, source):
                source = re.sub(pattern, ident, source)
                self._names[ident] = name
        try:
            self._tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            raise SpaceError(field, f"cannot parse expression {text!r}: {exc.msg}") from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise SpaceError(field, f"cannot parse expression {text!r}: {exc}") from None
        self._check(self._tree.body)

    def _check(self, node: ast.AST) -> None:
        allowed = (
            ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Compare,
            ast.Constant, ast.Name, ast.Load, ast.Call, ast.List, ast.Tuple, ast.IfExp,
            *_BINOPS, *_CMPOPS,
        )  # fmt: skip
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                raise SpaceError(self._field, f"expression {self.text!r} uses {type(sub).__name__}, which is not allowed")
            if isinstance(sub, ast.Call) and not (
                isinstance(sub.func, ast.Name) and sub.func.id in (*_FUNCS, "has", "get")
            ):
                raise SpaceError(self._field, f"expression {self.text!r} calls something other than {sorted(_FUNCS)} has get")
            if isinstance(sub, ast.Name) and sub.id not in self._names and sub.id not in (*_FUNCS, "has", "get"):
                raise SpaceError(self._field, f"expression {self.text!r} names {sub.id!r}, which is not a decision")
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                low, high = _ARITY[sub.func.id]
                if not low <= len(sub.args) <= high:
                    wanted = f"{low}" if low == high else f"{low} to {high}"
                    raise SpaceError(
                        self._field,
                        f"expression {self.text!r} calls {sub.func.id}() with {len(sub.args)} arguments; it takes {wanted}",
                    )

    def __call__(self, arch: Mapping[str, Any]) -> Any:
        return self._eval(self._tree.body, arch)

    def _eval(self, node: ast.AST, arch: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            name = self._names[node.id]
            if name not in arch:
                raise KeyError(name)
            return arch[name]
        if isinstance(node, ast.BoolOp):
            vals = (self._eval(v, arch) for v in node.values)
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, arch)
            return (not v) if isinstance(node.op, ast.Not) else (-v if isinstance(node.op, ast.USub) else +v)
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self._eval(node.left, arch), self._eval(node.right, arch))
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, arch)
            for op, right_node in zip(node.ops, node.comparators):
                right = self._eval(right_node, arch)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.List | ast.Tuple):
            return [self._eval(e, arch) for e in node.elts]
        if isinstance(node, ast.IfExp):
            return self._eval(node.body if self._eval(node.test, arch) else node.orelse, arch)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fname = node.func.id
            if fname in ("has", "get"):
                target = node.args[0]
                ref: str | None = self._names.get(target.id) if isinstance(target, ast.Name) else None
                if ref is None and isinstance(target, ast.Constant):
                    ref = str(target.value)
                if fname == "has":
                    return ref in arch
                default = self._eval(node.args[1], arch) if len(node.args) > 1 else None
                return arch.get(ref, default) if ref is not None else default
            return _FUNCS[fname](*(self._eval(a, arch) for a in node.args))
        raise SpaceError(self._field, f"cannot evaluate {type(node).__name__}")

    def holds(self, arch: Arch) -> bool:
        """The expression's truth for ``arch``; a decision that does not exist makes it true
        (a rule about a layer constrains only architectures that have that layer). An
        expression that fails to evaluate raises :class:`SpaceError` naming it and ``arch``."""
        try:
            return bool(self(arch))
        except KeyError:
            return True
        except SpaceError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a user's expression is reported as one line
            raise SpaceError(
                self._field, f"expression {self.text!r} cannot be evaluated for {arch!r}: {type(exc).__name__}: {exc}"
            ) from None

    def check(self, archs: Iterable[Arch]) -> None:
        """Evaluate on ``archs`` (e.g. a space's first and a few sampled architectures), so an
        expression that cannot be evaluated is refused when the space is built, not mid-search."""
        for arch in archs:
            self.holds(arch)
