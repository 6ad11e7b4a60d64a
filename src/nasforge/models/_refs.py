"""A user's model function by name (``module:qualname``): how ``arch.json`` and a stored config
point to it, and how it is imported back."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import ConfigError


def callable_ref(fn: Any) -> str | None:
    """``module:qualname`` when ``fn`` can be imported back by that name, else ``None`` (a
    lambda, a nested function, a function of ``__main__``)."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if found is fn else None


def import_ref(spec: Any, base: str | Path = ".", field: str = "model") -> Callable[..., Any]:
    """Import ``module:attribute`` (``base``, the config's folder, searched first); a
    :class:`ConfigError` naming ``field`` when it cannot."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(field, f"must be `module:callable`, got {spec!r}")
    module_name, _, attr = spec.partition(":")
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(field, f"cannot import module {module_name!r}: {exc}") from None
    fn: Any = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
    if not callable(fn):
        raise ConfigError(field, f"module {module_name!r} has no callable {attr!r}")
    return fn  # type: ignore[no-any-return]
