"""The one-shot evaluator: path sampling (uniform, fair, constraints), batch-norm
recalibration per path, determinism, metrics of the sampled path, and its refusals."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from nasforge import ConfigError, FatalError
from nasforge.evaluators._oneshot import FairPaths, OneShot, UniformPaths
from nasforge.models import build_model, count_params, fit_space
from nasforge.space import Arch, Choice, Constraint, SearchSpace, builtin

BN_A = Arch({"layers": 1, "layers.0.kernel": 3, "layers.0.channels": 16, "layers.0.pool": "max",
             "layers.0.batchnorm": True, "layers.0.activation": "relu", "units": 0, "dropout": 0.0})  # fmt: skip
BN_B = Arch({**BN_A, "layers.0.kernel": 5, "layers.0.activation": "gelu"})


@pytest.fixture(scope="module")
def trained() -> OneShot:
    ev = OneShot("digits", space="cnn", supernet_epochs=1, epochs=1, threads=1, calibration_batches=3,
                 measure_latency=False)  # fmt: skip
    ev.constraints(builtin("cnn"))
    ev.prepare()
    return ev


def _norm_stats(ev: OneShot) -> torch.Tensor:
    assert ev.supernet is not None
    return ev.supernet.norms[0].running_mean[:16].clone()  # type: ignore[index]


def test_recalibration_gives_each_path_its_own_statistics(trained: OneShot) -> None:
    a = trained.evaluate(BN_A)
    stats_a = _norm_stats(trained)
    trained.evaluate(BN_B)
    stats_b = _norm_stats(trained)
    assert not torch.allclose(stats_a, stats_b)
    assert trained.evaluate(BN_A).metrics == a.metrics  # independent of what ran before
    assert torch.equal(_norm_stats(trained), stats_a)
    # without recalibration: the statistics of the supernet's training (same seed, same weights)
    plain = OneShot("digits", space="cnn", supernet_epochs=1, epochs=1, threads=1, calibration_batches=0,
                    measure_latency=False)  # fmt: skip
    plain.constraints(builtin("cnn"))
    plain.prepare()
    assert plain.supernet is not None and trained.supernet is not None
    assert all(torch.equal(p, q) for p, q in zip(plain.supernet.parameters(), trained.supernet.parameters()))
    b = plain.evaluate(BN_A)
    assert not torch.allclose(_norm_stats(plain), stats_a)
    assert b.metrics["loss"] != a.metrics["loss"]


def test_metrics_are_those_of_the_sampled_path(trained: OneShot) -> None:
    result = trained.evaluate(BN_B)
    assert set(result.metrics) == set(trained.metrics) == {"accuracy", "loss", "params", "flops"}
    assert result.metrics["params"] == count_params(build_model("cnn", BN_B, (8, 8), 10))
    assert 0.0 <= result.metrics["accuracy"] <= 1.0


def test_fair_sampling_proposes_every_value_equally_per_round() -> None:
    space = builtin("seed-cnn")
    paths = FairPaths(space, np.random.default_rng(0))
    assert paths.round == 3
    for _ in range(4):
        archs = paths()
        for name in space.names:
            assert sorted(a[name] for a in archs) == sorted(space.decision(name).domain.values())
    cnn = fit_space("cnn", (8, 8))
    fair = FairPaths(cnn, np.random.default_rng(1))
    assert fair.round == 6  # lcm of 2 and 3
    fair()
    for d in cnn.decisions:
        counts = Counter(fair.proposed[d.name])
        assert set(counts) == set(d.domain.values())
        assert set(counts.values()) == {6 // int(d.domain.size)}


def test_sampled_paths_meet_the_space_constraints() -> None:
    small = Constraint(lambda a: a["layers"] == 1 or a["layers.1.channels"] == 16, "second layer narrow")
    space = fit_space("cnn", (8, 8)).with_constraints([small])
    uniform, fair = UniformPaths(space, np.random.default_rng(0)), FairPaths(space, np.random.default_rng(0))
    archs = [a for _ in range(30) for a in uniform()] + [a for _ in range(10) for a in fair()]
    assert all(space.satisfies(a) for a in archs)
    assert fair.replaced > 0  # fair proposals that broke it were replaced
    assert any(a["layers"] > 1 for a in archs)


def test_refusals() -> None:
    with pytest.raises(ConfigError, match="folds"):
        OneShot("digits", space="cnn", folds=3)
    with pytest.raises(ConfigError, match="sampling"):
        OneShot("digits", space="cnn", sampling="greedy")
    ev = OneShot("digits", space="seed-cnn", supernet_epochs=1, threads=1)
    lr_space = SearchSpace({**builtin("seed-cnn").spec, "lr": Choice([1e-3, 1e-2])}, name="seed-cnn")
    with pytest.raises(ConfigError, match="space.lr: a training option cannot be searched"):
        ev.constraints(lr_space)
    ev.constraints(builtin("seed-cnn"))
    with pytest.raises(FatalError, match="one fidelity"):
        ev.evaluate(Arch({"kernel": 3, "channels": 16, "units": 64}), budget=0.5)
    assert ev.supernet is None  # refused before any training


def test_a_trained_evaluator_travels_to_workers_with_its_supernet(trained: OneShot) -> None:
    import pickle

    here = trained.evaluate(BN_A).metrics
    copy = pickle.loads(pickle.dumps(trained))
    assert copy.supernet is not None and copy._data is None  # weights travel, device tensors are rebuilt
    assert copy.evaluate(BN_A).metrics == here


def test_user_model_space_one_shot() -> None:
    import pickle

    import oneshot_nets

    ev = OneShot((np.random.default_rng(0).normal(size=(60, 1, 8, 8)).astype(np.float32), np.arange(60) % 3),
                 model_fn=oneshot_nets.cell_net, supernet_epochs=1, epochs=1, threads=1, batch_size=16,
                 calibration_batches=2, measure_latency=False)  # fmt: skip
    assert ev.space is not None and ev.space.names == ["op", "skip"]
    ev.constraints(ev.space)
    scores = {(op, skip): ev.evaluate(Arch({"op": op, "skip": skip})).metrics for op in ("conv", "wide", "pool")
              for skip in (0, 1)}  # fmt: skip
    assert scores[("pool", 1)]["params"] < scores[("conv", 1)]["params"] < scores[("wide", 1)]["params"]
    copy = pickle.loads(pickle.dumps(ev))
    assert copy.evaluate(Arch({"op": "wide", "skip": 1})).metrics == scores[("wide", 1)]


def test_sandwich_trains_the_widest_path_each_step() -> None:
    from nasforge.evaluators._oneshot import SandwichPaths
    from nasforge.models import Network, build_supernet

    space = fit_space("cnn", (8, 8))
    widest = build_supernet(Network("cnn", (8, 8), 10), space).widest
    assert widest["layers"] == 3 and widest["layers.2.channels"] == 64 and widest["units"] == 128
    paths = SandwichPaths(space, np.random.default_rng(0), widest)
    for _ in range(5):
        big, other = paths()
        assert all(big[k] == v for k, v in widest.items()) and space.satisfies(big) and space.satisfies(other)
    with pytest.raises(ConfigError, match="sampling: sandwich needs a supernet with sliced widths"):
        OneShot("digits", space="nasbench201", sampling="sandwich")
