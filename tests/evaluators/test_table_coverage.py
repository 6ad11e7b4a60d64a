"""A table measured on part of the space: the search keeps to the architectures that have a
row (no trial fails for a missing row, whatever the strategy), a key that finds no row at all is
refused before any work, and a complete table adds no constraint."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasforge import Study, TrialState
from nasforge._errors import ConfigError
from nasforge.evaluators import Table
from nasforge.space import Choice, Conditional, SearchSpace

SPACE = {"a": Choice([0, 1, 2, 3, 4, 5]), "b": Choice(["x", "y", "z"]), "c": Choice([8, 16, 32, 64])}


def _rows(keep: float, seed: int = 0) -> dict[str, dict[str, float]]:
    """A share ``keep`` of the 72 architectures, each with a made-up accuracy."""
    rng = np.random.default_rng(seed)
    rows = {}
    for a, b, c in itertools.product(*(d.values() for d in SPACE.values())):
        if rng.random() < keep:
            rows[f"{a}-{b}-{c}"] = {"acc": float(a + "xyz".index(b) + np.log2(c) + rng.normal(0, 0.1))}
    return rows


@pytest.mark.parametrize("strategy", ["random", "grid", "evolution", "local-search", "hill-climbing", "bayesian"])
def test_a_partial_table_is_searched_without_failed_trials(strategy: str) -> None:
    rows = _rows(0.5)  # 40 of 72, more than evolution's population of 20
    table = Table(rows, key="{a}-{b}-{c}", metric="acc")
    study = Study(SearchSpace(SPACE), table, strategy=strategy, objectives={"acc": "maximize"}, seed=1, progress=False)
    study.run(trials=len(rows))
    assert len(study.trials) == len(rows)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert {f"{t.arch['a']}-{t.arch['b']}-{t.arch['c']}" for t in study.trials} == set(rows)  # each row once
    assert study.best is not None and study.best.metrics["acc"] == max(r["acc"] for r in rows.values())
    (held,) = table.constraints(SearchSpace(SPACE))
    assert held.name == f"has a row in {table.source} ({len(rows)} of its 72 architectures)"


def test_a_table_with_every_row_adds_no_constraint() -> None:
    assert Table(_rows(1.0), key="{a}-{b}-{c}", metric="acc").constraints(SearchSpace(SPACE)) == []


def test_a_key_that_finds_no_row_is_refused_before_any_work() -> None:
    table = Table(_rows(1.0), key="{a}/{b}/{c}", metric="acc")
    with pytest.raises(ConfigError, match=r"^key: no architecture of the space has a row in .*: e\.g\. '0/x/8' is not "
                                          r"among its keys \(such as '0-x-8'\); check the key"):  # fmt: skip
        Study(SearchSpace(SPACE), table, strategy="random", objectives={"acc": "maximize"})


def test_sampling_under_a_constraint_few_architectures_meet_falls_back_to_enumerating_them() -> None:
    space = SearchSpace({f"d{i}": Choice(list(range(10))) for i in range(4)},
                        constraints=[lambda a: a["d0"] == 7 and a["d1"] == 3 and a["d2"] in (1, 2)])  # fmt: skip
    rng = np.random.default_rng(0)
    drawn = [space.sample(rng) for _ in range(200)]  # 20 of 10,000 meet it: rejection sampling gives up
    assert all(a["d0"] == 7 and a["d1"] == 3 and a["d2"] in (1, 2) for a in drawn)
    assert len({a.id for a in drawn}) == 20  # uniform over the 20: every one drawn in 200


def test_a_value_no_row_holds_is_refused_naming_it() -> None:
    """The table writes 0.0005 where the space says 5e-4: without the check that value would
    silently never be searched."""
    rows = {f"{lr}-{u}": {"acc": 1.0} for lr in ("0.0005", "0.001", "0.01") for u in (16, 32)}
    space = SearchSpace({"lr": Choice([5e-4, 1e-3, 1e-2]), "units": Choice([16, 32])})
    rows = {k.replace("0.0005", "5e-04"): r for k, r in rows.items()}
    table = Table(rows, key="{lr}-{units}", metric="acc")
    with pytest.raises(ConfigError, match=r"^space.lr: value 0.0005 has no row in table \(e\.g\. '0.0005-16' is not among "
                                          r"its keys\), so it would never be searched"):  # fmt: skip
        Study(space, table, strategy="random", objectives={"acc": "maximize"})


@pytest.mark.parametrize("strategy", ["random", "evolution", "bayesian", "grid"])
def test_a_few_rows_of_a_vast_space_are_searched_directly(strategy: str) -> None:
    """300 measured networks of a space of 2 billion: the keys are read back into architectures,
    so the search draws from them (rejection sampling would almost never hit one)."""
    space = SearchSpace({f"d{i}": Choice([1, 2, 3, 4, 5, 6]) for i in range(12)})
    rng = np.random.default_rng(0)
    rows = {}
    while len(rows) < 300:
        values = rng.integers(1, 7, size=12)
        rows["_".join(map(str, values))] = {"acc": float(values[:3].sum() - values[3:].std())}
    table = Table(rows, key="_".join(f"{{d{i}}}" for i in range(12)), metric="acc")
    study = Study(space, table, strategy=strategy, objectives={"acc": "maximize"}, seed=0, progress=False)
    assert study.space.cardinality == 300
    study.run(trials=60)
    assert len(study.trials) == 60 and all(t.state is TrialState.COMPLETE for t in study.trials)
    assert table.coverage_note() == "the search keeps to the 300 with a row in table"


def test_rows_read_back_through_a_template_with_conditional_and_repeated_fields() -> None:
    space = SearchSpace({"depth": Choice([1, 2]), "w": Choice([16, 32]),
                         "w2": Conditional(Choice([16, 32]), "depth", (2,))})  # fmt: skip
    rows = {"1-16-|16": {"acc": 1.0}, "2-32-16|32": {"acc": 2.0}, "2-16-32|16": {"acc": 3.0},
            "2-16-32|32": {"acc": 0.0}, "3-16-16|16": {"acc": 9.0}}  # fmt: skip  # last two: w differs / not in space
    table = Table(rows, key="{depth}-{w}-{w2}|{w}", metric="acc")
    (held,) = table.constraints(space)
    assert held.members is not None
    assert sorted(map(dict, held.members), key=str) == sorted(
        [{"depth": 1, "w": 16}, {"depth": 2, "w": 32, "w2": 16}, {"depth": 2, "w": 16, "w2": 32}], key=str
    )
