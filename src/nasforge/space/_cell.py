"""Cell DAGs: N nodes, one operation per edge, canonical forms up to isomorphism."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import SpaceError
from ._domains import Choice

MAX_PERMUTED_NODES = 6
"""Cells with more intermediate nodes than this are canonicalised by pruning only."""

MAX_CELL_NODES = 12
"""Largest cell: its canonical key (the expression it computes) grows exponentially with nodes."""


class Cell:
    """A cell: node 0 is the input, node ``nodes - 1`` the output, every edge ``i -> j`` (i < j)
    carries one operation from ``ops``; a node sums its incoming edges.

    Each edge is a decision named ``"{name}.{i}-{j}"``. The cell's string is NAS-Bench-201's:
    ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` lists, for node j = 1, 2, ..., the operations of
    its edges from nodes 0..j-1.

    ``none_op`` (an edge that carries nothing) and ``identity_op`` (an edge that passes its input
    unchanged) let :meth:`key` give one key to cells that compute the same function by
    structure; :meth:`canonical` gives a representative cell up to isomorphism and pruning.

    Example:
        >>> c = Cell(nodes=3, ops=["none", "conv"])
        >>> c.edges
        [(0, 1), (0, 2), (1, 2)]
    """

    def __init__(
        self,
        *,
        nodes: int,
        ops: Sequence[str],
        none_op: str | None = "none",
        identity_op: str | None = "skip_connect",
    ) -> None:
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 2 <= nodes <= MAX_CELL_NODES:
            raise SpaceError("cell.nodes", f"must be an integer from 2 to {MAX_CELL_NODES}, got {nodes!r}")
        if isinstance(ops, str) or not isinstance(ops, Sequence):
            raise SpaceError("cell.ops", f"must be a non-empty list of operation names, got {ops!r}")
        for field, op in (("none_op", none_op), ("identity_op", identity_op)):
            if op is not None and not isinstance(op, str):
                raise SpaceError(f"cell.{field}", f"must be an operation name or null, got {op!r}")
        ops = list(ops)
        if not ops or not all(isinstance(o, str) and o for o in ops):
            raise SpaceError("cell.ops", f"must be a non-empty list of operation names, got {ops!r}")
        if len(set(ops)) != len(ops):
            raise SpaceError("cell.ops", f"operation names must be distinct, got {ops}")
        self.nodes = nodes
        self.ops: tuple[str, ...] = tuple(ops)
        self.none_op = none_op if none_op in self.ops else None
        self.identity_op = identity_op if identity_op in self.ops else None
        self.edges: list[tuple[int, int]] = [(i, j) for j in range(1, nodes) for i in range(j)]
        self.domain = Choice(self.ops)

    def __repr__(self) -> str:
        return (
            f"Cell(nodes={self.nodes}, ops={list(self.ops)!r}, none_op={self.none_op!r}, "
            f"identity_op={self.identity_op!r})"
        )

    def to_config(self) -> dict[str, object]:
        """The YAML/JSON form that :func:`nasforge.space.from_config` reads back."""
        return {
            "cell": {"nodes": self.nodes, "ops": list(self.ops), "none_op": self.none_op, "identity_op": self.identity_op}
        }

    @staticmethod
    def edge_name(name: str, i: int, j: int) -> str:
        """Decision name of the edge ``i -> j`` of the cell called ``name``."""
        return f"{name}.{i}-{j}"

    def edge_names(self, name: str) -> list[str]:
        """Decision names of all edges, in string order (by target node, then source)."""
        return [self.edge_name(name, i, j) for i, j in self.edges]

    def ops_of(self, name: str, values: Mapping[str, Any]) -> dict[tuple[int, int], str]:
        """The op of every edge, read from an architecture's values."""
        return {(i, j): str(values[self.edge_name(name, i, j)]) for i, j in self.edges}

    def to_string(self, ops: Mapping[tuple[int, int], str]) -> str:
        """NAS-Bench-201's string of a cell."""
        parts = []
        for j in range(1, self.nodes):
            parts.append("|" + "|".join(f"{ops[(i, j)]}~{i}" for i in range(j)) + "|")
        return "+".join(parts)

    def parse(self, text: str) -> dict[tuple[int, int], str]:
        """Inverse of :meth:`to_string`; raises ``ValueError`` naming what is wrong."""
        nodes = text.strip().split("+")
        if len(nodes) != self.nodes - 1:
            raise ValueError(f"cell string {text!r} has {len(nodes)} nodes, expected {self.nodes - 1}")
        ops: dict[tuple[int, int], str] = {}
        for j, part in enumerate(nodes, start=1):
            items = [p for p in part.strip().strip("|").split("|")]
            if len(items) != j:
                raise ValueError(f"cell string {text!r}: node {j} needs {j} edges, got {len(items)}")
            for item in items:
                op, _, src = item.rpartition("~")
                if op not in self.ops or not src.isdigit() or int(src) >= j:
                    raise ValueError(f"cell string {text!r}: bad edge {item!r}")
                ops[(int(src), j)] = op
        return ops

    def prune(self, ops: Mapping[tuple[int, int], str]) -> dict[tuple[int, int], str]:
        """Set to ``none`` every edge that cannot carry data from the input to the output."""
        if self.none_op is None:
            return dict(ops)
        live = {e for e, op in ops.items() if op != self.none_op}
        fwd = {0}
        for j in range(1, self.nodes):
            if any((i, j) in live and i in fwd for i in range(j)):
                fwd.add(j)
        bwd = {self.nodes - 1}
        for i in range(self.nodes - 2, -1, -1):
            if any((i, j) in live and j in bwd for j in range(i + 1, self.nodes)):
                bwd.add(i)
        return {
            e: (op if (e in live and e[0] in fwd and e[1] in bwd) else self.none_op) for e, op in ops.items()
        }

    def canonical(self, ops: Mapping[tuple[int, int], str]) -> dict[tuple[int, int], str]:
        """The representative of ``ops`` among cells that compute the same function by structure:
        pruned, then the smallest (in op-list order) relabelling of the intermediate nodes that
        keeps every edge pointing forward."""
        pruned = self.prune(ops)
        inner = list(range(1, self.nodes - 1))
        if len(inner) > MAX_PERMUTED_NODES or not inner:
            return pruned
        rank = {op: k for k, op in enumerate(self.ops)}
        live = [(e, op) for e, op in pruned.items() if op != self.none_op]
        best: tuple[int, ...] | None = None
        best_ops = pruned
        for perm in itertools.permutations(inner):
            relabel = {0: 0, self.nodes - 1: self.nodes - 1, **dict(zip(inner, perm))}
            moved = {(relabel[i], relabel[j]): op for (i, j), op in live}
            if any(i >= j for i, j in moved):
                continue
            candidate = {e: moved.get(e, self.none_op or self.ops[0]) for e in self.edges}
            key = tuple(rank[candidate[e]] for e in self.edges)
            if best is None or key < best:
                best, best_ops = key, candidate
        return best_ops

    def key(self, ops: Mapping[tuple[int, int], str]) -> str:
        """A key shared by cells that compute the same expression: each node is the sorted
        sum of ``op(source)`` terms, ``none`` edges and zero sources drop out, identity edges
        pass their source's terms through. Isomorphic cells, cells differing only in edges
        that carry nothing to the output, and cells equal once identities are removed share it.

        Example:
            >>> c = Cell(nodes=3, ops=["none", "skip_connect", "conv"])
            >>> c.key({(0, 1): "conv", (0, 2): "none", (1, 2): "skip_connect"})
            'conv(x)'
        """
        terms: dict[int, list[str]] = {0: ["x"]}
        for j in range(1, self.nodes):
            node: list[str] = []
            for i in range(j):
                op, src = ops[(i, j)], terms[i]
                if op == self.none_op or not src:
                    continue
                if op == self.identity_op:
                    node.extend(src)
                else:
                    node.append(f"{op}({'+'.join(src)})")
            terms[j] = sorted(node)
        return "+".join(terms[self.nodes - 1]) or "0"
