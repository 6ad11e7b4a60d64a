"""The trainer's recipe options: the one-cycle schedule, the built-in augmentations, the final
retrain's own epochs and its threads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from nasforge import ConfigError
from nasforge.evaluators import Augmentation, Trainer, make_evaluator
from nasforge.evaluators._hooks import onecycle
from nasforge.evaluators._torch import available_cpus
from nasforge.space import Arch, Choice, SearchSpace, builtin

pytestmark = pytest.mark.slow

SMALL = Arch({"kernel": 3, "channels": 16, "units": 64})


def trainer(**options: Any) -> Trainer:
    settings: dict[str, Any] = {"space": "seed-cnn", "epochs": 1, "threads": 1, "measure_latency": False, **options}
    return Trainer("digits", **settings)


def test_onecycle_warms_up_to_the_trials_lr_then_anneals() -> None:
    w = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.Adam([w], lr=0.01)
    sched = onecycle(opt, 100)
    lrs, betas = [], []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        betas.append(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step()
    peak = max(range(100), key=lambda i: lrs[i])
    assert lrs[0] == pytest.approx(0.01 / 25)
    assert 25 <= peak <= 35 and lrs[peak] == pytest.approx(0.01, rel=1e-3)
    assert lrs[-1] < 1e-4 and all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1 :]))
    assert betas[peak] == pytest.approx(0.85, abs=1e-3) and betas[0] == pytest.approx(0.95)
    # an optimizer without momentum: only the learning rate cycles
    sgd = torch.optim.SGD([w], lr=0.1)
    onecycle(sgd, 10)
    assert sgd.param_groups[0]["momentum"] == 0


def test_onecycle_by_name_in_yaml_trains_and_is_stored() -> None:
    spec = {"dataset": "digits", "epochs": 2, "threads": 1, "scheduler": "onecycle", "measure_latency": False}
    setup = make_evaluator(spec, builtin("seed-cnn"), Path("."))
    t: Trainer = setup.evaluator  # type: ignore[assignment]
    assert t.to_config()["scheduler"] == "onecycle"
    plain = trainer(epochs=2).evaluate(SMALL)
    cycled = t.evaluate(SMALL)
    assert cycled.metrics["accuracy"] > 0.5 and cycled.metrics["loss"] != plain.metrics["loss"]


def test_shift_moves_each_image_by_whole_pixels_within_a_tenth_of_its_side() -> None:
    x = torch.arange(1, 2 * 3 * 20 * 20 + 1, dtype=torch.float32).reshape(2, 3, 20, 20)
    out = Augmentation("shift")(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    for n in range(2):
        # find the shift: the kept pixels are the input's, moved by (dy, dx), |dy|, |dx| <= 2
        found = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(
                out[n, :, max(dy, 0) : 20 + min(dy, 0), max(dx, 0) : 20 + min(dx, 0)],
                x[n, :, max(-dy, 0) : 20 + min(-dy, 0), max(-dx, 0) : 20 + min(-dx, 0)],
            )
        ]
        assert len(found) == 1
        dy, dx = found[0]
        kept = (20 - abs(dy)) * (20 - abs(dx)) * 3
        assert int((out[n] == 0).sum()) == 3 * 400 - kept  # the border filled with 0, channels moved together
    again = Augmentation("shift")(x, torch.Generator().manual_seed(0))
    other = Augmentation("shift")(x, torch.Generator().manual_seed(1))
    assert torch.equal(out, again) and not torch.equal(out, other)


def test_shift_moves_sequences_along_their_length() -> None:
    x = torch.arange(1, 4 * 40 + 1, dtype=torch.float32).reshape(4, 40)
    out = Augmentation("shift")(x, torch.Generator().manual_seed(3))
    for n in range(4):
        moves = [d for d in range(-4, 5) if torch.equal(out[n, max(d, 0) : 40 + min(d, 0)], x[n, max(-d, 0) : 40 + min(-d, 0)])]
        assert len(moves) == 1


def test_affine_moves_images_by_at_most_its_bounds_reproducibly() -> None:
    # a bright 16x16 square in the middle of a dark 28x28 image
    x = torch.zeros(64, 28, 28)
    x[:, 6:22, 6:22] = 1.0
    a = Augmentation("affine")(x, torch.Generator().manual_seed(0))
    b = Augmentation("affine")(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.allclose(a, x) and len({tuple(img.flatten().tolist()[::7]) for img in a}) == 64  # each its own
    # <= 10 degrees, 10% scale, 10% (2.8 px) shift: the centre stays inside the square, the corners stay dark
    assert bool((a[:, 12:16, 12:16] > 0.99).all())
    assert bool((a[:, :2, :2] == 0).all()) and bool((a[:, -2:, -2:] == 0).all())
    # the square's area changes by at most the scale's square (0.9^2 .. 1.1^2), give or take its edge pixels
    area = a.sum(dim=(1, 2))
    assert bool((area > 256 * 0.81 - 40).all()) and bool((area < 256 * 1.21 + 40).all())


def test_builtin_augmentation_by_name_trains_and_round_trips() -> None:
    t = trainer(augment="shift", epochs=2)
    assert isinstance(t.augment, Augmentation) and t.to_config()["augment"] == "shift"
    shifted = t.evaluate(SMALL)
    plain = trainer(epochs=2).evaluate(SMALL)
    assert shifted.metrics["accuracy"] > 0.5 and shifted.metrics["loss"] != plain.metrics["loss"]
    setup = make_evaluator({"dataset": "digits", "epochs": 1, "augment": "affine"}, builtin("seed-cnn"), Path("."))
    assert setup.evaluator.to_config()["augment"] == "affine"  # type: ignore[attr-defined]


def test_augmentation_of_tabular_inputs_is_refused_naming_the_field(tmp_path: Path) -> None:
    import numpy as np

    table = tmp_path / "t.csv"
    table.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    with pytest.raises(ConfigError, match=r"augment: affine moves images .* shape \(2,\)"):
        make_evaluator({"dataset": {"csv": str(table), "target": "label"}, "augment": "affine"}, builtin("mlp"), tmp_path)
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(60, 2, 3, 4, 5)).astype("float32"), rng.integers(0, 2, 60))
    with pytest.raises(ConfigError, match=r"^Trainer: augment: affine moves images .* shape \(2, 3, 4, 5\)"):
        Trainer(data, space="mlp", augment="affine")
    with pytest.raises(ConfigError, match=r"^Trainer: augment: shift moves images .* or sequences"):
        Trainer(data, space="mlp", augment="shift")
    with pytest.raises(ConfigError, match=r"^augment: unknown augmentation 'flip'; built in: shift, affine"):
        Augmentation("flip")


def test_final_epochs_trains_the_retrain_longer_than_the_trials() -> None:
    steps: list[int] = []

    def record(opt: torch.optim.Optimizer, total_steps: int) -> Any:
        steps.append(total_steps)
        return None

    t = trainer(epochs=1, final_epochs=3, scheduler=record)
    t.evaluate(SMALL)
    model = t.retrain(SMALL)
    assert t.test(model)["test_accuracy"] > 0.5
    per_epoch_trial = steps[0]
    assert steps[1] > 3 * per_epoch_trial  # 3 epochs over all the search data (train + validation)
    assert t.final_info().info["epochs"] == 3
    assert trainer(final_epochs=3).to_config()["final_epochs"] == 3


def test_final_epochs_with_an_epochs_decision_is_refused() -> None:
    space = SearchSpace({"kernel": Choice([3]), "channels": Choice([16]), "units": Choice([64]), "epochs": Choice([1, 2])})
    with pytest.raises(ConfigError, match=r"^evaluator\.final_epochs: the space decides epochs"):
        trainer(final_epochs=2).constraints(space)
    with pytest.raises(ConfigError, match=r"final_epochs must be a positive integer|final_epochs: "):
        trainer(final_epochs=0)


def test_the_retrain_uses_every_cpu_unless_threads_is_given() -> None:
    seen: list[int] = []

    def record(opt: torch.optim.Optimizer, total_steps: int) -> Any:
        seen.append(torch.get_num_threads())
        return None

    before = torch.get_num_threads()
    trainer(threads=None, scheduler=record).retrain(SMALL)
    trainer(threads=1, scheduler=record).retrain(SMALL)
    assert seen == [available_cpus(), 1]
    assert torch.get_num_threads() == before  # restored afterwards
