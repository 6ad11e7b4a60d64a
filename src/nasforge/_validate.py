"""The one set of declarative checks for options, in the spirit of scikit-learn's
``_param_validation``: each returns the normalised value or raises :class:`ConfigError` with a
*relative* field name, the rule, what was received and the fix.

Field names are relative to the component that checks them (``lr``, not ``evaluator.lr``):
the container that built the component from a config prefixes its key on the way out
(:meth:`ConfigError.within`), and a Python call names the class (:func:`called`, giving
``Trainer: lr must be a positive number, got -1``).

Example:
    >>> positive_int(3, "epochs")
    3
    >>> fraction(0.2, "validation")
    0.2
    >>> try:
    ...     positive_number(float("nan"), "lr")
    ... except ConfigError as exc:
    ...     print(exc)
    lr: must be a positive number, got nan
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._errors import ConfigError

__all__ = [
    "boolean",
    "called",
    "check_keys",
    "fraction",
    "integer",
    "mapping",
    "non_empty_str",
    "non_negative_int",
    "non_negative_number",
    "number",
    "one_of",
    "positive_int",
    "positive_number",
    "resolve_path",
    "shape",
    "str_list",
]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _or_null(none_ok: bool) -> str:
    return " or null" if none_ok else ""


@contextlib.contextmanager
def called(owner: str) -> Iterator[None]:
    """Inside this block a :class:`ConfigError` is re-raised as a Python caller of ``owner``
    sees it (``Trainer: lr must be ...``); :meth:`ConfigError.within` turns it back into a
    config path. Errors that already name an owner pass unchanged."""
    try:
        yield
    except ConfigError as exc:
        if exc.owner:
            raise
        raise exc.called(owner) from None


def check_keys(data: Mapping[str, Any], allowed: Collection[str], field: str = "") -> Mapping[str, Any]:
    """``data`` when each of its keys is in ``allowed``; else an error naming the first other key.

    Example:
        >>> check_keys({"trials": 3}, {"trials", "seconds"}, "budget")
        {'trials': 3}
    """
    unknown = sorted(str(k) for k in set(data) - set(allowed))
    if unknown:
        where = f"{field}.{unknown[0]}" if field else unknown[0]
        raise ConfigError(where, f"unknown key; allowed keys are {sorted(allowed)}")
    return data


def mapping(value: Any, field: str, example: str = "{key: value}") -> Mapping[str, Any]:
    """``value`` when it is a mapping; else an error showing ``example``."""
    if not isinstance(value, Mapping):
        raise ConfigError(field, f"must be a mapping such as {example}, got {value!r}")
    return value


def integer(value: Any, field: str, *, low: int | None = None, high: int | None = None, none_ok: bool = False) -> Any:
    """``value`` as an ``int`` in ``[low, high]`` (``None`` passes when ``none_ok``).

    Example:
        >>> integer(4, "folds", low=2), integer(None, "folds", low=2, none_ok=True)
        (4, None)
    """
    if value is None and none_ok:
        return None
    if not _is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            rule = f"an integer in [{low}, {high}]"
        elif low == 1:
            rule = "a positive integer"
        elif low == 0:
            rule = "a non-negative integer"
        elif low is not None:
            rule = f"an integer >= {low}"
        else:
            rule = "an integer"
        raise ConfigError(field, f"must be {rule}{_or_null(none_ok)}, got {value!r}")
    return int(value)


MAX_THREADS = 1024
"""The most torch/BLAS threads an option may ask for (a million made every trial fail inside torch)."""


def positive_int(value: Any, field: str, *, none_ok: bool = False) -> Any:
    """``value`` as an ``int >= 1``."""
    return integer(value, field, low=1, none_ok=none_ok)


def non_negative_int(value: Any, field: str, *, none_ok: bool = False) -> Any:
    """``value`` as an ``int >= 0``."""
    return integer(value, field, low=0, none_ok=none_ok)


def number(
    value: Any,
    field: str,
    *,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    none_ok: bool = False,
    what: str = "a number",
) -> Any:
    """``value`` as a finite ``float`` (NaN and infinities refused) at least ``low`` (above it
    when ``low_open``) and at most ``high``; ``what`` names the rule in the message."""
    if value is None and none_ok:
        return None
    ok = _is_real(value) and math.isfinite(float(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        raise ConfigError(field, f"must be {what}{_or_null(none_ok)}, got {value!r}")
    return float(value)


def positive_number(value: Any, field: str, *, none_ok: bool = False, what: str = "a positive number") -> Any:
    """``value`` as a finite ``float > 0`` (NaN refused)."""
    return number(value, field, low=0.0, low_open=True, none_ok=none_ok, what=what)


def non_negative_number(value: Any, field: str, *, none_ok: bool = False) -> Any:
    """``value`` as a finite ``float >= 0``."""
    return number(value, field, low=0.0, none_ok=none_ok, what="a non-negative number")


def fraction(value: Any, field: str, *, allow_zero: bool = False, allow_one: bool = False) -> float:
    """``value`` as a fraction in (0, 1) (``[0`` with ``allow_zero``, ``1]`` with ``allow_one``).

    Example:
        >>> fraction(0, "test_fraction", allow_zero=True)
        0.0
    """
    ok = _is_real(value) and math.isfinite(float(value))
    if ok:
        v = float(value)
        ok = (v >= 0 if allow_zero else v > 0) and (v <= 1 if allow_one else v < 1)
    if not ok:
        interval = ("[0" if allow_zero else "(0") + ", " + ("1]" if allow_one else "1)")
        raise ConfigError(field, f"must be a fraction between 0 and 1, in {interval}, got {value!r}")
    return float(value)


def one_of(value: Any, options: Sequence[Any], field: str, *, what: str = "") -> Any:
    """``value`` when it is one of ``options``; else an error listing them.

    Example:
        >>> one_of("sgd", ("adam", "sgd"), "optimizer")
        'sgd'
    """
    ok = any(isinstance(value, bool) == isinstance(o, bool) and _equal(value, o) for o in options)
    if not ok:
        if what:
            raise ConfigError(field, f"unknown {what} {value!r}; choose one of {list(options)}")
        raise ConfigError(field, f"must be one of {list(options)}, got {value!r}")
    return value


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an odd value is simply not one of the options
        return False


def boolean(value: Any, field: str) -> bool:
    """``value`` when it is ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ConfigError(field, f"must be true or false, got {value!r}")
    return value


def non_empty_str(value: Any, field: str, *, what: str = "a non-empty string") -> str:
    """``value`` when it is a string that is not blank."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(field, f"must be {what}, got {value!r}")
    return value


def str_list(value: Any, field: str, *, what: str = "a name or a list of names", empty_ok: bool = True) -> list[str]:
    """``value`` as a list of strings: ``None`` is empty, one string a list of one.

    Example:
        >>> str_list("accuracy", "metric"), str_list(None, "report")
        (['accuracy'], [])
    """
    if value is None:
        out: list[str] = []
    elif isinstance(value, str):
        out = [value]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        out = list(value)
    else:
        raise ConfigError(field, f"must be {what}, got {value!r}")
    if not out and not empty_ok or any(not name.strip() for name in out):
        raise ConfigError(field, f"must be {what}, got {value!r}")
    if len(set(out)) < len(out):
        raise ConfigError(field, f"names {value!r} twice; give each once")
    return out


def shape(value: Any, field: str) -> tuple[int, ...]:
    """``value`` (a list of positive integers) as a shape tuple."""
    items = value if isinstance(value, list | tuple) else ()
    if not items or not all(_is_int(s) and s > 0 for s in items):
        raise ConfigError(field, f"must be a list of positive integers, got {value!r}")
    return tuple(int(s) for s in items)


def resolve_path(value: Any, field: str, base: str | os.PathLike[str] = ".") -> Path:
    """``value`` as a path; a relative one is taken from ``base`` (the config's folder); ``~``
    is expanded. Existence is not checked (the reader says what is missing)."""
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise ConfigError(field, f"must be a path, got {value!r}")
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else Path(base) / p
