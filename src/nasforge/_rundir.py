"""The files of a run directory that must exist before anything heavy is imported: the lock
and the config of a search that is starting.

Standard library only, so that ``nasforge search`` writes them within a fraction of a second
of starting (a kill at any later moment leaves a directory that ``nasforge resume`` starts);
:class:`nasforge.run.RunDir` is the service built on them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from ._errors import ConfigError

DB_FILE = "study.db"
"""The study's SQLite file in a run directory (``nasforge._results.DB_NAME``)."""
PENDING = "config.pending.json"
"""The config of a search that is starting, written before anything else (see :func:`begin`)."""
LOCK_NAME = ".lock"


class RunDirLock:
    """An exclusive lock on a run directory, held while a search or resume writes it, so that
    a second one is refused instead of corrupting the study. The operating system releases
    it when the process ends, even by ``kill -9``.

    Example:
        >>> import tempfile
        >>> with RunDirLock(tempfile.mkdtemp()) as lock:
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
        try:  # never through a symbolic link: truncating it would damage the file it points at
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            raise ConfigError("run_dir", f"cannot lock {str(self.path)!r} ({exc.strerror}); remove it if it is a link") from None
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


def has_study(run_dir: Path) -> bool:
    """Whether a study has been created in ``run_dir``."""
    return (run_dir / DB_FILE).is_file()


@dataclass
class Pending:
    """The record of a search that is starting: its config as read, where it was read from,
    and the command line's executor overrides (``--executor``, ``--workers``), applied when
    the config is parsed (that needs the executors, which a fast start does not import)."""

    config: dict[str, Any]
    config_dir: Path
    config_file: Path | None = None
    executor: str | None = None
    workers: int | None = None


def begin(run_dir: Path, pending: Pending) -> None:
    """Record the config of a search about to start, atomically (see ``RunDir.begin``)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"config": dict(pending.config), "config_dir": str(pending.config_dir.resolve())}
    if pending.config_file is not None:
        record["config_file"] = str(pending.config_file)
    if pending.executor is not None or pending.workers is not None:
        record["overrides"] = {"executor": pending.executor, "workers": pending.workers}
    write_json(run_dir / PENDING, record)


def read_pending(run_dir: Path) -> Pending | None:
    """What :func:`begin` recorded in ``run_dir``; ``None`` when there is nothing (or the
    file is damaged: then the search never began in a way that can be resumed)."""
    data = read_json(run_dir / PENDING)
    if not isinstance(data.get("config"), dict):
        return None
    file = Path(data["config_file"]) if isinstance(data.get("config_file"), str) else None
    over: dict[str, Any] = data["overrides"] if isinstance(data.get("overrides"), dict) else {}
    name, workers = over.get("executor"), over.get("workers")
    return Pending(data["config"], Path(data.get("config_dir", ".")), file,
                   name if isinstance(name, str) else None, workers if isinstance(workers, int) else None)  # fmt: skip


def entries(path: Path) -> set[str] | None:
    """The names in directory ``path``, or ``None`` when there is no such directory."""
    try:
        return set(os.listdir(path))
    except OSError:
        return None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ``{}`` when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file renamed into place)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)
