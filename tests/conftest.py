"""Shared fixtures: toy spaces whose score is a formula, and small synthetic tables."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from nasforge.space import Choice, IntRange, SearchSpace


def toy_space() -> SearchSpace:
    """Three decisions; the score below peaks at kernel 3, width 32, depth 3."""
    return SearchSpace({"kernel": Choice([1, 3, 5, 7]), "width": Choice([8, 16, 32, 64]), "depth": IntRange(1, 5)})


def toy_score(arch) -> dict[str, float]:  # type: ignore[no-untyped-def]
    widths = {8: 0, 16: 1, 32: 2, 64: 3}
    return {"score": -((arch["kernel"] - 3) ** 2) - (widths[arch["width"]] - 2) ** 2 - (arch["depth"] - 3) ** 2}


@pytest.fixture
def space() -> SearchSpace:
    return toy_space()


@pytest.fixture
def table_csv(tmp_path: Path) -> Path:
    """A synthetic results table over the toy space, keyed by "{kernel}-{width}-{depth}" (80 rows)."""
    path = tmp_path / "results.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "acc", "test_acc", "seconds"])
        for k, wd, d in itertools.product([1, 3, 5, 7], [8, 16, 32, 64], range(1, 6)):
            s = toy_score({"kernel": k, "width": wd, "depth": d})["score"]
            w.writerow([f"{k}-{wd}-{d}", 90 + s, 89 + s, k * wd])
    return path
