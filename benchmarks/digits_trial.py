"""A small, real training trial for the executor benchmarks: an MLP on scikit-learn digits.

Self-contained on purpose (torch + scikit-learn only), so that the benchmarks measure the
executors and not a moving Trainer. Loaded by worker processes as ``digits_trial:train``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SPACE = {
    "hidden": {"choice": [16, 32, 64, 128, 256]},
    "layers": {"int": [1, 3]},
    "lr": {"choice": [0.001, 0.003, 0.01, 0.03]},
    "activation": {"choice": ["relu", "tanh"]},
    "batch": {"choice": [32, 64, 128]},
}
"""5 x 3 x 4 x 2 x 3 = 360 architectures: enough for 200 distinct trials."""

EPOCHS = 8
_DATA: dict[str, Any] = {}


def _data() -> dict[str, Any]:
    """Digits as tensors, split 80/20 with a fixed seed; loaded once per process."""
    if not _DATA:
        import torch
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        order = np.random.default_rng(0).permutation(len(y))
        x, y = x[order] / 16.0, y[order]
        cut = int(0.8 * len(y))
        _DATA.update(
            xt=torch.tensor(x[:cut], dtype=torch.float32), yt=torch.tensor(y[:cut]),
            xv=torch.tensor(x[cut:], dtype=torch.float32), yv=torch.tensor(y[cut:]),
        )  # fmt: skip
    return _DATA


def train(arch: Any, epochs: int = EPOCHS) -> dict[str, float]:
    """Train the MLP ``arch`` describes for ``epochs`` epochs; validation accuracy and params."""
    import torch
    from torch import nn

    torch.manual_seed(0)  # inside the trial it owns
    d = _data()
    act = nn.ReLU if arch["activation"] == "relu" else nn.Tanh
    layers: list[nn.Module] = []
    width = 64
    for _ in range(int(arch["layers"])):
        layers += [nn.Linear(width, int(arch["hidden"])), act()]
        width = int(arch["hidden"])
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    opt = torch.optim.Adam(model.parameters(), lr=float(arch["lr"]))
    batch = int(arch["batch"])
    gen = torch.Generator().manual_seed(1)
    for _ in range(epochs):
        perm = torch.randperm(len(d["yt"]), generator=gen)
        xt, yt = d["xt"][perm], d["yt"][perm]
        for i in range(0, len(yt), batch):
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(xt[i : i + batch]), yt[i : i + batch])
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = (model(d["xv"]).argmax(1) == d["yv"]).float().mean().item()
    return {"accuracy": acc, "params": float(sum(p.numel() for p in model.parameters()))}


def idle(arch: Any, seconds: float = 0.25) -> dict[str, float]:
    """A trial that only waits: it measures an executor's own scaling, free of CPU contention."""
    import time

    time.sleep(seconds)
    return {"accuracy": float(arch["hidden"]) / 256}
