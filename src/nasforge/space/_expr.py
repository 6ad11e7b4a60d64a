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
        tree = ast.fix_missing_locations(_Compile(self._names).visit(self._tree))
        try:
            self._code = compile(tree, "<constraint>", "eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise SpaceError(field, f"cannot compile expression {text!r}: {exc}") from None

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
        return eval(self._code, _GLOBALS, {"_a": arch})  # a checked, whitelisted, rewritten tree

    def __getstate__(self) -> dict[str, Any]:
        # code objects do not pickle: send the text and the names it uses, compile again
        return {"text": self.text, "names": list(self._names.values()), "field": self._field}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["text"], names=state["names"], field=state["field"])  # type: ignore[misc]

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


def _has(arch: Mapping[str, Any], ref: str | None) -> bool:
    return ref is not None and ref in arch


def _get(arch: Mapping[str, Any], ref: str | None, default: Any) -> Any:
    return arch.get(ref, default) if ref is not None else default


_GLOBALS: dict[str, Any] = {
    "__builtins__": {}, "bool": bool, "_has": _has, "_get": _get, "_pow": _pow, "_mul": _mul, **_FUNCS,
}  # fmt: skip
"""All a compiled expression can reach besides the architecture (``_a``)."""


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[]), like)


class _Compile(ast.NodeTransformer):
    """Rewrite a checked expression tree into plain Python over ``_a`` (the architecture):
    decisions become ``_a[name]`` (a missing one raises ``KeyError``), ``has``/``get`` take the
    name as text, ``**`` and ``*`` go through their bounded versions, ``and``/``or`` give a
    bool and tuples are lists, as the expression language defines them."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.names:
            sub = ast.Subscript(value=ast.Name("_a", ast.Load()), slice=ast.Constant(self.names[node.id]), ctx=ast.Load())
            return ast.copy_location(sub, node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        assert isinstance(node.func, ast.Name)
        if node.func.id in ("has", "get"):
            target = node.args[0]
            ref = self.names.get(target.id) if isinstance(target, ast.Name) else None
            if ref is None and isinstance(target, ast.Constant):
                ref = str(target.value)
            arch, key = ast.Name("_a", ast.Load()), ast.Constant(ref)
            if node.func.id == "has":
                return _call("_has", [arch, key], node)
            default = self.visit(node.args[1]) if len(node.args) > 1 else ast.Constant(None)
            return _call("_get", [arch, key, default], node)
        node.args = [self.visit(a) for a in node.args]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):
            return _call("_pow", [node.left, node.right], node)
        if isinstance(node.op, ast.Mult):
            return _call("_mul", [node.left, node.right], node)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        return _call("bool", [node], node)

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        self.generic_visit(node)
        return ast.copy_location(ast.List(elts=node.elts, ctx=ast.Load()), node)
