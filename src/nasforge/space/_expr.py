"""Constraints written as small expressions over decision names (for YAML configs)."""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import SpaceError
from ._arch import Arch

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
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


class Expression:
    """A safe arithmetic/boolean expression over an architecture's decisions.

    Decision names may contain dots (``layers.0.kernel``); ``has(name)`` tells whether a
    decision exists; ``get(name, default)`` reads one that may not. No attribute access, no
    calls but ``min max abs len sum has get``.

    Example:
        >>> Expression("kernel <= channels // 8")(Arch({"kernel": 3, "channels": 32}))
        True
    """

    def __init__(self, text: str, *, names: list[str], field: str = "constraint") -> None:
        self.text = text
        self._names: dict[str, str] = {}
        source = text
        # Replace dotted decision names by identifiers, longest first so prefixes do not clash.
        for k, name in enumerate(sorted(names, key=len, reverse=True)):
            ident = f"_d{k}"
            pattern = r"(?<![\w.])" + re.escape(name) + r"(?![\w])"
            if re.search(pattern, source):
                source = re.sub(pattern, ident, source)
                self._names[ident] = name
        try:
            self._tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            raise SpaceError(field, f"cannot parse expression {text!r}: {exc.msg}") from None
        self._field = field
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
        (a rule about a layer constrains only architectures that have that layer)."""
        try:
            return bool(self(arch))
        except KeyError:
            return True
