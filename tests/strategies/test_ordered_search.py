"""Strategies use the order of ordered choices: the GP interpolates between ordered values,
local search moves one step along the order."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge import Study
from nasforge.evaluators import Function
from nasforge.space import Arch, Choice, Conditional, FloatRange, IntRange, SearchSpace, builtin
from nasforge.space._neighbours import one_change_neighbours
from nasforge.strategies import GaussianProcess, make_strategy
from nasforge.strategies._util import decision_weights, near, one_change, unconstrained


def test_gp_on_ordered_encodings_interpolates_between_observed_values() -> None:
    units = [16, 32, 64, 128, 256]
    for ordered, increasing in ((None, True), (False, False)):
        space = SearchSpace({"units": Choice(units, ordered=ordered)})
        x = np.stack([space.encode(Arch({"units": u})) for u in (16, 256)])
        gp = GaussianProcess(noise=1e-3).fit(x, np.array([0.0, 4.0]))
        mean, _ = gp.predict(np.stack([space.encode(Arch({"units": u})) for u in (32, 64, 128)]))
        if increasing:  # ordered: 32 is nearer 16, 128 nearer 256
            assert mean[0] < mean[1] < mean[2]
        else:  # one-hot: every unseen value is as far from both observations
            assert np.allclose(mean, mean[0])


def _peak(arch: Arch) -> dict[str, float]:
    return {"y": -abs(int(arch["x"]) - 37)}


def test_local_search_walks_along_the_order() -> None:
    values = list(range(60))
    space = SearchSpace({"x": Choice(values)})
    for seed in range(3):
        study = Study(
            space, Function(_peak), make_strategy("local-search", {"initial": 1}), {"y": "maximize"}, seed=seed
        )
        study.run(trials=70)
        xs = [int(t.arch["x"]) for t in study.trials]
        found = xs.index(37) + 1
        # from the start, each proposal until the peak is one step from an earlier one
        assert all(min(abs(x - y) for y in xs[:k]) == 1 for k, x in enumerate(xs[1:found], start=1))
        assert found <= abs(xs[0] - 37) + 2


def test_bayesian_finds_a_smooth_ordered_optimum_quickly() -> None:
    values = [round(1e-4 * 1.25**k, 10) for k in range(40)]  # a float list spanning 6000x: log scale
    space = SearchSpace({"lr": Choice(values)})

    def score(arch: Arch) -> dict[str, float]:
        return {"y": -((np.log(float(arch["lr"])) - np.log(values[23])) ** 2)}

    for seed in range(3):
        study = Study(space, Function(score), make_strategy("bayesian", {"initial": 4}), {"y": "maximize"}, seed=seed)
        study.run(trials=14)
        assert max(t.metrics["y"] for t in study.trials) == 0.0, seed


def test_a_label_change_is_as_far_as_an_ordered_choice_or_range_moved_end_to_end() -> None:
    """The GP's inputs (``decision_weights`` times ``encode``): one lengthscale treats a categorical
    change and the whole range of a number alike (unweighted, the label change is sqrt(2) times
    farther), and a space of labels alone encodes as before."""
    space = SearchSpace({
        "act": Choice(["relu", "tanh", "elu"]), "units": Choice([16, 64, 512]),
        "lr": Choice([1e-3, 1e-2, 1e-1]), "depth": IntRange(1, 9), "drop": FloatRange(0.0, 0.5),
    })  # fmt: skip
    w = decision_weights(space)
    base = {"act": "relu", "units": 16, "lr": 1e-3, "depth": 1, "drop": 0.0}
    far = {"act": "tanh", "units": 512, "lr": 1e-1, "depth": 9, "drop": 0.5}
    code = space.encode(Arch(base)) * w
    distances = {name: float(np.linalg.norm(space.encode(Arch({**base, name: far[name]})) * w - code)) for name in base}
    assert distances == pytest.approx(dict.fromkeys(base, distances["act"]))
    unweighted = np.linalg.norm(space.encode(Arch({**base, "act": "tanh"})) - space.encode(Arch(base)))
    assert unweighted == pytest.approx(np.sqrt(2) * np.linalg.norm(space.encode(Arch({**base, "units": 512}))
                                                                   - space.encode(Arch(base))))  # fmt: skip
    labels = SearchSpace({"a": Choice(["x", "y"]), "b": Choice(["p", "q", "r"])})
    assert decision_weights(labels).tolist() == [1.0] * labels.encoding_width
    conditional = SearchSpace(
        {"opt": Choice(["sgd", "adam"]), "beta": Conditional(FloatRange(0.8, 0.99), "opt", ["adam"])}
    )
    assert len(decision_weights(conditional)) == conditional.encoding_width


@pytest.mark.parametrize("which", ["nasbench201", "chain", "constrained", "conditional"])
def test_one_change_lists_what_the_space_lists_in_the_same_order(which: str) -> None:
    """The strategies' fast path for spaces without conditions or depth gives the space's own
    one-decision neighbourhood exactly (the Bayesian search depends on its order)."""
    spaces = {
        "nasbench201": builtin("nasbench201"),
        "chain": SearchSpace({"k": Choice([1, 3, 5, 7]), "w": IntRange(8, 64, step=8), "act": Choice(["relu", "gelu"]),
                              "lr": FloatRange(1e-4, 1e-1, log=True, grid=5)}),
        "constrained": SearchSpace(
            {"a": IntRange(0, 9), "b": IntRange(0, 9), "c": Choice(["x", "y", "z"])},
            constraints=[lambda a: a["a"] + a["b"] <= 9, lambda a: not (a["c"] == "y" and a["a"] == 4)],
        ),
        "conditional": SearchSpace({"opt": Choice(["sgd", "adam"]), "lr": IntRange(1, 5),
                                    "beta": Conditional(IntRange(1, 4), "opt", ["adam"])}),
    }  # fmt: skip
    space = spaces[which]
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        for limit in (64, 3):
            assert one_change(space, arch, limit=limit) == one_change_neighbours(space, arch, limit=limit)


def test_the_one_change_walk_goes_on_past_a_value_that_breaks_a_constraint() -> None:
    """A table without rows for lr = 1e-3: an ordered walk from 1e-4 still reaches 1e-2 and 1e-1."""
    lrs = [1e-4, 1e-3, 1e-2, 1e-1]
    space = SearchSpace({"lr": Choice(lrs), "u": Choice([8, 16])}, constraints=[lambda a: a["lr"] != 1e-3])
    start = Arch({"lr": 1e-4, "u": 8})
    for found in (one_change(space, start), one_change_neighbours(space, start)):
        assert sorted((a["lr"], a["u"]) for a in found) == [(1e-4, 16), (1e-2, 8), (1e-1, 8)]


def test_a_sparse_neighbourhood_takes_in_the_two_change_neighbours() -> None:
    space = SearchSpace({"a": Choice([1, 2, 3, 4]), "b": Choice(["x", "y", "z"])},
                        constraints=[lambda x: (x["a"], x["b"]) in {(1, "x"), (2, "y"), (3, "z"), (4, "x")}])  # fmt: skip
    start = Arch({"a": 1, "b": "x"})
    assert [dict(n) for n in near(space, unconstrained(space), start)] == [
        {"a": 4, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "z"}]  # fmt: skip  # 1 of 5 one-change: two-change added
    full = SearchSpace({"a": Choice([1, 2, 3, 4]), "b": Choice(["x", "y", "z"])})
    assert unconstrained(full) is None and len(near(full, None, start)) == 5  # no constraint: the one-change ones


def test_local_search_on_a_sparse_table_steps_past_missing_rows() -> None:
    """One row in eight of an ordered 8 x 8 grid: no row is one step from another, so local
    search's steps become the rows one or two decisions away, and it still climbs to the best."""
    from nasforge.evaluators import Table
    from nasforge.strategies._util import local_neighbours

    space = SearchSpace({"x": Choice(list(range(8))), "y": Choice(list(range(8)))})
    rows = {f"{x}-{y}": {"acc": float(x + y)} for x in range(8) for y in range(8) if (x + 3 * y) % 8 == 0}
    table = Table(rows, key="{x}-{y}", metric="acc")
    narrowed = space.with_constraints(table.constraints(space))
    start = Arch({"x": 0, "y": 0})
    assert narrowed.neighbors(start) == []
    assert {f"{a['x']}-{a['y']}" for a in local_neighbours(narrowed, space, start)} == set(rows) - {"0-0"}
    assert local_neighbours(space, None, start) == space.neighbors(start)  # no constraint: the one-step moves
    study = Study(space, table, strategy={"name": "local-search", "initial": 1}, objectives={"acc": "maximize"},
                  seed=0, progress=False)  # fmt: skip
    study.run(trials=8)
    assert study.best is not None and study.best.metrics["acc"] == 12.0  # (6, 6)
