"""Ray executor: trials as Ray tasks, on this machine or on a cluster (extra ``ray``)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import sys
import time
import uuid
from typing import Any

from .. import _validate as v
from .._errors import ConfigError, FatalError
from .._trial import Candidate, TrialState
from .._validate import called
from ..evaluators import Evaluator
from ._base import Executor, Outcome, TrialWatch, run_trial
from ._local import MAX_WAIT_SECONDS, SECONDS
from ._worker import prepare_process, set_torch_threads

BOARD_POLL_SECONDS = 0.05
"""How often the search takes the step reports of Ray trials while it waits (with a pruner)."""

_EVALUATORS: dict[str, Any] = {}
"""Evaluators already loaded in this Ray worker process, by executor key (loaded once each)."""


class StepBoard:
    """The Ray actor through which trials' step reports reach the search and its answers come
    back: a task posts ``(number, step, metrics)`` and polls for the answer; the search takes
    the posted reports in its ``wait()`` and posts the answers."""

    def __init__(self) -> None:
        self.posted: list[tuple[int, int, dict[str, float]]] = []
        self.answers: dict[tuple[int, int], str | None] = {}

    def post(self, number: int, step: int, metrics: dict[str, float]) -> None:
        self.posted.append((number, step, metrics))

    def take(self) -> list[tuple[int, int, dict[str, float]]]:
        out, self.posted = self.posted, []
        return out

    def answer(self, number: int, step: int, reason: str | None) -> None:
        self.answers[(number, step)] = reason

    def poll(self, number: int, step: int) -> tuple[bool, str | None]:
        if (number, step) in self.answers:
            return True, self.answers.pop((number, step))
        return False, None


ANSWER_POLL_SECONDS = 0.02
"""How often a Ray trial waiting for a step decision asks the board."""


def _board_decider(board: Any, number: int) -> Any:
    """A step decider for a Ray task: post the report, wait for the search's answer."""
    import ray

    def decide(step: int, metrics: dict[str, float]) -> str | None:
        board.post.remote(number, step, metrics)
        while True:
            done, reason = ray.get(board.poll.remote(number, step))
            if done:
                return reason  # type: ignore[no-any-return]
            time.sleep(ANSWER_POLL_SECONDS)

    return decide


def _ray_trial(key: str, boxed: list[Any], sys_path: list[str], threads: int | None, number: int,
               candidate: Candidate, watch: TrialWatch | None = None, board: Any = None) -> Any:  # fmt: skip
    """The body of one Ray task: load the evaluator once per worker process, run the trial."""
    evaluator = _EVALUATORS.get(key)
    if evaluator is None:
        import ray
        from ray import cloudpickle

        prepare_process(sys_path, threads)
        try:
            evaluator = cloudpickle.loads(ray.get(boxed[0]))
        except Exception as exc:  # noqa: BLE001 - reported to the search, which stops
            return ("init-error", f"{type(exc).__name__}: {exc}")
        set_torch_threads(threads)
        _EVALUATORS.clear()  # one study's evaluator at a time per worker
        _EVALUATORS[key] = evaluator
    decide = _board_decider(board, number) if board is not None else None
    return run_trial(evaluator, number, candidate, watch, decide)


def ray_available() -> bool:
    """Whether the ``ray`` package can be imported."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


class RayExecutor(Executor):
    """Runs each trial as a Ray task with its own CPU/GPU resources.

    Joins the cluster at ``address`` (``"auto"`` for the one this machine belongs to), or
    starts a local Ray by default and shuts it down at the end. A Ray worker process is
    reused from trial to trial and loads the evaluator once. A trial whose node dies (a
    machine lost, its raylet killed) is run again once elsewhere, its report noting why
    (``retried_after``); a trial whose worker crashes or is killed by Ray's memory monitor
    fails with that reason; one over ``trial_timeout``
    (counted from its submission) is cancelled and fails. Only the search process writes
    the storage. On a cluster, nasforge and the evaluator's module must be importable on
    every node (``runtime_env``, e.g. ``{"working_dir": "."}``, can ship the module).

    Args:
        address: Cluster to join; ``None`` starts a local Ray.
        workers: Trials at once; ``None``: as many as the cluster's resources fit.
        num_cpus: CPUs of a local Ray (``None``: all of this machine's).
        num_gpus: GPUs of a local Ray (``None``: Ray detects them).
        cpus_per_trial: CPUs Ray reserves for each trial.
        gpus_per_trial: GPUs (or a fraction) Ray reserves for each trial.
        trial_timeout: Seconds from its submission (a fresh Ray worker's start-up included) before a
            trial is cancelled and failed; ``None``: no limit.
        threads: Threads per trial for torch/BLAS; ``None``: ``cpus_per_trial`` rounded up.
        max_trials_per_worker: Ray restarts a worker process after this many trials.
        runtime_env: Passed to ``ray.init`` (e.g. ``{"working_dir": ...}``).

    Example:
        >>> ex = RayExecutor(num_cpus=2, cpus_per_trial=1)   # ray.init happens in start()
        >>> ex.address is None
        True
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        num_cpus: int | None = None,
        num_gpus: int | None = None,
        cpus_per_trial: float = 1.0,
        gpus_per_trial: float = 0.0,
        trial_timeout: float | None = None,
        threads: int | None = None,
        max_trials_per_worker: int | None = None,
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        with called("RayExecutor"):
            if address is not None and not isinstance(address, str):
                raise ConfigError(
                    "address", f"must be a Ray address such as 'auto' or 'ray://host:10001', got {address!r}"
                )
            self.address = address
            self.workers = v.positive_int(workers, "workers", none_ok=True)
            self.num_cpus = v.positive_int(num_cpus, "num_cpus", none_ok=True)
            self.num_gpus = v.non_negative_int(num_gpus, "num_gpus", none_ok=True)
            self.cpus_per_trial = v.positive_number(cpus_per_trial, "cpus_per_trial")
            self.gpus_per_trial = v.non_negative_number(gpus_per_trial, "gpus_per_trial")
            self.trial_timeout = v.positive_number(trial_timeout, "trial_timeout", none_ok=True, what=SECONDS)
            self._threads = v.integer(threads, "threads", low=1, high=v.MAX_THREADS, none_ok=True)
            self.max_trials_per_worker = v.positive_int(max_trials_per_worker, "max_trials_per_worker", none_ok=True)
            if runtime_env is not None and not isinstance(runtime_env, dict):
                raise ConfigError("runtime_env", f"must be a mapping, got {runtime_env!r}")
            if address is not None and (num_cpus is not None or num_gpus is not None):
                raise ConfigError("num_cpus", "sets the size of a local Ray; a joined cluster has its own")
        self.threads = self._threads if self._threads is not None else max(1, math.ceil(self.cpus_per_trial))
        self.runtime_env = runtime_env
        self._ray: Any = None
        self._owns_ray = False
        self._slots = 0
        self._running: dict[Any, tuple[int, float, float]] = {}  # ref -> (number, monotonic start, wall start)
        self._candidates: dict[int, Candidate] = {}  # number -> candidate, to run again after its node died
        self._retried: dict[int, str] = {}  # number -> why it was run again
        self._board: Any = None  # the StepBoard actor while a pruner listens

    def start(self, evaluator: Evaluator) -> None:
        try:
            import ray
            from ray import cloudpickle
        except ImportError:
            raise ConfigError("executor.name", "ray is not installed; pip install 'nasforge[ray]'") from None
        try:
            payload = cloudpickle.dumps(evaluator)
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(
                "executor", f"the evaluator cannot be sent to Ray workers ({type(exc).__name__}: {exc})"
            ) from None
        self._ray = ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
            if self.address is None:
                options.update(num_cpus=self.num_cpus, num_gpus=self.num_gpus)
            if self.runtime_env is not None:
                options["runtime_env"] = self.runtime_env
            ray.init(address=self.address, **options)
            self._owns_ray = True
        resources = ray.cluster_resources()
        fits = [resources.get("CPU", 0.0) / self.cpus_per_trial]
        if self.gpus_per_trial > 0:
            fits.append(resources.get("GPU", 0.0) / self.gpus_per_trial)
        slots = int(min(fits) + 1e-9)
        if slots < 1:
            self.shutdown()
            raise ConfigError(
                "executor.cpus_per_trial",
                f"no trial fits the Ray cluster (it has {resources.get('CPU', 0)} CPUs, "
                f"{resources.get('GPU', 0)} GPUs; each trial asks {self.cpus_per_trial:g} CPUs, "
                f"{self.gpus_per_trial:g} GPUs)",
            )
        self._slots = min(slots, self.workers) if self.workers is not None else slots
        options = {"num_cpus": self.cpus_per_trial, "num_gpus": self.gpus_per_trial, "max_retries": 0}
        if self.max_trials_per_worker is not None:
            options["max_calls"] = self.max_trials_per_worker
        self._task = ray.remote(_ray_trial).options(**options)
        self._key = uuid.uuid4().hex
        self._boxed = [ray.put(payload)]  # in a list, so that each task fetches it only once
        self._sys_path = list(sys.path)
        self._running.clear()
        self._candidates.clear()
        self._retried.clear()
        self._board = ray.remote(num_cpus=0)(StepBoard).remote() if self.trial_watch.prune else None

    def free(self) -> int:
        return max(0, self._slots - len(self._running))

    def submit(self, number: int, candidate: Candidate) -> None:
        ref = self._task.remote(self._key, self._boxed, self._sys_path, self.threads, number, candidate,
                                self.trial_watch, self._board)  # fmt: skip
        self._running[ref] = (number, time.monotonic(), time.time())
        self._candidates[number] = candidate

    def wait(self) -> list[Outcome]:
        if not self._running:
            raise RuntimeError("RayExecutor.wait() with nothing submitted")
        ray = self._ray
        outcomes: list[Outcome] = []
        stop_at = self._stop_at()
        while not outcomes:
            if stop_at is not None and time.time() >= stop_at:
                return outcomes  # past the search's deadline: the study stops what still runs
            timeout = None
            if self.trial_timeout is not None:
                first = min(start for _, start, _ in self._running.values())
                timeout = max(0.0, first + self.trial_timeout - time.monotonic())
            if stop_at is not None:
                left = max(0.0, stop_at - time.time())
                timeout = left if timeout is None else min(timeout, left)
            if self._board is not None:
                timeout = BOARD_POLL_SECONDS if timeout is None else min(timeout, BOARD_POLL_SECONDS)
                self._answer_steps()
            if timeout is not None:  # a huge trial_timeout or time budget: waited for in parts
                timeout = min(timeout, MAX_WAIT_SECONDS)
            ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
            if ready:  # collect everything else that is done too
                ready, _ = ray.wait(list(self._running), num_returns=len(self._running), timeout=0)
            for ref in ready:
                outcome = self._collect(ref)
                if outcome is not None:
                    outcomes.append(outcome)
            if self.trial_timeout is not None:
                now = time.monotonic()
                for ref, (number, start, wall) in list(self._running.items()):
                    if now - start >= self.trial_timeout:
                        ray.cancel(ref, force=True)
                        del self._running[ref]
                        self._candidates.pop(number, None)
                        reason = f"time limit: the trial ran longer than trial_timeout={self.trial_timeout:g} s and was stopped"
                        outcomes.append(Outcome(number, TrialState.FAILED, error=reason, started=wall,
                                                finished=time.time(), cost_seconds=now - start))  # fmt: skip
        return outcomes

    def _answer_steps(self) -> None:
        """Answer the step reports the running trials posted on the board."""
        for number, step, metrics in self._ray.get(self._board.take.remote()):
            reason = self.on_step(number, step, metrics) if self.on_step is not None else None
            self._board.answer.remote(number, step, reason)

    def _collect(self, ref: Any) -> Outcome | None:
        """The outcome of a finished task; ``None`` when its node died and it was submitted again."""
        ray = self._ray
        number, start, wall = self._running.pop(ref)
        try:
            value = ray.get(ref)
        except ray.exceptions.NodeDiedError as exc:
            first = (str(exc).strip().splitlines() or ["its node died"])[0].split(". ")[0]  # the first sentence
            candidate = self._candidates.get(number)
            if number not in self._retried and candidate is not None:
                self._retried[number] = f"NodeDiedError: {first}"
                self.submit(number, candidate)  # once, wherever Ray finds room now
                return None
            reason = f"worker died (its Ray node died{' again, after one retry' if number in self._retried else ''}: {first})"
        except ray.exceptions.OutOfMemoryError:
            reason = "worker died (killed by Ray's memory monitor: out of memory)"
        except ray.exceptions.WorkerCrashedError:
            reason = "worker died (the Ray worker process crashed or was killed: segfault, os._exit or out of memory?)"
        except ray.exceptions.RayError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            reason = f"{type(exc).__name__}: {first}"
        else:
            if isinstance(value, tuple) and value and value[0] == "init-error":
                raise FatalError(f"a Ray worker could not load the evaluator: {value[1]}")
            if value.fatal:
                raise FatalError(value.error or "a trial stopped the search")
            self._candidates.pop(number, None)
            if number in self._retried:
                return dataclasses.replace(value, report={**value.report, "retried_after": self._retried.pop(number)})
            return value  # type: ignore[no-any-return]
        self._candidates.pop(number, None)
        self._retried.pop(number, None)
        return Outcome(number, TrialState.FAILED, error=reason, started=wall, finished=time.time(),
                       cost_seconds=time.monotonic() - start)  # fmt: skip

    def shutdown(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for ref in list(self._running):
            with contextlib.suppress(Exception):  # Ray may already be gone
                ray.cancel(ref, force=True)
        self._running.clear()
        self._candidates.clear()
        self._board = None
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False
        self._ray = None
