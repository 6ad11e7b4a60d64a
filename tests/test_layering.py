"""The map of DESIGN.md, asserted: no import cycle between modules, no part importing a part
drawn above it, and the framework-free core importing without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nasforge"

LAYERS: list[set[str]] = [
    {"_errors", "_validate", "_version", "_yaml", "_refs", "_rundir"},
    {"space"},
    {"_trial"},
    {"strategies"},
    {"pruners"},
    {"storage"},
    {"models", "nn"},
    {"data"},
    {"evaluators"},
    {"executors"},
    {"_results", "_progress"},
    {"report"},
    {"study"},
    {"config"},
    {"run", "_load"},
    {"testing"},
    {"cli", "__init__", "__main__"},
]
"""The parts bottom-up, as DESIGN.md's table (a part imports only parts in its own row or below)."""


def module_name(path: Path, src: Path = SRC) -> str:
    rel = path.relative_to(src.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the nasforge modules it imports (anywhere in the file, lazily too; imports
    under ``if TYPE_CHECKING`` are for annotations only and do not count)."""
    modules = {module_name(p, src): p for p in src.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_lines(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path.name == "__init__.py", node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules (first == last), or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := visit(dep)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def part(module: str) -> str:
    """``nasforge.space._cell`` -> ``space``; ``nasforge`` -> ``__init__``."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def layer(module: str) -> int:
    name = part(module)
    for i, row in enumerate(LAYERS):
        if name in row:
            return i
    raise AssertionError(f"{module} belongs to no part of the map; add it to LAYERS (and to DESIGN.md)")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for each import of a part drawn above the importer's."""
    return sorted(f"{a} -> {b}" for a, deps in graph.items() for b in deps if layer(b) > layer(a))


FORBIDDEN = {"study": {"report"}, "config": {"report"}, "run": {"report", "cli"}}
"""DESIGN.md's "must not" column where the layer order alone allows it: the loop does not know
the report exists, and the run-directory service holds no CLI parsing."""


def forbidden_imports(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for each import DESIGN.md's table forbids outright."""
    return sorted(f"{a} -> {b}" for a, deps in graph.items() for b in deps if part(b) in FORBIDDEN.get(part(a), ()))


def test_the_checker_finds_a_deliberate_cycle_and_an_upward_import() -> None:
    graph = {"nasforge.space._a": {"nasforge.space._b"}, "nasforge.space._b": {"nasforge.space._a"}}
    assert find_cycle(graph) == ["nasforge.space._a", "nasforge.space._b", "nasforge.space._a"]
    assert find_cycle({"nasforge.space._a": {"nasforge.space._b"}, "nasforge.space._b": set()}) is None
    assert upward_imports({"nasforge.space._x": {"nasforge.study"}}) == ["nasforge.space._x -> nasforge.study"]
    assert forbidden_imports({"nasforge.study": {"nasforge.report._html"}}) == ["nasforge.study -> nasforge.report._html"]


def test_the_checker_sees_an_added_cycle_in_a_copy_of_the_tree(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "nasforge"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "space" / "_sneaky.py").write_text("from ..study import Study\n")
    with (copy / "space" / "__init__.py").open("a") as f:
        f.write("\nfrom . import _sneaky  # noqa\n")
    graph = import_graph(copy)
    assert find_cycle(graph) is not None
    assert "nasforge.space._sneaky -> nasforge.study" in upward_imports(graph)


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_part_imports_a_part_drawn_above_it() -> None:
    graph = import_graph()
    assert upward_imports(graph) == []
    assert forbidden_imports(graph) == []


@pytest.mark.parametrize(
    "module",
    ["nasforge.space", "nasforge.strategies", "nasforge.storage", "nasforge._trial", "nasforge.study", "nasforge._results"],
)
def test_the_core_imports_without_torch(module: str) -> None:
    code = f"import sys; sys.modules['torch'] = None; import {module}; assert 'torch' not in sys.modules or sys.modules['torch'] is None"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
