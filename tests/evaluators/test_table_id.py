"""Declared equivalence: a table's ``id`` column and a space's ``canonical`` function decide
which architectures are the same network, for the study and every strategy."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nasforge import Study
from nasforge._errors import ConfigError, SpaceError
from nasforge.config import RunConfig
from nasforge.evaluators import Function, Table
from nasforge.space import Arch, Choice, SearchSpace, from_config

SPACE_CONFIG = {"decisions": {"a": {"choice": ["p", "q", "r"]}, "b": {"choice": ["p", "q", "r"]}}}


def _same_pair(arch: Arch) -> str:
    """(a, b) and (b, a) are one network."""
    return "-".join(sorted((str(arch["a"]), str(arch["b"]))))


@pytest.fixture
def id_table(tmp_path: Path) -> Path:
    """9 rows over a x b; the id says (a, b) and (b, a) are one network (6 networks)."""
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["arch", "acc", "net"])
        for a in "pqr":
            for b in "pqr":
                w.writerow([f"{a}{b}", "pqr".index(a) + "pqr".index(b), "".join(sorted(a + b))])
    return path


@pytest.mark.parametrize("strategy", ["random", "grid", "local-search", "evolution", "bayesian"])
def test_a_table_id_column_is_the_dedup_key_of_every_strategy(id_table: Path, strategy: str) -> None:
    space = from_config(SPACE_CONFIG)
    table = Table.from_file(id_table, key="{a}{b}", metric="acc", id="net")
    options = {"population": 2, "sample_size": 1} if strategy == "evolution" else {}
    if strategy in ("local-search", "bayesian"):
        options = {"initial": 2}
    from nasforge.strategies import make_strategy

    study = Study(space, table, make_strategy(strategy, options), {"acc": "maximize"}, seed=0, progress=False)
    study.run()  # until the strategy is exhausted
    nets = [table.rows[table.key_of(t.arch)]["net"] for t in study.trials]
    assert len(nets) == len(set(nets)) == 6
    assert study.space.canonical(Arch({"a": "p", "b": "q"})) == study.space.canonical(Arch({"a": "q", "b": "p"}))


def test_the_id_column_is_read_from_the_config_checked_and_stored(id_table: Path) -> None:
    data = {
        "name": "ids",
        "space": SPACE_CONFIG,
        "evaluator": {"table": id_table.name, "key": "{a}{b}", "metric": "acc", "id": "net"},
        "objectives": {"acc": "maximize"},
        "budget": {"trials": 20},
    }
    cfg = RunConfig.parse(data, id_table.parent)
    parts = cfg.build()
    assert isinstance(parts.evaluator, Table) and parts.evaluator.id == "net"
    assert parts.evaluator.to_config()["id"] == "net"  # stored with the run: resume rebuilds it
    study = Study(parts.space, parts.evaluator, parts.strategy, parts.objectives, seed=1, progress=False).run()
    assert len(study.trials) == 6
    assert study.space.to_config() == parts.space.to_config()  # the id is the table's, not the space's
    with pytest.raises(ConfigError, match="id: column 'hash' is not in pairs.csv"):
        RunConfig.parse({**data, "evaluator": {**data["evaluator"], "id": "hash"}}, id_table.parent)


def test_rows_without_an_id_keep_their_structural_key(tmp_path: Path) -> None:
    rows = {"pp": {"acc": 1, "net": "x"}, "pq": {"acc": 2, "net": ""}, "qp": {"acc": 3, "net": ""}}
    table = Table(rows, key="{a}{b}", metric="acc", id="net")
    assert table.id_of(Arch({"a": "p", "b": "p"})) == "net:x"
    assert table.id_of(Arch({"a": "p", "b": "q"})) is None and table.id_of(Arch({"a": "r", "b": "r"})) is None
    space = from_config(SPACE_CONFIG).with_canonical(table.id_of)
    assert space.canonical(Arch({"a": "p", "b": "q"})) != space.canonical(Arch({"a": "q", "b": "p"}))


def test_a_python_canonical_function_is_the_dedup_key_but_cannot_be_stored() -> None:
    space = SearchSpace({"a": Choice(["p", "q", "r"]), "b": Choice(["p", "q", "r"])}, canonical=_same_pair)
    study = Study(space, Function(lambda arch: {"y": 1.0}), "random", {"y": "maximize"}, seed=0, progress=False).run()
    assert sorted(_same_pair(t.arch) for t in study.trials) == ["p-p", "p-q", "p-r", "q-q", "q-r", "r-r"]
    narrowed = space.with_constraints([lambda arch: arch["a"] != "r"])
    assert narrowed.canonical(Arch({"a": "p", "b": "q"})) == narrowed.canonical(Arch({"a": "q", "b": "p"}))
    with pytest.raises(SpaceError, match="space.canonical: is a Python function"):
        space.to_config()
    assert space.to_config(drop_python_constraints=True) == {
        "name": "space",
        "decisions": {"a": {"choice": ["p", "q", "r"]}, "b": {"choice": ["p", "q", "r"]}},
    }
    with pytest.raises(SpaceError, match="space.canonical"):
        SearchSpace({"a": Choice([1])}, canonical="a")  # type: ignore[arg-type]
