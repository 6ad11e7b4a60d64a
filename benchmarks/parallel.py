"""Wall time of the same training study with 1 and 2 workers (local processes and Ray), and
the search process's memory over hundreds of trained trials.

Part 1: the same 40-trial random search (seed 0, so the same 40 architectures whatever the
worker count) of MLPs trained on scikit-learn digits (nasforge's ``Trainer`` over the built-in
``mlp`` space, 20 epochs, holdout; or ``--evaluator function``: the self-contained loop of
``digits_trial.py``), one torch thread per trial, run inline, with the local executor and
with Ray, at 1 and 2 workers. Wall time includes starting the workers (and Ray); "start-up" is the time until the
first trial began. Speed-up = wall(1 worker) / wall(2 workers) for the same executor; "mean
trial s" is the time a trial took where it ran; "busy workers" = total trial time / (wall -
start-up), i.e. how many trials ran at once on average. On a machine whose cores other jobs
use, the speed-up cannot exceed the free cores: the load average is printed.

Part 2: the resident memory (RSS) of the search process at trials 1, 50, 100 and 200 of a
200-trial study, with 2 local workers (training in the workers) and inline (training in
the search process itself), plus the largest worker's RSS.

    python benchmarks/parallel.py [--trials 40] [--rss-trials 200] [--evaluator trainer|function|idle]
                                  [--epochs 20] [--no-ray] [--no-rss]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # digits_trial, also for the workers

import digits_trial

from nasforge import SQLiteStorage, Study, Trial
from nasforge.evaluators import Function
from nasforge.executors import Executor, InlineExecutor, LocalExecutor, RayExecutor
from nasforge.space import from_config

OBJECTIVES = {"accuracy": "maximize"}


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MB (Linux /proc; 0 where unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def worker_pids() -> list[int]:
    """Worker processes of this process (spawned by multiprocessing)."""
    me, out = os.getpid(), []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me and b"spawn_main" in cmd:
            out.append(int(entry))
    return out


def make(kind: str, workers: int) -> Executor:
    if kind == "inline":
        return InlineExecutor()
    if kind == "local":
        return LocalExecutor(workers, threads=1)
    return RayExecutor(num_cpus=2, workers=workers, cpus_per_trial=1, threads=1)


SETTINGS: dict[str, Any] = {"evaluator": "trainer", "epochs": 20}
"""Which trial the rows train (set from the command line; rows get the same)."""


def evaluator() -> tuple[Any, Any]:
    """The evaluator and its space: nasforge's Trainer on digits over the built-in ``mlp``
    space, or the self-contained MLP trial of ``digits_trial.py``."""
    if SETTINGS["evaluator"] == "trainer":
        from nasforge.evaluators import Trainer

        trainer = Trainer("digits", space="mlp", epochs=int(SETTINGS["epochs"]), threads=1, measure_latency=False)
        from nasforge.space import builtin

        return trainer, builtin("mlp")  # the study narrows it with trainer.constraints
    if SETTINGS["evaluator"] == "idle":
        fn = functools.partial(digits_trial.idle, seconds=0.25)
        return Function(fn, name="digits_trial:idle"), from_config({"decisions": digits_trial.SPACE})
    fn = functools.partial(digits_trial.train, epochs=int(SETTINGS["epochs"]))  # pickles by reference
    return Function(fn, name="digits_trial:train"), from_config({"decisions": digits_trial.SPACE})


def study(kind: str, workers: int, tmp: Path, callbacks: tuple[Any, ...] | list[Any] = ()) -> Study:
    store = SQLiteStorage(tmp / f"{kind}-{workers}-{time.monotonic_ns()}.db")
    ev, space = evaluator()
    return Study(space, ev, "random", OBJECTIVES, storage=store, executor=make(kind, workers), seed=0,
                 callbacks=callbacks)  # fmt: skip


def timed(kind: str, workers: int, trials: int, tmp: Path) -> dict[str, Any]:
    s = study(kind, workers, tmp)
    t0, w0 = time.perf_counter(), time.time()
    s.run(trials=trials)
    wall = time.perf_counter() - t0
    done = s.trials
    first = min(t.started or w0 for t in done)
    return {
        "kind": kind, "workers": workers, "wall": wall, "startup": first - w0,
        "best": s.best.metrics["accuracy"] if s.best else float("nan"),
        "trial_seconds": sum(t.cost_seconds or 0.0 for t in done),
        "archs": sorted(t.arch.id for t in done), "failed": sum(t.state.value != "complete" for t in done),
    }  # fmt: skip


class RssProbe:
    """A study callback that records the search process's RSS at given trial counts."""

    def __init__(self, marks: list[int], workers: bool) -> None:
        self.marks, self.workers = marks, workers
        self.count = 0
        self.rss: dict[int, float] = {}
        self.worker_rss = 0.0

    def __call__(self, study: Study, trial: Trial) -> None:
        self.count += 1
        if self.count in self.marks:
            self.rss[self.count] = rss_mb()
            if self.workers:
                self.worker_rss = max([rss_mb(p) for p in worker_pids()] + [0.0])


def memory(kind: str, workers: int, trials: int, tmp: Path) -> dict[str, Any]:
    marks = sorted({1, 50, 100, trials} & set(range(1, trials + 1)))
    probe = RssProbe(marks, workers=kind != "inline")
    t0 = time.perf_counter()
    study(kind, workers, tmp, [probe]).run(trials=trials)
    return {"kind": kind, "workers": workers, "rss": probe.rss, "worker_rss": probe.worker_rss,
            "wall": time.perf_counter() - t0}  # fmt: skip


def one_row(what: str, kind: str, workers: int, trials: int) -> dict[str, Any]:
    """Run one row in a fresh Python process (no torch or Ray left over from another row)."""
    cmd = [sys.executable, __file__, "--row", what, kind, str(workers), str(trials),
           "--evaluator", str(SETTINGS["evaluator"]), "--epochs", str(SETTINGS["epochs"])]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def part1(trials: int, kinds: list[str]) -> None:
    rows = [one_row("time", "inline", 1, trials)]
    for kind in kinds:
        for workers in (1, 2):
            rows.append(one_row("time", kind, workers, trials))
            print(f"  {kind} x{workers}: {rows[-1]['wall']:.1f} s (load {load()})", file=sys.stderr)
    same = all(r["archs"] == rows[0]["archs"] for r in rows)
    one = {r["kind"]: r["wall"] for r in rows if r["workers"] == 1}
    print(f"\n## {trials} trained trials (same {trials} architectures in every row: {'yes' if same else 'NO'})\n")
    print("| executor | workers | wall s | start-up s | trials/min | speed-up vs 1 worker | mean trial s | "
          "busy workers | best val acc | failed |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        speed = one[r["kind"]] / r["wall"]
        busy = r["trial_seconds"] / max(r["wall"] - r["startup"], 1e-9)
        print(f"| {r['kind']} | {r['workers']} | {r['wall']:.1f} | {r['startup']:.1f} | "
              f"{60 * trials / r['wall']:.0f} | {speed:.2f} | {r['trial_seconds'] / trials:.3f} | {busy:.2f} | "
              f"{r['best']:.4f} | {r['failed']} |")  # fmt: skip


def part2(trials: int) -> None:
    rows = [one_row("memory", "local", 2, trials), one_row("memory", "inline", 1, trials)]
    marks = sorted(int(m) for m in rows[0]["rss"])
    print(f"\n## RSS of the search process over {trials} trained trials (MB)\n")
    print("| executor | " + " | ".join(f"trial {m}" for m in marks) + " | largest worker at the end | wall s |")
    print("| --- | " + " | ".join("---" for _ in marks) + " | --- | --- |")
    for r in rows:
        cells = " | ".join(f"{r['rss'][str(m)]:.0f}" for m in marks)
        worker = f"{r['worker_rss']:.0f}" if r["kind"] != "inline" else "(none: trains in the search process)"
        print(f"| {r['kind']} x{r['workers']} | {cells} | {worker} | {r['wall']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--rss-trials", type=int, default=200)
    parser.add_argument("--evaluator", choices=["trainer", "function", "idle"], default="trainer",
                        help="nasforge's Trainer on digits (mlp space), digits_trial.py's own MLP loop, or "
                             "0.25 s of waiting per trial (the executors' own scaling, free of CPU contention)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    parser.add_argument("--no-rss", action="store_true", help="skip the memory part")
    parser.add_argument("--row", nargs=4, metavar=("WHAT", "KIND", "WORKERS", "TRIALS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    SETTINGS.update(evaluator=args.evaluator, epochs=args.epochs)
    if args.row:
        what, kind, workers, trials = args.row
        if kind == "inline":
            import torch

            torch.set_num_threads(1)
        run = timed if what == "time" else memory
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(run(kind, int(workers), int(trials), Path(tmp))))
        return
    kinds = ["local"]
    if not args.no_ray:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("ray is not installed: skipping the Ray rows (pip install 'nasforge[ray]')", file=sys.stderr)
        else:
            kinds.append("ray")
    print(f"load average before: {load()} on {os.cpu_count()} CPUs; {args.evaluator}, {args.epochs} epochs",
          file=sys.stderr)  # fmt: skip
    part1(args.trials, kinds)
    if not args.no_rss:
        part2(args.rss_trials)
    print(f"load average after: {load()}", file=sys.stderr)


if __name__ == "__main__":
    main()
