"""Executors by config name: ``executor: {name: local, workers: 2, trial_timeout: 600}``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .._errors import ConfigError
from ._base import Executor, InlineExecutor, constructor_options
from ._local import LocalExecutor
from ._ray import RayExecutor, ray_available

EXECUTORS: dict[str, type[Executor]] = {"inline": InlineExecutor, "local": LocalExecutor, "ray": RayExecutor}
"""Executor classes by config name; :func:`register_executor` adds to it."""
for _name, _cls in EXECUTORS.items():
    _cls.config_name = _name

E = TypeVar("E", bound=type[Executor])


def register_executor(name: str) -> Callable[[E], E]:
    """Class decorator that makes an executor available as ``executor: {name: ...}``."""

    def wrap(cls: E) -> E:
        EXECUTORS[name] = cls
        cls.config_name = name
        return cls

    return wrap


def executor_options(name: str) -> list[str]:
    """The option names the executor called ``name`` accepts in a config."""
    return sorted(constructor_options(EXECUTORS[name]))


def make_executor(config: Mapping[str, Any] | str | None) -> Executor:
    """Build the executor a config names; nothing is started until the study runs.

    Example:
        >>> type(make_executor({"name": "local", "workers": 2})).__name__
        'LocalExecutor'
    """
    if config is None:
        config = {"name": "inline"}
    if isinstance(config, str):
        config = {"name": config}
    if not isinstance(config, Mapping):
        raise ConfigError("executor", f"must be a mapping such as {{name: local, workers: 2}}, got {config!r}")
    name = config.get("name", "inline")
    if name not in EXECUTORS:
        raise ConfigError("executor.name", f"unknown executor {name!r}; choose one of {sorted(EXECUTORS)}")
    options = {k: v for k, v in config.items() if k != "name"}
    accepted = executor_options(name)
    for key in options:
        if key == "trial_timeout" and name == "inline":
            raise ConfigError(
                "executor.trial_timeout",
                "the inline executor runs trials in the search process and cannot stop one; use executor local",
            )
        if key not in accepted:
            raise ConfigError(f"executor.{key}", f"unknown option of executor {name!r}; accepted: {accepted or 'none'}")
    if name == "ray" and not ray_available():
        raise ConfigError("executor.name", "ray is not installed; pip install 'nasforge[ray]', or use executor local")
    try:
        return EXECUTORS[name](**options)
    except ConfigError as exc:
        raise exc.within("executor") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError("executor", f"bad options for executor {name!r}: {exc}") from None


def config_of(executor: Executor) -> dict[str, Any]:
    """``executor.to_config()``: its registered name and the options that differ from their
    defaults.

    Example:
        >>> config_of(LocalExecutor(3, trial_timeout=60))
        {'name': 'local', 'trial_timeout': 60.0, 'workers': 3}
    """
    return executor.to_config()
