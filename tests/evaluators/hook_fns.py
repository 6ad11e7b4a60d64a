"""Hooks importable by name, for the trainer's YAML tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def smooth_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, y, label_smoothing=0.1)


def top2(out: torch.Tensor, y: torch.Tensor) -> float:
    return float((out.topk(2, dim=1).indices == y[:, None]).any(1).float().mean())
