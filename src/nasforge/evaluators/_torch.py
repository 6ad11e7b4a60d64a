"""What a trial owns of torch (threads, RNG, device) and the small helpers the training and
proxy evaluators share (constructor options as YAML keys, data set config forms)."""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from .._errors import ConfigError
from .._validate import resolve_path
from ..models import ModelFn, Network


def default_threads() -> int:
    """torch threads per trial when not given: ``OMP_NUM_THREADS`` when set (worker processes
    of the local and Ray executors set it), else half the CPUs this process may use (at least 1).

    On a 2-core machine that is 1 thread: 2 threads are at most 1.1-1.75x faster when the
    machine is idle, and 10-20x slower as soon as anything else uses a core (measured here),
    while 1 thread is unaffected. The count is fixed, not read from the load, because the
    thread count changes floating-point sums and so the scores.
    """
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, available_cpus() // 2)


def available_cpus() -> int:
    """CPUs this process may use (its CPU affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; other names as torch reads them."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError("device", f"unknown device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "CUDA is not available on this machine; use device: auto or cpu")
    if dev.type != "cpu":  # mps, xpu, a CUDA index past the last GPU: refused here, not in every trial
        try:
            torch.empty(1, device=dev)
        except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, NotImplementedError, AssertionError
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise ConfigError("device", f"{device!r} cannot be used on this machine ({why}); use device: auto or cpu") from None
    return dev


@contextlib.contextmanager
def torch_scope(threads: int, device: torch.device, seed: int | None = None) -> Iterator[None]:
    """Run a block that owns torch for a while: ``threads`` intra-op threads and a forked RNG
    (seeded with ``seed`` when given), both restored afterwards; CUDA's cache emptied."""
    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    cuda = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            if seed is not None:
                torch.manual_seed(seed)
            yield
    finally:
        if threads != before:
            torch.set_num_threads(before)
        if device.type == "cuda":
            torch.cuda.empty_cache()


def check_device(device: Any, field: str = "device") -> str:
    """``device`` when torch can use it here (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ...)."""
    if not isinstance(device, str):
        raise ConfigError(field, f"must be a device name such as auto, cpu or cuda, got {device!r}")
    try:
        resolve_device(device)
    except ConfigError as exc:
        raise ConfigError(field, exc.message) from None
    return device


def signature_options(cls: type, exclude: Collection[str] = ()) -> list[str]:
    """The keyword-only options of ``cls.__init__``: what its YAML form may set."""
    params = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    return [p for p, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY and p not in exclude]


def data_config(spec: Any, base: Path) -> Any:
    """A data set's config form with its file paths made absolute (to store with a run)."""
    if isinstance(spec, Mapping):
        out = dict(spec)
        for key in ("npz", "csv", "images"):
            if key in out and isinstance(out[key], str | os.PathLike):
                out[key] = str(resolve_path(out[key], f"dataset.{key}", base).resolve())
        return out
    return spec


class NetworkEvaluator:
    """What the evaluators that build a network per architecture (:class:`Trainer`,
    :class:`ZeroCost`) share: a :class:`~nasforge.models.Network` as ``self.network``, and a
    ``_cache`` of device tensors that is dropped when the evaluator is pickled to a worker
    (it is rebuilt there)."""

    network: Network
    _cache: dict[Any, Any]

    @property
    def model_fn(self) -> ModelFn | None:
        """The user's model function, if any."""
        return self.network.model_fn

    @property
    def model_options(self) -> dict[str, Any]:
        """The model builder's options."""
        return self.network.options

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state
