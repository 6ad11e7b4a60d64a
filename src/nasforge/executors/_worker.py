"""The worker side of process executors: load the evaluator once, then run trials sent to it.

Kept free of torch and of multiprocessing internals: a worker process imports this module,
receives the pickled evaluator once, and answers each ``(number, candidate)`` message with
an :class:`Outcome`. It dies with the process that started it.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from .._trial import TrialState
from ..evaluators._steps import StepDecider
from ._base import Outcome, run_trial

PARENT_POLL_SECONDS = 0.25
"""How often a worker checks that the process that started it is still alive."""


def describe_exit(exitcode: int | None) -> str:
    """Why a worker process ended, in words, for a failed trial's reason.

    Example:
        >>> describe_exit(-9)
        'worker died (exit code -9, killed by the OS: out of memory?)'
    """
    if exitcode is None:
        return "worker died (exit code unknown)"
    if exitcode >= 0:
        return f"worker died (exit code {exitcode})"
    sig = -exitcode
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    why = {
        "SIGKILL": "killed by the OS: out of memory?",
        "SIGSEGV": "SIGSEGV: segmentation fault",
        "SIGBUS": "SIGBUS: bus error",
        "SIGABRT": "SIGABRT: aborted",
        "SIGFPE": "SIGFPE: arithmetic error",
        "SIGILL": "SIGILL: illegal instruction",
    }.get(name, f"killed by {name}")
    return f"worker died (exit code {exitcode}, {why})"


def watch_parent(parent_pid: int, interval: float = PARENT_POLL_SECONDS) -> threading.Thread:
    """Start a daemon thread that ends this process when ``parent_pid`` is no longer its parent
    (the search was killed), so that no orphaned worker keeps training."""

    def loop() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(interval)

    thread = threading.Thread(target=loop, name="nasforge-parent-watch", daemon=True)
    thread.start()
    return thread


def prepare_process(sys_path: Sequence[str], threads: int | None) -> None:
    """Make this process ready to unpickle and run the evaluator: the parent's import path
    (a ``module:callable`` evaluator lives next to its config) and the thread count."""
    for entry in reversed(list(sys_path)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    if threads is not None:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)


def set_torch_threads(threads: int | None) -> None:
    """Apply ``threads`` to torch if the evaluator imported it (env vars may come too late)."""
    torch = sys.modules.get("torch")
    if threads is not None and torch is not None:
        with contextlib.suppress(Exception):  # a thread count is an optimisation, never fatal
            torch.set_num_threads(threads)


def recycle_after(outcome: Outcome) -> bool:
    """Whether a worker should end after this outcome (its memory may be in a bad state)."""
    return bool(outcome.error and outcome.error.startswith("MemoryError"))


def ask_parent(conn: Any, number: int) -> StepDecider:
    """A step decider that sends ``("step", number, step, metrics)`` to the parent and waits
    for its answer ``("decision", reason | None)`` (the parent answers from its ``wait()``)."""

    def decide(step: int, metrics: dict[str, float]) -> str | None:
        conn.send(("step", number, step, metrics))
        kind, reason = conn.recv()
        if kind != "decision":
            raise RuntimeError(f"worker expected a step decision from the search, got {kind!r}")
        return reason  # type: ignore[no-any-return]

    return decide


def worker_main(conn: Any, parent_pid: int, sys_path: list[str], threads: int | None, payload: bytes | None) -> None:
    """Entry point of a local worker process.

    The pickled evaluator comes as ``payload``, or first over ``conn`` when it is ``None``.
    Messages to the parent: ``("ready", pid)`` once the evaluator is loaded, ``("init-error",
    reason)`` if it cannot be, ``("took", number)`` when a trial starts, ``("step", number, step, metrics)`` per step
    report when a pruner listens (answered ``("decision", reason | None)``), ``("done",
    outcome, stop)`` per trial (``stop``: this worker ends now, e.g. after a ``MemoryError``).
    From the parent: ``(number, candidate, watch)`` to run (:class:`TrialWatch`), ``None`` to stop. Ctrl-C is left to the parent, which stops workers.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent(parent_pid)
    with contextlib.suppress(Exception):  # stderr may be closed
        faulthandler.enable()  # a segfault prints the Python stack of the trial to stderr
    prepare_process(sys_path, threads)
    try:
        if payload is None:  # sent over the pipe (the parent starts several workers at once)
            payload = conn.recv_bytes()
        evaluator = pickle.loads(payload)
    except BaseException as exc:  # noqa: BLE001 - report any failure to load, then stop
        conn.send(("init-error", f"{type(exc).__name__}: {exc}"))
        return
    del payload
    set_torch_threads(threads)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        number, candidate, *more = message
        watch = more[0] if more else None
        conn.send(("took", number))  # from here on, this worker's death is the trial's
        outcome = run_trial(evaluator, number, candidate, watch, ask_parent(conn, number))
        stop = recycle_after(outcome)
        try:
            conn.send(("done", outcome, stop))
        except Exception as exc:  # noqa: BLE001 - e.g. a report value that does not pickle
            error = f"the result could not be sent back: {type(exc).__name__}: {exc}"
            conn.send(("done", Outcome(number, TrialState.FAILED, error=error, started=outcome.started,
                                       finished=outcome.finished, cost_seconds=outcome.cost_seconds), stop))  # fmt: skip
        if stop:
            return
