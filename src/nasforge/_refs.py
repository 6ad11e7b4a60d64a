"""A user's callable by name (``module:qualname``): how a stored config or ``arch.json`` points
to a function, a model or a hook, and how it is imported back. Torch-free, for every layer."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._errors import ConfigError


def import_ref(spec: Any, base: str | Path = ".", field: str = "function") -> Callable[..., Any]:
    """Import ``module:attribute`` (the config's folder ``base`` is searched first); a
    :class:`ConfigError` naming ``field`` when it cannot, also when the user's module fails
    while importing (a syntax error, an exception, ``sys.exit``).

    Example:
        >>> import_ref("math:sqrt")(9.0)
        3.0
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(field, f"must be `module:callable`, got {spec!r}")
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(field, f"must be `module:callable`, got {spec!r}")
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(field, f"cannot import module {module_name!r}: {exc}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's module failed while importing
        raise ConfigError(field, f"importing module {module_name!r} failed: {_raised(exc)}") from None
    fn: Any = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
    if not callable(fn):
        raise ConfigError(field, f"module {module_name!r} has no callable {attr!r}")
    return fn  # type: ignore[no-any-return]


def _raised(exc: BaseException) -> str:
    """What an exception says, with where it was raised in the user's code (file:line)."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({Path(exc.filename or '?').name}:{exc.lineno})"
    import traceback

    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    at = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{at}"


def callable_ref(fn: Any) -> str | None:
    """``module:qualname`` when ``fn`` can be imported back by that name, else ``None`` (a
    lambda, a nested function, a callable object, a function of ``__main__``).

    Example:
        >>> import math
        >>> callable_ref(math.sqrt), callable_ref(lambda x: x)
        ('math:sqrt', None)
    """
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
