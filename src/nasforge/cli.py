"""The ``nasforge`` command line: search, resume, status."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import _rundir
from ._errors import ConfigError, FatalError, NasforgeError

_LOADED = time.monotonic()
"""When this module was imported: the ``nasforge`` command's start, a tenth of a second after
the interpreter's (its time budget counts from here)."""

if TYPE_CHECKING:  # imported where used: `nasforge search` writes its config before these load
    from ._progress import Progress
    from ._results import RunData
    from ._trial import Trial
    from .config import RunConfig
    from .run import RunDir
    from .study import Study

EXIT_BAD_INPUT = 2

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}
"""Subcommands: name -> (one-line help, add arguments, run); :func:`command` adds to it."""


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register a subcommand: its one-line help, a function adding its arguments, and the
    decorated function that runs it and returns the exit code."""

    def wrap(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = (help, arguments, fn)
        return fn

    return wrap


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


LEADERBOARD_EXTRAS = ("accuracy_std", "params", "latency_ms", "train_seconds")
"""Metrics the leaderboard shows after the objectives, when trials have them."""


def leaderboard(source: Study | RunData, n: int = 5, *, trials: list[Trial] | None = None) -> str:
    """The top ``n`` trials by the primary objective (the one ranking of best: complete,
    feasible, at the top budget), or the given ``trials``, as a text table."""
    from ._results import RunData

    data = RunData.load(source)
    top = data.ranked[:n] if trials is None else trials
    if not top:
        return "no complete trial" + (" meets the constraints" if data.complete else "")
    # The objectives first, then a few telling extras: a wide table helps nobody.
    present = dict.fromkeys(k for t in top for k in t.metrics)
    metric_names = [*data.objectives.names, *(k for k in LEADERBOARD_EXTRAS if k in present)]
    metric_names = list(dict.fromkeys(m for m in metric_names if m in present))
    report_names = [
        k for k in dict.fromkeys(k for t in top for k in t.report)
        if all(isinstance(t.report.get(k, 0.0), int | float) for t in top)
    ][:3]  # fmt: skip
    header = ["rank", "trial", *metric_names, *report_names, "architecture"]
    rows = []
    for rank, t in enumerate(top, 1):
        arch = data.space.to_string(t.arch)
        rows.append(
            [str(rank), str(t.number), *(_fmt(t.metrics.get(m, "")) for m in metric_names),
             *(_fmt(t.report.get(r, "")) for r in report_names), arch]  # whole: the winner must be readable here
        )  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def _finish(study: Study, cfg: RunConfig, run: RunDir, progress: Progress, start_up: float) -> int:
    from ._trial import TrialState

    progress.close()
    data = study.results()
    ranked = data.ranked
    left_out = len(data.complete) - len(ranked)
    why = f"; {left_out} infeasible or at a lower budget left out" if left_out else ""
    counted = sum(t.counts_toward_budget for t in data.trials)
    at_deadline = sum(t.state is TrialState.PRUNED and t.interrupted for t in data.trials)
    rerun = len(data.trials) - counted - at_deadline
    if rerun:
        why += f"; {rerun} interrupted and run again"
    pruned = sum(t.state is TrialState.PRUNED and not t.interrupted for t in data.trials)
    if pruned:
        why += f"; {pruned} stopped early by the pruner"
    if at_deadline:
        why += f"; {at_deadline} stopped at the deadline (run again by a resume with more time)"
    elapsed = study.storage.get_meta().get("elapsed_seconds")
    if isinstance(elapsed, int | float):
        of = f" of a {_fmt(float(seconds))} s budget" if (seconds := cfg.seconds) is not None else ""
        of += f" ({start_up:.1f} s of it this command's start: imports, data, checks)"
        print(f"\nsearch: {elapsed:.1f} s{of}", end="")
    print(f"\nTop {min(5, len(ranked))} of {counted} trials ({cfg.strategy_name}, seed {cfg.seed}{why}):")
    print(leaderboard(data))
    if not data.complete and at_deadline:
        print(f"every trial was still training when the time budget ended: continue with "
              f"`nasforge resume {run.path} --seconds MORE` (the stopped trials run again first)")  # fmt: skip
    if len(data.objectives) > 1:
        front = data.pareto_front
        print(f"\nPareto front ({len(front)} trials, {', '.join(o.direction + ' ' + o.metric for o in data.objectives)}):")
        print(leaderboard(data, trials=sorted(front, key=data.objectives.score, reverse=True)))
    print()
    for line in run.finish(study):
        print(line)
    return 0


def _run(study: Study, cfg: RunConfig, run: RunDir, trials: int | None, seconds: float | None, started: float) -> int:
    """Search and finish; ``started`` (a ``time.monotonic()`` reading) is the command's start:
    the time budget counts from it, so the search ends ``seconds`` after the command began."""
    from ._progress import Progress

    elapsed = study.storage.get_meta().get("elapsed_seconds", 0.0)
    before = float(elapsed) if isinstance(elapsed, int | float) else 0.0
    progress = Progress(study, trials, seconds=seconds, elapsed=before + time.monotonic() - started)
    study.callbacks.append(progress)
    try:
        return _search_and_finish(study, cfg, run, progress, trials, seconds, started)
    finally:
        study.storage.close()  # the study.db is complete on disk when the command returns


def _search_and_finish(
    study: Study, cfg: RunConfig, run: RunDir, progress: Progress, trials: int | None, seconds: float | None,
    started: float,
) -> int:  # fmt: skip
    run_dir = run.path
    start_up = time.monotonic() - started
    try:
        study.run(trials=trials, seconds=seconds, since=started)
    except Terminated:
        progress.close()
        print(f"\nterminated (SIGTERM); continue with `nasforge resume {run_dir}`", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        progress.close()
        print(f"\ninterrupted; continue with `nasforge resume {run_dir}`", file=sys.stderr)
        return 130
    except FatalError as exc:
        progress.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _finish(study, cfg, run, progress, start_up)


def _search_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="the run config (YAML or JSON)")
    p.add_argument("--run-dir", help="where to write study.db and results (default: runs/<name>)")
    p.add_argument("--trials", type=int, help="trial budget (overrides budget.trials)")
    p.add_argument("--seconds", type=float,
                   help="time budget in seconds from the command's start (overrides budget.seconds); the final retrain comes after it")  # fmt: skip
    p.add_argument("--seed", type=int, help="random seed (overrides seed)")
    _executor_args(p)


EXECUTOR_NAMES = ("inline", "local", "ray")
"""The executors ``--executor`` names (``nasforge.executors.EXECUTORS``, known without importing it)."""


def _executor_args(p: argparse.ArgumentParser, *, choose: bool = True) -> None:
    if choose:
        p.add_argument("--executor", choices=EXECUTOR_NAMES,
                       help="where trials run: inline (this process), local (worker processes), ray (overrides executor.name)")  # fmt: skip
    p.add_argument("--workers", type=int, help="trials at once (overrides executor.workers; implies local if inline)")


@command("search", "run a search from a config file and show the leaderboard", _search_args)
def cmd_search(args: argparse.Namespace) -> int:
    from ._yaml import load_config_file

    path = Path(args.config)
    data = load_config_file(path)
    if args.seed is not None:
        data["seed"] = args.seed
    budget = dict(data.get("budget") or {}) if isinstance(data.get("budget", {}), dict) else data.get("budget")
    if isinstance(budget, dict):
        if args.trials is not None:
            budget["trials"] = args.trials
        if args.seconds is not None:
            budget["seconds"] = args.seconds
        data["budget"] = budget
    run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / _run_name(data)
    return _start(run_dir, _rundir.Pending(data, path.parent, path.resolve(), args.executor, args.workers), args.started)


def _run_name(data: dict[str, Any]) -> str:
    """The config's ``name`` as the folder under ``runs/``: a plain name, never a path."""
    name = data.get("name", "study")
    if not isinstance(name, str) or not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ConfigError("name", f"must be a plain name (it names the folder runs/<name>), got {name!r}; "
                          "use --run-dir to choose a path")  # fmt: skip
    return name


def _start(path: Path, pending: _rundir.Pending, started: float) -> int:
    """Create the study of ``pending`` in ``path`` and search. The lock and the config are
    written first, before the heavy imports (so a kill at any moment after the first fraction
    of a second leaves a directory that `resume` starts); if the config is refused, nothing of
    it is left."""
    before = _rundir.entries(path)
    with _rundir.RunDirLock(path):  # first: a directory another process is searching is refused as such
        if _rundir.has_study(path):
            raise ConfigError(
                "run_dir",
                f"{str(path)!r} already holds a study; resume it with `nasforge resume {path}` or choose another --run-dir",
            )
        _rundir.begin(path, pending)
        from .run import RunDir

        run = RunDir(path)
        run.config_file = pending.config_file
        try:
            from .config import RunConfig

            data, base = run.pending() or (pending.config, pending.config_dir)  # the overrides applied
            cfg = RunConfig.parse(data, base)
            study = run.create(
                cfg.space, cfg.evaluator, cfg.make_strategy(), cfg.objectives,
                config=cfg.raw, config_dir=cfg.base_dir, executor=cfg.make_executor(), seed=cfg.seed, name=cfg.name,
                max_failures_in_a_row=cfg.max_failures_in_a_row, progress=False, pruner=cfg.pruner,
            )  # fmt: skip
        except Exception:
            run.abandon(before=before)
            raise
        note = getattr(cfg.evaluator, "coverage_note", None)  # a table measured on part of the space
        kept = f"; {text}" if callable(note) and (text := note()) else ""
        print(f"nasforge: searching {cfg.space.name} ({_fmt(cfg.space.cardinality)} architectures{kept}) with "
              f"{cfg.strategy_name}, objectives {cfg.objectives.to_config()}, into {run.path}", file=sys.stderr)  # fmt: skip
        return _run(study, cfg, run, cfg.trials, cfg.seconds, started)


def _resume_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory made by `nasforge search`")
    p.add_argument("--accept-changes", action="store_true",
                   help="go on although the config file, a table, the function's module or a data file changed")  # fmt: skip
    p.add_argument("--trials", type=int, help="a new trial budget: trials in all runs together (stored with the run)")
    p.add_argument("--seconds", type=float,
                   help="a new time budget: search seconds in all runs together (stored with the run)")  # fmt: skip
    _executor_args(p, choose=False)


@command("resume", "continue a stopped search in RUN_DIR to its budget", _resume_args)
def cmd_resume(args: argparse.Namespace) -> int:
    path = Path(args.run_dir)
    pending = _rundir.read_pending(path)
    if not _rundir.has_study(path) and pending is not None:  # stopped before its study existed: start it now
        if args.workers is not None:
            pending.workers = args.workers
        return _start(path, pending, args.started)
    from ._results import open_storage
    from .run import RunDir
    from .study import check_budget

    run = RunDir(path)
    if not run.exists() and not run.db.with_name(run.db.name + "-wal").exists():
        _no_study(run)
    open_storage(run.path).close()  # a clear error, before the lock, when there is no study
    with run.lock():
        new_budget = args.trials is not None or args.seconds is not None
        if new_budget:
            check_budget(args.trials, args.seconds)
        cfg, study = run.open(workers=args.workers, accept_changes=args.accept_changes)  # --workers: this run only
        if new_budget:  # stored once the run can resume (a refused resume writes nothing); later resumes keep it
            run.set_budget(trials=args.trials, seconds=args.seconds)
            cfg = cfg.with_overrides(trials=args.trials, seconds=args.seconds)
        for change in run.accepted_changes:
            print(f"nasforge: {change} since the search began; going on (--accept-changes)", file=sys.stderr)
        return _run(study, cfg, run, cfg.trials, cfg.seconds, args.started)


def _no_study(run: RunDir) -> None:
    """Refuse to resume a directory with neither a study nor the config of one that began
    (a search stopped before it wrote anything, or no search at all): only the config knows
    what to run."""
    what = "does not exist" if not run.path.exists() else "holds no study and no config of a starting search"
    raise ConfigError("run_dir", f"{str(run.path)!r} {what}, so there is nothing to resume; "
                                 f"start the search with `nasforge search CONFIG --run-dir {run.path}`")  # fmt: skip


def _status_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--check", action="store_true", help="check study.db for damage: every unreadable row, one line each")


def _repair_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory whose study.db `nasforge status RUN_DIR --check` finds damaged")


@command("repair", "copy what a damaged study.db can still read into a new one (the damaged file is kept)",
         _repair_args)  # fmt: skip
def cmd_repair(args: argparse.Namespace) -> int:
    from .run import RunDir

    run = RunDir(args.run_dir)
    if not run.exists():
        _no_study(run)
    with run.lock():  # never under a running search
        for line in run.repair():
            print(line)
    return 0


@command("status", "show trial counts by state and the best trial of RUN_DIR", _status_args)
def cmd_status(args: argparse.Namespace) -> int:
    from .run import RunDir

    run = RunDir(args.run_dir)
    if args.check:
        problems = run.check()
        for line in problems or [f"{run.db}: no damage found"]:
            print(line)
        return 1 if problems else 0
    info = run.results().summary()
    info["searching"] = run.is_searching()
    if info["best"] is None:  # no trial completed: the final model may be a stopped trial's (RunDir.finish)
        info["final_model"] = run.stopped_final_model()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    shown = dict(info["states"])
    if not info["searching"] and shown.get("running"):  # nothing runs: those stopped with the last process
        shown["stopped while running (run again by resume)"] = shown.pop("running")
    stopped = info["interrupted"] - info["at_deadline"]
    if stopped and shown.get("failed"):  # interrupted trials are stored as failed, and run again
        shown["failed"] -= stopped
        shown["interrupted and run again"] = stopped
    if info["at_deadline"] and shown.get("pruned"):  # stopped by the time budget, not judged: run again by a resume
        shown["pruned"] -= info["at_deadline"]
        shown["stopped at the deadline"] = info["at_deadline"]
    states = ", ".join(f"{k} {v}" for k, v in shown.items() if v)
    budget = f" of {info['budget']['trials']}" if info["budget"]["trials"] else ""
    print(f"study {info['name']}: {info['counted']}{budget} trials finished ({states or 'none'})")
    best = info["best"]
    if best:
        shown_report = {k: v for k, v in best["report"].items() if isinstance(v, int | float | str)}  # not curves
        vals = ", ".join(f"{k}={_fmt(v)}" for k, v in {**best["metrics"], **shown_report}.items())
        print(f"best: trial {best['trial']}  {vals}\n      {best['arch_string']}")
    elif info.get("final_model"):
        final = info["final_model"]
        where = f"; model in {final['model']}" if final.get("model") else " (not retrained yet)"
        print(f"best: none (no trial completed); {final['reason']}{where}\n      {final['arch_string']}")
    if info["constraints"]:
        print(f"constraints: {', '.join(info['constraints'])} ({info['infeasible']} complete trials break them)")
    if "pareto_front" in info:
        print(f"Pareto front ({len(info['pareto_front'])} trials):")
        for t in info["pareto_front"]:
            vals = ", ".join(f"{k}={_fmt(t['metrics'][k])}" for k in info["objectives"] if k in t["metrics"])
            print(f"  trial {t['trial']}  {vals}  {t['arch_string']}")
    return 0



def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory")
    p.add_argument("--out", help="the HTML file (default: RUN_DIR/report.html)")
    p.add_argument("--png", metavar="DIR", help="also write each plot as PNG (and the best architecture as SVG) into DIR")


@command("report", "write a self-contained HTML report of RUN_DIR (plots, importance, why the best)", _report_args)
def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    t0 = time.perf_counter()
    path = write_report(args.run_dir, args.out, png=args.png)
    size = path.stat().st_size / 1e6
    print(f"report: {path} ({size:.1f} MB, {time.perf_counter() - t0:.1f} s)" + (f"; plots in {args.png}" if args.png else ""))
    return 0


def _explain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory")
    p.add_argument("--evaluate", action="store_true",
                   help="first evaluate the unmeasured neighbours of the best (one decision changed), and those of a "
                        "neighbour that beats it, until the best's neighbours are all measured")  # fmt: skip
    p.add_argument("--max-trials", type=int, metavar="N", help="with --evaluate: at most N new trials")
    p.add_argument("--rounds", type=int, metavar="R", help="with --evaluate: at most R rounds (1: the best's neighbours only)")
    p.add_argument("--accept-changes", action="store_true",
                   help="with --evaluate: go on although the config, space, table or function changed since the search")  # fmt: skip
    p.add_argument("--tolerance", type=float, help="differences up to this count as none (default: from the measured noise: fold scores, seed columns or repeats; 1%% of the range only when none is measured)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


@command("explain", "why the best architecture of RUN_DIR: the effect of changing each decision alone", _explain_args)
def cmd_explain(args: argparse.Namespace) -> int:
    from .report import explain
    from .run import RunDir

    run = RunDir(args.run_dir)
    if not args.evaluate and (args.max_trials is not None or args.rounds is not None):
        raise ConfigError("--max-trials" if args.max_trials is not None else "--rounds",
                          "bounds --evaluate, which is not given; add --evaluate or leave it out")  # fmt: skip

    def announce(number: int, count: int, best: Any) -> None:
        print(f"explain --evaluate, round {number}: {count} unmeasured neighbour{'s' if count != 1 else ''} of the "
              f"best, trial {best.number}", file=sys.stderr, flush=True)  # fmt: skip

    evaluated, previous = (run.evaluate_neighbours(accept_changes=args.accept_changes, max_trials=args.max_trials,
                                                   rounds=args.rounds, on_round=announce, progress=True)
                           if args.evaluate else (0, None))  # fmt: skip
    exp = explain(args.run_dir, tolerance=args.tolerance, evaluated=evaluated, previous_best=previous)
    print(json.dumps(exp.to_dict(), indent=2, default=str) if args.json else exp.text)
    return 0


def _refine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory")
    p.add_argument("--out", help="the YAML file of the refined space (default: RUN_DIR/refined_space.yaml)")
    p.add_argument("--tolerance", type=float, help="differences up to this count as none (default: from the measured noise)")


@command("refine", "write a narrower space from RUN_DIR: values worse with confidence dropped, indifferent decisions fixed", _refine_args)
def cmd_refine(args: argparse.Namespace) -> int:
    from .report import refine

    refined = refine(args.run_dir, tolerance=args.tolerance)
    path = refined.write(Path(args.out) if args.out else Path(args.run_dir) / "refined_space.yaml")
    print(refined.text)
    print(f"space: {path}")
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory whose search wrote best/ (a training evaluator)")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="the export format (default: onnx)")
    p.add_argument("--out", help="the file to write (default: RUN_DIR/best/model.onnx)")


@command("export", "export the best trained model of RUN_DIR (ONNX; needs the onnx extra)", _export_args)
def cmd_export(args: argparse.Namespace) -> int:
    from .models import ONNX_FILE, best_dir, export_onnx, load_model, read_record

    record = read_record(args.run_dir)
    out = Path(args.out) if args.out else best_dir(args.run_dir) / ONNX_FILE
    export_onnx(load_model(args.run_dir), record["input_shape"], out)
    print(f"{args.format}: {out}")
    return 0


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="a built-in data set (digits, mnist5k, mnist1d), a folder of class folders, a .npz or a .csv")
    p.add_argument("--target", help="the label column of a CSV (default: the last column)")
    p.add_argument("--task", choices=["classification", "regression"], default="classification")


@command("data", "show what a data set would load as: samples, input shape, classes and counts", _data_args)
def cmd_data(args: argparse.Namespace) -> int:
    from .data import describe_data
    from .data._builtin import DATASETS

    if args.source not in DATASETS and not Path(args.source).exists():
        raise ConfigError("source", f"{args.source!r} is neither a built-in data set {sorted(DATASETS)} nor a file or folder")
    print(describe_data(args.source, target=args.target, task=args.task))
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose refusal is one line, like every other bad input (argparse's
    own printed its usage first); the subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    from ._version import __version__

    parser = _Parser(prog="nasforge", description="Neural architecture search.")
    parser.add_argument("--version", action="version", version=f"nasforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into a clean stop: trials stored, running ones marked for resume."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None, *, started: float | None = None) -> int:
    """Entry point of the ``nasforge`` command; returns the exit code (2 for bad input, 1
    for a fatal error, 130 for Ctrl-C, 143 for SIGTERM). ``started``: a ``time.monotonic()``
    reading of the command's start (default: now); a time budget counts from it."""
    started = time.monotonic() if started is None else started
    import signal
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # one line, not Python's file:line and source line
            return _main(argv, started)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:  # fmt: skip
    """A warning as the command shows it: ``warning: MESSAGE`` on one line of stderr."""
    text = " ".join(str(message).split())
    print(f"warning: {text}", file=file if file is not None else sys.stderr)


def _main(argv: Sequence[str] | None, started: float) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = started
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return COMMANDS[args.command][2](args)
    except (ConfigError, NasforgeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the output was piped into a program that stopped reading (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # disk full, permissions: one line, what is stored stays stored
        print(f"error: {exc.strerror or exc} ({exc.filename or 'a file'}); trials already stored are kept", file=sys.stderr)
        return 1


def console(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``nasforge`` command itself: :func:`main`, then the exit without Python's teardown of
    every module. Output is flushed and the ``atexit`` handlers run (Ray's and
    multiprocessing's included; the study.db is closed by then), and then the process ends.
    The teardown of torch's modules took 1.3-1.9 s of every command here. An exception from
    :func:`main` ends the process the usual way, with its traceback."""
    import atexit

    code = main(argv, started=_LOADED)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # a reader that stopped (`| head`) or a closed stream: nothing left to say
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    console()
