"""Building a strategy by its registered name and options (the ``strategy:`` section of a config)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._errors import ConfigError
from ..space import Arch
from ._base import STRATEGIES, Strategy, _options
from ._scalarize import Scalarize, read_scalarize
from ._warm import WarmStart, check_warm_counts

DEFAULT_STRATEGY = "bayesian"
"""The strategy of a config or :func:`nasforge.search` that names none: Bayesian optimization
(ParEGO with several objectives). In ``benchmarks/RESULTS.md`` it has the lowest mean test regret
of ours at 100 queries on NAS-Bench-201 and HPOLib FCNet and the lowest validation regret on
NAS-Bench-Graph, below Optuna's TPE on all five tables (within one standard error on
NAS-Bench-Graph, whose test accuracy barely follows validation there); its defaults were
chosen on NAS-Bench-201 and not tuned to the others."""


def make_strategy(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    field: str = "strategy",
    rank: Callable[[Sequence[Arch]], Sequence[float]] | None = None,
) -> Strategy:
    """Build the strategy called ``name`` with ``options``; unknown names or options are a
    :class:`ConfigError` that lists what is accepted.

    A ``scalarize: {weights: {metric: weight, ...}}`` option makes the strategy search the
    weighted sum of the study's objectives (:class:`~nasforge.strategies.Scalarize`).

    A ``warm_start: {samples: N, top: K}`` option puts the strategy behind a
    :class:`~nasforge.strategies.WarmStart` ranking with ``rank`` (which must then be given;
    other keys of ``warm_start`` describe the ranking and are read by whoever built ``rank``,
    e.g. the config layer from ``proxy:``). This is how :meth:`WarmStart.to_config`
    round-trips.
    """
    if name not in STRATEGIES:
        raise ConfigError(f"{field}.name", f"unknown strategy {name!r}; choose one of {sorted(STRATEGIES)}")
    cls = STRATEGIES[name]
    accepted = sorted(_options(cls))
    options = dict(options or {})
    warm = options.pop("warm_start", None)
    transfer = options.pop("transfer", None)
    scalarize = options.pop("scalarize", None)
    weights = None if scalarize is None else read_scalarize(scalarize, f"{field}.scalarize")
    if weights is not None and transfer is not None:
        raise ConfigError(
            f"{field}.scalarize",
            "cannot be combined with `transfer` (a transfer judges its sources by the study's primary objective); "
            "drop one of them",
        )
    for key in options:
        if key not in accepted:
            raise ConfigError(f"{field}.{key}", f"unknown option of strategy {name!r}; accepted: {accepted or 'none'}")
    try:
        strategy = cls(**options)
    except ConfigError as exc:
        if exc.field.startswith(field):
            raise
        raise ConfigError(f"{field}.{exc.field}", exc.message) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(field, f"bad options for strategy {name!r}: {exc}") from None
    if warm is None:
        return _scalarized(_with_transfer(strategy, transfer, field), weights)
    if not isinstance(warm, Mapping):
        raise ConfigError(f"{field}.warm_start", f"must be a mapping such as {{samples: 1000, top: 10}}, got {warm!r}")
    if rank is None:
        raise ConfigError(
            f"{field}.warm_start",
            "needs a ranking of architectures: pass `rank=` (in a config file, `proxy:` builds one from the evaluator)",
        )
    samples, top = check_warm_counts(warm.get("samples", 1000), warm.get("top", 10), f"{field}.warm_start")
    return _scalarized(_with_transfer(WarmStart(strategy, rank, samples=samples, top=top), transfer, field), weights)


def _scalarized(strategy: Strategy, weights: dict[str, float] | None) -> Strategy:
    """``strategy`` behind a :class:`~nasforge.strategies.Scalarize` when weights are given."""
    return strategy if weights is None else Scalarize(strategy, weights)


def _with_transfer(strategy: Strategy, transfer: Any, field: str) -> Strategy:
    """``strategy`` behind a :class:`~nasforge.strategies.Transfer` when ``transfer:`` is given
    (its sources as stored data; the config layer reads run directories into them)."""
    if transfer is None:
        return strategy
    from ._transfer import make_transfer

    return make_transfer(strategy, transfer, field=f"{field}.transfer")


def as_strategy(value: Any, *, read_run: Callable[[str], Any] | None = None, field: str = "strategy") -> Strategy:
    """A strategy from what Python callers pass: a :class:`Strategy` (as it is), a registered
    name, or a config mapping ``{"name": ..., **options}`` as in YAML (with ``read_run``, the
    run directories named by its ``transfer`` option are read by ``read_run(path)`` into stored
    sources, as the config layer does). Anything else is a :class:`ConfigError` naming ``field``.

    Example:
        >>> as_strategy({"name": "evolution", "population": 8}).to_config()["population"]
        8
    """
    if isinstance(value, Strategy):
        return value
    if isinstance(value, str):
        return make_strategy(value, field=field)
    if isinstance(value, Mapping):
        options = dict(value)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"{field}.name", f"a strategy mapping needs a `name` (a registered strategy), got {name!r}")
        if read_run is not None and "transfer" in options:
            from ._transfer import read_transfer

            options["transfer"] = read_transfer(options["transfer"], read_run, field=f"{field}.transfer")
        return make_strategy(name, options, field=field)
    raise ConfigError(
        field, f"must be a Strategy, a registered name or a mapping {{name: ..., **options}}, got {type(value).__name__}"
    )
