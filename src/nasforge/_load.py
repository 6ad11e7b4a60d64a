"""``nasforge.load_model``: the best network of a finished run (imports torch when called)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn


def load_model(
    run_dir: str | os.PathLike[str], *, builder: Callable[..., Any] | None = None, device: str = "cpu"
) -> nn.Module:
    """The best network of ``run_dir`` (written by ``nasforge search`` with a training
    evaluator: ``RUN_DIR/best/``) with its trained weights, in eval mode.

    ``builder`` rebuilds a network that a user's own model function made:
    ``builder(arch, input_shape, num_classes)``.

    Example:
        >>> model = nasforge.load_model("runs/seed-cnn")  # doctest: +SKIP
        >>> model(torch.zeros(1, 1, 8, 8)).argmax(1)  # doctest: +SKIP
    """
    from .models import load_model as _load

    return _load(run_dir, builder=builder, device=device)
