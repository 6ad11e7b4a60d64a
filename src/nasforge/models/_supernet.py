"""Weight-sharing supernets for single-path one-shot search (SPOS, Guo et al. 2020).

A supernet holds the weights of every architecture of a space at once and runs one of them
(a *path*) per forward pass: :meth:`Supernet.set_path`, then call it. How the weights are
shared:

- chain spaces (``cnn``, ``cnn1d``, ``mlp``, ``seed-cnn``): every layer is one max-size layer
  whose weights are sliced for a path (the first ``channels`` filters, the first ``units``
  rows, a kernel's centre), as in Once-for-All and SPOS's channel search; the dense layer
  after the flatten reads the largest feature map, a smaller one upsampled to it (its weights
  are block means of the largest map's, so every path trains them);
- the NAS-Bench-201 cell network: the stem, the reductions and the head are shared, and each
  cell edge holds one module per operation (a layer choice);
- a user's :class:`nasforge.nn.ModelSpace`: a ``c.layer`` (``c.input_choice``) holds every
  candidate once; every other decision (a width, a kernel, a switch, a depth) gives its own
  copy of the network (per-value modules), at most :data:`MAX_STRUCTURES` copies.

Batch-norm statistics of a shared layer are not those of any one path: :func:`recalibrate`
recomputes them for the current path from a few training batches.

Example:
    >>> import torch
    >>> from nasforge.space import builtin
    >>> net = build_supernet(Network("cnn", (1, 8, 8), 10), builtin("cnn"))
    >>> net.set_path({"layers": 1, "layers.0.kernel": 3, "layers.0.channels": 16, "layers.0.pool": "max",
    ...               "layers.0.batchnorm": True, "layers.0.activation": "relu", "units": 0, "dropout": 0.0})
    >>> net(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .._errors import ConfigError
from ..nn import ModelSpace
from ..nn._choices import KindProbe, PathSelector, Shared
from ..space import Arch, SearchSpace, Value
from ._chain import ACTIVATIONS, layout
from ._nb201 import _cell_ops, cell_op, stages
from ._network import Network
from ._profile import has_lazy

MAX_STRUCTURES = 32
"""Most copies of a user's network a supernet holds (one per combination of the values of its
decisions that are not layer or input choices)."""


# -- sliced layers --------------------------------------------------------------------------------


class SlicedConv(nn.Module):
    """A max-size 1-D or 2-D convolution whose first ``c_out`` filters, first ``c_in`` input
    channels and central ``kernel`` taps make a smaller one (stride 1)."""

    def __init__(self, dims: int, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.dims, self.kernel = dims, kernel
        self.weight = nn.Parameter(torch.empty(c_out, c_in, *([kernel] * dims)))
        self.bias = nn.Parameter(torch.empty(c_out))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(c_in * kernel**dims)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(
        self, x: torch.Tensor, c_out: int, kernel: int, *, bias: bool = True, same: bool = True
    ) -> torch.Tensor:
        off = (self.kernel - kernel) // 2
        taps = slice(off, off + kernel)
        w = self.weight[:c_out, : x.shape[1], taps] if self.dims == 1 else self.weight[:c_out, : x.shape[1], taps, taps]
        b = self.bias[:c_out] if bias else None
        conv = F.conv1d if self.dims == 1 else F.conv2d
        return conv(x, w, b, padding="same" if same else 0)


class SlicedLinear(nn.Module):
    """A max-size linear layer whose first ``out`` rows and first ``in`` columns make a smaller one."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(in_features)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, out: int) -> torch.Tensor:
        return F.linear(x, self.weight[:out, : x.shape[1]], self.bias[:out])


class SlicedBatchNorm(_BatchNorm):
    """Batch norm over the first channels of a max-size layer (any number of spatial axes)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {input.dim()}-D")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        c = input.shape[1]
        factor = 0.0
        if self.training and self.track_running_stats:
            assert self.num_batches_tracked is not None
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        use_batch = self.training or self.running_mean is None
        mean = self.running_mean[:c] if self.running_mean is not None else None
        var = self.running_var[:c] if self.running_var is not None else None
        return F.batch_norm(input, mean, var, self.weight[:c], self.bias[:c], use_batch, factor, self.eps)


# -- the supernets ----------------------------------------------------------------------------------


class Supernet(nn.Module):
    """A network holding every architecture of a space; :meth:`set_path` picks the one that
    the next forward passes run."""

    def __init__(self) -> None:
        super().__init__()
        self.path: Arch = Arch({})
        self.widest: dict[str, Value] = {}
        """The values of the sliced decisions (depth, widths) at which the path holds every
        smaller one: what the sandwich rule trains each step (empty: no such path)."""

    def set_path(self, arch: Mapping[str, Value]) -> None:
        """Run ``arch`` from now on."""
        self.path = arch if isinstance(arch, Arch) else Arch(dict(arch))


SupernetFn = Callable[..., Supernet]
"""``make(space, input_shape, num_classes, **options) -> Supernet``."""

SUPERNETS: dict[str, SupernetFn] = {}
"""Supernet builders by the model builder's (space's) name; :func:`register_supernet` adds to it."""


def register_supernet(name: str) -> Callable[[SupernetFn], SupernetFn]:
    """Decorator: one-shot search over the space called ``name`` uses this supernet."""

    def wrap(fn: SupernetFn) -> SupernetFn:
        SUPERNETS[name] = fn
        return fn

    return wrap


def _largest(space: SearchSpace, name: str, default: int | None = None) -> int:
    if name not in space.names:
        if default is None:
            raise ConfigError(f"space.{name}", f"the {space.name} supernet needs this decision")
        return default
    domain = space.decision(name).domain
    values = domain.values() if domain.size <= 10_000 else [getattr(domain, "high", 0)]
    numbers = [int(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numbers:
        raise ConfigError(f"space.{name}", f"the {space.name} supernet needs numbers here, got {values!r}")
    return max(numbers)


def _present(space: SearchSpace, values: Mapping[str, Value]) -> dict[str, Value]:
    return {k: val for k, val in values.items() if k in space.names}


def _full_size(x: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """``x``'s feature map at ``size`` (nearest-neighbour upsampling, scaled by the area ratio),
    so that one dense layer over the largest map serves every smaller one: its weights for a
    smaller map are the block means of the largest map's weights (a reparametrisation, as
    expressive as a layer of its own, but trained by every path)."""
    if tuple(x.shape[2:]) == size:
        return x
    ratio = math.prod(x.shape[2:]) / math.prod(size)
    return F.interpolate(x, size=size, mode="nearest") * ratio


def _act(acts: nn.ModuleDict, name: Any) -> nn.Module:
    if name not in acts:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(acts)}")
    return acts[str(name)]


class ChainSupernet(Supernet):
    """The ``cnn`` / ``cnn1d`` chain (:func:`nasforge.models.conv_chain`) with sliced layers."""

    def __init__(self, space: SearchSpace, input_shape: tuple[int, ...], num_classes: int, dims: int) -> None:
        super().__init__()
        channels, spatial, reshape = layout(input_shape, dims)
        if not channels:
            raise ConfigError("space", f"a {dims}-D convolution chain cannot read inputs of shape {input_shape}")
        self.dims, self.num_classes = dims, num_classes
        self.reshape = reshape if reshape is not None else nn.Identity()
        depth = _largest(space, "layers")
        widths = [_largest(space, f"layers.{k}.channels") for k in range(depth)]
        kernels = [_largest(space, f"layers.{k}.kernel") for k in range(depth)]
        self.convs = nn.ModuleList(
            SlicedConv(dims, ([channels, *widths])[k], widths[k], kernels[k]) for k in range(depth)
        )
        self.norms = nn.ModuleList(SlicedBatchNorm(w) for w in widths)
        self.acts = nn.ModuleDict({name: cls() for name, cls in ACTIVATIONS.items()})
        self.units = _largest(space, "units", 0)
        # the kernels stay random: the largest ones rarely fit the pooled maps of a deep path
        self.widest = _present(space, {"layers": depth, "units": self.units,
                                       **{f"layers.{k}.channels": w for k, w in enumerate(widths)}})  # fmt: skip
        self.spatial = tuple(spatial)
        features = max(widths) * math.prod(spatial)
        self.fc = SlicedLinear(features, self.units) if self.units else None
        self.out = SlicedLinear(features, num_classes)
        self.out_fc = SlicedLinear(max(self.units, 1), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.path
        x = self.reshape(x)
        pool: dict[str, Callable[..., torch.Tensor]] = (
            {"max": F.max_pool1d, "avg": F.avg_pool1d} if self.dims == 1 else {"max": F.max_pool2d, "avg": F.avg_pool2d}
        )
        for k in range(int(a["layers"])):
            bn = bool(a.get(f"layers.{k}.batchnorm", False))
            conv = self.convs[k]
            x = conv(x, int(a[f"layers.{k}.channels"]), int(a[f"layers.{k}.kernel"]), bias=not bn)
            if bn:
                x = self.norms[k](x)
            x = _act(self.acts, a.get(f"layers.{k}.activation", "relu"))(x)
            kind = a.get(f"layers.{k}.pool", "none")
            if kind != "none":
                x = pool[str(kind)](x, 2)
        x = _full_size(x, self.spatial).flatten(1)
        units = int(a.get("units", 0))
        if units:
            assert self.fc is not None
            x = F.relu(self.fc(x, units))
        x = F.dropout(x, float(a.get("dropout", 0.0)), self.training)
        return self.out_fc(x, self.num_classes) if units else self.out(x, self.num_classes)  # type: ignore[no-any-return]


@register_supernet("cnn")
def cnn_supernet(space: SearchSpace, input_shape: tuple[int, ...], num_classes: int) -> Supernet:
    """The 2-D chain's supernet."""
    return ChainSupernet(space, input_shape, num_classes, 2)


@register_supernet("cnn1d")
def cnn1d_supernet(space: SearchSpace, input_shape: tuple[int, ...], num_classes: int) -> Supernet:
    """The 1-D chain's supernet."""
    return ChainSupernet(space, input_shape, num_classes, 1)


@register_supernet("mlp")
class MLPSupernet(Supernet):
    """The ``mlp`` (:func:`nasforge.models._chain.mlp`) with sliced dense layers."""

    def __init__(self, space: SearchSpace, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        depth = _largest(space, "layers")
        widths = [_largest(space, f"layers.{k}.units") for k in range(depth)]
        ins = [math.prod(input_shape), *widths]
        self.fcs = nn.ModuleList(SlicedLinear(ins[k], widths[k]) for k in range(depth))
        self.widest = _present(space, {"layers": depth, **{f"layers.{k}.units": w for k, w in enumerate(widths)}})
        self.acts = nn.ModuleDict({name: cls() for name, cls in ACTIVATIONS.items()})
        self.out = SlicedLinear(max(widths), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.path
        x = x.flatten(1)
        dropout = float(a.get("dropout", 0.0))
        for k in range(int(a["layers"])):
            x = _act(self.acts, a.get(f"layers.{k}.activation", "relu"))(self.fcs[k](x, int(a[f"layers.{k}.units"])))
            x = F.dropout(x, dropout, self.training)
        return self.out(x, self.num_classes)  # type: ignore[no-any-return]


@register_supernet("seed-cnn")
class SeedSupernet(Supernet):
    """The tutorial's network (:func:`nasforge.models._chain.seed_cnn`) with sliced layers; the
    dense layer reads the largest map of the unpadded convolution (smaller ones upsampled)."""

    def __init__(self, space: SearchSpace, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        channels, spatial, reshape = layout(input_shape, 2)
        if not channels:
            raise ConfigError("space", f"seed-cnn cannot read inputs of shape {input_shape}")
        self.num_classes = num_classes
        self.reshape = reshape if reshape is not None else nn.Identity()
        width, kernel, units = (_largest(space, n) for n in ("channels", "kernel", "units"))
        self.widest = {"channels": width, "kernel": kernel, "units": units}
        self.conv = SlicedConv(2, channels, width, kernel)
        smallest = min(int(k) for k in space.decision("kernel").domain.values())  # type: ignore[call-overload]
        self.spatial = tuple(s - smallest + 1 for s in spatial)  # the largest map the convolution gives
        self.fc = SlicedLinear(width * math.prod(self.spatial), units)
        self.out = SlicedLinear(units, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.path
        k = int(a["kernel"])
        x = F.relu(self.conv(self.reshape(x), int(a["channels"]), k, same=False))
        x = F.relu(self.fc(_full_size(x, self.spatial).flatten(1), int(a["units"])))
        return self.out(x, self.num_classes)  # type: ignore[no-any-return]


class SuperCell(nn.Module):
    """A NAS-Bench-201 cell holding, on each edge, one module per operation (``none`` holds
    none); the forward pass runs the operations of the path's cell."""

    def __init__(self, ops: Sequence[str], nodes: int, channels: int) -> None:
        super().__init__()
        self.nodes = nodes
        self.edges = nn.ModuleDict()
        for j in range(1, nodes):
            for i in range(j):
                made = {op: cell_op(op, channels) for op in ops}
                self.edges[f"{i}-{j}"] = nn.ModuleDict({op: m for op, m in made.items() if m is not None})

    def forward(self, x: torch.Tensor, ops: Mapping[tuple[int, int], str]) -> torch.Tensor:
        values = [x]
        for j in range(1, self.nodes):
            terms = []
            for i in range(j):
                edge = self.edges[f"{i}-{j}"]
                assert isinstance(edge, nn.ModuleDict)
                if ops[(i, j)] in edge:
                    terms.append(edge[ops[(i, j)]](values[i]))
            values.append(torch.stack(terms).sum(0) if len(terms) > 1 else terms[0] if terms else torch.zeros_like(x))
        return values[-1]


@register_supernet("nasbench201")
class CellSupernet(Supernet):
    """The NAS-Bench-201 network (:class:`nasforge.models.CellNetwork`) of every cell: shared
    stem, reductions and head, one module per operation on each cell edge."""

    def __init__(self, space: SearchSpace, input_shape: tuple[int, ...], num_classes: int, *, C: int = 16,
                 N: int = 1) -> None:  # fmt: skip
        super().__init__()
        if len(space.cells) != 1:
            raise ConfigError(
                "space", f"the nasbench201 supernet needs exactly one cell, the space has {len(space.cells)}"
            )
        cell = next(iter(space.cells.values()))
        channels, _, reshape = layout(input_shape, 2)
        self.reshape = reshape if reshape is not None else nn.Identity()
        self.stem = nn.Sequential(nn.Conv2d(channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.cells = nn.ModuleList(stages(C, N, lambda c: SuperCell(cell.ops, cell.nodes, c)))
        self.head = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ops, _ = _cell_ops(self.path)
        x = self.stem(self.reshape(x))
        for block in self.cells:
            x = block(x, ops) if isinstance(block, SuperCell) else block(x)
        return self.classifier(self.head(x))  # type: ignore[no-any-return]


class ModelSupernet(Supernet):
    """The supernet of a user's :class:`nasforge.nn.ModelSpace`: the network is built once per
    combination of the values of its non-shared decisions (at most :data:`MAX_STRUCTURES`),
    each build holding every candidate of its layer and input choices once."""

    def __init__(self, model: ModelSpace, space: SearchSpace, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        self.selector = PathSelector()
        archs = _some_archs(space)
        asked, shared = _kinds(model, archs, input_shape, num_classes)
        self.fixed_names = [n for n in space.names if n in asked and n not in shared]
        structures: dict[tuple[tuple[str, Value], ...], list[Arch]] = {}
        every = archs
        if self.fixed_names:
            if space.cardinality > 100_000:
                raise ConfigError("model", f"the one-shot supernet of {model.name!r} shares weights across layer and "
                                           f"input choices only; its other decisions ({', '.join(self.fixed_names[:4])}) "
                                           "make too many separate networks; write them as c.layer choices")  # fmt: skip
            every = list(space.enumerate())
        for a in every:
            structures.setdefault(self._structure(a), []).append(a)
        if len(structures) > MAX_STRUCTURES:
            raise ConfigError(
                "model",
                f"the one-shot supernet of {model.name!r} shares weights across layer and input choices only; its "
                f"other decisions ({', '.join(self.fixed_names[:4])}) make {len(structures)} separate networks (more "
                f"than {MAX_STRUCTURES}); write widths and kernels as c.layer choices, or search without one_shot",
            )
        self.keys = {key: f"n{i}" for i, key in enumerate(structures)}
        builds: dict[str, nn.Module] = {}
        for key, members in structures.items():
            fixed = dict(key)
            options = {**model.options, **{k: fixed[k] for k in model.options if k in fixed}}
            net = model.fn(Shared(fixed, frozenset(shared), self.selector, input_shape, num_classes), **options)
            if not isinstance(net, nn.Module):
                raise ConfigError(
                    "model", f"model space {model.name!r} returned {type(net).__name__}, not an nn.Module"
                )
            builds[self.keys[key]] = self._materialize(net, members, input_shape, model.name)
        self.builds = nn.ModuleDict(builds)

    def _structure(self, arch: Mapping[str, Value]) -> tuple[tuple[str, Value], ...]:
        return tuple((n, arch[n]) for n in self.fixed_names if n in arch)

    def _materialize(self, net: nn.Module, archs: Sequence[Arch], shape: tuple[int, ...], name: str) -> nn.Module:
        """Run paths through ``net`` until its lazy modules (``nn.LazyLinear`` in a candidate) are built."""
        net.eval()
        for arch in archs:
            if not has_lazy(net):
                break
            self.selector.path = arch
            with torch.no_grad():
                net(torch.zeros(2, *shape))
        if has_lazy(net):
            raise ConfigError(
                "model", f"a lazy module of {name!r} was never reached by a path; make it an ordinary module"
            )
        return net.train()

    def set_path(self, arch: Mapping[str, Value]) -> None:
        super().set_path(arch)
        self.selector.path = self.path

    def forward(self, *args: Any) -> Any:
        key = self.keys.get(self._structure(self.path))
        if key is None:
            raise ValueError(f"the supernet holds no network for the path {dict(self.path)}")
        return self.builds[key](*args)


def _some_archs(space: SearchSpace, count: int = 64) -> list[Arch]:
    """Every architecture of a small space, else ``count`` of them (seeded), defaults first."""
    if space.cardinality <= count:
        return list(space.enumerate())
    rng = np.random.default_rng(0)
    return [space.sample(rng) for _ in range(count)]


def _kinds(model: ModelSpace, archs: Iterable[Arch], shape: tuple[int, ...], classes: int) -> tuple[set[str], set[str]]:
    """The decisions the network asks for, and those of them that are layer or input choices."""
    asked: set[str] = set()
    shared: set[str] = set()
    for arch in archs:
        probe = KindProbe(shape, classes, force=arch)
        options = {**model.options, **{k: arch[k] for k in model.options if k in arch}}
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            try:
                with torch.device("meta"):
                    model.fn(probe, **options)
            except Exception:  # noqa: BLE001 - some code cannot run on the meta device; run it for real
                probe = KindProbe(shape, classes, force=arch)
                model.fn(probe, **options)
        asked.update(probe.asked)
        shared.update(probe.switched)
    return asked, shared


def build_supernet(network: Network, space: SearchSpace) -> Supernet:
    """The supernet of ``space`` for ``network``'s builder (a built-in one, or a user's
    :class:`nasforge.nn.ModelSpace`), initialised from torch's global RNG. What cannot share
    weights is refused with one line (:class:`ConfigError` naming ``space`` or ``model``): a
    plain ``build(arch, ...)`` function, a builder without a supernet."""
    fn = network.model_fn
    if fn is not None:
        if isinstance(fn, ModelSpace) and fn.declared is None:
            return ModelSupernet(fn, space, network.input_shape, network.num_classes)
        raise ConfigError(
            "model",
            "a plain build(arch, input_shape, num_classes) function cannot share weights between architectures; "
            "write the network with nasforge.nn choices (c.layer, c.input_choice, c.choice), or search without one_shot",
        )
    name = network.name
    if name not in SUPERNETS:
        raise ConfigError(
            "space",
            f"no weight-sharing supernet for the {name} model; one-shot search supports {sorted(SUPERNETS)} "
            "and networks written with nasforge.nn choices",
        )
    return SUPERNETS[name](space, network.input_shape, network.num_classes, **network.options)


BATCH_NORMS = (_BatchNorm,)


def recalibrate(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Recompute the batch-norm statistics of ``model``'s current path: reset them, then run
    ``batches`` (training inputs) in training mode for the batch norms only (dropout off),
    without gradients, averaging the statistics over the batches. Returns the number of batch
    norms; ``model`` is left in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, BATCH_NORMS) and m.track_running_stats]
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calibration batches
    for module in model.modules():
        module.training = isinstance(module, BATCH_NORMS)
    try:
        with torch.no_grad():
            for xb in batches:
                model(xb)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()
    return len(norms)
