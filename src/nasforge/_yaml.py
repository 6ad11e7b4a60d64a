"""A strict, safe YAML loader for configs (JSON is read by the same loader).

Stricter than ``yaml.safe_load`` in three ways, each refused with one line naming the file:

- a key given twice in one mapping (PyYAML keeps the last one silently) names the key and
  both lines;
- a document whose aliases expand to more than :data:`MAX_NODES` nodes (an "alias bomb": a
  1 KB file that expands to gigabytes when read or stored) or that refers to itself;
- a syntax error keeps PyYAML's whole explanation (problem, context, line and column) in one
  line instead of its first line.

Example:
    >>> load_yaml("budget: 10\\nbudget: 20\\n", "run.yaml")
    Traceback (most recent call last):
    ...
    nasforge._errors.ConfigError: config: run.yaml: key 'budget' is given twice (line 1 and line 2); keep one
    >>> load_yaml("a: [1, 2]", "run.yaml")
    {'a': [1, 2]}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

from ._errors import ConfigError

MAX_NODES = 100_000
"""Most nodes a document may hold once its aliases are expanded."""

MAX_DEPTH = 200
"""Deepest nesting of lists and mappings in a document."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses a mapping with a key given twice."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, tuple[int, int]] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # `<<: *defaults` merges; explicit keys beside it override, as YAML says
                key = self.construct_object(key_node, deep=False)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: PyYAML's own error below names it
                mark = key_node.start_mark
                where = (mark.line + 1, mark.column + 1)
                if first is not None:
                    raise _Duplicate(key, first, where)
                seen[key] = where
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


class _Duplicate(Exception):
    def __init__(self, key: Any, first: tuple[int, int], second: tuple[int, int]) -> None:
        self.key = key
        if first[0] == second[0]:
            self.where = f"line {first[0]}, column {first[1]} and column {second[1]}"
        else:
            self.where = f"line {first[0]} and line {second[0]}"


class _TooBig(Exception):
    pass


def _check_size(root: Node) -> None:
    """Refuse a node graph whose expansion (an alias counts as a copy of what it names) holds
    more than :data:`MAX_NODES` nodes, nests deeper than :data:`MAX_DEPTH`, or refers to
    itself. Computed once per distinct node, without recursion."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    aliased = False
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            total = 1 + sum(size[id(c)] for c in children)
            if total > MAX_NODES and aliased:
                raise _TooBig(
                    f"expands to more than {MAX_NODES:,} values once its aliases (*name) are expanded; "
                    "write the values out or use fewer aliases"
                )
            if total > MAX_NODES:
                raise _TooBig(f"holds more than {MAX_NODES:,} values, more than a run config is read with; "
                              "shorten its lists")  # fmt: skip
            size[key] = total
            continue
        if key in size:
            aliased = True  # a node reached a second time: an alias
            continue
        if key in on_path:
            raise _TooBig("holds an alias that refers to itself (a recursive structure)")
        if depth > MAX_DEPTH:
            raise _TooBig(f"nests lists and mappings deeper than {MAX_DEPTH} levels")
        on_path.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _TooBig("holds an alias that refers to itself (a recursive structure)")
            if id(child) in size:
                aliased = True
            else:
                stack.append((child, depth + 1, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _describe(exc: yaml.YAMLError) -> str:
    """PyYAML's whole message on one line: problem, where, and context."""
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = []
        if exc.problem:
            where = exc.problem_mark
            at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
            parts.append(f"{exc.problem}{at}")
        if exc.context:
            where = exc.context_mark
            at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
            parts.append(f"{exc.context}{at}")
        if exc.note:
            parts.append(exc.note)
        if parts:
            return "; ".join(parts)
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def _reader_error(exc: yaml.reader.ReaderError, text: str) -> str:
    pos = int(exc.position)
    char = exc.character
    code = f"#x{char:04x}" if isinstance(char, int) else repr(char)
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"unacceptable character {code} ({exc.reason}) at line {line}, column {column}"


def load_yaml(text: str, name: str = "<config>", *, field: str = "config") -> Any:
    """The document in ``text`` (YAML or JSON), read safely and strictly; ``name`` (a file
    name) and ``field`` start every error message."""
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        raise ConfigError(field, f"{name} is not valid YAML: {_reader_error(exc, text)}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    except _Duplicate as exc:
        raise ConfigError(
            field, f"{name}: key {exc.key!r} is given twice ({exc.where}); keep one"
        ) from None
    except _TooBig as exc:
        raise ConfigError(field, f"{name} {exc}") from None
    except ConstructorError as exc:
        raise ConfigError(field, f"{name} is not valid YAML: {_describe(exc)}") from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(field, f"{name} is not valid YAML: {_reader_error(exc, text)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(field, f"{name} is not valid YAML: {_describe(exc)}") from None
    except RecursionError:
        raise ConfigError(field, f"{name} nests lists and mappings too deeply to read") from None
    finally:
        loader.dispose()


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML or JSON config file into its mapping of settings; every failure (missing
    or unreadable file, bad encoding, bad YAML, duplicate keys, alias bombs, not a mapping) is
    a :class:`ConfigError` on field ``config`` naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("config", f"file {str(p)!r} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("config", f"{p.name} is not valid YAML: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError("config", f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
    data = load_yaml(text, p.name)
    if not isinstance(data, dict):
        raise ConfigError("config", f"{p.name} must hold a mapping of settings, got {type(data).__name__}")
    return data


__all__ = ["MAX_DEPTH", "MAX_NODES", "load_config_file", "load_yaml"]
