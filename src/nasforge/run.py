"""Run directories: a study's files on disk, and opening them again (resume, status, report)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self

from ._errors import ConfigError
from ._trial import Objectives, Trial, TrialState
from .config import RunConfig
from .space import SearchSpace, from_config
from .storage import SQLiteStorage
from .strategies import make_strategy
from .study import Callback, Study

DB_NAME = "study.db"


def db_path(run_dir: str | os.PathLike[str]) -> Path:
    """Where a run directory keeps its SQLite study."""
    return Path(run_dir) / DB_NAME


def create_study(cfg: RunConfig, run_dir: str | os.PathLike[str], *, callbacks: Iterable[Callback] = ()) -> Study:
    """A new study in ``run_dir``; refuses a directory that already holds one."""
    path = db_path(run_dir)
    if path.exists():
        raise ConfigError(
            "run_dir",
            f"{str(Path(run_dir))!r} already holds a study; resume it with `nasforge resume {run_dir}` "
            "or choose another --run-dir",
        )
    # Written under another name and renamed, so that a kill at any moment leaves either no
    # study or one that holds its config (which resume needs).
    fresh = path.with_name(DB_NAME + ".new")
    for leftover in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
        leftover.unlink(missing_ok=True)
    storage = SQLiteStorage(fresh)
    storage.set_meta({"config": cfg.raw, "config_dir": str(cfg.base_dir)})
    storage.close()
    os.replace(fresh, path)
    return _study(cfg, SQLiteStorage(path), callbacks)


def _study(cfg: RunConfig, storage: SQLiteStorage, callbacks: Iterable[Callback]) -> Study:
    return Study(
        cfg.space, cfg.evaluator, cfg.make_strategy(), cfg.objectives,
        storage=storage, executor=cfg.make_executor(), seed=cfg.seed, name=cfg.name, callbacks=callbacks,
        max_failures_in_a_row=cfg.max_failures_in_a_row,
    )  # fmt: skip


LOCK_NAME = ".lock"


class RunDirLock:
    """An exclusive lock on a run directory, held while a search or resume writes it, so that
    a second one is refused instead of corrupting the study. The operating system releases
    it when the process ends, even by ``kill -9``.

    Example:
        >>> import tempfile
        >>> with lock_run_dir(tempfile.mkdtemp()) as lock:
        ...     lock.held
        True
    """

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> Self:
        """Take the lock or raise :class:`ConfigError` naming the process that holds it."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as before
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise ConfigError(
                "run_dir",
                f"{str(self.run_dir)!r} is being searched by another nasforge process{who}; wait for it to end "
                f"(`nasforge status {self.run_dir}`) or stop it, then `nasforge resume {self.run_dir}`",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_run_dir(run_dir: str | os.PathLike[str]) -> RunDirLock:
    """Lock ``run_dir`` for a search or resume: ``with lock_run_dir(d): ...``."""
    return RunDirLock(run_dir)


def open_storage(run_dir: str | os.PathLike[str]) -> SQLiteStorage:
    """The storage of an existing run directory (clear error when there is none)."""
    path = db_path(run_dir)
    if not path.is_file():
        raise ConfigError("run_dir", f"{str(Path(run_dir))!r} holds no study ({DB_NAME} is missing)")
    return SQLiteStorage(path)


def load_config(run_dir: str | os.PathLike[str]) -> RunConfig:
    """The config a run directory was created with."""
    storage = open_storage(run_dir)
    try:
        meta = storage.get_meta()
    finally:
        storage.close()
    if "config" not in meta:
        raise ConfigError("run_dir", f"{str(Path(run_dir))!r} was not created by `nasforge search` (no stored config)")
    return RunConfig.parse(meta["config"], meta.get("config_dir", "."))


def load_results(run_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], SearchSpace, Objectives, list[Trial]]:
    """What read-only commands need, without building the evaluator: the stored settings,
    the space, the objectives and the trials."""
    storage = open_storage(run_dir)
    try:
        meta, trials = storage.get_meta(), storage.trials()
    finally:
        storage.close()
    config = meta.get("config") or {}
    space = from_config(config["space"]) if "space" in config else None
    if space is None:
        raise ConfigError("run_dir", f"{str(Path(run_dir))!r} was not created by `nasforge search` (no stored config)")
    return meta, space, Objectives.parse(meta.get("objectives") or {}), trials


def load_study(run_dir: str | os.PathLike[str], *, callbacks: Iterable[Callback] = ()) -> tuple[RunConfig, Study]:
    """Reopen a run directory's study with the config it was created with."""
    cfg = load_config(run_dir)
    return cfg, _study(cfg, open_storage(run_dir), callbacks)


def write_best(study: Study, run_dir: str | os.PathLike[str]) -> Path | None:
    """Write ``best.json`` (``{"arch", "metrics", "report", "trial"}``) for the best trial."""
    best = study.best
    if best is None:
        return None
    out = Path(run_dir) / "best.json"
    data = {
        "trial": best.number,
        "arch": best.arch.to_dict(),
        "arch_string": study.space.to_string(best.arch),
        "metrics": dict(best.metrics),
        "report": dict(best.report),
    }
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(out)
    return out


def _feasible(meta: dict[str, Any]) -> Callable[[Trial], bool]:
    """The stored strategy's test of its hard constraints on metrics (e.g. NSGA-II's
    ``constraints``), so that read-only commands leave out the trials that break them."""
    strat = (meta.get("config") or {}).get("strategy", "random")
    strat = {"name": strat} if isinstance(strat, str) else strat
    try:
        options = {k: v for k, v in strat.items() if k not in ("name", "warm_start")}
        return make_strategy(strat["name"], options).feasible
    except (ConfigError, KeyError, AttributeError, TypeError):
        return lambda trial: True


def summarize(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts by state, budget and the best trial of a run, as plain data (``status --json``)."""
    meta, space, objectives, trials = load_results(run_dir)
    counts = {s.value: 0 for s in TrialState}
    for t in trials:
        counts[t.state.value] += 1
    feasible = _feasible(meta)
    best = objectives.best(t for t in trials if feasible(t))
    budget = (meta.get("config") or {}).get("budget") or {}
    return {
        "name": meta.get("name"),
        "trials": len(trials),
        "counted": sum(1 for t in trials if Study.counts_toward_budget(t)),
        "interrupted": sum(1 for t in trials if t.interrupted),
        "states": counts,
        "budget": {"trials": budget.get("trials"), "seconds": budget.get("seconds")},
        "elapsed_seconds": meta.get("elapsed_seconds"),
        "objectives": objectives.to_config(),
        "best": None
        if best is None
        else {
            "trial": best.number,
            "arch": best.arch.to_dict(),
            "arch_string": space.to_string(best.arch),
            "metrics": dict(best.metrics),
            "report": dict(best.report),
        },
    }
