"""How long `nasforge report` takes, and how large the HTML is, for 10,000 stored trials.

Builds synthetic run directories by writing trials straight into SQLite (no evaluation): the
variable-depth `cnn` chain space with two objectives and 3% failed trials, and the NAS-Bench-201
cell space with one objective. Then times the report (and its parts) in this process.

    python benchmarks/report_10k.py [--trials 10000] [--png]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from nasforge import SQLiteStorage, Trial, TrialState
from nasforge.report import compute_importance, explain, write_report
from nasforge.space import builtin


def make_run(run_dir: Path, space_name: str, n: int, *, two_objectives: bool, seed: int = 0) -> Path:
    space = builtin(space_name)
    rng = np.random.default_rng(seed)
    objectives = {"acc": "maximize", **({"params": "minimize"} if two_objectives else {})}
    storage = SQLiteStorage(run_dir / "study.db")
    storage.set_meta({
        "config": {"name": f"synthetic-{space_name}", "seed": seed, "space": space_name,
                   "strategy": "random", "objectives": objectives, "budget": {"trials": n}},
        "name": f"synthetic-{space_name}", "seed": seed, "objectives": objectives, "space": space.describe(),
        "strategy": "RandomSearch", "created": time.time(), "elapsed_seconds": 3.0 * n,
    })  # fmt: skip
    t0 = time.time() - 3.0 * n
    weights = rng.normal(size=space.encoding_width)
    rows = []
    for k in range(n):
        arch = space.sample(rng)
        x = space.encode(arch)
        acc = float(70 + 3 * np.tanh(x @ weights) + rng.normal(0, 0.5))
        metrics = {"acc": acc}
        if two_objectives:
            metrics["params"] = float(x.sum() * 1e4 + rng.integers(1000))
        failed = rng.random() < 0.03
        rows.append(Trial(
            k, arch, None, TrialState.FAILED if failed else TrialState.COMPLETE, {} if failed else metrics,
            {} if failed else {"test_acc": acc - 1}, "RuntimeError: out of memory" if failed else None,
            started=t0 + 3 * k, finished=t0 + 3 * k + 2.5, cost_seconds=2.5, asked_after=k, tell_seq=k,
        ))  # fmt: skip
    for t in rows:
        storage.put_trial(t)
    storage.close()
    return run_dir


def open_in_chromium(page: Path) -> float:
    """Seconds for headless Chromium to load ``page`` and draw all its plots (the page sets
    ``data-plots-rendered`` on <body> when every plot is drawn)."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--dump-dom", page.as_uri()]  # fmt: skip
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout
        took = time.perf_counter() - t
    if "data-plots-rendered" not in out:
        raise RuntimeError("the page did not finish drawing its plots")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--png", action="store_true", help="also time the PNG export")
    parser.add_argument("--browser", action="store_true", help="also time opening the page in headless Chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for space_name, two in (("cnn", True), ("nasbench201", False)):
            t = time.perf_counter()
            run = make_run(Path(tmp) / space_name, space_name, args.trials, two_objectives=two)
            print(f"{space_name}: wrote {args.trials} trials in {time.perf_counter() - t:.1f} s")
            t = time.perf_counter()
            imp = compute_importance(run)
            print(f"  importance {time.perf_counter() - t:.2f} s (forest on {imp.trials} trials)")
            t = time.perf_counter()
            explain(run)
            print(f"  explain    {time.perf_counter() - t:.2f} s")
            t = time.perf_counter()
            out = write_report(
                run, Path(tmp) / f"{space_name}.html", png=Path(tmp) / f"{space_name}-png" if args.png else None
            )
            took = time.perf_counter() - t
            print(
                f"  report     {took:.2f} s, {out.stat().st_size / 1e6:.2f} MB" + (" (with PNGs)" if args.png else "")
            )
            if args.browser:
                print(f"  browser    {open_in_chromium(out):.2f} s to load and draw every plot (headless Chromium)")


if __name__ == "__main__":
    main()
