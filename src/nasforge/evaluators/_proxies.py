"""Zero-cost proxies: scores of an untrained network, computed on one mini-batch, that rank
architectures without training them (Abdelfattah et al. 2021, "Zero-Cost Proxies for
Lightweight NAS"; Mellor et al. 2021, NASWOT; Tanaka et al. 2020, SynFlow).

Every proxy is larger-is-better and is registered by name with :func:`proxy`. The
:class:`ZeroCost` evaluator builds each architecture's network from a seed derived from the
architecture's id (so the score does not depend on the order of evaluation), scores it on a
fixed mini-batch of the data and frees it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import models
from .._errors import ConfigError, TrialFailed
from ..data import Dataset, load_dataset
from ..space import Arch, SearchSpace, builtin
from ._base import Result

LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
"""The layers whose weights the gradient proxies (snip, grad_norm, synflow) sum over."""

ACTIVATIONS = (nn.ReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Tanh, nn.LeakyReLU, nn.ReLU6)
"""The modules whose input signs make NASWOT's binary activation codes."""


@dataclass(frozen=True)
class Batch:
    """The mini-batch a proxy scores a network on: inputs ``x`` (float32), labels ``y``."""

    x: torch.Tensor
    y: torch.Tensor
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input."""
        return tuple(self.x.shape[1:])


ProxyFn = Callable[[nn.Module, Batch], float]
"""``fn(model, batch) -> score``: the model is freshly built and may be changed in place."""


@dataclass(frozen=True)
class ProxySpec:
    """A registered proxy: its function and whether it reads the data (``synflow``, ``params``
    and ``flops`` read only the input shape)."""

    name: str
    fn: ProxyFn
    needs_data: bool


PROXIES: dict[str, ProxySpec] = {}
"""Zero-cost proxies by name; :func:`proxy` adds to it."""


def proxy(name: str, *, needs_data: bool = True) -> Callable[[ProxyFn], ProxyFn]:
    """Decorator: register ``fn(model, batch) -> float`` as the zero-cost proxy ``name``
    (larger must mean better).

    Example:
        >>> @proxy("depth", needs_data=False)
        ... def depth(model, batch):
        ...     return float(sum(isinstance(m, LAYERS) for m in model.modules()))
        >>> "depth" in PROXIES
        True
    """

    def wrap(fn: ProxyFn) -> ProxyFn:
        PROXIES[name] = ProxySpec(name, fn, needs_data)
        return fn

    return wrap


def check_proxies(names: str | Sequence[str], field: str = "evaluator.proxy") -> list[str]:
    """``names`` as a non-empty list of known proxy names, or a :class:`ConfigError`."""
    listed = [names] if isinstance(names, str) else names
    if not isinstance(listed, list | tuple) or not listed or not all(isinstance(n, str) for n in listed):
        raise ConfigError(field, f"must be a proxy name or a list of them ({sorted(PROXIES)}), got {names!r}")
    for n in listed:
        if n not in PROXIES:
            raise ConfigError(field, f"unknown proxy {n!r}; choose one of {sorted(PROXIES)}")
    if len(set(listed)) != len(listed):
        raise ConfigError(field, f"names a proxy twice: {list(listed)}")
    return list(listed)


# -- the proxies ------------------------------------------------------------------------------


def _layer_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, LAYERS) and m.weight is not None]


def _train_without_dropout(model: nn.Module) -> None:
    """Training mode (batch norm on batch statistics, as at the start of training) with
    dropout off, so that a score depends only on the weights and the batch."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()


def _loss_gradients(model: nn.Module, batch: Batch) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(weight, d loss / d weight)`` of every layer weight for the batch's cross-entropy."""
    _train_without_dropout(model)
    weights = _layer_weights(model)
    loss = F.cross_entropy(model(batch.x), batch.y)
    grads = torch.autograd.grad(loss, weights, allow_unused=True)
    return [(w.detach(), g) for w, g in zip(weights, grads, strict=True) if g is not None]


@proxy("grad_norm")
def grad_norm(model: nn.Module, batch: Batch) -> float:
    """Sum over layers of the Euclidean norm of the loss gradient of the layer's weights
    (Abdelfattah et al. 2021)."""
    return float(sum(g.double().norm() for _, g in _loss_gradients(model, batch)))


@proxy("snip")
def snip(model: nn.Module, batch: Batch) -> float:
    """SNIP saliency summed over all weights: ``sum |w * dL/dw|`` (Lee et al. 2019, as a
    network score in Abdelfattah et al. 2021)."""
    return float(sum((w.double() * g.double()).abs().sum() for w, g in _loss_gradients(model, batch)))


@proxy("synflow", needs_data=False)
def synflow(model: nn.Module, batch: Batch) -> float:
    """SynFlow (Tanaka et al. 2020): with every parameter replaced by its absolute value, in
    double precision, batch norm in eval mode (an identity at initialisation) and dropout off,
    ``R = sum(model(ones))`` for one all-ones input; the score is ``sum |w * dR/dw|`` over the
    layer weights. Data-free: only the input shape is used."""
    model.eval()
    model.double()
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.abs_()
    weights = _layer_weights(model)
    ones = torch.ones((1, *batch.input_shape), dtype=torch.float64, device=batch.x.device)
    total = model(ones).sum()
    grads = torch.autograd.grad(total, weights, allow_unused=True)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads, strict=True) if g is not None))


@proxy("jacob_cov")
def jacob_cov(model: nn.Module, batch: Batch) -> float:
    """Jacobian covariance (Mellor et al. 2021, first version): the correlation matrix ``C``
    of the per-input gradients ``d sum(output) / d input`` over the batch, scored
    ``-sum(log(v + k) + 1 / (v + k))`` over its eigenvalues ``v`` (``k = 1e-5``). Less
    correlated input gradients score higher; a network whose input gradient vanishes for
    some input scores ``-inf``."""
    _train_without_dropout(model)
    x = batch.x.detach().clone().requires_grad_(True)
    out = model(x)
    (jac,) = torch.autograd.grad(out.sum(), x)
    j = jac.reshape(len(x), -1).double()
    j = j - j.mean(dim=1, keepdim=True)
    norms = j.norm(dim=1)
    if bool((norms <= 1e-300).any()):
        return -math.inf
    corr = (j / norms[:, None]) @ (j / norms[:, None]).T
    v = torch.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-(torch.log(v + k) + 1.0 / (v + k)).sum())


@proxy("naswot")
def naswot(model: nn.Module, batch: Batch) -> float:
    """NASWOT (Mellor et al. 2021): each input's binary code is the sign pattern of the inputs
    of every activation unit (ReLU and its smooth cousins); the kernel ``K[i, j]`` counts the
    units on which inputs ``i`` and ``j`` agree, and the score is ``log |det K|``. Networks
    that tell the batch's inputs apart score higher."""
    _train_without_dropout(model)
    n = len(batch.x)
    kernel = torch.zeros((n, n), dtype=torch.float64, device=batch.x.device)

    def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        codes = (args[0].detach().reshape(n, -1) > 0).double()
        kernel.add_(codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T)

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, ACTIVATIONS)]
    try:
        with torch.no_grad():
            model(batch.x)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) != 0.0 else -math.inf


@proxy("params", needs_data=False)
def params(model: nn.Module, batch: Batch) -> float:
    """Number of parameters: the baseline every proxy must beat."""
    return float(models.count_params(model))


@proxy("flops", needs_data=False)
def flops(model: nn.Module, batch: Batch) -> float:
    """Floating-point operations of one forward pass on one input."""
    return float(models.count_flops(model, batch.input_shape))


# -- the evaluator ----------------------------------------------------------------------------


class ZeroCost:
    """Evaluates an architecture by zero-cost proxies of its untrained network instead of
    training it: milliseconds per architecture, for ranking many architectures quickly (on its
    own, or as a strategy's warm start: ``strategy: {warm_start: {proxy: synflow}}``).

    Metrics: one per proxy (larger is better) and ``params``. The network of each architecture
    is initialised from :meth:`arch_seed` (the same seed as the :class:`Trainer`'s trials with
    the same ``seed``, so the proxy scores the very initialisation that training would start
    from) and scored on one fixed mini-batch of ``batch_size`` training inputs drawn with
    ``seed``. torch's global RNG is forked, seeded and restored inside each evaluation.

    Args:
        data: A :class:`nasforge.data.Dataset` or a built-in data set name; ``None`` for the
            data-free proxies (``synflow``, ``params``, ``flops``) with ``input_shape`` and
            ``num_classes`` given.
        space: The search space (or a built-in name); it picks the model builder and is
            narrowed to the architectures that fit the data (:attr:`space`).
        proxy: A proxy name or a list of them (:data:`PROXIES`).
        model: Instead of a built-in builder: ``model(arch, input_shape, num_classes) -> nn.Module``.
        model_options: Options of the model builder (e.g. ``{"C": 16, "N": 1}`` for nasbench201).
        batch_size: Inputs in the mini-batch.
        seed: Seed of the mini-batch and of every network's initialisation.
        device: ``cpu`` (default), ``cuda``, ``auto``, ...
        threads: torch CPU threads during an evaluation (default: half the CPUs).
        input_shape: One input's shape, when ``data`` is ``None``.
        num_classes: Number of outputs, when ``data`` is ``None``.

    Example:
        >>> zc = ZeroCost("digits", space="seed-cnn", proxy=["synflow", "naswot"], threads=1)
        >>> r = zc.evaluate(Arch({"kernel": 3, "channels": 16, "units": 64}))
        >>> sorted(r.metrics)
        ['naswot', 'params', 'synflow']
    """

    def __init__(
        self,
        data: Dataset | str | None,
        *,
        space: SearchSpace | str | None = None,
        proxy: str | Sequence[str] = "synflow",
        model: Callable[[Arch, tuple[int, ...], int], nn.Module] | None = None,
        model_options: Mapping[str, Any] | None = None,
        batch_size: int = 64,
        seed: int = 0,
        device: str = "cpu",
        threads: int | None = None,
        input_shape: Sequence[int] | None = None,
        num_classes: int | None = None,
        field: str = "evaluator",
    ) -> None:
        from ._trainer import _int_option, resolve_device

        self.field = field
        self.proxies = check_proxies(proxy, f"{field}.proxy")
        self.seed = _int_option(seed, f"{field}.seed", low=0)
        self.batch_size = _int_option(batch_size, f"{field}.batch_size", low=2)
        self.threads = _int_option(threads, f"{field}.threads", none_ok=True)
        if not isinstance(device, str):
            raise ConfigError(f"{field}.device", f"must be a device name such as cpu or cuda, got {device!r}")
        self.device_name = device
        resolve_device(device)
        if data is None:
            needy = [p for p in self.proxies if PROXIES[p].needs_data]
            if needy:
                raise ConfigError(f"{field}.dataset", f"is required: proxy {needy[0]!r} scores the network on data")
            if input_shape is None or num_classes is None:
                raise ConfigError(f"{field}.input_shape", "and num_classes are required when no data set is given")
            shape = tuple(input_shape) if isinstance(input_shape, list | tuple) else ()
            if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
                raise ConfigError(f"{field}.input_shape", f"must be a list of positive integers, got {input_shape!r}")
            self.input_shape: tuple[int, ...] = tuple(int(s) for s in shape)
            self.num_classes = _int_option(num_classes, f"{field}.classes", low=2)
            self.data: Dataset | None = None
        else:
            self.data = load_dataset(data, seed=self.seed) if not isinstance(data, Dataset) else data
            self.input_shape, self.num_classes = self.data.input_shape, self.data.num_classes
        self.model_fn = model
        self.model_options = dict(model_options or {})
        if model is None and space is None:
            raise ConfigError("space", "the proxy evaluator needs a space with a model builder, or a model function")
        base_space = builtin(space) if isinstance(space, str) else space
        if model is None:
            assert base_space is not None
            models.check_model_options(base_space, self.model_options, field=f"{field}.model")
            self.space: SearchSpace | None = models.fit_space(base_space, self.input_shape)
        else:
            self.space = base_space
        self._cache: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    @property
    def primary(self) -> str:
        """The first proxy: the one :meth:`rank` orders by."""
        return self.proxies[0]

    def arch_seed(self, arch: Arch) -> int:
        """The seed of ``arch``'s network, from :attr:`seed` and the architecture's id (equal
        to :meth:`Trainer.trial_seed` for the same seed)."""
        digest = hashlib.sha256(f"{self.seed}:{arch.id}".encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def batch(self) -> Batch:
        """The fixed mini-batch (made once): ``batch_size`` training inputs drawn without
        replacement with :attr:`seed`; all-ones placeholders without data."""
        if "batch" not in self._cache:
            from ._trainer import resolve_device

            dev = resolve_device(self.device_name)
            if self.data is None:
                x = torch.ones((self.batch_size, *self.input_shape))
                y = torch.zeros(self.batch_size, dtype=torch.long)
            else:
                n = len(self.data.y_train)
                rng = np.random.default_rng(self.seed)
                idx = np.sort(rng.choice(n, size=min(self.batch_size, n), replace=False))
                x = torch.from_numpy(np.ascontiguousarray(self.data.x_train[idx]))
                y = torch.from_numpy(np.ascontiguousarray(self.data.y_train[idx]))
            self._cache["batch"] = Batch(x.to(dev), y.to(dev), self.num_classes)
        return self._cache["batch"]  # type: ignore[no-any-return]

    def build(self, arch: Arch) -> nn.Module:
        """``arch``'s untrained network, initialised from torch's current global RNG."""
        if self.model_fn is not None:
            return self.model_fn(arch, self.input_shape, self.num_classes)
        assert self.space is not None
        return models.build_model(self.space, arch, self.input_shape, self.num_classes, **self.model_options)

    def _context(self) -> contextlib.AbstractContextManager[None]:
        from ._trainer import default_threads, resolve_device, torch_scope

        return torch_scope(self.threads or default_threads(), resolve_device(self.device_name))

    def score(self, arch: Arch) -> dict[str, float]:
        """Every proxy of ``arch`` (larger is better) and ``params``. Each proxy gets a fresh
        network with the same initialisation (some proxies change the weights)."""
        batch = self.batch()
        seed = self.arch_seed(arch)
        out: dict[str, float] = {}
        dev = batch.x.device
        with self._context():
            for name in self.proxies:
                torch.manual_seed(seed)
                model = self.build(arch).to(dev)
                if "params" not in out:
                    out["params"] = float(models.count_params(model))
                out[name] = float(PROXIES[name].fn(model, batch))
                del model  # freed by reference counting
        return {name: out[name] for name in [*self.proxies, "params"] if name in out}

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result:
        """The proxies of ``arch`` as metrics (``budget`` is ignored: a proxy has no fidelity).
        A proxy that is NaN fails the trial."""
        t0 = time.perf_counter()
        metrics = self.score(arch)
        for name, value in metrics.items():
            if math.isnan(value):
                raise TrialFailed(f"proxy {name!r} is NaN for this network")
        return Result(metrics, cost_seconds=time.perf_counter() - t0)

    def rank(self, archs: Sequence[Arch]) -> list[float]:
        """The primary proxy of each of ``archs`` (for a warm start); an architecture whose
        network cannot be built or scored gets ``-inf``, a NaN score too."""
        scores = []
        for arch in archs:
            try:
                value = self.score(arch)[self.primary]
            except (RuntimeError, ValueError, TypeError, ZeroDivisionError):
                value = -math.inf
            scores.append(-math.inf if math.isnan(value) else value)
        return scores
