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
import inspect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import _validate as v
from .. import models
from .._errors import ConfigError, NotStorable, SpaceError, TrialFailed
from .._refs import callable_ref, import_ref
from .._validate import called, check_keys
from ..data import TEST_FRACTION, Dataset, load_dataset
from ..models import ModelFn
from ..models._network import resolve_space
from ..nn import ModelSpace
from ..space import Arch, Constraint, SearchSpace
from ._base import WARM_RANKER_KEYS, EvaluatorSetup, Result
from ._torch import (
    NetworkEvaluator,
    check_device,
    data_config,
    default_threads,
    resolve_device,
    signature_options,
    torch_scope,
)
from ._trainer import Trainer

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


def check_proxies(names: Any, field: str = "proxy") -> list[str]:
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
    if not out.requires_grad:  # nothing of the output depends on anything learnable or on the input
        return -math.inf
    (jac,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
    if jac is None:  # the output does not depend on the input (e.g. an all-`none` cell): no gradient at all
        return -math.inf
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


class ZeroCost(NetworkEvaluator):
    """Evaluates an architecture by zero-cost proxies of its untrained network instead of
    training it: milliseconds per architecture, for ranking many architectures quickly (on its
    own, or as a strategy's warm start: ``strategy: {warm_start: {proxy: synflow}}``).

    Metrics (:attr:`metrics`): one per proxy (larger is better) and ``params``. The network of
    each architecture is initialised from :meth:`arch_seed` (the same seed as the
    :class:`Trainer`'s trials with the same ``seed``, so the proxy scores the very
    initialisation that training would start from) and scored on one fixed mini-batch of
    ``batch_size`` training inputs drawn with ``seed``. torch's global RNG is forked, seeded
    and restored inside each evaluation. Like the trainer it does not narrow the space: the
    study applies :meth:`constraints`.

    Args:
        data: A :class:`nasforge.data.Dataset`, a built-in data set name or a data set's
            config form; ``None`` for the data-free proxies (``synflow``, ``params``,
            ``flops``) with ``input_shape`` and ``num_classes`` given.
        space: The search space (or a built-in name); it picks the model builder.
        proxy: A proxy name or a list of them (:data:`PROXIES`).
        model_fn: Instead of a built-in builder: ``model_fn(arch, input_shape, num_classes) -> nn.Module``.
        model_options: Options of the model builder (e.g. ``{"C": 16, "N": 1}`` for
            nasbench201); ``model:`` in YAML.
        batch_size: Inputs in the mini-batch.
        seed: Seed of the mini-batch and of every network's initialisation.
        test_fraction: Share of the data set aside for the final test when ``data`` is loaded here.
        device: ``cpu`` (default), ``cuda``, ``auto``, ...
        threads: torch CPU threads during an evaluation (default: half the CPUs).
        input_shape: One input's shape, when ``data`` is ``None``.
        num_classes: Number of outputs, when ``data`` is ``None`` (``classes:`` in YAML).

    Example:
        >>> zc = ZeroCost("digits", space="seed-cnn", proxy=["synflow", "naswot"], threads=1)
        >>> r = zc.evaluate(Arch({"kernel": 3, "channels": 16, "units": 64}))
        >>> sorted(r.metrics)
        ['naswot', 'params', 'synflow']
    """

    def __init__(
        self,
        data: Dataset | str | Mapping[str, Any] | None,
        *,
        space: SearchSpace | str | None = None,
        proxy: str | Sequence[str] = "synflow",
        model_fn: ModelFn | None = None,
        model_options: Mapping[str, Any] | None = None,
        batch_size: int = 64,
        seed: int = 0,
        test_fraction: float = TEST_FRACTION,
        device: str = "cpu",
        threads: int | None = None,
        input_shape: Sequence[int] | None = None,
        num_classes: int | None = None,
    ) -> None:
        with called("ZeroCost"):
            self.proxies = check_proxies(proxy, "proxy")
            self.seed = v.non_negative_int(seed, "seed")
            self.test_fraction = v.fraction(test_fraction, "test_fraction")
            self.batch_size = v.integer(batch_size, "batch_size", low=2)
            self.threads = v.integer(threads, "threads", low=1, high=v.MAX_THREADS, none_ok=True)
            self.device_name = check_device(device)
            self.data_config: Any = data if isinstance(data, str | Mapping) else None
            """The data set's config form (for :meth:`to_config`); ``None`` for data in memory or none."""
            if data is None:
                needy = [p for p in self.proxies if PROXIES[p].needs_data]
                if needy:
                    raise ConfigError("dataset", f"is required: proxy {needy[0]!r} scores the network on data")
                if input_shape is None or num_classes is None:
                    raise ConfigError("input_shape", "and num_classes are required when no data set is given")
                self.input_shape: tuple[int, ...] = v.shape(input_shape, "input_shape")
                self.num_classes = v.integer(num_classes, "classes", low=2)
                self.data: Dataset | None = None
            else:
                self.data = load_dataset(data, test_fraction=self.test_fraction, seed=self.seed, field="dataset")
                self.input_shape, self.num_classes = self.data.input_shape, self.data.num_classes
            self.space_name = space if isinstance(space, str) else space.name if space is not None else None
            """The name of the space given (which picks the model builder)."""
            self.network = models.Network.of(space, model_fn, self.input_shape, self.num_classes, model_options)
            given = resolve_space(space)
            self.space: SearchSpace | None = given
            """The space given, or the one the model declares (a :class:`nasforge.nn.ModelSpace`)."""
            if given is None and isinstance(model_fn, ModelSpace):
                try:
                    self.space = model_fn.space(self.input_shape, self.num_classes)
                except SpaceError as exc:
                    raise ConfigError("model_fn", str(exc)) from None
                self.space_name = self.space.name
            if given is not None:
                self.network.constraints(given)  # a space of which nothing fits the input is refused now
        self._cache: dict[str, Any] = {}
        self.model_ref: str | None = None
        """``module:callable`` of the user's model when the YAML named it (kept for :meth:`to_config`)."""

    # -- config ---------------------------------------------------------------------------

    YAML_ONLY = ("dataset", "model", "classes")
    """Keys of the YAML form that are not constructor options of the same name: ``dataset``
    is ``data``, ``model`` is ``model_options`` (a mapping) or ``model_fn`` (``module:callable``,
    the user's model, path relative to the config), ``classes`` is ``num_classes``."""

    @classmethod
    def options(cls) -> list[str]:
        """The keys of ``evaluator: {dataset: ..., proxy: ...}`` (from the constructor's signature)."""
        return sorted(
            [*cls.YAML_ONLY, *signature_options(cls, exclude=("space", "model_fn", "model_options", "num_classes"))]
        )

    @classmethod
    def _kwargs(cls, spec: Mapping[str, Any], base: Path) -> dict[str, Any]:
        """Constructor arguments from a YAML form (the data set loaded, paths from ``base``)."""
        kwargs = {k: val for k, val in spec.items() if k not in cls.YAML_ONLY}
        if isinstance(spec.get("model"), str):
            kwargs["model_fn"] = import_ref(spec["model"], base, "model")
        else:
            kwargs["model_options"] = dict(v.mapping(spec.get("model", {}), "model", "{C: 16, N: 1} or module:callable"))
        if "classes" in spec:
            kwargs["num_classes"] = spec["classes"]
        seed = v.non_negative_int(kwargs.get("seed", 0), "seed")
        test_fraction = v.fraction(kwargs.get("test_fraction", TEST_FRACTION), "test_fraction")
        kwargs["data"] = (
            load_dataset(spec["dataset"], base=base, test_fraction=test_fraction, seed=seed, field="dataset")
            if spec.get("dataset") is not None
            else None
        )
        return kwargs

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], space: SearchSpace | None, base: Path) -> EvaluatorSetup:
        """Build from ``{dataset: digits, proxy: synflow | [names], batch_size: 64, seed: 0,
        model: {...} | module:callable}``: every trial scores the untrained network instead of training it.
        Default objective: the first proxy, maximized. Errors name relative fields."""
        check_keys(spec, cls.options())
        kwargs = cls._kwargs(spec, base)
        model_fn = kwargs.get("model_fn")
        if space is None and not isinstance(model_fn, ModelSpace):
            raise ConfigError("space", "is required (or name a model that declares its own: `model: module:callable`)")
        try:
            zc = cls(space=space, **kwargs)
        except ConfigError as exc:
            field = "model" if exc.field == "model_fn" else exc.field
            raise ConfigError(field, exc.message).within("") from None
        zc.data_config = data_config(spec.get("dataset"), base)
        zc.model_ref = spec["model"] if model_fn is not None else None
        return EvaluatorSetup(zc, {zc.proxies[0]: "maximize"}, space=zc.space, base_dir=base)

    WARM_KEYS = WARM_RANKER_KEYS
    """The ranker options of a warm start (besides its ``samples`` and ``top``)."""

    @classmethod
    def ranker_for(cls, evaluator: Any, space: SearchSpace | None, base: Path, proxy: Any, **options: Any) -> ZeroCost:
        """A one-proxy ranker for a warm start: on ``evaluator``'s data set and network when
        it trains or is a proxy (unless ``dataset``, ``input_shape`` or ``classes`` are
        given), else on ``dataset`` (or the input shape) with ``space``'s model builder.
        Errors name fields relative to the warm-start config."""
        check_keys({"proxy": proxy, **options}, cls.WARM_KEYS)
        if not isinstance(proxy, str):
            raise ConfigError("proxy", f"must be one proxy name, got {proxy!r}")
        names = check_proxies(proxy, "proxy")
        source = evaluator if isinstance(evaluator, ZeroCost | Trainer) else None
        try:
            if source is not None and not {"dataset", "input_shape", "classes"} & set(options):
                extra = dict(v.mapping(options.get("model", {}), "model", "{C: 16, N: 1}"))
                network = source.network
                zc = cls(
                    source.data, space=space if space is not None else network.builder, proxy=names, model_fn=network.model_fn,
                    model_options={**network.options, **extra}, seed=options.get("seed", source.seed),
                    device=source.device_name, threads=source.threads,
                    **({"batch_size": options["batch_size"]} if "batch_size" in options else {}),
                )  # fmt: skip
            else:
                if "dataset" not in options and "input_shape" not in options and "classes" not in options:
                    raise ConfigError(
                        "dataset",
                        "is required when the evaluator does not train: the data set the proxy scores networks on "
                        "(or input_shape and classes for synflow, params and flops)",
                    )
                kwargs = cls._kwargs({"proxy": names, **options}, base)
                if kwargs["data"] is None:
                    kwargs.setdefault("input_shape", None)
                    kwargs.setdefault("num_classes", None)
                zc = cls(space=space, **kwargs)
        except ConfigError as exc:
            raise exc.within("") from None
        return zc

    def to_config(self) -> dict[str, Any]:
        """The ``evaluator:`` config that rebuilds this proxy evaluator; :class:`NotStorable`
        for data given in memory or a ``model_fn``."""
        ref = None
        if self.network.model_fn is not None:
            ref = self.model_ref or callable_ref(self.network.model_fn)
            if ref is None:
                raise NotStorable(
                    "a ZeroCost evaluator with a model_fn that cannot be imported by name (a lambda, a nested "
                    "function or a function of __main__) cannot be stored as a config; define it in a module"
                )
        if self.data is not None and self.data_config is None:
            raise NotStorable(
                "a ZeroCost evaluator on a data set given in memory cannot be stored; give it by name or file"
            )
        out: dict[str, Any] = {"dataset": self.data_config, "proxy": list(self.proxies)}
        if ref is not None:
            out["model"] = ref
        if self.data is None:
            out.update(input_shape=list(self.input_shape), classes=self.num_classes)
        params = inspect.signature(type(self).__init__).parameters
        for name in ("batch_size", "seed", "test_fraction", "device", "threads"):
            value = getattr(self, "device_name" if name == "device" else name)
            if value != params[name].default:
                out[name] = value
        if self.network.options:
            out["model"] = dict(self.network.options)
        return out

    # -- capabilities ---------------------------------------------------------------------

    @property
    def metrics(self) -> list[str]:
        """The metrics each evaluation produces: every proxy, and ``params``."""
        return list(dict.fromkeys([*self.proxies, "params"]))

    def constraints(self, space: SearchSpace) -> list[Constraint]:
        """The study's hook: constraints that keep ``space`` to the architectures the model
        builder can build for the input shape; refuses a decision the builder does not read."""
        self.network.check_decisions(space, "the proxies read none of the space's decisions")
        return self.network.constraints(space)

    @property
    def primary(self) -> str:
        """The first proxy: the one :meth:`rank` orders by."""
        return self.proxies[0]

    def arch_seed(self, arch: Arch) -> int:
        """The seed of ``arch``'s network, from :attr:`seed` and the architecture's id (equal
        to :meth:`Trainer.trial_seed` for the same seed)."""
        return models.arch_seed(self.seed, arch)

    def batch(self) -> Batch:
        """The fixed mini-batch (made once): ``batch_size`` training inputs drawn without
        replacement with :attr:`seed`; all-ones placeholders without data."""
        if "batch" not in self._cache:
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
        return self.network.build(arch)

    def _context(self) -> contextlib.AbstractContextManager[None]:
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
