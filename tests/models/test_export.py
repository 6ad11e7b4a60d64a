"""The best model: retrained after the search, tested once, written to RUN_DIR/best/, loaded
back with its exact weights, exported to ONNX."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import nasforge
from nasforge import ConfigError
from nasforge.cli import main
from nasforge.evaluators import Trainer
from nasforge.models import build_model, onnx_available, save_model
from nasforge.space import Arch

torch.set_num_threads(1)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished CLI search on digits: 3 seed-cnn architectures, 2-fold CV, 1 epoch."""
    root = tmp_path_factory.mktemp("export")
    cfg = {
        "name": "tiny",
        "space": {"builtin": "seed-cnn", "constraints": ["kernel == 3 and channels == 16"]},
        "evaluator": {"dataset": "digits", "folds": 2, "epochs": 2, "threads": 1},
        "strategy": "grid",
    }
    (root / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["search", str(root / "cfg.yaml"), "--run-dir", str(root / "run")]) == 0
    return root / "run"


def test_search_writes_best_with_arch_weights_summary_and_test_accuracy(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    best = run_dir / "best"
    names = {p.name for p in best.iterdir()}
    assert {"arch.json", "model.safetensors", "summary.txt"} <= names
    assert ("model.onnx" in names) == onnx_available()
    record = json.loads((best / "arch.json").read_text())
    chosen = json.loads((run_dir / "best.json").read_text())["arch"]
    assert record["arch"] == chosen and record["space"] == "seed-cnn" and record["input_shape"] == [1, 8, 8]
    assert 0.5 < record["test_accuracy"] <= 1.0 and record["test_samples"] == 359


def test_load_model_round_trips_the_weights_exactly(run_dir: Path) -> None:
    model = nasforge.load_model(run_dir)
    assert not model.training
    from safetensors.torch import load_file

    stored = load_file(str(run_dir / "best" / "model.safetensors"))
    state = model.state_dict()
    assert set(stored) == set(state) and all(torch.equal(stored[k], state[k]) for k in stored)


def test_the_loaded_model_reproduces_the_reported_test_accuracy(run_dir: Path) -> None:
    record = json.loads((run_dir / "best" / "arch.json").read_text())
    trainer = Trainer("digits", space="seed-cnn", seed=record["seed"], threads=1)
    accuracy = trainer.test(nasforge.load_model(run_dir))["test_accuracy"]
    assert accuracy == pytest.approx(record["test_accuracy"], abs=1e-9)


def test_summary_total_matches_the_model(run_dir: Path) -> None:
    text = (run_dir / "best" / "summary.txt").read_text()
    total = int(re.search(r"Total params: ([\d,]+)", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert total == sum(p.numel() for p in nasforge.load_model(run_dir).parameters())


@pytest.mark.skipif(not onnx_available(), reason="needs the onnx extra")
def test_cli_export_onnx_computes_what_torch_computes(run_dir: Path, tmp_path: Path) -> None:
    import onnx
    from onnx.reference import ReferenceEvaluator

    out = tmp_path / "m.onnx"
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(out)]) == 0
    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    (got,) = ReferenceEvaluator(onnx.load(str(out))).run(None, {"input": x})
    want = nasforge.load_model(run_dir)(torch.from_numpy(x)).detach().numpy()
    assert got.shape == (5, 10) and np.allclose(got, want, atol=1e-4)


def test_export_without_a_best_model_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path)]) == 2
    assert "holds no best model" in capsys.readouterr().err


def test_custom_model_function_needs_its_builder_to_load(tmp_path: Path) -> None:
    arch = Arch({"kernel": 3, "channels": 8, "units": 16})
    model = build_model("seed-cnn", arch, (1, 8, 8), 10)
    save_model(model, tmp_path / "best", space="custom", arch=arch, input_shape=(1, 8, 8), num_classes=10)
    with pytest.raises(ConfigError, match="builder="):
        nasforge.load_model(tmp_path)
    loaded = nasforge.load_model(tmp_path, builder=lambda a, s, n: build_model("seed-cnn", a, s, n))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
