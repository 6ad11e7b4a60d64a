"""Tabular evaluation: look architectures up in a table of measured results."""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError, NotStorable, SpaceError, TrialFailed
from .._validate import called, check_keys, non_empty_str, resolve_path, str_list
from ..space import Arch, Constraint, SearchSpace
from ._base import EvaluatorSetup, Result

_FIELD = re.compile(r"\{([^{}]+)\}")

COVERAGE_ENUMERATE = 200_000
"""Largest space whose architectures are all looked up to tell whether the table holds each."""

COVERAGE_SAMPLES = 2_000
"""Random architectures looked up to judge a larger space's coverage."""


def format_key(template: str, arch: Mapping[str, Any], inactive: Collection[str] = ()) -> str:
    """Fill ``{decision}`` fields of ``template`` with an architecture's values (names may
    contain dots). A name in ``inactive`` that ``arch`` lacks (a decision whose ``when`` is
    not met, a layer beyond the depth) fills as the empty string, as such a decision's cell
    of a table is; any other missing name raises ``KeyError``.

    Example:
        >>> format_key("{layers.0.kernel}-{units}", {"layers.0.kernel": 3, "units": 64})
        '3-64'
        >>> format_key("{depth}-{w1}-{w2}", {"depth": 1, "w1": 16}, inactive={"w2"})
        '1-16-'
    """

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in arch and name in inactive:
            return ""
        return str(arch[name])

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
        id: A column naming the network of each row: rows with the same id are the same
            network (a benchmark's architecture hash), so the study deduplicates by it
            (:meth:`equivalence`) and no strategy asks for two rows of one network. It is
            stored with the run (:meth:`to_config`).

    Use :meth:`from_file` to read a CSV, a JSON list of records or a JSON object by key.
    A key that is not in the table fails the trial with that reason. :attr:`metrics` are the
    metrics it produces (the ``metric`` columns).
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
        key_column: str | None = None,
        id: str | None = None,
    ) -> None:
        with called("Table"):
            self._check(rows, key, metric, report, cost, source, id)
        self.rows = rows
        self.path = path
        self.key = key
        self.key_column = key_column
        self._decisions: frozenset[str] = frozenset()  # the space's decisions, set by constraints()
        self._covered: dict[str, tuple[Constraint | None]] = {}  # by space: what _coverage found
        self._note: str | None = None  # the last narrowing, in words (coverage_note)
        self.metrics: list[str] = str_list(metric, "metric", what="a column name or a list of them", empty_ok=False)
        self.report = list(report)
        self.cost = cost
        self.source = source
        self.id = id

    @staticmethod
    def _check(
        rows: Mapping[str, Mapping[str, Any]], key: Any, metric: Any, report: Any, cost: Any, source: str,
        id_column: Any = None,
    ) -> None:
        if not callable(key):
            non_empty_str(key, "key", what="a format string over decision names such as '{kernel}-{units}'")
        metrics = str_list(metric, "metric", what="a column name or a list of them", empty_ok=False)
        reports = str_list(
            list(report) if isinstance(report, tuple) else report, "report", what="a list of column names"
        )
        if cost is not None:
            non_empty_str(cost, "cost", what="a column name")
        if id_column is not None:
            non_empty_str(id_column, "id", what="a column name")
        if isinstance(rows, str | os.PathLike):
            raise ConfigError("rows", f"must be a mapping of key to row, got the path {str(rows)!r}; "
                              "read a file with Table.from_file(path, key=..., metric=...)")  # fmt: skip
        if not isinstance(rows, Mapping):
            raise ConfigError("rows", f"must be a mapping of key to row (column to value), got {type(rows).__name__}")
        if not rows:
            raise ConfigError("table", f"{source} has no rows")
        key0, first = next(iter(rows.items()))
        if not isinstance(first, Mapping):
            raise ConfigError("rows", f"must map each key to a row (column name to value), got {first!r} for {key0!r}")
        columns = set(first)
        for field, names in (
            ("metric", metrics), ("report", reports), ("cost", [cost] if cost else []),
            ("id", [id_column] if id_column else []),
        ):  # fmt: skip
            for name in names:
                if name not in columns:
                    raise ConfigError(field, f"column {name!r} is not in {source}; its columns are {sorted(columns)}")
        for name in metrics:  # a column of no numbers would fail every trial, after the study was written
            if all(_number(row.get(name)) is None for row in rows.values() if isinstance(row, Mapping)):
                raise ConfigError("metric", f"column {name!r} of {source} holds no number in any of its "
                                            f"{len(rows)} rows (e.g. {first.get(name)!r} for {key0!r})")  # fmt: skip

    def constraints(self, space: SearchSpace) -> list[Constraint]:
        """The study's hook. A decision of ``space`` that the key template does not name is
        refused (``space.<name>``): every value of it would look up the same row; so is a name
        of the template that is not a decision (``key``). From here on a decision an
        architecture lacks (inactive under a condition) fills its field of the key as the empty
        string. A key function (e.g. the space's string form) is trusted to read them all. When
        the table holds only part of the space, the search is narrowed to the architectures
        with a row (:meth:`_coverage`), so none is proposed that would fail."""
        if not callable(self.key):
            named = set(_FIELD.findall(self.key))
            unknown = sorted(named - set(space.names))
            if unknown:
                raise ConfigError("key", f"names {unknown[0]!r}, which is not a decision of the space")
            self._decisions = frozenset(space.names)  # absent from an architecture: inactive, filled as ""
            unread = [n for n in space.names if n not in named]
            if unread:
                raise ConfigError(
                    f"space.{unread[0]}",
                    f"no part reads this decision: the table's key {self.key!r} does not name it, so every value of "
                    "it looks up the same row; name it in the key, or remove it from the space",
                )
        held = self._coverage(space)
        return [] if held is None else [held]

    def coverage_note(self) -> str | None:
        """What the study's narrowing to the table's rows was, in words (``None``: the table
        holds the whole space, or no study has asked yet)."""
        return self._note

    def holds(self, arch: Arch) -> bool:
        """Whether ``arch`` has a row in the table."""
        try:
            return self.key_of(arch) in self.rows
        except TrialFailed:
            return False

    def _coverage(self, space: SearchSpace) -> Constraint | None:
        """``None`` when every architecture of ``space`` has a row; else the constraint that
        keeps the search to those that do (a table measured on part of the space), listing them
        as its ``members`` when the keys can be read back into architectures (a key template
        whose fields are the decisions' values, or a one-cell space's strings), so that even a
        few rows of a vast space are sampled directly. Without that: judged from
        ``COVERAGE_SAMPLES`` random architectures and, when one lacks a row, counted over a space
        of at most ``COVERAGE_ENUMERATE``. No architecture with a row is refused (``key``); so is
        a value of a decision that no row holds (it would never be searched)."""
        which = "\n".join([*space.describe(), *(c.name for c in space.constraints)])
        known = self._covered.get(which)
        if known is not None:
            return known[0]
        found: Constraint | None = None
        total = space.cardinality
        rng = np.random.default_rng(0)
        archs = [space.sample(rng) for _ in range(COVERAGE_SAMPLES)]
        n = sum(1 for a in archs if self.holds(a))
        complete = n == len(archs) and len(self.rows) >= total
        members = None if complete else self._rows_as_archs(space)
        if members:
            if len(members) < total:
                self._refuse_unheld_values(space, None, members)
                share = f"{len(members)} of its {_count(total)} architectures"
                found = Constraint(self.holds, name=f"has a row in {self.source} ({share})", members=tuple(members))
                self._note = f"the search keeps to the {len(members)} with a row in {self.source}"
        elif not complete:
            if all(d.domain.size != math.inf for d in space.decisions) and total <= COVERAGE_ENUMERATE:
                archs = list(space.enumerate())
                held = [a for a in archs if self.holds(a)]
                n = len(held)
                share = f"{n} of its {len(archs)} architectures"
                if held:
                    self._refuse_unheld_values(space, archs, held)
            else:
                share = f"{n} of {len(archs)} random architectures of the space"
            if n == 0:
                raise ConfigError(
                    "key", f"no architecture of the space has a row in {self.source}: e.g. {self.key_of(archs[0])!r} is "
                           f"not among its keys (such as {next(iter(self.rows))!r}); check the key and the space's values",
                )  # fmt: skip
            if n < len(archs):
                found = Constraint(self.holds, name=f"has a row in {self.source} ({share})")
                self._note = (f"the search keeps to the {n} with a row in {self.source}" if share.endswith("architectures")
                              else f"the search keeps to those with a row in {self.source} ({share})")  # fmt: skip
        self._covered[which] = (found,)
        return found

    def _rows_as_archs(self, space: SearchSpace) -> list[Arch] | None:
        """The architectures of ``space`` whose key is a row of the table, read back from the
        keys: through a key template whose every field is a decision of finitely many values
        (an inactive one empty), or a one-cell space's strings for the default key. ``None``
        when the keys cannot be read back this way (then coverage is judged by lookups)."""
        parse = self._key_reader(space)
        if parse is None:
            return None
        out: list[Arch] = []
        for k in self.rows:
            try:
                arch = parse(k)
                if arch is None:
                    continue
                arch = space.validate(arch)
                if self.key_of(arch) == k:  # read back exactly: the row is this architecture's
                    out.append(arch)
            except (SpaceError, TrialFailed, ValueError, KeyError):
                continue  # a row that is not an architecture of this space
        return out

    def _key_reader(self, space: SearchSpace) -> Callable[[str], Mapping[str, Any] | None] | None:
        if callable(self.key):
            one_cell = len(space.cells) == 1 and len(space.names) == sum(len(c.edges) for c in space.cells.values())
            if getattr(self.key, "__func__", None) is SearchSpace.to_string and one_cell:
                return space.from_string  # the default key of a cell space: its strings read back
            return None
        decisions = {d.name: d for d in space.decisions}
        parts: list[str] = []
        groups: dict[str, str] = {}  # decision -> its regex group (a name used twice must match alike)
        by_text: dict[str, dict[str, Any]] = {}
        pos = 0
        for m in _FIELD.finditer(self.key):
            parts.append(re.escape(self.key[pos : m.start()]))
            pos = m.end()
            name = m.group(1)
            if name in groups:
                parts.append(f"(?P={groups[name]})")
                continue
            d = decisions[name]
            if d.domain.size == math.inf:
                return None
            texts = {str(v): v for v in d.domain.values()}
            if len(texts) != len(d.domain.values()):
                return None  # two values written alike: a key cannot tell them apart
            by_text[name] = texts
            groups[name] = f"f{len(groups)}"
            options = "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))
            parts.append(f"(?P<{groups[name]}>{options}{'|' if d.parent is not None else ''})")
        parts.append(re.escape(self.key[pos:]))
        pattern = re.compile("".join(parts))

        def read(text: str) -> Mapping[str, Any] | None:
            m = pattern.fullmatch(text)
            if m is None:
                return None
            return {name: by_text[name][m.group(g)] for name, g in groups.items() if m.group(g)}

        return read

    def _refuse_unheld_values(self, space: SearchSpace, archs: list[Arch] | None, held: list[Arch]) -> None:
        """A value of a decision that no row holds would never be searched (how the table
        writes it may differ from the space, e.g. ``5e-4`` and ``0.0005``): refused, naming it.
        ``archs``: the space's architectures (``None``: each finite decision's values, with
        an architecture that has it made from a held one)."""
        for name in space.names:
            seen = {a[name] for a in held if name in a}
            d = space.decision(name)
            if archs is None:
                if d.domain.size == math.inf or not seen:
                    continue  # never active in any row: reported at the decision that switches it on
                base = next(a for a in held if name in a)
                missing = [Arch({**base.to_dict(), name: v}) for v in d.domain.values() if v not in seen]
            else:
                missing = [a for a in archs if name in a and a[name] not in seen]
            if missing:
                arch = missing[0]
                raise ConfigError(
                    f"space.{name}",
                    f"value {arch[name]!r} has no row in {self.source} (e.g. {self.key_of(arch)!r} is not among "
                    "its keys), so it would never be searched; remove it from the space, or check how the table "
                    "writes it",
                )

    def equivalence(self, space: SearchSpace) -> Callable[[Arch], str | None] | None:
        """The study's hook for declared equivalence: with an ``id`` column, a function giving
        each architecture its row's id (``None`` for one not in the table, which keeps its
        structural key); ``None`` without one."""
        return self.id_of if self.id is not None else None

    def id_of(self, arch: Arch) -> str | None:
        """``"{id column}:{value}"`` of ``arch``'s row; ``None`` when it has no row or no id."""
        if self.id is None:
            return None
        try:
            row = self.rows.get(self.key_of(arch))
        except (TrialFailed, KeyError):
            return None
        value = None if row is None else row.get(self.id)
        return None if value is None or value == "" else f"{self.id}:{value}"

    def key_of(self, arch: Arch) -> str:
        """The row key of ``arch``."""
        if callable(self.key):
            return self.key(arch)
        try:
            return format_key(self.key, arch, self._decisions)
        except KeyError as exc:
            raise TrialFailed(
                f"key template {self.key!r} names {exc.args[0]!r}, which this architecture lacks"
            ) from None

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
        field: str = "table",
        id: str | None = None,
    ) -> Table:
        """Read a table from a CSV (one row per architecture, ``key_column`` holds the key), a
        JSON list of records (the same), or a JSON object mapping keys to records.

        ``key_column`` defaults to ``arch``, then ``key``, then the first column.
        """
        with called("Table"):
            return cls._from_file(
                path, key=key, key_column=key_column, metric=metric, report=report, cost=cost, field=field, id=id
            )

    @classmethod
    def _from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        key: str | Callable[[Arch], str],
        key_column: str | None,
        metric: str | Sequence[str],
        report: Sequence[str],
        cost: str | None,
        field: str,
        id: str | None = None,
    ) -> Table:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(field, f"file {str(p)!r} does not exist; give the path of a CSV or JSON table")
        records: list[dict[str, Any]] | None = None
        rows: dict[str, dict[str, Any]] = {}
        try:
            if p.suffix.lower() == ".json":
                data = json.loads(p.read_text(encoding="utf-8-sig"), object_pairs_hook=_unique_keys)
                if isinstance(data, dict):
                    if not all(isinstance(v, dict) for v in data.values()):
                        raise ConfigError(field, f"{p.name}: a JSON object table must map keys to records")
                    rows = {str(k): v for k, v in data.items()}
                elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
                    records = data
                else:
                    raise ConfigError(field, f"{p.name}: JSON must be a list of records or an object of records")
            else:
                with p.open(newline="", encoding="utf-8-sig") as fh:  # -sig: a spreadsheet's byte-order mark
                    records = list(csv.DictReader(fh))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            raise ConfigError(field, f"cannot read {str(p)!r}: {exc}") from None
        except RecursionError:
            raise ConfigError(field, f"cannot read {str(p)!r}: it nests lists or objects too deeply") from None
        if records is not None:
            if not records:
                raise ConfigError(field, f"{p.name} has no rows")
            columns = list(records[0])
            column = key_column or next((c for c in ("arch", "key") if c in columns), None)
            if column is None:
                raise ConfigError("key_column", f"{p.name} has no `key` or `arch` column; name the column that holds "
                                                f"each row's key with key_column (its columns are {columns})")  # fmt: skip
            if column not in columns:
                raise ConfigError("key_column", f"column {column!r} is not in {p.name}; its columns are {columns}")
            rows = _rows_by_key(records, column, p.name, field, csv_rows=p.suffix.lower() != ".json")
        try:
            return cls(
                rows, key=key, metric=metric, report=report, cost=cost, source=p.name, path=p, key_column=key_column,
                id=id,
            )
        except ConfigError as exc:
            raise exc.within("") from None

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], space: SearchSpace, base: Path) -> EvaluatorSetup:
        """``{table: FILE, metric: column | [columns], key: "{decision}-...", key_column,
        report: [columns], cost: column, id: column}``; without ``key`` an architecture's key is
        the space's string form; ``id`` names the column whose equal values mark rows of one
        network. Default objective: the first metric, maximized. Errors name
        fields relative to the evaluator's config."""
        check_keys(spec, {"table", "key", "key_column", "metric", "report", "cost", "id"})
        if "metric" not in spec:
            raise ConfigError("metric", "is required: the column the search maximizes or minimizes")
        metric = str_list(spec["metric"], "metric", what="a column name or a list of them", empty_ok=False)
        key = spec.get("key")
        if key is not None:
            non_empty_str(key, "key", what="a format string over decision names such as '{kernel}-{units}'")
            for name in _FIELD.findall(key):
                if name not in space.names:
                    raise ConfigError("key", f"names {name!r}, which is not a decision of the space")
        key_column = spec.get("key_column")
        if key_column is not None:
            non_empty_str(key_column, "key_column", what="a column name")
        table = cls._from_file(
            resolve_path(spec["table"], "table", base).resolve(), key=key if key is not None else space.to_string,
            key_column=key_column, metric=metric, report=str_list(spec.get("report"), "report", what="a list of column names"),
            cost=spec.get("cost"), field="table", id=spec.get("id"),
        )  # fmt: skip
        return EvaluatorSetup(table, {m: "maximize" for m in metric[:1]}, space=space, base_dir=base)

    def to_config(self) -> dict[str, Any]:
        """The ``evaluator:`` config that rebuilds this table (its file, by absolute path, and
        options); :class:`NotStorable` for rows given in memory or a callable key other than
        a space's string form."""
        if self.path is None:
            raise NotStorable("a Table built from rows in memory cannot be stored; read it with Table.from_file")
        out: dict[str, Any] = {"table": str(Path(self.path).resolve()), "metric": list(self.metrics)}
        if isinstance(self.key, str):
            out["key"] = self.key
        elif getattr(self.key, "__name__", None) != "to_string":
            raise NotStorable("a Table with a key function cannot be stored; give the key as a format string")
        if self.key_column is not None:
            out["key_column"] = self.key_column
        if self.report:
            out["report"] = list(self.report)
        if self.cost is not None:
            out["cost"] = self.cost
        if self.id is not None:
            out["id"] = self.id
        return out


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
    field: str = "",
) -> Table:
    """The NAS-Bench-201 table (in the format of ``nasbench201_12epoch.csv``) as an evaluator.

    ``path`` defaults to the environment variable ``NASFORGE_NB201``. Search on a ``*-val``
    column and report the matching ``*-test`` column.
    """
    with called("nasbench201"):
        return _nasbench201(path, metric=metric, report=report, space=space, field=field)


def _nasbench201(
    path: str | os.PathLike[str] | None, *, metric: str, report: Sequence[str], space: SearchSpace | None, field: str
) -> Table:
    from ..space import builtin

    pre = f"{field}." if field else ""
    if path is None:
        path = os.environ.get("NASFORGE_NB201")
        if not path:
            raise ConfigError(
                f"{pre}path",
                "no NAS-Bench-201 table given: set `path:` in the evaluator config or the environment variable "
                "NASFORGE_NB201 to the CSV (e.g. ../shared/benchmarks/nasbench201_12epoch.csv)",
            )
    for name in [metric, *report]:
        if name not in NB201_COLUMNS:
            raise ConfigError(
                f"{pre}metric", f"{name!r} is not a NAS-Bench-201 column; choose from {list(NB201_COLUMNS)}"
            )
    space = space or builtin("nasbench201")
    return Table._from_file(path, key=space.to_string, key_column="arch", metric=metric, report=list(report),
                            cost=None, field=f"{pre}path")  # fmt: skip


def nasbench201_from_config(spec: Mapping[str, Any], space: SearchSpace, base: Path) -> EvaluatorSetup:
    """``{benchmark: nasbench201, path: FILE, metric: cifar10-val, report: [columns]}``; the
    path defaults to ``$NASFORGE_NB201`` and is stored resolved, so that resume and report
    need no environment."""
    check_keys(spec, {"benchmark", "path", "metric", "report"})
    if spec["benchmark"] != "nasbench201":
        raise ConfigError("benchmark", f"unknown benchmark {spec['benchmark']!r}; known: ['nasbench201']")
    if space.name != "nasbench201" and not space.cells:
        raise ConfigError("space", "the nasbench201 benchmark needs `space: nasbench201`")
    metric = spec.get("metric", "cifar10-val")
    non_empty_str(metric, "metric", what="a NAS-Bench-201 column name")
    path = resolve_path(spec["path"], "path", base).resolve() if spec.get("path") else None
    table = _nasbench201(path, metric=metric, report=str_list(spec.get("report", []), "report"), space=space, field="")
    resolved = {"path": str(Path(str(table.path)).resolve())}
    return EvaluatorSetup(table, {metric: "maximize"}, resolved, space=space, base_dir=base)


class _DuplicateKey(json.JSONDecodeError):
    def __str__(self) -> str:
        return self.msg


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``'s object hook: a key given twice is refused (the last would silently win)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"key {key!r} appears twice in one object", "", 0)
        out[key] = value
    return out


def _rows_by_key(
    records: list[dict[str, Any]], column: str, source: str, field: str, *, csv_rows: bool
) -> dict[str, dict[str, Any]]:
    """Records by their ``column``; a ragged CSV row or a key given twice is refused (naming
    both rows), never silently resolved by the last one winning."""
    rows: dict[str, dict[str, Any]] = {}
    first: dict[str, int] = {}
    for i, record in enumerate(records, 1):
        if csv_rows and (None in record or any(value is None for value in record.values())):
            raise ConfigError(field, f"{source}: row {i} has {'more' if None in record else 'fewer'} fields than its header")
        key = str(record.get(column))
        if key in rows:
            raise ConfigError(field, f"{source}: key {key!r} of column {column!r} is in rows {first[key]} and {i}; "
                                     "keep one row per architecture")  # fmt: skip
        rows[key], first[key] = record, i
    return rows


def _count(total: float) -> str:
    return f"{total:.0f}" if total < 1e15 else f"{total:.3g}"
