"""Zero-cost proxies: finite and deterministic scores, their definitions on networks whose score
is known by hand, the ZeroCost evaluator and its config form with bad-input errors."""

from __future__ import annotations

import math
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from nasforge import ConfigError, TrialFailed
from nasforge.cli import main
from nasforge.config import RunConfig
from nasforge.data import Dataset
from nasforge.evaluators import PROXIES, ZeroCost, proxy
from nasforge.evaluators._proxies import Batch, jacob_cov, naswot, synflow
from nasforge.space import Arch, builtin

torch.set_num_threads(1)

BUILTIN = ["flops", "grad_norm", "jacob_cov", "naswot", "params", "snip", "synflow"]
SMALL = Arch({"kernel": 3, "channels": 16, "units": 64})
LARGE = Arch({"kernel": 3, "channels": 64, "units": 256})


def seq_data(n: int = 40, length: int = 24, classes: int = 3) -> Dataset:
    """Random sequences of shape (1, length): enough for a 1-D CNN."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 1, length)).astype(np.float32)
    return Dataset.from_arrays(x, np.arange(n) % classes, name="seq", seed=0)


def tiny_cnn1d(**changes: Any) -> Arch:
    """A 2-layer 1-D CNN with batch norm, GELU, pooling and dropout: every module kind a proxy meets."""
    values: dict[str, Any] = {"layers": 2, "units": 16, "dropout": 0.25}
    for k, (bn, act, pool) in enumerate([(True, "relu", "max"), (False, "gelu", "avg")]):
        values.update({f"layers.{k}.kernel": 3, f"layers.{k}.channels": 8, f"layers.{k}.pool": pool,
                       f"layers.{k}.batchnorm": bn, f"layers.{k}.activation": act})  # fmt: skip
    values.update(changes)
    return Arch(values)


@pytest.mark.parametrize("name", BUILTIN)
def test_every_proxy_is_finite_and_deterministic_for_a_seed(name: str) -> None:
    assert set(BUILTIN) <= set(PROXIES)
    arch = tiny_cnn1d()
    first = ZeroCost(seq_data(), space="cnn1d", proxy=name, batch_size=16, seed=1, threads=1).score(arch)
    again = ZeroCost(seq_data(), space="cnn1d", proxy=name, batch_size=16, seed=1, threads=1).score(arch)
    assert math.isfinite(first[name]) and first == again
    digits = ZeroCost("digits", space="seed-cnn", proxy=name, batch_size=16, threads=1).score(SMALL)
    assert math.isfinite(digits[name])


@pytest.mark.parametrize("name", ["grad_norm", "snip", "synflow", "naswot", "jacob_cov"])
def test_the_seed_changes_the_initialisation_and_so_the_score(name: str) -> None:
    scores = {ZeroCost("digits", space="seed-cnn", proxy=name, batch_size=16, seed=s, threads=1).score(SMALL)[name]
              for s in range(3)}  # fmt: skip
    assert len(scores) == 3


def test_scores_do_not_depend_on_order_and_leave_the_global_rng_and_threads_alone() -> None:
    zc = ZeroCost("digits", space="seed-cnn", proxy=["snip", "naswot"], batch_size=16, threads=1)
    alone = zc.score(LARGE)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    torch.set_num_threads(2)
    try:
        zc.score(SMALL)
        assert zc.score(LARGE) == alone
        assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_the_proxy_scores_the_network_the_trainer_would_train() -> None:
    from nasforge.evaluators import Trainer

    zc = ZeroCost("digits", space="seed-cnn", seed=4, threads=1)
    tr = Trainer("digits", space="seed-cnn", seed=4, epochs=1, threads=1, measure_latency=False)
    assert zc.arch_seed(SMALL) == tr.trial_seed(SMALL)


def test_synflow_and_params_rank_a_larger_network_above_a_tiny_one() -> None:
    zc = ZeroCost("digits", space="seed-cnn", proxy=["synflow", "params", "flops"], threads=1)
    small, large = zc.score(SMALL), zc.score(LARGE)
    for name in ("synflow", "params", "flops"):
        assert large[name] > small[name] > 0
    deep = ZeroCost(seq_data(), space="mlp", proxy="synflow", threads=1)
    one = deep.score(Arch({"layers": 1, "layers.0.units": 8}))["synflow"]
    wide = deep.score(Arch({"layers": 1, "layers.0.units": 128}))["synflow"]
    assert wide > one


def batch(x: torch.Tensor, classes: int = 2) -> Batch:
    return Batch(x, torch.arange(len(x)) % classes, classes)


def test_synflow_of_a_bias_free_relu_net_is_depth_times_the_flow() -> None:
    # With |W| and an all-ones input the ReLU is the identity: R = 1'|W2||W1|1, and R is
    # linear in each layer's weights, so sum |w * dR/dw| over one layer is R: 2 layers, 2R.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU(), nn.Linear(3, 2, bias=False))
    w1, w2 = (m.weight.detach().double().abs() for m in (model[0], model[2]))
    flow = float((w2 @ w1 @ torch.ones(4, dtype=torch.float64)).sum())
    assert synflow(model, batch(torch.randn(5, 4))) == pytest.approx(2 * flow, rel=1e-12)


def test_naswot_is_the_log_determinant_of_the_activation_code_kernel() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 2))
    x = torch.randn(8, 6)
    codes = (model[0](x) > 0).double()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T  # units on which two inputs agree
    assert naswot(model, batch(x)) == pytest.approx(float(torch.linalg.slogdet(kernel)[1]), rel=1e-9)
    same = x[:1].repeat(8, 1)  # identical inputs: identical codes, a singular kernel
    assert naswot(model, batch(same)) == -math.inf
    assert naswot(nn.Sequential(nn.Linear(6, 2)), batch(x)) == -math.inf  # no activation, no code


def test_jacob_cov_prefers_input_gradients_that_differ_between_inputs() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 6)
    linear = nn.Sequential(nn.Linear(6, 16), nn.Linear(16, 2))  # the same input gradient for every input
    relu = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    assert math.isfinite(jacob_cov(relu, batch(x)))
    assert jacob_cov(relu, batch(x)) > jacob_cov(linear, batch(x))
    dead = nn.Sequential(nn.Linear(6, 2))
    nn.init.zeros_(dead[0].weight)
    assert jacob_cov(dead, batch(x)) == -math.inf


def test_evaluate_gives_the_proxies_and_params_and_frees_each_network() -> None:
    built: list[weakref.ref[nn.Module]] = []

    def model(arch: Arch, shape: tuple[int, ...], classes: int) -> nn.Module:
        m = nn.Sequential(
            nn.Flatten(), nn.Linear(64, int(arch["units"])), nn.ReLU(), nn.Linear(int(arch["units"]), classes)
        )
        built.append(weakref.ref(m))
        return m

    zc = ZeroCost("digits", space=builtin("seed-cnn"), model_fn=model, proxy=["grad_norm", "synflow"], threads=1)
    result = zc.evaluate(SMALL, budget=0.5)
    assert list(result.metrics) == ["grad_norm", "synflow", "params"]
    assert result.metrics["params"] == 64 * 64 + 64 + 64 * 10 + 10 and result.cost_seconds > 0
    assert len(built) == 2 and all(ref() is None for ref in built)  # one fresh network per proxy, freed


def test_a_nan_proxy_fails_the_trial_and_ranks_last() -> None:
    @proxy("always_nan", needs_data=False)
    def always_nan(model: nn.Module, batch: Batch) -> float:
        return math.nan

    try:
        zc = ZeroCost("digits", space="seed-cnn", proxy="always_nan", threads=1)
        with pytest.raises(TrialFailed, match="always_nan"):
            zc.evaluate(SMALL)
        assert zc.rank([SMALL, LARGE]) == [-math.inf, -math.inf]
    finally:
        del PROXIES["always_nan"]


def test_data_free_proxies_need_only_a_shape() -> None:
    zc = ZeroCost(None, space="seed-cnn", proxy=["synflow", "params"], input_shape=[1, 8, 8], num_classes=10, threads=1)
    with_data = ZeroCost("digits", space="seed-cnn", proxy=["synflow", "params"], threads=1)
    assert zc.score(SMALL) == with_data.score(SMALL)  # synflow reads only the input shape
    with pytest.raises(ConfigError, match="^ZeroCost: dataset is required: proxy 'snip'"):
        ZeroCost(None, space="seed-cnn", proxy="snip", input_shape=[1, 8, 8], num_classes=10)


def test_bad_proxy_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"^ZeroCost: proxy: unknown proxy 'synflw'; choose one of \['flops'"):
        ZeroCost("digits", space="seed-cnn", proxy="synflw")
    with pytest.raises(ConfigError, match="^ZeroCost: proxy names a proxy twice"):
        ZeroCost("digits", space="seed-cnn", proxy=["snip", "snip"])
    with pytest.raises(ConfigError, match="^ZeroCost: batch_size must be an integer >= 2"):
        ZeroCost("digits", space="seed-cnn", batch_size=1)


def write(tmp_path: Path, evaluator: dict[str, Any], **more: Any) -> Path:
    config = {"name": "zc", "space": "seed-cnn", "evaluator": evaluator, "strategy": "grid", **more}
    path = tmp_path / "zc.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_config_form_searches_with_a_proxy_as_the_objective(tmp_path: Path) -> None:
    cfg = RunConfig.parse({"space": "seed-cnn", "evaluator": {"dataset": "digits", "proxy": ["naswot", "synflow"],
                           "batch_size": 32, "threads": 1}}, tmp_path)  # fmt: skip
    assert isinstance(cfg.evaluator, ZeroCost) and cfg.evaluator.batch_size == 32
    assert cfg.objectives.names == ["naswot"]
    run = tmp_path / "run"
    path = write(tmp_path, {"dataset": "digits", "proxy": "synflow", "threads": 1}, budget={"trials": 27})
    assert main(["search", str(path), "--run-dir", str(run)]) == 0
    from nasforge import SQLiteStorage

    trials = SQLiteStorage(run / "study.db").trials()
    assert len(trials) == 27 and all(t.metrics["synflow"] > 0 for t in trials)


@pytest.mark.parametrize(
    "evaluator, message",
    [
        ({"dataset": "digits", "proxy": "synflw"}, "error: evaluator.proxy: unknown proxy 'synflw'"),
        ({"dataset": "digits", "proxy": "snip", "epochs": 3}, "error: evaluator.epochs: unknown key"),
        ({"dataset": "digits", "proxy": []}, "error: evaluator.proxy: must be a proxy name or a list"),
    ],
)
def test_bad_proxy_config_is_one_line_and_exit_2(
    tmp_path: Path, evaluator: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", str(write(tmp_path, evaluator)), "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_a_proxy_evaluator_declares_its_metrics_and_round_trips_its_config() -> None:
    from nasforge.evaluators import make_evaluator

    setup = make_evaluator({"dataset": "digits", "proxy": ["synflow", "naswot"], "batch_size": 16, "threads": 1},
                           builtin("seed-cnn"))  # fmt: skip
    zc = setup.evaluator
    assert zc.metrics == ["synflow", "naswot", "params"] and setup.objectives == {"synflow": "maximize"}  # type: ignore[attr-defined]
    config = zc.to_config()  # type: ignore[attr-defined]
    assert config == {"dataset": "digits", "proxy": ["synflow", "naswot"], "batch_size": 16, "threads": 1}
    again = make_evaluator(config, builtin("seed-cnn")).evaluator
    assert again.evaluate(SMALL).metrics == zc.evaluate(SMALL).metrics
    free = ZeroCost(None, space="seed-cnn", proxy="synflow", input_shape=[1, 8, 8], num_classes=10, threads=1)
    assert make_evaluator(free.to_config(), builtin("seed-cnn")).evaluator.to_config() == free.to_config()
