"""Every shipped example config parses and builds (the README's commands must not break)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasforge.config import RunConfig, read_config_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NEEDS = {"tabular.yaml": EXAMPLES / "data" / "breast_cancer.csv"}
"""Examples whose data another command writes first (tested where that command is)."""


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_config_builds(name: str) -> None:
    if name in NEEDS and not NEEDS[name].exists():
        pytest.skip(f"{NEEDS[name].name} is written by examples/make_tabular_csv.py")
    path = EXAMPLES / name
    cfg = RunConfig.parse(read_config_file(path), path.parent)
    assert cfg.space.cardinality > 0 and cfg.objectives.names
    if name in ("digits.yaml", "mnist5k.yaml"):  # the efficient examples: a pruner and a time budget that holds
        assert cfg.pruner is not None and cfg.seconds is not None and cfg.trials is None
