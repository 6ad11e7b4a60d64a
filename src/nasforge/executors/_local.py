"""Local process executor: N recycled worker processes, each trial isolated from the search."""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.connection
import multiprocessing.util  # its exit hook must be registered before ours (see _stop_all)
import os
import pickle
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from .. import _validate as v
from .._errors import ConfigError, FatalError
from .._trial import Candidate, TrialState
from .._validate import called
from ..evaluators import Evaluator
from ._base import Executor, Outcome
from ._worker import describe_exit, worker_main

SECONDS = "a positive number of seconds"

STOP_GRACE_SECONDS = 2.0
"""How long :meth:`LocalExecutor.shutdown` lets idle workers exit before killing them."""

MAX_WAIT_SECONDS = 3600.0
"""The longest single wait: a longer one (a trial_timeout or time budget of 1e18 s) is cut into
several, since waiting on a pipe overflows past about 2**63 ns."""

WORKERS_PER_CPU = 8
"""Local worker processes allowed per CPU (see :func:`max_local_workers`)."""


def max_local_workers() -> int:
    """The most local worker processes a config may ask for on this machine (at least 16)."""
    return max(16, WORKERS_PER_CPU * (os.cpu_count() or 1))


@dataclass(eq=False)  # compared by identity (a slot in the pool)
class _Worker:
    process: Any
    conn: Any
    ready: bool = False
    task: tuple[int, Candidate] | None = None
    started: float = 0.0
    started_wall: float = 0.0
    deadline: float | None = None
    runs: int = 0
    took: bool = False
    """The worker said it started its task (a death before that is not the trial's fault)."""
    loading: bool = False
    """The evaluator is still on its way to the worker (a thread sends it, so that several
    workers load at once); messages sent meanwhile wait in :attr:`outbox`."""
    outbox: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: Any) -> None:
        """Send ``message`` to the worker, after the evaluator (never blocks on a worker that
        is still loading: one writer on the pipe at a time)."""
        with self.lock:
            if self.loading:
                self.outbox.append(message)
                return
        self.conn.send(message)

    def load(self, payload: bytes) -> None:
        """Send the evaluator, then what was sent meanwhile (the body of the loading thread).
        A worker that dies first is noticed by the pool (its sentinel), not here."""
        try:
            self.conn.send_bytes(payload)
            with self.lock:
                for message in self.outbox:
                    self.conn.send(message)
                self.outbox.clear()
                self.loading = False
        except Exception:  # noqa: BLE001 - its pipe closed: it died, or the pool shut down
            with self.lock:
                self.outbox.clear()
                self.loading = False


def pickle_evaluator(evaluator: Evaluator) -> bytes:
    """The evaluator as bytes for worker processes; a clear error when it cannot be pickled."""
    try:
        return pickle.dumps(evaluator, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - pickling can fail in many ways
        raise ConfigError(
            "executor",
            f"the evaluator cannot be sent to worker processes ({type(exc).__name__}: {exc}); define its "
            "function at the top level of a module (not a lambda or a nested function), or use executor inline",
        ) from None


class LocalExecutor(Executor):
    """Runs trials in ``workers`` worker processes on this machine, one trial per worker at a
    time, so that a crash, a segfault, ``os._exit`` or an out-of-memory kill of one trial fails
    only that trial.

    Workers are started once (``spawn``; importing torch costs seconds per process) and reused
    for trial after trial; the evaluator is pickled once and loaded once per worker. A worker
    that dies is replaced, and so is one that ran over ``trial_timeout`` (it is killed and the
    trial recorded as failed), one that raised ``MemoryError``, and one that reached
    ``max_trials_per_worker``. Workers end by themselves when the search process dies.
    Only the search process writes the storage.

    An evaluator given by a ``module:callable`` is found in the workers because they get the
    search process's ``sys.path`` (which includes the config's folder); lambdas and nested
    functions cannot be sent to another process.

    Args:
        workers: Number of worker processes (trials at once).
        trial_timeout: Seconds a trial may run (from when its worker is ready) before its
            worker is killed and the trial fails; ``None``: no limit.
        threads: Threads per worker for torch/BLAS (1 is the best use of a small machine);
            ``None`` leaves the libraries' default.
        max_trials_per_worker: Replace a worker after this many trials (bounds leaked
            memory); ``None``: never.

    Example:
        >>> ex = LocalExecutor(2, trial_timeout=600)
        >>> ex.free()  # not started yet
        0
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        trial_timeout: float | None = None,
        threads: int | None = 1,
        max_trials_per_worker: int | None = None,
    ) -> None:
        with called("LocalExecutor"):
            self.workers = v.positive_int(workers, "workers")
            if self.workers > max_local_workers():
                raise ConfigError(
                    "workers",
                    f"{self.workers} worker processes are more than this machine can run ({os.cpu_count()} CPUs: "
                    f"at most {max_local_workers()}, {WORKERS_PER_CPU} per CPU; each process holds its own memory)",
                )
            self.trial_timeout = v.positive_number(trial_timeout, "trial_timeout", none_ok=True, what=SECONDS)
            self.threads = v.integer(threads, "threads", low=1, high=v.MAX_THREADS, none_ok=True)
            self.max_trials_per_worker = v.positive_int(max_trials_per_worker, "max_trials_per_worker", none_ok=True)
        self._ctx = multiprocessing.get_context("spawn")
        self._pool: list[_Worker] = []
        self._retiring: list[_Worker] = []
        self._payload = b""
        self._early_deaths = 0
        self.replaced = 0
        """How many workers were started to replace others (died, timed out, recycled)."""

    # -- protocol -------------------------------------------------------------------------

    def start(self, evaluator: Evaluator) -> None:
        self.shutdown()
        self._payload = pickle_evaluator(evaluator)
        self._early_deaths = 0
        self._pool = [self._spawn() for _ in range(self.workers)]
        _LIVE.add(self)

    def free(self) -> int:
        return sum(1 for w in self._pool if w.task is None)

    def submit(self, number: int, candidate: Candidate) -> None:
        idle = [w for w in self._pool if w.task is None]
        if not idle:
            raise RuntimeError("LocalExecutor.submit() with no free worker; check free() first")
        worker = next((w for w in idle if w.ready), idle[0])
        try:
            if not worker.process.is_alive():  # reaps it if it is gone
                raise BrokenPipeError
            worker.send((number, candidate, self.trial_watch))
        except OSError:  # it died while idle: reap it, give the trial to a fresh worker
            _reap(worker)
            worker = self._replace(worker)
            worker.send((number, candidate, self.trial_watch))
        self._assign(worker, (number, candidate))

    def _assign(self, worker: _Worker, task: tuple[int, Candidate]) -> None:
        worker.task, worker.took = task, False
        worker.started, worker.started_wall = time.monotonic(), time.time()
        worker.deadline = self._deadline() if worker.ready else None

    def wait(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        stop_at = self._stop_at()
        while not outcomes:
            if not any(w.task is not None for w in self._pool):
                raise RuntimeError("LocalExecutor.wait() with nothing submitted")
            if stop_at is not None and time.time() >= stop_at:
                return outcomes  # past the search's deadline: the study stops what still runs
            if self._past_deadline() and not any(w.took for w in self._pool if w.task is not None):
                return outcomes  # no trial started (workers still loading): none to wait for
            deadlines = [w.deadline for w in self._pool if w.task is not None and w.deadline is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            if stop_at is not None:
                left = max(0.0, stop_at - time.time())
                if not self._past_deadline() and self.trial_watch.deadline is not None:
                    left = min(left, max(0.0, self.trial_watch.deadline - time.time()) + 0.01)
                timeout = left if timeout is None else min(timeout, left)
            waitables = [w.conn for w in self._pool] + [w.process.sentinel for w in self._pool]
            wait = None if timeout is None else min(timeout, MAX_WAIT_SECONDS)
            ready = set(multiprocessing.connection.wait(waitables, wait))
            for worker in list(self._pool):
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._read(worker, outcomes)
            now = time.monotonic()
            for worker in list(self._pool):
                if worker.task is not None and worker.deadline is not None and worker.deadline <= now:
                    outcomes.append(self._time_out(worker))
            self._reap_retiring()
            multiprocessing.active_children()  # joins any child process that ended: no <defunct> left
        return outcomes

    def _past_deadline(self) -> bool:
        deadline = self.trial_watch.deadline
        return deadline is not None and time.time() >= deadline

    def shutdown(self) -> None:
        workers, self._pool = self._pool + self._retiring, []
        self._retiring = []
        late = self._past_deadline()  # the time budget is spent: no grace
        for w in workers:
            if w.task is not None or not w.ready or late:
                # A trial in progress when the search stops is abandoned; a worker still loading
                # has nothing to finish, and past the deadline nobody waits for a clean exit.
                w.process.kill()
            else:
                try:
                    w.send(None)
                except OSError:
                    pass
        end = time.monotonic() + STOP_GRACE_SECONDS
        for w in workers:
            w.process.join(max(0.0, end - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1.0)
            w.conn.close()
        multiprocessing.active_children()
        _LIVE.discard(self)

    # -- workers --------------------------------------------------------------------------

    def _deadline(self) -> float | None:
        return time.monotonic() + self.trial_timeout if self.trial_timeout is not None else None

    def _spawn(self) -> _Worker:
        parent_end, child_end = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=worker_main,
            args=(child_end, os.getpid(), list(sys.path), self.threads, None),
            name="nasforge-worker",
        )
        process.start()  # returns at once: the evaluator follows over the pipe, from a thread
        child_end.close()  # so that the parent sees end-of-file when the worker dies
        worker = _Worker(process, parent_end, loading=True)
        threading.Thread(target=worker.load, args=(self._payload,), daemon=True, name="nasforge-worker-load").start()
        return worker

    def _replace(self, worker: _Worker) -> _Worker:
        """Swap ``worker`` (dead, killed or retiring) for a fresh one in the same slot."""
        fresh = self._spawn()
        self._pool[self._pool.index(worker)] = fresh
        self.replaced += 1
        return fresh

    def _read(self, worker: _Worker, outcomes: list[Outcome]) -> None:
        """Handle every message ``worker`` sent; notice when it died."""
        ended = False
        try:
            while worker.conn.poll():
                kind, value, *rest = worker.conn.recv()
                if kind == "ready":
                    worker.ready = True
                    self._early_deaths = 0
                    if worker.task is not None:
                        worker.started, worker.deadline = time.monotonic(), self._deadline()
                elif kind == "took":
                    worker.took = True
                elif kind == "step":
                    step, metrics = rest
                    answer = self.on_step(value, step, metrics) if self.on_step is not None else None
                    worker.send(("decision", answer))
                elif kind == "done":
                    if value.fatal:
                        raise FatalError(value.error or "a trial stopped the search")
                    outcomes.append(value)
                    worker.task, worker.deadline = None, None
                    worker.runs += 1
                    stop = bool(rest and rest[0])
                    if stop or (self.max_trials_per_worker is not None and worker.runs >= self.max_trials_per_worker):
                        self._retire(worker)
                        return
                elif kind == "init-error":
                    raise FatalError(f"a worker process could not load the evaluator: {value}")
        except (EOFError, OSError):
            ended = True
        if ended or not worker.process.is_alive():
            self._died(worker, outcomes)

    def _died(self, worker: _Worker, outcomes: list[Outcome]) -> None:
        worker.process.join(1.0)
        if worker.process.is_alive():  # closed its pipe but lingers: make sure it is gone
            worker.process.kill()
            worker.process.join(1.0)
        code = worker.process.exitcode
        worker.conn.close()
        task = worker.task
        if task is not None and worker.ready and not worker.took:
            # It was dying while idle when the trial was sent (its pipe still took the bytes):
            # the trial never started, so a fresh worker runs it instead of failing it.
            fresh = self._replace(worker)
            fresh.send((*task, self.trial_watch))
            self._assign(fresh, task)
            return
        if task is not None:
            outcomes.append(self._failed(worker, describe_exit(code)))
        if not worker.ready:
            self._early_deaths += 1
            if self._early_deaths >= max(3, 2 * self.workers):
                raise FatalError(
                    f"worker processes keep dying before they are ready; last: {describe_exit(code)} (see its "
                    "error above; a script that starts a search needs `if __name__ == '__main__':`)"
                )
        self._replace(worker)

    def _time_out(self, worker: _Worker) -> Outcome:
        worker.process.kill()
        worker.process.join(5.0)
        worker.conn.close()
        limit = f"{self.trial_timeout:g}" if self.trial_timeout is not None else "?"
        outcome = self._failed(worker, f"time limit: the trial ran longer than trial_timeout={limit} s and was stopped")
        self._replace(worker)
        return outcome

    def _failed(self, worker: _Worker, reason: str) -> Outcome:
        assert worker.task is not None  # internal invariant, not user input
        return Outcome(worker.task[0], TrialState.FAILED, error=reason, started=worker.started_wall,
                       finished=time.time(), cost_seconds=time.monotonic() - worker.started)  # fmt: skip

    def _retire(self, worker: _Worker) -> None:
        try:
            worker.send(None)
        except OSError:
            pass
        self._replace(worker)
        self._retiring.append(worker)

    def _reap_retiring(self) -> None:
        still = []
        for w in self._retiring:
            if w.process.is_alive():
                still.append(w)
            else:
                w.process.join(0)
                w.conn.close()
        self._retiring = still


def _reap(worker: _Worker) -> None:
    """Make sure ``worker``'s process is gone and joined (never left a zombie), its pipe closed."""
    worker.process.join(1.0)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(1.0)
    worker.conn.close()


_LIVE: weakref.WeakSet[LocalExecutor] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop the workers of executors that were never shut down (runs before multiprocessing
    joins its children at exit, which would otherwise wait for them forever)."""
    for executor in list(_LIVE):
        executor.shutdown()
