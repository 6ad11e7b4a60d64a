"""The NAS-Bench-201 cell network (Dong & Yang, 2020): a stem, three stages of stacked cells,
and residual reduction blocks between the stages."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from ..space import Constraint
from ._chain import NeverFits, layout
from ._registry import register_model

_EDGE = re.compile(r"^(.*)\.(\d+)-(\d+)$")


class ReLUConvBN(nn.Sequential):
    """ReLU → Conv (no bias) → BatchNorm, NAS-Bench-201's ``nor_conv`` operation."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__(
            nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out)
        )


def cell_op(name: str, channels: int) -> nn.Module | None:
    """The module of one cell operation; ``None`` for ``none`` (the edge carries nothing)."""
    if name == "none":
        return None
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 operation {name!r}")


class CellBlock(nn.Module):
    """One cell: node 0 is the input, node ``j`` sums ``op(i -> j)(node i)`` over ``i < j``;
    the last node is the output. Edges with ``none`` carry nothing (a node without inputs is 0)."""

    def __init__(self, ops: Mapping[tuple[int, int], str], nodes: int, channels: int) -> None:
        super().__init__()
        self.nodes = nodes
        self.edges = nn.ModuleDict()
        for (i, j), op in sorted(ops.items()):
            module = cell_op(op, channels)
            if module is not None:
                self.edges[f"{i}-{j}"] = module
        self.inputs = {j: [i for i in range(j) if f"{i}-{j}" in self.edges] for j in range(1, nodes)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = [x]
        for j in range(1, self.nodes):
            terms = [self.edges[f"{i}-{j}"](values[i]) for i in self.inputs[j]]
            values.append(torch.stack(terms).sum(0) if len(terms) > 1 else terms[0] if terms else torch.zeros_like(x))
        return values[-1]


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction block: two ReLU-Conv-BN (the first with stride 2) plus a
    shortcut of 2×2 average pooling and a 1×1 convolution."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2, ceil_mode=True), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def stages(C: int, N: int, cell: Callable[[int], nn.Module]) -> list[nn.Module]:
    """The body of the NB201 network: three stages of ``N`` cells (``cell(channels)``) at ``C``,
    ``2C`` and ``4C`` channels, a residual reduction before the second and the third."""
    blocks: list[nn.Module] = []
    c = C
    for stage in range(3):
        if stage:
            blocks.append(ResidualReduction(c, 2 * c))
            c *= 2
        blocks.extend(cell(c) for _ in range(N))
    return blocks


class CellNetwork(nn.Module):
    """Stem (3×3 conv + BN, ``C`` channels) → N cells → reduction (2C) → N cells → reduction
    (4C) → N cells → BN → ReLU → global average pooling → Linear(classes)."""

    def __init__(self, ops: Mapping[tuple[int, int], str], nodes: int, input_shape: tuple[int, ...],
                 num_classes: int, C: int = 16, N: int = 1) -> None:  # fmt: skip
        super().__init__()
        channels, _, reshape = layout(input_shape, 2)
        self.reshape = reshape if reshape is not None else nn.Identity()
        self.stem = nn.Sequential(nn.Conv2d(channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.cells = nn.Sequential(*stages(C, N, lambda c: CellBlock(ops, nodes, c)))
        self.head = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.cells(self.stem(self.reshape(x)))))


def _cell_ops(arch: Mapping[str, Any]) -> tuple[dict[tuple[int, int], str], int]:
    ops: dict[tuple[int, int], str] = {}
    prefixes = set()
    for name, value in arch.items():
        m = _EDGE.match(name)
        if m:
            prefixes.add(m.group(1))
            ops[(int(m.group(2)), int(m.group(3)))] = str(value)
    if len(prefixes) != 1:
        raise ValueError(
            f"a cell network needs the edges of exactly one cell (name.i-j), found cells {sorted(prefixes)}"
        )
    nodes = max(j for _, j in ops) + 1
    for j in range(1, nodes):
        for i in range(j):
            if (i, j) not in ops:
                raise ValueError(f"the cell has no operation on edge {i}-{j}")
    return ops, nodes


def _constraints(input_shape: tuple[int, ...]) -> list[Constraint]:
    channels, spatial, _ = layout(input_shape, 2)
    if not channels or min(spatial) < 4:
        reason = f"the nasbench201 network needs images of at least 4x4 pixels, the data has shape {input_shape}"
        return [Constraint(NeverFits(reason), reason)]
    return []


@register_model("nasbench201", constraints=_constraints, options=("C", "N"), reads=(r".+\.\d+-\d+",))
def nasbench201(
    arch: Mapping[str, Any], input_shape: tuple[int, ...], num_classes: int, *, C: int = 16, N: int = 1
) -> nn.Module:
    """The NAS-Bench-201 network of a cell. ``C`` (stem channels, 16 in the benchmark) and
    ``N`` (cells per stage, 5 in the benchmark) default to 16 and 1 so it trains on a CPU."""
    for name, v in (("C", C), ("N", N)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"option {name} must be a positive integer, got {v!r}")
    ops, nodes = _cell_ops(arch)
    return CellNetwork(ops, nodes, input_shape, num_classes, C=C, N=N)
