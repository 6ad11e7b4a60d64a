"""User networks for the one-shot tests (importable by name, as YAML would name them)."""

from __future__ import annotations

from torch import nn

import nasforge.nn as nf


@nf.model_space
def cell_net(c):  # type: ignore[no-untyped-def]
    """A shared stem, one layer choice (parameters in two candidates), one input choice."""
    stem = nn.Sequential(nn.Conv2d(c.input_shape[0], 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
    op = c.layer("op", {"conv": lambda: nn.Conv2d(8, 8, 3, padding=1), "wide": lambda: nn.Conv2d(8, 8, 5, padding=2),
                        "pool": lambda: nn.MaxPool2d(3, 1, 1)})  # fmt: skip
    return _Net(stem, op, c.input_choice("skip", 2), c.num_classes)


class _Net(nn.Module):
    def __init__(self, stem: nn.Module, op: nn.Module, pick: nn.Module, classes: int) -> None:
        super().__init__()
        self.stem, self.op, self.pick = stem, op, pick
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes))

    def forward(self, x):  # type: ignore[no-untyped-def]
        s = self.stem(x)
        return self.head(self.pick([s, self.op(s)]))


@nf.model_space
def width_net(c):  # type: ignore[no-untyped-def]
    """A value choice (width: per-value copies) beside a layer choice (shared within each copy)."""
    w = c.choice("width", [8, 16])
    act = c.layer("act", {"relu": nn.ReLU, "tanh": nn.Tanh})
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(w), act, nn.Linear(w, c.num_classes))


@nf.model_space
def too_many(c):  # type: ignore[no-untyped-def]
    """Value choices only: 6 x 6 = 36 separate networks, more than a supernet holds."""
    a = c.choice("a", [4, 8, 12, 16, 20, 24])
    b = c.choice("b", [4, 8, 12, 16, 20, 24])
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(a), nn.ReLU(), nn.Linear(a, b), nn.Linear(b, c.num_classes))


def plain(arch, input_shape, num_classes):  # type: ignore[no-untyped-def]
    """A plain build function: nothing is known about which parts two architectures share."""
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(int(arch["units"])), nn.ReLU(), nn.LazyLinear(num_classes))
