"""Chain networks: the tutorial's seed CNN, the variable-depth CNN (2-D and 1-D) and the MLP."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..space import Arch, Constraint
from ._registry import register_model

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


def activation(name: Any) -> nn.Module:
    """The activation module called ``name`` (relu, gelu, silu, tanh, elu)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def layout(input_shape: tuple[int, ...], dims: int) -> tuple[int, tuple[int, ...], nn.Module | None]:
    """``(channels, spatial size, reshape)`` for a ``dims``-D convolution: an input without a
    channel axis (``(H, W)`` or ``(L,)``) is read as one channel by the returned reshape
    module; ``None`` when the input does not have ``dims`` or ``dims + 1`` axes."""
    if len(input_shape) == dims + 1:
        return input_shape[0], input_shape[1:], None
    if len(input_shape) == dims:
        return 1, input_shape, nn.Unflatten(1, (1, input_shape[0]))
    return 0, (), None


def _shape_text(spatial: tuple[int, ...]) -> str:
    return "x".join(map(str, spatial))


@dataclass(frozen=True)
class NeverFits:
    """A constraint no architecture meets: the space's networks cannot read this input at all."""

    reason: str

    def __call__(self, arch: Arch) -> bool:
        return False


@dataclass(frozen=True)
class KernelFits:
    """The seed CNN's one unpadded convolution needs ``kernel <= min(spatial)``."""

    spatial: tuple[int, ...]

    def __call__(self, arch: Arch) -> bool:
        return int(arch.get("kernel", 1)) <= min(self.spatial)


@dataclass(frozen=True)
class ChainFits:
    """Every layer's kernel fits its feature map, and pooling (halving) only maps of at least 2."""

    spatial: tuple[int, ...]

    def __call__(self, arch: Arch) -> bool:
        size = min(self.spatial)
        for k in range(int(arch.get("layers", 0))):
            if int(arch.get(f"layers.{k}.kernel", 1)) > size:
                return False
            if arch.get(f"layers.{k}.pool", "none") != "none":
                if size < 2:
                    return False
                size //= 2
        return True


def _conv_constraints(dims: int, space: str, fits: type[KernelFits | ChainFits]) -> Any:
    def constraints(input_shape: tuple[int, ...]) -> list[Constraint]:
        channels, spatial, _ = layout(input_shape, dims)
        if not channels:
            want = "(channels, height, width) or (height, width)" if dims == 2 else "(channels, length) or (length,)"
            reason = f"the {space} space needs inputs of shape {want}, the data has {input_shape}"
            return [Constraint(NeverFits(reason), reason)]
        what = (
            "the kernel fits the input"
            if fits is KernelFits
            else "every kernel fits its feature map and pooling leaves >= 1"
        )
        return [Constraint(fits(spatial), f"{what} ({_shape_text(spatial)})")]

    return constraints


@register_model(
    "seed-cnn", constraints=_conv_constraints(2, "seed-cnn", KernelFits), reads=("kernel", "channels", "units")
)
def seed_cnn(arch: Mapping[str, Any], input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The tutorial's network: Conv2d(kernel, channels) → ReLU → Flatten → Linear(units) →
    ReLU → Linear(classes); the convolution is unpadded ("valid")."""
    channels, spatial, reshape = layout(input_shape, 2)
    k, c, units = int(arch["kernel"]), int(arch["channels"]), int(arch["units"])
    out = [s - k + 1 for s in spatial]
    if not channels or min(out) < 1:
        raise ValueError(f"seed-cnn with kernel {k} cannot read inputs of shape {input_shape}")
    layers: list[tuple[str, nn.Module]] = [("reshape", reshape)] if reshape is not None else []
    layers += [
        ("conv", nn.Conv2d(channels, c, k)),
        ("act", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(c * math.prod(out), units)),
        ("fc_act", nn.ReLU()),
        ("out", nn.Linear(units, num_classes)),
    ]
    return nn.Sequential(OrderedDict(layers))


CHAIN_READS = (r"layers", r"layers\.\d+\.(kernel|channels|pool|batchnorm|activation)", "units", "dropout")
"""The decisions :func:`conv_chain` reads (regular expressions over decision names)."""


def conv_chain(arch: Mapping[str, Any], input_shape: tuple[int, ...], num_classes: int, dims: int) -> nn.Module:
    """A chain of ``arch["layers"]`` convolution blocks (``layers.K.kernel / channels / pool /
    batchnorm / activation``, "same" padding), then Flatten → [Linear(units) → ReLU] →
    Dropout → Linear(classes)."""
    channels, spatial, reshape = layout(input_shape, dims)
    if not channels:
        raise ValueError(f"a {dims}-D convolution chain cannot read inputs of shape {input_shape}")
    conv = nn.Conv2d if dims == 2 else nn.Conv1d
    norm = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    pools = {"max": nn.MaxPool2d if dims == 2 else nn.MaxPool1d, "avg": nn.AvgPool2d if dims == 2 else nn.AvgPool1d}
    layers: list[tuple[str, nn.Module]] = [("reshape", reshape)] if reshape is not None else []
    c, size = channels, list(spatial)
    for k in range(int(arch["layers"])):
        kernel, out = int(arch[f"layers.{k}.kernel"]), int(arch[f"layers.{k}.channels"])
        bn = bool(arch.get(f"layers.{k}.batchnorm", False))
        layers.append((f"conv{k + 1}", conv(c, out, kernel, padding="same", bias=not bn)))
        if bn:
            layers.append((f"bn{k + 1}", norm(out)))
        layers.append((f"act{k + 1}", activation(arch.get(f"layers.{k}.activation", "relu"))))
        pool = arch.get(f"layers.{k}.pool", "none")
        if pool != "none":
            if pool not in pools:
                raise ValueError(f"unknown pooling {pool!r}; known: none, max, avg")
            layers.append((f"pool{k + 1}", pools[str(pool)](2)))
            size = [s // 2 for s in size]
        c = out
    if min(size) < 1:
        raise ValueError(f"too much pooling for inputs of shape {input_shape}")
    features = c * math.prod(size)
    layers.append(("flatten", nn.Flatten()))
    units = int(arch.get("units", 0))
    if units:
        layers += [("fc", nn.Linear(features, units)), ("fc_act", nn.ReLU())]
        features = units
    dropout = float(arch.get("dropout", 0.0))
    if dropout > 0:
        layers.append(("dropout", nn.Dropout(dropout)))
    layers.append(("out", nn.Linear(features, num_classes)))
    return nn.Sequential(OrderedDict(layers))


@register_model("cnn", constraints=_conv_constraints(2, "cnn", ChainFits), reads=CHAIN_READS)
def cnn(arch: Mapping[str, Any], input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The variable-depth 2-D CNN of the ``cnn`` space (see :func:`conv_chain`)."""
    return conv_chain(arch, input_shape, num_classes, 2)


@register_model("cnn1d", constraints=_conv_constraints(1, "cnn1d", ChainFits), reads=CHAIN_READS)
def cnn1d(arch: Mapping[str, Any], input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The variable-depth 1-D CNN of the ``cnn1d`` space, for sequences (see :func:`conv_chain`)."""
    return conv_chain(arch, input_shape, num_classes, 1)


@register_model("mlp", reads=(r"layers", r"layers\.\d+\.(units|activation)", "dropout"))
def mlp(arch: Mapping[str, Any], input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """Flatten → ``layers`` × [Linear(units) → activation → Dropout] → Linear(classes)."""
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    features = math.prod(input_shape)
    dropout = float(arch.get("dropout", 0.0))
    for k in range(int(arch["layers"])):
        units = int(arch[f"layers.{k}.units"])
        layers += [
            (f"fc{k + 1}", nn.Linear(features, units)),
            (f"act{k + 1}", activation(arch.get(f"layers.{k}.activation", "relu"))),
        ]
        if dropout > 0:
            layers.append((f"dropout{k + 1}", nn.Dropout(dropout)))
        features = units
    layers.append(("out", nn.Linear(features, num_classes)))
    return nn.Sequential(OrderedDict(layers))
