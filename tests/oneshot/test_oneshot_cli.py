"""One-shot searches end to end through the CLI: the cnn space on digits and the NB201 cell
network on tiny synthetic images; the final model is chosen among the top-k, exported, and
best.json says which and why. Refusals exit 2 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasforge.cli import main
from nasforge.models import load_model

CNN = """
space: cnn
strategy: {name: evolution, population: 4, sample_size: 2}
objectives: {accuracy: maximize}
budget: {trials: 6}
evaluator:
  dataset: digits
  epochs: 1
  threads: 1
  measure_latency: false
  one_shot: {epochs: 1, sampling: fair, top_k: 2, calibration_batches: 2}
"""


def test_cnn_one_shot_search_on_digits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CNN)
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "chose trial" in out
    best = json.loads((run / "best.json").read_text())
    choice = best["final_choice"]
    assert len(choice["candidates"]) == 2 and "stand-alone validation accuracy" in choice["reason"]
    assert choice["trial"] in [c["trial"] for c in choice["candidates"]]
    assert all(0.0 < c["standalone_accuracy"] <= 1.0 for c in choice["candidates"])
    record = json.loads((run / "best" / "arch.json").read_text())
    assert record["arch"] == choice["arch"]  # the chosen one was exported
    assert (run / "best" / "model.safetensors").is_file()
    model = load_model(run / "best")
    assert model is not None


def test_nb201_one_shot_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    x = rng.normal(size=(90, 3, 8, 8)).astype(np.float32) + y[:, None, None, None] * 0.5
    np.savez(tmp_path / "tiny.npz", x=x, y=y)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("""
space: nasbench201
strategy: random
budget: {trials: 3}
evaluator:
  dataset: {npz: tiny.npz}
  model: {C: 4, N: 1}
  epochs: 1
  batch_size: 16
  threads: 1
  measure_latency: false
  one_shot: {epochs: 1, top_k: 1, calibration_batches: 1}
""")
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 0
    best = json.loads((run / "best.json").read_text())
    assert best["final_choice"]["trial"] == best["trial"]  # top 1: the search's best
    assert (run / "best" / "model.safetensors").is_file()


@pytest.mark.parametrize(("evaluator", "message"), [
    ("{dataset: digits, one_shot: {epochs: 1, bogus: 2}}", "evaluator.one_shot.bogus: unknown key"),
    ("{dataset: digits, one_shot: {sampling: greedy}}", "evaluator.one_shot.sampling"),
    ("{dataset: digits, folds: 3, one_shot: {}}", "evaluator.folds: one-shot search scores inherited weights"),
    ("{dataset: digits, model: oneshot_nets:plain, one_shot: {}}", "evaluator.model: a plain build"),
])  # fmt: skip
def test_refusals_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], evaluator: str,
                                       message: str) -> None:  # fmt: skip
    cfg = tmp_path / "cfg.yaml"
    space = "{decisions: {units: {choice: [4, 8]}}}" if "plain" in evaluator else "seed-cnn"
    cfg.write_text(f"space: {space}\nbudget: {{trials: 2}}\nevaluator: {evaluator}\n")
    assert main(["search", str(cfg), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_one_shot_config_without_a_strategy_gets_evolution(tmp_path: Path) -> None:
    import yaml

    from nasforge.config import RunConfig

    data = yaml.safe_load(CNN)
    del data["strategy"]
    assert RunConfig.parse(data, tmp_path).strategy_name == "evolution"  # trials cost a fraction of a second
    del data["evaluator"]["one_shot"]
    assert RunConfig.parse(data, tmp_path).strategy_name == "bayesian"  # the default for trained trials


def test_a_multi_fidelity_strategy_is_refused_before_the_supernet_trains(tmp_path: Path) -> None:
    import yaml

    from nasforge import ConfigError
    from nasforge.config import RunConfig
    from nasforge.run import RunDir

    data = yaml.safe_load(CNN)
    data["strategy"] = {"name": "hyperband", "min_budget": 0.25, "eta": 2}
    cfg = RunConfig.parse(data, tmp_path)
    with pytest.raises(ConfigError, match=r"^strategy: hyperband evaluates at budgets below the full one, but the "
                                          r"evaluator \(OneShot\) has one fidelity"):  # fmt: skip
        RunDir(tmp_path / "run").create(cfg.space, cfg.evaluator, cfg.make_strategy(), cfg.objectives, progress=False)
    assert not (tmp_path / "run" / "study.db").exists()
    assert cfg.evaluator.supernet is None  # type: ignore[attr-defined]  # nothing was trained
