"""benchmarks/strategies.py runs on a user's table (a smoke test with real numbers to check)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_on_a_user_table(
    tmp_path: Path, table_csv: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("bench_strategies", ROOT / "benchmarks" / "strategies.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    space = tmp_path / "space.yaml"
    decisions = {"kernel": {"choice": [1, 3, 5, 7]}, "width": {"choice": [8, 16, 32, 64]}, "depth": {"int": [1, 5]}}
    space.write_text(yaml.safe_dump({"decisions": decisions}))
    argv = ["--table", str(table_csv), "--space", str(space), "--key", "{kernel}-{width}-{depth}",
            "--metric", "acc", "--test", "test_acc", "--seeds", "4", "--queries", "5,40",
            "--strategies", "random,grid,bayesian"]  # fmt: skip
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in out.splitlines() if line.startswith("| ") and "searcher" not in line}  # fmt: skip
    assert set(rows) == {"random", "grid", "bayesian"}
    # The toy table's best row (acc 90, test_acc 89) is unique; the grid is seed-independent.
    assert "Oracle (best-by-validation row): acc 90, test_acc 89" in out
    assert rows["grid"][0].endswith("± 0.000")
    assert rows["bayesian"][1] == "0.000 ± 0.000" and rows["bayesian"][3] == "100%"  # found within 40
    assert float(rows["random"][0].split()[0]) > 0  # 5 random queries rarely hit 1 of 80
