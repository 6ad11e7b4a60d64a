"""The Trainer: real (tiny) training on digits, cross-validation, determinism, fidelity,
failures, and the `evaluator: {dataset: ...}` config with its bad-input errors."""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from nasforge import ConfigError, SQLiteStorage, TrialFailed, TrialState, search
from nasforge.cli import main
from nasforge.evaluators import Trainer
from nasforge.models import build_model
from nasforge.space import Arch, Choice, SearchSpace, builtin

torch.set_num_threads(1)
pytestmark = pytest.mark.slow

SMALL = Arch({"kernel": 3, "channels": 16, "units": 64})
OTHER = Arch({"kernel": 5, "channels": 16, "units": 64})


def trainer(**options: Any) -> Trainer:
    settings: dict[str, Any] = {"space": "seed-cnn", "epochs": 1, "threads": 1, "measure_latency": False, **options}
    return Trainer("digits", **settings)


def test_kfold_gives_k_scores_and_their_mean() -> None:
    result = trainer(folds=3).evaluate(SMALL)
    folds = result.report["fold_accuracy"]
    assert len(folds) == 3 and all(0.3 < a <= 1.0 for a in folds)  # trained: far above chance (0.1)
    assert result.metrics["accuracy"] == pytest.approx(np.mean(folds), abs=1e-6)
    assert result.report["accuracy_std"] == pytest.approx(np.std(folds), abs=1e-6)
    for key in ("loss", "params", "flops", "train_seconds"):
        assert result.metrics[key] > 0
    assert result.metrics["params"] == sum(
        p.numel() for p in build_model("seed-cnn", SMALL, (1, 8, 8), 10).parameters()
    )


def test_same_seed_same_scores_whatever_the_order() -> None:
    a = trainer(folds=2)
    first = a.evaluate(SMALL)
    b = trainer(folds=2)
    b.evaluate(OTHER)  # another trial first must not change SMALL's score
    second = b.evaluate(SMALL)
    assert first.report["fold_accuracy"] == second.report["fold_accuracy"]
    assert first.metrics["loss"] == second.metrics["loss"]
    other_seed = trainer(folds=2, seed=1).evaluate(SMALL)
    assert other_seed.report["fold_accuracy"] != first.report["fold_accuracy"]


def test_a_trial_leaves_the_callers_rng_and_threads_alone() -> None:
    torch.manual_seed(123)
    torch.set_num_threads(2)
    state = torch.get_rng_state()
    try:
        trainer(threads=1).evaluate(SMALL)
        assert torch.equal(state, torch.get_rng_state()) and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_budget_scales_epochs_or_data() -> None:
    by_epochs = trainer(epochs=4)
    assert by_epochs.evaluate(SMALL, budget=0.5).report["epochs"] == 2
    assert by_epochs.evaluate(SMALL, budget=0.01).report["epochs"] == 1
    assert by_epochs.evaluate(SMALL).report["epochs"] == 4

    seen: list[int] = []

    def counting(arch: Arch, shape: tuple[int, ...], n: int) -> nn.Module:
        model = build_model("seed-cnn", arch, shape, n)
        model.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[0]) if m.training else None)
        return model

    by_data = trainer(model_fn=counting, fidelity="data", batch_size=10_000, epochs=2)
    seen.clear()
    by_data.evaluate(SMALL)
    full = seen[:]
    seen.clear()
    by_data.evaluate(SMALL, budget=0.25)
    assert len(seen) == 2 and abs(seen[0] / full[0] - 0.25) < 0.02  # same epochs, a quarter of the samples


def test_early_stopping_stops_when_the_validation_loss_stalls() -> None:
    # A learning rate so small that no weight changes: the validation loss never improves.
    stalled = trainer(optimizer="sgd", lr=1e-30, epochs=10, early_stopping=2).evaluate(SMALL)
    assert stalled.report["epochs"] == 3
    learning = trainer(epochs=4, early_stopping=2).evaluate(SMALL)
    assert learning.report["epochs"] == 4


class Boom(nn.Module):
    """Fails the way a bad network fails: NaN outputs, or an exception in forward."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.linear = nn.Linear(64, 10)
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "raise":
            raise RuntimeError("shapes do not match")
        out = self.linear(x.flatten(1))
        return out * float("nan") if self.mode == "nan" else out


def test_nan_and_exceptions_fail_the_trial_and_the_study_completes(tmp_path: Path) -> None:
    space = SearchSpace({"mode": Choice(["ok", "nan", "raise"])})
    t = Trainer(
        "digits", space=space, model_fn=lambda arch, shape, n: Boom(str(arch["mode"])), epochs=2, lr=0.05, threads=1
    )
    storage = SQLiteStorage(tmp_path / "study.db")
    study = search(space, t, strategy="grid", objectives={"accuracy": "maximize"}, storage=storage)
    by_mode = {tr.arch["mode"]: tr for tr in study.trials}
    assert by_mode["ok"].state is TrialState.COMPLETE and by_mode["ok"].metrics["accuracy"] > 0.3
    assert by_mode["nan"].state is TrialState.FAILED and "loss is nan" in (by_mode["nan"].error or "")
    assert by_mode["raise"].state is TrialState.FAILED and "shapes do not match" in (by_mode["raise"].error or "")
    stored = {tr.arch["mode"]: tr.state for tr in SQLiteStorage(tmp_path / "study.db").trials()}
    assert stored == {"ok": TrialState.COMPLETE, "nan": TrialState.FAILED, "raise": TrialState.FAILED}


def test_time_limit_fails_the_trial() -> None:
    from nasforge import TrialFailed

    with pytest.raises(TrialFailed, match="time limit"):
        trainer(epochs=50, time_limit=0.001).evaluate(SMALL)


def test_each_trial_releases_its_networks() -> None:
    refs: list[weakref.ref[nn.Module]] = []

    def tracked(arch: Arch, shape: tuple[int, ...], n: int) -> nn.Module:
        model = build_model("seed-cnn", arch, shape, n)
        refs.append(weakref.ref(model))
        return model

    t = trainer(model_fn=tracked, folds=2)
    for _ in range(3):
        t.evaluate(SMALL)
    assert len(refs) == 3 * 2 and all(r() is None for r in refs)


@pytest.mark.parametrize(
    ("options", "field"),
    [({"folds": 1}, "folds"), ({"epochs": 0}, "epochs"), ({"optimizer": "rmsprop"}, "optimizer"),
     ({"lr": -1}, "lr"), ({"fidelity": "time"}, "fidelity"), ({"device": "cuda:7"}, "device"),
     ({"validation": 1.5}, "validation"), ({"model_options": {"C": 8}}, "model.C"), ({"lr": float("nan")}, "lr")],
)  # fmt: skip
def test_bad_trainer_options_name_the_field(options: dict[str, Any], field: str) -> None:
    """A Python call names the class and the parameter; the same option in a config names
    its path (the container prefixes the relative field on the way out)."""
    if field == "device" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    with pytest.raises(ConfigError) as err:
        trainer(**options)
    assert err.value.field == field and str(err.value).startswith(f"Trainer: {field}")
    from nasforge.evaluators import make_evaluator

    yaml_options = {("model" if k == "model_options" else k): val for k, val in options.items()}
    with pytest.raises(ConfigError) as err:
        make_evaluator({"dataset": "digits", "threads": 1, **yaml_options}, builtin("seed-cnn"), ".")
    assert err.value.field == f"evaluator.{field}" and str(err.value).startswith(f"evaluator.{field}: ")


# -- the config and the command line ----------------------------------------------------------


def write_config(tmp_path: Path, evaluator: dict[str, Any], space: Any = "seed-cnn") -> Path:
    cfg = {"name": "t", "space": space, "evaluator": evaluator, "strategy": "grid", "budget": {"trials": 2}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_config_builds_a_trainer_with_the_space_narrowed_to_the_input(tmp_path: Path) -> None:
    from nasforge.config import RunConfig

    (tmp_path / "d.npz").write_bytes(b"")
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).random((60, 1, 4, 4)), y=np.arange(60) % 3)
    cfg = RunConfig.parse({"space": "seed-cnn", "evaluator": {"dataset": {"npz": "d.npz"}, "folds": 2}}, tmp_path)
    assert isinstance(cfg.evaluator, Trainer) and cfg.evaluator.folds == 2
    assert cfg.objectives.to_config() == {"accuracy": "maximize"}
    assert sorted({a["kernel"] for a in cfg.space.enumerate()}) == [1, 3, 5]  # the space as configured
    narrowed = cfg.space.with_constraints(cfg.evaluator.constraints(cfg.space))  # the study's hook
    assert sorted({a["kernel"] for a in narrowed.enumerate()}) == [1, 3]  # kernel 5 does not fit 4x4


def _csv(tmp_path: Path) -> Path:
    rows = ["a,b,label"] + [f"{i},{i % 5},{i % 2}" for i in range(40)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "t.csv"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown dataset", "evaluator.dataset: unknown dataset 'cifar'"),
        ("missing file", "evaluator.dataset.npz: file"),
        ("wrong target", "evaluator.dataset.target: column 'y'"),
        ("too few for folds", "evaluator.folds: 5 folds need at least 5 samples of every class"),
        ("nothing fits", "space: no architecture of 'seed-cnn' can be built for inputs of shape (2,)"),
        ("unknown option", "evaluator.epoch: unknown key"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    _csv(tmp_path)
    np.savez(tmp_path / "small.npz", x=np.zeros((12, 1, 4, 4)), y=np.arange(12) % 3)
    evaluator: dict[str, Any] = {
        "unknown dataset": {"dataset": "cifar"},
        "missing file": {"dataset": {"npz": "nope.npz"}},
        "wrong target": {"dataset": {"csv": "t.csv", "target": "y"}},
        "too few for folds": {"dataset": {"npz": "small.npz"}, "folds": 5},
        "nothing fits": {"dataset": {"csv": "t.csv", "target": "label"}},
        "unknown option": {"dataset": "digits", "epoch": 3},
    }[case]
    config = write_config(tmp_path, evaluator)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["search", str(config), "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run directory, nothing else


# -- the config round trip and the final model ------------------------------------------------


def test_a_trainer_gives_back_the_config_that_rebuilds_it(tmp_path: Path) -> None:
    from nasforge.evaluators import make_evaluator

    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).random((60, 1, 8, 8)), y=np.arange(60) % 3)
    spec = {"dataset": {"npz": "d.npz"}, "folds": 2, "epochs": 2, "lr": 0.01, "threads": 1, "seed": 3}
    setup = make_evaluator(spec, builtin("seed-cnn"), tmp_path)
    config = setup.evaluator.to_config()  # type: ignore[attr-defined]
    assert config == {**spec, "dataset": {"npz": str((tmp_path / "d.npz").resolve())}}
    again = make_evaluator(config, builtin("seed-cnn"), "/").evaluator
    assert again.to_config() == config  # type: ignore[attr-defined]
    assert np.array_equal(again.data.x_test, setup.evaluator.data.x_test)  # type: ignore[attr-defined]
    from nasforge._errors import NotStorable

    with pytest.raises(NotStorable, match="model_fn"):
        Trainer("digits", space="seed-cnn", model_fn=lambda a, s, n: nn.Flatten(), threads=1).to_config()


def test_the_python_keyword_is_model_fn_and_yaml_model_stays_the_builder_options() -> None:
    with pytest.raises(TypeError, match="model"):
        Trainer("digits", space="seed-cnn", model=lambda a, s, n: nn.Flatten())  # type: ignore[call-arg]
    assert "model" in Trainer.options() and "model_fn" not in Trainer.options() and "space" not in Trainer.options()


def test_a_trainer_is_a_finalizer_retrain_test_and_what_the_writer_needs() -> None:
    from nasforge.evaluators import Finalizer

    t = trainer(epochs=1)
    assert isinstance(t, Finalizer)
    model = t.retrain(SMALL)
    scores = t.test(model)
    assert set(scores) == {"test_accuracy", "test_loss"} and 0.0 <= scores["test_accuracy"] <= 1.0
    info = t.final_info()
    assert (info.space, info.input_shape, info.num_classes) == ("seed-cnn", (1, 8, 8), 10)
    assert info.info["dataset"] == "digits" and info.info["test_samples"] == len(t.data.y_test)
    assert t.metrics == ["accuracy", "loss", "params", "flops", "train_seconds"]  # no latency_ms without measuring it


# -- issue 10: lazy modules, the real space name, load_model, hyperparameters as decisions ----


def lazy_cnn(arch: Arch, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The first-use review's B3 network: Conv -> Flatten -> LazyLinear -> LazyLinear."""
    return nn.Sequential(
        nn.Conv2d(input_shape[0], arch["channels"], 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.LazyLinear(32), nn.ReLU(), nn.LazyLinear(num_classes),
    )  # fmt: skip


LAZY_SPACE = SearchSpace({"channels": Choice([4, 8]), "lr": Choice([1e-7, 1e-2])}, name="my-cnn")


def test_a_lazy_network_trains_with_latency_measured_and_its_params_counted() -> None:
    t = Trainer("digits", model_fn=lazy_cnn, epochs=1, threads=1, measure_latency=True)
    result = t.evaluate(Arch({"channels": 4, "lr": 1e-2}))
    assert result.metrics["accuracy"] > 0.3 and result.metrics["latency_ms"] > 0
    assert result.metrics["params"] == (1 * 4 * 9 + 4) + (4 * 64 * 32 + 32) + (32 * 10 + 10)


def test_trials_that_differ_only_in_lr_give_different_results() -> None:
    t = Trainer("digits", model_fn=lazy_cnn, epochs=1, threads=1, measure_latency=False)
    t.constraints(LAZY_SPACE)
    slow = t.evaluate(Arch({"channels": 4, "lr": 1e-7}))
    fast = t.evaluate(Arch({"channels": 4, "lr": 1e-2}))
    assert fast.metrics["accuracy"] > slow.metrics["accuracy"] + 0.3
    assert t.settings(Arch({"channels": 4, "lr": 1e-7})).lr == 1e-7 and t.settings().lr == 1e-3


def test_training_decisions_count_as_read_and_bad_values_are_refused() -> None:
    space = SearchSpace(
        {"kernel": Choice([3]), "channels": Choice([16]), "units": Choice([64]), "lr": Choice([1e-3, 1e-2]),
         "optimizer": Choice(["adam", "sgd"]), "batch_size": Choice([32, 64]), "epochs": Choice([1, 2])},
        name="seed-cnn",
    )  # fmt: skip
    t = trainer()
    t.constraints(space)  # no "no part reads this decision"
    arch = Arch(
        {"kernel": 3, "channels": 16, "units": 64, "lr": 1e-2, "optimizer": "sgd", "batch_size": 32, "epochs": 2}
    )
    s = t.settings(arch)
    assert (s.lr, s.optimizer, s.batch_size, s.epochs) == (1e-2, "sgd", 32, 2)
    assert t.epochs_for(0.5, s.epochs) == 1
    bad = SearchSpace({"kernel": Choice([3]), "channels": Choice([16]), "units": Choice([64]),
                       "optimizer": Choice(["adam", "lion"])}, name="seed-cnn")  # fmt: skip
    with pytest.raises(ConfigError, match=r"space\.optimizer"):
        t.constraints(bad)
    unread = SearchSpace({"kernel": Choice([3]), "channels": Choice([16]), "units": Choice([64]),
                          "warmup": Choice([1, 2])}, name="seed-cnn")  # fmt: skip
    with pytest.raises(ConfigError, match=r"space\.warmup: no part reads this decision"):
        t.constraints(unread)


def test_a_dropout_decision_sets_every_dropout_layer_or_fails_without_one() -> None:
    def with_dropout(arch: Arch, shape: tuple[int, ...], n: int) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Dropout(0.0), nn.LazyLinear(n))

    t = Trainer("digits", model_fn=with_dropout, epochs=1, threads=1, measure_latency=False)
    model = t._build(Arch({"dropout": 0.25}))
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.25]
    plain = Trainer("digits", model_fn=lazy_cnn, epochs=1, threads=1, measure_latency=False)
    with pytest.raises(TrialFailed, match="dropout"):
        plain._build(Arch({"channels": 4, "dropout": 0.25}))


def test_a_user_network_run_records_the_space_name_and_loads_back(tmp_path: Path) -> None:
    from nasforge import load_model

    t = Trainer("digits", model_fn=lazy_cnn, epochs=1, threads=1, measure_latency=False)
    search(LAZY_SPACE, t, strategy="grid", objectives={"accuracy": "maximize"}, trials=2,
           run_dir=tmp_path / "run", progress=False)  # fmt: skip
    record = json.loads((tmp_path / "run" / "best" / "arch.json").read_text())
    assert record["space"] == "my-cnn"
    assert record["builder"].endswith("test_trainer:lazy_cnn")  # importable: load_model needs no builder=
    for model in (load_model(tmp_path / "run"), load_model(tmp_path / "run", builder=lazy_cnn)):
        assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


# -- hooks: your training, not only ours --------------------------------------------------------


def test_loss_extra_metrics_augment_and_a_scheduler_are_used() -> None:
    import torch.nn.functional as F

    seen: list[int] = []

    def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        seen.append(len(x))
        return x + 0.01 * torch.randn(x.shape, generator=g)

    def top2(out: torch.Tensor, y: torch.Tensor) -> float:
        return float((out.topk(2, dim=1).indices == y[:, None]).any(1).float().mean())

    plain = trainer().evaluate(SMALL)
    hooked_t = trainer(loss=lambda out, y: F.cross_entropy(out, y, label_smoothing=0.2), extra_metrics={"top2": top2},
                       augment=augment, scheduler="cosine")  # fmt: skip
    assert "top2" in hooked_t.metrics
    hooked = hooked_t.evaluate(SMALL)
    assert seen and hooked.metrics["top2"] >= hooked.metrics["accuracy"]
    assert hooked.metrics["loss"] != plain.metrics["loss"]
    with pytest.raises(ConfigError, match=r"extra_metrics\.accuracy is a metric the trainer already produces"):
        trainer(extra_metrics={"accuracy": top2})


def test_a_whole_fit_step_of_your_own_and_your_optimizer() -> None:
    from nasforge.evaluators._hooks import FitContext

    calls: list[str] = []

    def make_optimizer(model: nn.Module, settings: Any) -> torch.optim.Optimizer:
        calls.append(f"opt lr={settings.lr}")
        return torch.optim.SGD(model.parameters(), lr=settings.lr)

    def fit_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: FitContext) -> None:
        calls.append(f"fit epochs={ctx.epochs}")
        for _ in range(ctx.epochs):
            for i in range(0, len(y), 32):
                loss = ctx.loss(model(x[i : i + 32]), y[i : i + 32])
                ctx.optimizer.zero_grad()
                loss.backward()
                ctx.optimizer.step()
            ctx.check()

    t = trainer(make_optimizer=make_optimizer, fit_fn=fit_fn, lr=0.05, epochs=2)
    result = t.evaluate(SMALL)
    assert calls == ["opt lr=0.05", "fit epochs=2"] and result.metrics["accuracy"] > 0.3
    scores = t.test(t.retrain(SMALL))  # retrain and test go through the same fit step
    assert calls[-1] == "fit epochs=2" and scores["test_accuracy"] > 0.3


def test_epoch_reports_give_the_curve_and_on_epoch_can_stop_a_trial() -> None:
    t = trainer(epochs=3, epoch_reports=True, folds=2)
    result = t.evaluate(SMALL)
    assert len(result.report["epoch_accuracy"]) == 3 and len(result.report["epoch_loss"]) == 3
    assert result.report["epoch_accuracy"][-1] == pytest.approx(result.metrics["accuracy"], abs=1e-6)

    def prune(epoch: int, metrics: Any) -> None:
        if epoch >= 1 and metrics["accuracy"] < 0.99:
            raise TrialFailed(f"pruned after epoch {epoch}: accuracy {metrics['accuracy']:.3f}")

    with pytest.raises(TrialFailed, match="pruned after epoch 1"):
        trainer(epochs=3, epoch_reports=True, on_epoch=prune).evaluate(SMALL)


def test_hooks_in_yaml_by_module_and_callable_and_back(tmp_path: Path) -> None:
    from nasforge.evaluators import make_evaluator

    spec = {"dataset": "digits", "epochs": 1, "threads": 1, "loss": "hook_fns:smooth_loss",
            "extra_metrics": {"top2": "hook_fns:top2"}, "scheduler": "cosine"}  # fmt: skip
    setup = make_evaluator(spec, builtin("seed-cnn"), Path(__file__).parent)
    assert "top2" in setup.evaluator.metrics  # type: ignore[attr-defined]
    config = setup.evaluator.to_config()  # type: ignore[attr-defined]
    assert config["loss"] == "hook_fns:smooth_loss" and config["extra_metrics"] == {"top2": "hook_fns:top2"}
    with pytest.raises(ConfigError, match=r"evaluator\.augment: cannot import module 'nowhere'"):
        make_evaluator({**spec, "augment": "nowhere:flip"}, builtin("seed-cnn"), tmp_path)
