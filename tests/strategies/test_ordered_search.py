"""Strategies use the order of ordered choices: the GP interpolates between ordered values,
local search moves one step along the order."""

from __future__ import annotations

import numpy as np

from nasforge import Study
from nasforge.evaluators import Function
from nasforge.space import Arch, Choice, SearchSpace
from nasforge.strategies import GaussianProcess, make_strategy


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
        study = Study(space, Function(_peak), make_strategy("local-search", {"initial": 1}), {"y": "maximize"}, seed=seed)
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
