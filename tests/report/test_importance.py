"""Decision importance: fANOVA main effects of a Gaussian process integrated over the space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nasforge
from nasforge.report import compute_importance, pareto_mask
from nasforge.space import Cell, Choice, FloatRange, IntRange, SearchSpace


def test_a_driving_decision_ranks_above_one_that_does_not() -> None:
    rng = np.random.default_rng(0)
    space = SearchSpace({"drives": Choice([0, 1, 2]), "idle": Choice([0, 1, 2]), "lr": FloatRange(1e-3, 1.0, log=True)})
    study = nasforge.search(space, nasforge.Function(lambda a: {"y": 3 * a["drives"] + 0.1 * rng.normal()}),
                            strategy="random", objectives={"y": "maximize"}, trials=120, seed=1)  # fmt: skip
    shares = nasforge.importance(study)
    assert next(iter(shares)) == "drives"
    assert shares["drives"] > 0.8 and shares["idle"] < 0.05 and shares["lr"] < 0.05


def test_shares_match_the_variance_of_an_additive_function() -> None:
    # y = 3a + c/2 with a uniform on {0,1,2} and c on 1..8: Var = 9*2/3 = 6 and 0.25*63/12 = 1.3125.
    space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice(["x", "y"]), "c": IntRange(1, 8)})
    study = nasforge.search(space, nasforge.Function(lambda x: {"y": 3 * x["a"] + x["c"] / 2}), strategy="grid",
                            objectives={"y": "maximize"})  # fmt: skip
    imp = compute_importance(study)
    assert imp.shares["a"] == pytest.approx(6 / 7.3125, abs=0.03)
    assert imp.shares["c"] == pytest.approx(1.3125 / 7.3125, abs=0.03)
    assert imp.shares["b"] < 0.01 and imp.interactions < 0.03
    assert "fANOVA" in imp.method and "48 complete trials" in imp.method


def test_each_cell_edge_is_one_decision() -> None:
    space = SearchSpace({"cell": Cell(nodes=4, ops=["none", "skip_connect", "conv"])})
    fn = nasforge.Function(lambda a: {"acc": 5.0 * (a["cell.0-3"] == "conv") + 0.2 * (a["cell.0-1"] == "conv")})
    study = nasforge.search(space, fn, strategy="grid", objectives={"acc": "maximize"})
    shares = nasforge.importance(study)
    assert set(shares) == set(space.names)
    assert next(iter(shares)) == "cell.0-3"


def test_importance_of_a_run_directory_and_of_another_metric(table_run: Path) -> None:
    shares = nasforge.importance(table_run)
    assert set(shares) == {"kernel", "width", "depth"} and sum(shares.values()) <= 1.0 + 1e-9
    assert set(nasforge.importance(table_run, metric="acc")) == set(shares)


def test_too_few_trials_is_a_clear_error() -> None:
    space = SearchSpace({"a": Choice([0, 1])})
    study = nasforge.search(
        space, nasforge.Function(lambda x: {"y": x["a"]}), strategy="grid", objectives={"y": "maximize"}
    )
    with pytest.raises(nasforge.ConfigError, match="at least 4 complete trials"):
        nasforge.importance(study)


def test_pareto_mask_agrees_with_objectives() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 6, size=(300, 2)).astype(float)
    mask = pareto_mask(values)
    slow = [not any((o >= v).all() and (o > v).any() for o in values) for v in values]
    assert mask.tolist() == slow


def test_importance_carries_an_interval_per_share() -> None:
    import nasforge
    from nasforge.report import compute_importance
    from nasforge.space import Choice, SearchSpace

    space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1, 2]), "c": Choice([0, 1])})
    fn = nasforge.Function(lambda x: {"y": 3.0 * x["a"] + 0.1 * x["b"]})
    imp = compute_importance(nasforge.search(space, fn, strategy="grid", objectives={"y": "maximize"}, progress=False))
    assert list(imp.intervals) == list(imp.shares)
    low, high = imp.intervals["a"]
    assert 0.5 < low <= high <= 1.0 and imp.intervals["c"][1] < 0.05


def test_importance_is_taken_over_the_space_with_a_parent_a_depth_and_a_long_range() -> None:
    from nasforge.space import Conditional, Repeat

    # y depends on the parent (opt), on the depth of the repeated block and, through the
    # conditional, on mom; the long float range and the layers' kernels do nothing.
    space = SearchSpace({
        "opt": Choice(["sgd", "adam"]), "mom": Conditional(Choice([0.0, 0.9]), "opt", ("sgd",)),
        "layers": Repeat({"k": Choice([3, 5])}, 1, 3), "lr": FloatRange(1e-4, 1.0, log=True),
    })  # fmt: skip

    def score(a: nasforge.Arch) -> dict[str, float]:
        return {"y": 2.0 * (a["opt"] == "adam") + 1.5 * a["layers"] + 3.0 * (a.get("mom") == 0.9)}

    study = nasforge.search(space, nasforge.Function(score), strategy="random", objectives={"y": "maximize"},
                            trials=80, seed=2, progress=False)  # fmt: skip
    imp = compute_importance(study, resamples=4)
    assert set(list(imp.shares)[:3]) == {"opt", "layers", "mom"} and imp.interactions < 0.5
    assert imp.shares["lr"] < 0.02 and all(imp.shares[f"layers.{i}.k"] < 0.02 for i in range(3))
    low, high = imp.intervals["layers"]
    assert low <= imp.shares["layers"] <= high or high - low < 1e-9
