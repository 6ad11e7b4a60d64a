"""Zero-cost proxies in configs: ``evaluator: {dataset: digits, proxy: synflow}`` and the
strategy option ``warm_start: {proxy: synflow, samples: 1000, top: 10}``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ..data import TEST_FRACTION, load_dataset
from ..data._dataset import check_fraction
from ..space import SearchSpace

if TYPE_CHECKING:
    from ..config import Built
    from ..strategies import Strategy
    from ._proxies import ZeroCost

PROXY_KEYS = {"dataset", "proxy", "test_fraction", "batch_size", "seed", "device", "threads", "model"}
WARM_KEYS = {"proxy", "samples", "top", "batch_size", "dataset", "model", "input_shape", "classes", "seed"}


def _model_options(data: Mapping[str, Any], field: str) -> dict[str, Any]:
    options = data.get("model", {})
    if not isinstance(options, Mapping):
        raise ConfigError(field, f"must map model options to values, e.g. {{C: 16, N: 1}}, got {options!r}")
    return dict(options)


def _seed(data: Mapping[str, Any], field: str) -> int:
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(field, f"must be a non-negative integer, got {seed!r}")
    return seed


def build_proxy_evaluator(data: Mapping[str, Any], space: SearchSpace, base: Path) -> Built:
    """Build a :class:`ZeroCost` evaluator from ``{dataset: ..., proxy: synflow | [names],
    batch_size: 64, seed: 0, ...}``: every trial scores the untrained network instead of
    training it. Default objective: the first proxy, maximized."""
    from ..config import Built, check_keys
    from ._proxies import ZeroCost, check_proxies

    check_keys(data, PROXY_KEYS, "evaluator")
    names = check_proxies(data["proxy"], "evaluator.proxy")
    seed = _seed(data, "evaluator.seed")
    test_fraction = check_fraction(data.get("test_fraction", TEST_FRACTION), "evaluator.test_fraction")
    dataset = load_dataset(data["dataset"], base=base, test_fraction=test_fraction, seed=seed)
    options = {k: data[k] for k in ("batch_size", "device", "threads") if k in data}
    zc = ZeroCost(dataset, space=space, proxy=names, model_options=_model_options(data, "evaluator.model"),
                  seed=seed, **options)  # fmt: skip
    assert zc.space is not None
    return Built(zc, zc.space, {names[0]: "maximize"})


@dataclass
class WarmStartSpec:
    """A validated ``warm_start`` option: the proxy evaluator that ranks, and the counts."""

    ranker: ZeroCost
    samples: int
    top: int

    def wrap(self, inner: Strategy) -> Strategy:
        """``inner`` behind a :class:`nasforge.strategies.WarmStart` that ranks with the proxy."""
        from ..strategies import WarmStart

        return WarmStart(inner, self.ranker.rank, samples=self.samples, top=self.top)


def build_warm_start(spec: Any, evaluator: Any, space: SearchSpace, base: Path) -> WarmStartSpec:
    """Validate ``strategy.warm_start`` and build its ranking proxy.

    The proxy scores networks of the evaluator's data set and model builder (its seed, device
    and threads too) when the evaluator trains or is itself a proxy; with another evaluator
    (a table, a function) give ``dataset`` (or, for the data-free ``synflow``, ``params`` and
    ``flops``, ``input_shape`` and ``classes``) and the space must have a model builder.
    """
    from ..config import check_keys
    from ..strategies._warm import check_warm_counts
    from ._proxies import ZeroCost, check_proxies
    from ._trainer import Trainer

    field = "strategy.warm_start"
    if not isinstance(spec, Mapping):
        raise ConfigError(field, f"must be a mapping such as {{proxy: synflow, samples: 1000, top: 10}}, got {spec!r}")
    check_keys(spec, WARM_KEYS, field)
    if "proxy" not in spec:
        raise ConfigError(f"{field}.proxy", "is required: the zero-cost proxy that ranks, e.g. synflow")
    if not isinstance(spec["proxy"], str):
        raise ConfigError(f"{field}.proxy", f"must be one proxy name, got {spec['proxy']!r}")
    names = check_proxies(spec["proxy"], f"{field}.proxy")
    samples, top = check_warm_counts(spec.get("samples", 1000), spec.get("top", 10), field)
    common: dict[str, Any] = {"proxy": names, "field": field}
    if "batch_size" in spec:
        common["batch_size"] = spec["batch_size"]
    source = evaluator if isinstance(evaluator, Trainer | ZeroCost) else None
    if source is not None and not {"dataset", "input_shape", "classes"} & set(spec):
        zc = ZeroCost(
            source.data, space=source.space, model=source.model_fn,
            model_options={**source.model_options, **_model_options(spec, f"{field}.model")},
            seed=spec.get("seed", source.seed), device=source.device_name, threads=source.threads, **common,
        )  # fmt: skip
    else:
        seed = _seed(spec, f"{field}.seed")
        if "dataset" in spec:
            data = load_dataset(spec["dataset"], base=base, seed=seed, field=f"{field}.dataset")
            extra: dict[str, Any] = {}
        elif "input_shape" in spec or "classes" in spec:
            data, extra = None, {"input_shape": spec.get("input_shape"), "num_classes": spec.get("classes")}
        else:
            raise ConfigError(
                f"{field}.dataset",
                "is required when the evaluator does not train: the data set the proxy scores networks on "
                "(or input_shape and classes for synflow, params and flops)",
            )
        zc = ZeroCost(data, space=space, model_options=_model_options(spec, f"{field}.model"), seed=seed,
                      **extra, **common)  # fmt: skip
    return WarmStartSpec(zc, samples, top)
