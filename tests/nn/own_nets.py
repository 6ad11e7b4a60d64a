"""Networks with their choices inside, importable by name (``tests.nn.own_nets:small``) for the
YAML tests."""

from __future__ import annotations

from torch import nn

import nasforge.nn as nf
from nasforge.space import Choice


@nf.model_space(extra={"lr": Choice([1e-3, 1e-2])})
def small(c: nf.Choices) -> nn.Module:
    ch = c.choice("channels", [4, 8])
    return nn.Sequential(
        nn.Conv2d(c.input_shape[0], ch, c.choice("kernel", [3, 5]), padding="same"),
        c.layer("act", {"relu": nn.ReLU, "tanh": nn.Tanh}),
        nn.Flatten(),
        nn.LazyLinear(c.num_classes),
    )


def plain(arch, input_shape, num_classes):  # type: ignore[no-untyped-def]
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(arch["units"]), nn.ReLU(), nn.LazyLinear(num_classes))
