"""Tabular evaluation: look architectures up in a table of measured results."""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._errors import ConfigError, TrialFailed
from ..space import Arch, SearchSpace
from ._base import Result

_FIELD = re.compile(r"\{([^{}]+)\}")


def format_key(template: str, arch: Mapping[str, Any]) -> str:
    """Fill ``{decision}`` fields of ``template`` with an architecture's values (names may
    contain dots).

    Example:
        >>> format_key("{layers.0.kernel}-{units}", {"layers.0.kernel": 3, "units": 64})
        '3-64'
    """

    def sub(m: re.Match[str]) -> str:
        return str(arch[m.group(1)])

    return _FIELD.sub(sub, template)


class Table:
    """Looks each architecture up in a table of measured results (NAS-Bench-style).

    Args:
        rows: Mapping of key to its row (column name to value).
        key: How an architecture becomes a row key: a format string over decision names
            (``"{kernel}-{units}"``) or a callable.
        metric: The column the search sees (may be several).
        report: Columns recorded with each trial but never shown to the strategy.
        cost: Optional column holding the (simulated) training seconds of each row.
        source: Where the rows came from, for messages.
        path: The file the rows were read from, if any.

    Use :meth:`from_file` to read a CSV, a JSON list of records or a JSON object by key.
    A key that is not in the table fails the trial with that reason.
    """

    def __init__(
        self,
        rows: Mapping[str, Mapping[str, Any]],
        *,
        key: str | Callable[[Arch], str],
        metric: str | Sequence[str],
        report: Sequence[str] = (),
        cost: str | None = None,
        source: str = "table",
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.rows = rows
        self.path = path
        self.key = key
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        self.report = list(report)
        self.cost = cost
        self.source = source
        if not rows:
            raise ConfigError("evaluator.table", f"{source} has no rows")
        columns = set(next(iter(rows.values())))
        for field, names in (("metric", self.metrics), ("report", self.report), ("cost", [cost] if cost else [])):
            for name in names:
                if name not in columns:
                    raise ConfigError(
                        f"evaluator.{field}", f"column {name!r} is not in {source}; its columns are {sorted(columns)}"
                    )

    def key_of(self, arch: Arch) -> str:
        """The row key of ``arch``."""
        if callable(self.key):
            return self.key(arch)
        try:
            return format_key(self.key, arch)
        except KeyError as exc:
            raise TrialFailed(f"key template {self.key!r} names {exc.args[0]!r}, which this architecture lacks") from None

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result:
        k = self.key_of(arch)
        row = self.rows.get(k)
        if row is None:
            raise TrialFailed(f"architecture {k!r} is not in {self.source}")
        metrics: dict[str, float] = {}
        for name in self.metrics:
            value = _number(row.get(name))
            if value is None:
                raise TrialFailed(f"{self.source} has no value of {name!r} for {k!r}")
            metrics[name] = value
        report = {name: _number(row.get(name)) for name in self.report}
        cost = _number(row.get(self.cost)) if self.cost else None
        return Result(metrics, report={k2: v for k2, v in report.items() if v is not None}, cost_seconds=cost or 0.0)

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        key: str | Callable[[Arch], str],
        key_column: str | None = None,
        metric: str | Sequence[str],
        report: Sequence[str] = (),
        cost: str | None = None,
        field: str = "evaluator.table",
    ) -> Table:
        """Read a table from a CSV (one row per architecture, ``key_column`` holds the key), a
        JSON list of records (the same), or a JSON object mapping keys to records.

        ``key_column`` defaults to ``arch``, then ``key``, then the first column.
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(field, f"file {str(p)!r} does not exist; give the path of a CSV or JSON table")
        records: list[dict[str, Any]] | None = None
        rows: dict[str, dict[str, Any]] = {}
        try:
            if p.suffix.lower() == ".json":
                data = json.loads(p.read_text())
                if isinstance(data, dict):
                    if not all(isinstance(v, dict) for v in data.values()):
                        raise ConfigError(field, f"{p.name}: a JSON object table must map keys to records")
                    rows = {str(k): v for k, v in data.items()}
                elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
                    records = data
                else:
                    raise ConfigError(field, f"{p.name}: JSON must be a list of records or an object of records")
            else:
                with p.open(newline="") as fh:
                    records = list(csv.DictReader(fh))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            raise ConfigError(field, f"cannot read {str(p)!r}: {exc}") from None
        if records is not None:
            if not records:
                raise ConfigError(field, f"{p.name} has no rows")
            columns = list(records[0])
            column = key_column or next((c for c in ("arch", "key") if c in columns), columns[0])
            if column not in columns:
                raise ConfigError(
                    "evaluator.key_column", f"column {column!r} is not in {p.name}; its columns are {columns}"
                )
            rows = {str(r[column]): r for r in records}
        return cls(rows, key=key, metric=metric, report=report, cost=cost, source=p.name, path=p)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


NB201_COLUMNS = ("cifar10-val", "cifar10-test", "cifar100-val", "cifar100-test", "imagenet-val", "imagenet-test")


def nasbench201(
    path: str | os.PathLike[str] | None = None,
    *,
    metric: str = "cifar10-val",
    report: Sequence[str] = ("cifar10-test",),
    space: SearchSpace | None = None,
    field: str = "evaluator",
) -> Table:
    """The NAS-Bench-201 table (in the format of ``nasbench201_12epoch.csv``) as an evaluator.

    ``path`` defaults to the environment variable ``NASFORGE_NB201``. Search on a ``*-val``
    column and report the matching ``*-test`` column.
    """
    from ..space import builtin

    if path is None:
        path = os.environ.get("NASFORGE_NB201")
        if not path:
            raise ConfigError(
                f"{field}.path",
                "no NAS-Bench-201 table given: set `path:` in the evaluator config or the environment variable "
                "NASFORGE_NB201 to the CSV (e.g. ../shared/benchmarks/nasbench201_12epoch.csv)",
            )
    for name in [metric, *report]:
        if name not in NB201_COLUMNS:
            raise ConfigError(f"{field}.metric", f"{name!r} is not a NAS-Bench-201 column; choose from {list(NB201_COLUMNS)}")
    space = space or builtin("nasbench201")
    return Table.from_file(path, key=space.to_string, key_column="arch", metric=metric, report=report, field=f"{field}.path")
