"""Cell DAGs: N nodes, one operation per edge, canonical forms up to isomorphism."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
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

    ``none_op`` (an edge that carries nothing), ``identity_op`` (an edge that passes its input
    unchanged) and ``linear_ops`` (parameter-free linear operations such as average pooling;
    names not among ``ops`` are ignored) let :meth:`key` give one key to exactly the cells
    that compute the same function; :meth:`canonical` gives a representative cell up to
    isomorphism and pruning.

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
        linear_ops: Sequence[str] = ("avg_pool_3x3",),
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
        if isinstance(linear_ops, str) or not isinstance(linear_ops, Sequence) or not all(
            isinstance(o, str) for o in linear_ops
        ):
            raise SpaceError("cell.linear_ops", f"must be a list of operation names, got {linear_ops!r}")
        self.linear_ops: tuple[str, ...] = tuple(
            o for o in linear_ops if o in self.ops and o not in (self.none_op, self.identity_op)
        )
        """Parameter-free linear operations among ``ops`` (average pooling): :meth:`key` lets
        them distribute over sums."""
        self.edges: list[tuple[int, int]] = [(i, j) for j in range(1, nodes) for i in range(j)]
        self.domain = Choice(self.ops)

    def __repr__(self) -> str:
        return (
            f"Cell(nodes={self.nodes}, ops={list(self.ops)!r}, none_op={self.none_op!r}, "
            f"identity_op={self.identity_op!r}, linear_ops={list(self.linear_ops)!r})"
        )

    def to_config(self) -> dict[str, object]:
        """The YAML/JSON form that :func:`nasforge.space.from_config` reads back."""
        return {
            "cell": {
                "nodes": self.nodes,
                "ops": list(self.ops),
                "none_op": self.none_op,
                "identity_op": self.identity_op,
                "linear_ops": list(self.linear_ops),
            }
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
        """A key that two cells share exactly when they compute the same function, for some
        copy of one's weights into the other's (functional equivalence).

        The cell is read as an expression: the input is ``x``; a ``none`` edge carries nothing;
        an identity edge passes its source on; an op of :attr:`linear_ops` (parameter-free and
        linear, e.g. average pooling) distributes over a sum, so ``pool(a + b)`` is
        ``pool(a) + pool(b)`` and two such edges on one input are ``2*pool(x)``; every other op
        is an *instance* with weights of its own on each edge. A node is the sum of its terms
        with multiplicities, so one conv reached through two identity paths (``2*conv(x)``,
        one set of weights) differs from two convs of the same input (``conv(x)+conv(x)``).
        An op applied to an identically zero input counts as zero (the convention of
        NAS-Bench-201's own key: a conv-BN of zero outputs only its learnable BN shift).

        When every instance feeds one place, the key is the expression itself, e.g.
        ``nor_conv_3x3(x)+nor_conv_3x3(x)``; when an instance's output is used in several
        places the instances are named (``$0=nor_conv_3x3(x);...;out=...``), with the naming
        that gives the smallest key, so isomorphic cells still share it.

        Example:
            >>> c = Cell(nodes=3, ops=["none", "skip_connect", "conv"])
            >>> c.key({(0, 1): "conv", (0, 2): "none", (1, 2): "skip_connect"})
            'conv(x)'
            >>> c.key({(0, 1): "conv", (0, 2): "conv", (1, 2): "skip_connect"})
            'conv(x)+conv(x)'
            >>> c.key({(0, 1): "skip_connect", (0, 2): "skip_connect", (1, 2): "conv"})
            'conv(x)+x'
        """
        return _Expression(self, ops).key()


_Term = tuple[tuple[str, ...], int]
"""A term of a node's sum: linear ops (applied in order) on a base, ``-1`` for the input or
the index of an instance."""

MAX_NAMINGS = 5040
"""Most namings of tied instances tried for a cell's key; beyond, ties keep edge order (the
key may then split equivalent cells, never merge different ones)."""


class _Expression:
    """The expression a cell computes: instances (a weighted op on one edge, applied to its
    source's sum of terms) and the output's sum of terms."""

    def __init__(self, cell: Cell, ops: Mapping[tuple[int, int], str]) -> None:
        self.ops: list[str] = []
        self.args: list[dict[_Term, int]] = []
        values: dict[int, dict[_Term, int]] = {0: {((), -1): 1}}
        for j in range(1, cell.nodes):
            node: dict[_Term, int] = {}
            for i in range(j):
                op, src = ops[(i, j)], values[i]
                if op == cell.none_op or not src:
                    continue
                if op == cell.identity_op:
                    terms = src
                elif op in cell.linear_ops:
                    terms = {((*chain, op), base): c for (chain, base), c in src.items()}
                else:
                    self.ops.append(op)
                    self.args.append(src)
                    terms = {((), len(self.ops) - 1): 1}
                for t, c in terms.items():
                    node[t] = node.get(t, 0) + c
            values[j] = node
        self.out = values[cell.nodes - 1]
        self._tree: dict[int, str] = {}

    def _term(self, term: _Term, name: Callable[[int], str]) -> str:
        chain, base = term
        text = "x" if base < 0 else name(base)
        for op in chain:
            text = f"{op}({text})"
        return text

    def _sum(self, value: Mapping[_Term, int], name: Callable[[int], str]) -> str:
        parts = []
        for t, c in value.items():
            text = self._term(t, name)
            parts.append(f"{c}*{text}" if c > 1 else text)
        return "+".join(sorted(parts))

    def tree(self, k: int) -> str:
        """Instance ``k`` written out as an expression (sharing not shown)."""
        text = self._tree.get(k)
        if text is None:
            text = self._tree[k] = f"{self.ops[k]}({self._sum(self.args[k], self.tree)})"
        return text

    def key(self) -> str:
        if not self.out:
            return "0"
        live: list[int] = []
        stack = [b for (_, b) in self.out if b >= 0]
        seen: set[int] = set()
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            live.append(k)
            stack.extend(b for (_, b) in self.args[k] if b >= 0)
        # where each instance is used: (consumer, linear ops, multiplicity); consumer -1 = output
        uses: dict[int, list[tuple[int, tuple[str, ...], int]]] = {k: [] for k in live}
        for consumer, value in [(-1, self.out), *((k, self.args[k]) for k in live)]:
            for (chain, base), c in value.items():
                if base >= 0:
                    uses[base].append((consumer, chain, c))
        if all(len(u) <= 1 for u in uses.values()):
            return self._sum(self.out, self.tree)  # a tree: the expression is exact
        return self._named(sorted(live), uses)

    def _named(self, live: list[int], uses: dict[int, list[tuple[int, tuple[str, ...], int]]]) -> str:
        """The smallest rendering with named instances over the namings that respect an
        isomorphism-invariant labelling of the instances (refined by where each is used)."""
        label = {k: self.tree(k) for k in live}
        classes = len(set(label.values()))
        for _ in range(len(live)):
            label = {
                k: label[k] + "|" + ",".join(
                    sorted(f"{'out' if u < 0 else label[u]}/{'.'.join(ch)}/{c}" for u, ch, c in uses[k])
                )
                for k in live
            }
            ranks = {v: r for r, v in enumerate(sorted(set(label.values())))}
            label = {k: str(ranks[label[k]]) for k in live}
            if len(ranks) == classes:
                break
            classes = len(ranks)
        groups: dict[str, list[int]] = {}
        for k in sorted(live, key=lambda k: (int(label[k]), k)):
            groups.setdefault(label[k], []).append(k)
        namings = 1
        for g in groups.values():
            namings *= math.factorial(len(g))
        choices = (
            itertools.product(*(itertools.permutations(g) for g in groups.values()))
            if namings <= MAX_NAMINGS
            else iter([tuple(tuple(g) for g in groups.values())])
        )
        best: str | None = None
        for choice in choices:
            order = [k for g in choice for k in g]
            name = {k: f"${i}" for i, k in enumerate(order)}.__getitem__
            text = ";".join(f"${i}={self.ops[k]}({self._sum(self.args[k], name)})" for i, k in enumerate(order))
            text += f";out={self._sum(self.out, name)}"
            if best is None or text < best:
                best = text
        assert best is not None
        return best
