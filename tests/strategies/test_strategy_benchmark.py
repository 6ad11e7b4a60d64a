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


def test_rows_tied_up_to_float_rounding_share_the_oracle_and_the_reach_line_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("bench_strategies_ties", ROOT / "benchmarks" / "strategies.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)
    spec.loader.exec_module(bench)
    table = tmp_path / "ties.csv"
    lines = ["key,acc,test_acc"]
    for x in range(12):
        acc, test = 0.5 + x / 100, 0.4 + x / 100
        if x == 10:
            acc, test = 1229 / 1500, 0.9  # 0.8193333333333334
        if x == 11:
            acc, test = 0.8193333333333332, 0.7  # the same fraction, computed another way
        lines.append(f"{x},{acc!r},{test!r}")
    table.write_text("\n".join(lines) + "\n")
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump({"decisions": {"x": {"int": [0, 11]}}}))
    argv = ["--table", str(table), "--space", str(space), "--key", "{x}", "--metric", "acc", "--test", "test_acc",
            "--seeds", "2", "--queries", "12", "--strategies", "grid"]  # fmt: skip
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "Oracle (best-by-validation rows): acc 0.8193, test_acc 0.8 (mean of 2 tied rows)" in out
    # the grid sees both tied rows: its pick is their mean, no regret; the 5 best rows (0.9, 0.7, 0.49, 0.48,
    # 0.47) average 0.608, and the 5th is 0.8193 - 0.57 below the best
    assert "| grid | 0.0000 ± 0.0000 |" in out
    assert "k=5 0.2493 / 0.1920; k=10 " in out
