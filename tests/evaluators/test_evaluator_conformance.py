"""Every evaluator through the same checks (nasforge.testing.evaluators)."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pytest

from nasforge.evaluators import Function, Table, Trainer, ZeroCost
from nasforge.space import Choice, SearchSpace, builtin
from nasforge.testing.evaluators import EvaluatorConformance


def _toy_space() -> SearchSpace:
    return SearchSpace({"k": Choice([1, 3, 5]), "w": Choice([8, 16])})


def toy(arch):  # type: ignore[no-untyped-def]
    return {"acc": arch["k"] / 10 + arch["w"] / 100}


class TestFunction(EvaluatorConformance):
    space = staticmethod(_toy_space)
    make = staticmethod(lambda: Function(toy, metrics=["acc"]))


_TABLE_DIR = Path(tempfile.mkdtemp(prefix="nasforge-table-"))


def _table_file() -> Path:
    """A small CSV table of the toy space (written once, in a temporary folder)."""
    path = _TABLE_DIR / "table.csv"
    if not path.exists():
        with path.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["key", "acc", "params"])
            for k in (1, 3, 5):
                for w in (8, 16):
                    out.writerow([f"{k}-{w}", k / 10 + w / 100, k * k * w])
    return path


class TestTable(EvaluatorConformance):
    space = staticmethod(_toy_space)
    make = staticmethod(lambda: Table.from_file(_table_file(), key="{k}-{w}", key_column="key", metric=["acc", "params"]))


class TestZeroCost(EvaluatorConformance):
    space = staticmethod(lambda: builtin("seed-cnn"))
    make = staticmethod(lambda: ZeroCost("digits", space="seed-cnn", proxy=["synflow", "naswot"]))
    count = 2


@pytest.mark.slow
class TestTrainer(EvaluatorConformance):
    space = staticmethod(lambda: builtin("seed-cnn"))
    make = staticmethod(lambda: Trainer("digits", space="seed-cnn", epochs=1, measure_latency=False))
    count = 2
