"""A network with its input standardization (and, for regression, its target scale) inside."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Standardized(nn.Module):
    """``net`` applied to standardized inputs: ``net((x - mean) / std)``; for regression the
    output is brought back to the target's units, ``out * y_std + y_mean``.

    The statistics are buffers, saved with the weights (``mean``, ``std``, ``y_mean``,
    ``y_std``; the network's own weights under ``net.``), so a saved model takes raw inputs.
    The trainer computes them from the training part only.

    Example:
        >>> m = Standardized(nn.Identity(), torch.tensor([1.0]), torch.tensor([2.0]))
        >>> m(torch.tensor([[5.0]]))
        tensor([[2.]])
    """

    def __init__(self, net: nn.Module, mean: torch.Tensor, std: torch.Tensor,
                 y_mean: torch.Tensor | None = None, y_std: torch.Tensor | None = None) -> None:  # fmt: skip
        super().__init__()
        self.net = net
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("std", std.detach().clone())
        self.regression = y_mean is not None
        if y_mean is not None and y_std is not None:
            self.register_buffer("y_mean", y_mean.detach().clone())
            self.register_buffer("y_std", y_std.detach().clone())

    @classmethod
    def empty(cls, net: nn.Module, input_shape: Sequence[int], *, regression: bool = False) -> Standardized:
        """A wrapper with placeholder statistics of the right shapes (to load saved weights into)."""
        shape = tuple(int(s) for s in input_shape)
        zero, one = torch.zeros(shape), torch.ones(shape)
        if regression:
            return cls(net, zero, one, torch.zeros(()), torch.ones(()))
        return cls(net, zero, one)

    mean: torch.Tensor
    std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net((x - self.mean) / self.std)
        if self.regression:
            out = out * self.y_std + self.y_mean
        return out
