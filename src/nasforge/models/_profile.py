"""What a network costs (parameters, FLOPs, CPU latency) and a layer table like Keras' summary."""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class Profile:
    """The cost of one network for one input.

    ``params``: number of parameters; ``flops``: floating-point operations of one forward
    pass on one input, counted by ``torch.utils.flop_counter`` (convolutions and matrix
    products, a multiply-add counting 2); ``latency_ms``: median wall time of one forward
    pass on one input on the CPU, in eval mode (``nan`` when not measured).
    """

    params: int
    flops: int
    latency_ms: float


def count_params(model: nn.Module) -> int:
    """Number of parameters (each shared tensor counted once); materialize lazy modules first."""
    return sum(p.numel() for p in model.parameters())


def _device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def has_lazy(model: nn.Module) -> bool:
    """Whether ``model`` still holds uninitialised lazy parameters (``nn.LazyLinear`` before
    its first forward pass)."""
    return any(isinstance(p, UninitializedParameter) for p in model.parameters()) or any(
        isinstance(b, UninitializedBuffer) for b in model.buffers()
    )


def materialize(model: nn.Module, input_shape: Sequence[int]) -> nn.Module:
    """Initialise the lazy modules of ``model`` (``nn.LazyLinear``, ``nn.LazyConv2d``, ...) by
    one forward pass on a zero batch of two inputs under ``torch.no_grad()`` in eval mode, so
    their parameters become ordinary trainable tensors; a model without lazy modules is left
    alone. Returns ``model``.

    Never materialize under ``torch.inference_mode()``: the parameters would become inference
    tensors, which autograd refuses to save for backward ("Inference tensors cannot be saved
    for backward"), so the model could not be trained afterwards.

    Example:
        >>> m = materialize(nn.Sequential(nn.Flatten(), nn.LazyLinear(3)), (2, 2))
        >>> m[1].weight.shape
        torch.Size([3, 4])
    """
    if not has_lazy(model):
        return model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(2, *(int(s) for s in input_shape), device=_device_of_buffers(model)))
    finally:
        model.train(was_training)
    return model


def _device_of_buffers(model: nn.Module) -> torch.device:
    for t in [*model.parameters(), *model.buffers()]:
        if not isinstance(t, UninitializedParameter | UninitializedBuffer):
            return t.device
    return torch.device("cpu")


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs of one forward pass of ``model`` on one input of ``input_shape``."""
    was_training = model.training
    model.eval()
    try:
        x = torch.zeros(1, *input_shape, device=_device(model))
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(x)
        return int(counter.get_total_flops())
    finally:
        model.train(was_training)


def measure_latency(model: nn.Module, input_shape: Sequence[int], *, repeats: int = 20, warmup: int = 3,
                    max_seconds: float = 0.5) -> float:  # fmt: skip
    """Median milliseconds of one forward pass on one input on the CPU; at most ``repeats``
    timed runs and about ``max_seconds``.

    It runs on a copy of the model (materialized first when it has lazy modules), under
    ``torch.inference_mode()``: the model itself is untouched and can be trained afterwards."""
    materialize(model, input_shape)
    cpu_model = copy.deepcopy(model).cpu()
    cpu_model.eval()
    x = torch.zeros(1, *input_shape)
    times: list[float] = []
    with torch.inference_mode():
        for _ in range(warmup):
            cpu_model(x)
        deadline = time.perf_counter() + max_seconds
        for _ in range(repeats):
            t0 = time.perf_counter()
            cpu_model(x)
            times.append(time.perf_counter() - t0)
            if time.perf_counter() > deadline:
                break
    return 1000.0 * statistics.median(times)


def profile(model: nn.Module, input_shape: Sequence[int], *, latency: bool = True) -> Profile:
    """Parameters, FLOPs and (when ``latency``) the measured CPU latency of ``model`` for
    inputs of ``input_shape`` (one sample, no batch dimension).

    Example:
        >>> from nasforge.models import build_model
        >>> model = build_model("seed-cnn", {"kernel": 3, "channels": 16, "units": 64}, (1, 8, 8), 10)
        >>> p = profile(model, (1, 8, 8), latency=False)
        >>> p.params, p.flops
        (37738, 85376)
    """
    shape = tuple(int(s) for s in input_shape)
    materialize(model, shape)
    ms = measure_latency(model, shape) if latency else float("nan")
    return Profile(count_params(model), count_flops(model, shape), ms)


def summary(model: nn.Module, input_shape: Sequence[int]) -> str:
    """A layer table like Keras' ``model.summary()``: every module that holds parameters of its
    own or has no children, its output shape for one input, and its own parameter count; then
    the totals. The total equals ``sum(p.numel() for p in model.parameters())``.

    Example:
        >>> from nasforge.models import build_model
        >>> text = summary(build_model("mlp", {"layers": 1, "layers.0.units": 8}, (4,), 3), (4,))
        >>> text.splitlines()[-3]
        'Total params: 67'
    """
    shape = tuple(int(s) for s in input_shape)
    shapes: dict[str, str] = {}
    hooks = []
    modules = list(model.named_modules())

    def hook_for(name: str):  # type: ignore[no-untyped-def]
        def hook(module: nn.Module, args: object, output: object) -> None:
            if name not in shapes:
                shapes[name] = str(list(output.shape)) if isinstance(output, torch.Tensor) else type(output).__name__

        return hook

    for name, module in modules:
        hooks.append(module.register_forward_hook(hook_for(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *shape, device=_device(model)))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    rows = [("Layer (type)", "Output shape", "Param #")]
    for name, module in modules:
        own = sum(p.numel() for p in module.parameters(recurse=False))
        if own or not any(True for _ in module.children()):
            label = f"{name or '(model)'} ({type(module).__name__})"
            rows.append((label, shapes.get(name, "-"), f"{own:,}"))
    total = count_params(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    rule = "-" * (sum(widths) + 4)
    lines = [f"Model: {type(model).__name__}, input {list(shape)}", rule]
    for k, r in enumerate(rows):
        lines.append(f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2].rjust(widths[2])}")
        if k == 0:
            lines.append(rule)
    lines += [
        rule,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(lines)
