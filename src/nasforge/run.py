"""The run directory as a library service: create, open, lock, resume and finish a study on disk.

A run directory holds ``study.db`` (every trial, the study's settings and the config of each
component), ``best.json``, ``best/`` (the retrained best model) and ``report.html``. The CLI and
the Python API share this one service, so a study made with ``nasforge.search(...,
run_dir=DIR)`` is resumed, reported and explained by ``nasforge resume/report/explain DIR`` as
one made by ``nasforge search config.yaml``.

Example:
    >>> import tempfile
    >>> from nasforge.space import SearchSpace, Choice
    >>> from nasforge.evaluators import Function
    >>> run_dir = tempfile.mkdtemp()
    >>> study = search(SearchSpace({"w": Choice([1, 2, 4])}), Function(lambda a: {"acc": a["w"]}),
    ...                strategy="grid", objectives={"acc": "maximize"}, run_dir=run_dir, progress=False)
    >>> RunDir(run_dir).results().best.arch["w"]
    4
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _rundir
from ._errors import ConfigError, NasforgeError
from ._results import DB_NAME, RunData, db_path, open_storage
from ._rundir import LOCK_NAME, PENDING, RunDirLock
from ._rundir import entries as _entries
from ._rundir import read_json as _read_json
from ._rundir import write_json as _write_json
from ._trial import MetricConstraint, Objectives, Trial, TrialState
from .evaluators import DEADLINE
from .space import Arch, SearchSpace
from .storage import SQLiteStorage, Storage, StorageError
from .strategies import DEFAULT_STRATEGY, as_strategy
from .study import DEFAULT_MAX_FAILURES_IN_A_ROW, Callback, Study, check_budget

if TYPE_CHECKING:
    from .config import RunConfig
    from .evaluators import Evaluator, Finalizer
    from .executors import Executor
    from .pruners import Pruner
    from .strategies import Strategy

__all__ = [
    "DB_NAME",
    "RunDir",
    "RunDirLock",
    "create_study",
    "db_path",
    "load_study",
    "lock_run_dir",
    "open_storage",
    "search",
    "summarize",
    "write_best",
]

BEST_JSON = "best.json"
BEST_DIR = "best"


def lock_run_dir(run_dir: str | os.PathLike[str]) -> RunDirLock:
    """Lock ``run_dir`` for a search or resume: ``with lock_run_dir(d): ...``."""
    return RunDirLock(run_dir)


def compose_config(
    study: Study, *, trials: int | None, seconds: float | None, space: SearchSpace | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The run config of a study made in Python, from each component's ``to_config()``, and
    the reasons a part could not be stored (then the run is read-only: status, report and
    explain work, resume does not)."""
    config: dict[str, Any] = {
        "name": study.name,
        "seed": study.seed,
        "objectives": study.objectives.to_config(),
        "budget": {"trials": trials, "seconds": seconds, "max_failures_in_a_row": study.max_failures_in_a_row},
    }
    if study.objectives.constraints:
        config["constraints"] = study.objectives.constraints_config()
    if study.pruner is not None:
        config["pruner"] = study.pruner.to_config()
    problems: list[str] = []
    parts = (("space", space if space is not None else study.space), ("evaluator", study.evaluator),
             ("strategy", study.strategy), ("executor", study.executor))  # fmt: skip
    for key, component in parts:
        to_config = getattr(component, "to_config", None)
        if not callable(to_config):
            problems.append(f"{key}: {type(component).__name__} has no to_config()")
            continue
        try:
            config[key] = to_config()
        except NasforgeError as exc:
            problems.append(f"{key}: {exc}")
    return config, problems


class RunDir:
    """A study's directory on disk, as a service that the CLI and the Python API share.

    Args:
        path: The directory (created when a study is created in it).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.config_file: Path | None = None
        """The config file the search starts from (the CLI sets it): part of the :func:`fingerprint`."""
        self.accepted_changes: list[str] = []
        """What :meth:`open` found changed and went on with (``accept_changes``)."""

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def db(self) -> Path:
        """The study's SQLite file."""
        return db_path(self.path)

    def exists(self) -> bool:
        """Whether a study has been created here."""
        return self.db.is_file()

    def lock(self) -> RunDirLock:
        """The exclusive lock a writer holds: ``with run.lock(): ...``."""
        self._before = _entries(self.path)  # what was here before this writer (see abandon)
        return RunDirLock(self.path)

    def is_searching(self) -> bool:
        """Whether a search or resume holds this directory now (its lock is taken)."""
        if not (self.path / LOCK_NAME).exists():
            return False
        try:
            with self.lock():
                return False
        except ConfigError:
            return True

    # -- creating and opening ------------------------------------------------------------------

    def begin(self, config: Mapping[str, Any], config_dir: str | os.PathLike[str]) -> None:
        """Record the config of a search about to start, atomically, before anything is built:
        a search killed while it loads data or builds its parts leaves a directory that
        ``nasforge resume`` starts. :meth:`create` removes it; :meth:`abandon` too, when the
        config is refused, so a refused config leaves nothing."""
        _rundir.begin(self.path, _rundir.Pending(dict(config), Path(config_dir), self.config_file))

    def pending(self) -> tuple[dict[str, Any], Path] | None:
        """The config (with the command line's executor overrides applied) and folder of a
        search that began here but has no study yet."""
        found = _rundir.read_pending(self.path)
        if found is None:
            return None
        if found.config_file is not None:
            self.config_file = found.config_file
        config = dict(found.config)
        if found.executor is not None or found.workers is not None:
            from .config import override_executor

            config["executor"] = override_executor(config.get("executor"), found.executor, found.workers)
        return config, found.config_dir

    def abandon(self, *, before: set[str] | None | bool = True) -> None:
        """Forget a search that began here and was refused: remove its config, its lock and
        the directory itself when nothing else is in it. ``before``: the names the directory
        held before this writer (``None``: it did not exist); by default what :meth:`lock` saw."""
        (self.path / PENDING).unlink(missing_ok=True)
        (self.path / (PENDING + ".tmp")).unlink(missing_ok=True)
        _remove_db(self.db.with_name(DB_NAME + ".new"))
        if isinstance(before, bool):
            before = getattr(self, "_before", None)
        if before is not None:  # a directory that was there before: left as it was found
            if LOCK_NAME not in before:
                (self.path / LOCK_NAME).unlink(missing_ok=True)
        elif self.path.is_dir() and {p.name for p in self.path.iterdir()} <= {LOCK_NAME}:
            (self.path / LOCK_NAME).unlink(missing_ok=True)
            self.path.rmdir()

    def create(
        self,
        space: SearchSpace,
        evaluator: Evaluator,
        strategy: Strategy | str | Mapping[str, Any],
        objectives: Objectives | Mapping[str, str] | str,
        *,
        config: Mapping[str, Any] | None = None,
        config_dir: str | os.PathLike[str] | None = None,
        trials: int | None = None,
        seconds: float | None = None,
        **study_options: Any,
    ) -> Study:
        """A new study in this directory; refuses a directory that already holds one.

        ``config`` is the run config to store (the CLI's YAML); without it, the config is
        composed from the components' ``to_config()``, so that the run can be resumed from its
        directory. The study is built and validated against a file under another name that is
        renamed into place only once complete: a failure leaves nothing behind, and a kill at
        any moment leaves either no study or a whole one.
        """
        if self.exists():
            raise ConfigError(
                "run_dir",
                f"{str(self.path)!r} already holds a study; resume it with `nasforge resume {self.path}` "
                "or choose another run directory",
            )
        self.path.mkdir(parents=True, exist_ok=True)
        fresh = self.db.with_name(DB_NAME + ".new")
        _remove_db(fresh)
        try:
            storage = SQLiteStorage(fresh)
        except StorageError as exc:
            _remove_db(fresh)
            raise _not_written(self.db) if exc.disk_full else exc from None
        try:
            study = Study(space, evaluator, strategy, objectives, storage=storage, **study_options)
            if config is None:
                stored, problems = compose_config(study, trials=trials, seconds=seconds, space=space)
                extra: dict[str, Any] = {"config": stored, "config_dir": str(Path.cwd())}
                if problems:
                    extra["resume_error"] = "; ".join(problems)
            else:
                extra = {"config": dict(config), "config_dir": str(config_dir or Path.cwd())}
            extra[FINGERPRINT] = fingerprint(space, evaluator, self.config_file)
            storage.set_meta(extra)
        except StorageError as exc:
            storage.close()
            _remove_db(fresh)
            if exc.disk_full:  # nothing is stored yet: "resume goes on" would not hold
                raise _not_written(self.db) from None
            raise
        except BaseException:
            storage.close()
            _remove_db(fresh)
            raise
        storage.close()
        if _has_log(fresh):  # closing could not fold the log into the file (a full disk): renaming it would lose it
            _remove_db(fresh)
            raise _not_written(self.db)
        os.replace(fresh, self.db)
        (self.path / PENDING).unlink(missing_ok=True)
        study.storage = SQLiteStorage(self.db)
        return study

    def config(self) -> RunConfig:
        """The run config this directory's study was created with (YAML or Python-made)."""
        from .config import RunConfig

        storage = open_storage(self.path)
        try:
            meta = storage.get_meta()
        finally:
            storage.close()
        if "config" not in meta:
            raise ConfigError("run_dir", f"{str(self.path)!r} holds no stored config, so it cannot be resumed")
        if meta.get("resume_error"):
            raise ConfigError(
                "run_dir",
                f"{str(self.path)!r} was made in Python with parts that cannot be stored ({meta['resume_error']}); "
                "status, report and explain work, but resume it from Python with the same objects",
            )
        return RunConfig.parse(meta["config"], meta.get("config_dir", "."))

    def set_budget(self, *, trials: int | None = None, seconds: float | None = None) -> None:
        """Change the stored budget (``nasforge resume --trials/--seconds``): ``trials`` counts
        the trials of all runs together, ``seconds`` their search time together; a value not
        given stays as stored. Checked before it is written."""
        check_budget(trials, seconds)
        if trials is not None and trials < 1:  # stored, 0 would make the stored config refuse every resume
            raise ConfigError("budget.trials", f"must be a positive integer (trials in all runs together), got {trials!r}")
        storage = open_storage(self.path)
        try:
            meta = storage.get_meta()
            config = meta.get("config")
            if not isinstance(config, dict):
                raise ConfigError("run_dir", f"{str(self.path)!r} holds no stored config, so its budget cannot change")
            budget = dict(config.get("budget") or {}) if isinstance(config.get("budget", {}), dict) else {}
            if trials is not None:
                budget["trials"] = trials
            if seconds is not None:
                budget["seconds"] = seconds
            storage.set_meta({"config": {**config, "budget": budget}})
        finally:
            storage.close()

    def open(
        self, *, callbacks: Iterable[Callback] = (), workers: int | None = None, accept_changes: bool = False
    ) -> tuple[RunConfig, Study]:
        """Reopen this directory's study with the config it was created with (to resume it);
        ``workers`` overrides the executor's for this run only. What defines its results is
        checked against the study's :func:`fingerprint` first (:meth:`check_unchanged`)."""
        cfg = self.config()
        self.accepted_changes = self.check_unchanged(cfg, accept=accept_changes)
        if workers is not None:
            cfg = cfg.with_overrides(workers=workers)
        study = Study(
            cfg.space, cfg.evaluator, cfg.make_strategy(), cfg.objectives,
            storage=open_storage(self.path), executor=cfg.make_executor(), seed=cfg.seed, name=cfg.name,
            callbacks=callbacks, max_failures_in_a_row=cfg.max_failures_in_a_row, progress=False, pruner=cfg.pruner,
        )  # fmt: skip
        (self.path / PENDING).unlink(missing_ok=True)  # a kill between create's rename and its removal left it
        return cfg, study

    def check_unchanged(self, cfg: RunConfig, *, accept: bool = False) -> list[str]:
        """Refuse (:class:`ConfigError`, one line) to go on when something that defines this
        study's results changed since it began: the config file it was started from, the
        space, a table file, a ``function:`` module's source, a data file (see
        :func:`fingerprint`); new results would mix silently with the stored ones. With
        ``accept``, the changes are recorded as the new fingerprint and returned (one line
        each) instead. A study stored without a fingerprint is not checked."""
        storage = open_storage(self.path)
        try:
            stored = storage.get_meta().get(FINGERPRINT)
            if not isinstance(stored, list):
                return []
            now = fingerprint(cfg.space, cfg.evaluator, None, stored=stored)
            changed = [_describe(old) for old, new in zip(stored, now) if old != new]
            if changed and not accept:
                raise ConfigError(
                    "run_dir",
                    f"{'; '.join(changed)} since the search in {str(self.path)!r} began: new results would mix with "
                    "the stored ones; start a new search (`nasforge search CONFIG --run-dir NEW_DIR`), or resume "
                    "with --accept-changes to go on anyway (resume always runs the stored config)",
                )
            if changed:
                storage.set_meta({FINGERPRINT: now})
            return changed
        finally:
            storage.close()

    # -- reading -------------------------------------------------------------------------------

    def check(self) -> list[str]:
        """Every problem of the stored study, one line each (empty when healthy): the file's
        integrity, unreadable settings or rows, stored architectures the space lacks."""
        from ._results import stored_space

        storage = open_storage(self.path)
        try:
            try:
                space: SearchSpace | None = stored_space(storage.get_meta(), repr(str(self.path)))
            except NasforgeError:
                space = None
            return storage.check(space=space)
        finally:
            storage.close()

    def repair(self) -> list[str]:
        """Copy what ``study.db`` can still read into a new ``study.db``, keeping the damaged
        file beside it as ``study.db.damaged`` (numbered when that exists), and return one
        line per trial left out and one for the files. Nothing is changed when the file is
        healthy or when its settings (the study's config) cannot be read. A resume then fills
        the budget again with new trials."""
        from ._results import stored_space

        storage = open_storage(self.path)
        try:
            meta = storage.get_meta()
            try:
                space: SearchSpace | None = stored_space(meta, repr(str(self.path)))
            except NasforgeError:
                space = None
            read = storage.read_trials(space=space)
            damaged = bool(read.problems) or bool(storage.check(space=space))
        finally:
            storage.close()
        if not damaged:
            return [f"{self.db}: no damage found; nothing to repair"]
        fresh = self.db.with_name(self.db.name + ".repairing")
        _remove_db(fresh)  # what an earlier repair that was stopped left
        try:
            out = SQLiteStorage(fresh)
            try:
                out.set_meta({k: v for k, v in meta.items() if k != "schema_version"})
                for trial in read.trials:
                    out.put_trial(trial)
            finally:
                out.close()  # the last connection: its WAL is folded into the file
            if _has_log(fresh):  # the log could not be folded (a full disk): the copy is not whole
                raise StorageError(f"{fresh}: the copy is not whole", path=str(fresh), disk_full=True)
        except StorageError as exc:
            _remove_db(fresh)
            why = "the disk is full" if exc.disk_full else str(exc).split(": ", 1)[-1].split(";")[0]
            raise StorageError(
                f"{self.db}: the repaired copy could not be written ({why}); {self.db.name} is left as it was. "
                f"{'Free some space, then run' if exc.disk_full else 'Run'} `nasforge repair {self.path}` again",
                path=str(self.db), disk_full=exc.disk_full,
            ) from None  # fmt: skip
        keep = self.db.with_name(self.db.name + ".damaged")
        k = 1
        while keep.exists():
            keep, k = self.db.with_name(f"{self.db.name}.damaged{k}"), k + 1
        for suffix in ("", "-wal", "-shm"):  # SQLite finds a database's WAL by its name: they move together
            src = self.db.with_name(self.db.name + suffix)
            if src.exists():
                src.rename(keep.with_name(keep.name + suffix))
        fresh.rename(self.db)
        lines = [f"trial {p.number}: left out ({p.reason})" if p.number is not None else f"left out: {p.reason}"
                 for p in read.problems]  # fmt: skip
        lines.append(
            f"{self.db}: {len(read.trials)} readable trials copied into a new file, {len(read.problems)} left out; the "
            f"damaged file is kept as {keep.name}; `nasforge resume {self.path}` fills the budget again"
        )
        return lines

    def results(self) -> RunData:
        """The stored study as the shared read model (no evaluator is built)."""
        return RunData.load(self.path)

    def write_best(self, results: RunData | Study) -> Path | None:
        """Write ``best.json`` for the best trial (``None`` when there is none)."""
        data = RunData.load(results)
        best = data.best
        if best is None:
            return None
        out = self.path / BEST_JSON
        previous = _read_json(out)
        record = data.trial_dict(best)
        if previous.get("trial") == best.number and "finalized" in previous:
            record["finalized"] = previous["finalized"]
            if "final_choice" in previous:
                record["final_choice"] = previous["final_choice"]
        _write_json(out, record)
        return out

    def _write_stopped_best(self, data: RunData, trial: Trial) -> tuple[Path, str]:
        """Write ``best.json`` for the stopped trial a final model falls back to when no trial
        completed (:attr:`RunData.best_stopped`), with a ``final_choice`` that says so; returns
        the file and the reason."""
        out = self.path / BEST_JSON
        previous = _read_json(out)
        step = trial.report.get("pruned_at")
        at = f"epoch {step}" if step is not None else "its last epoch"  # a step is an epoch (report_step)
        peers = sum(1 for t in data.trials if t.state is TrialState.PRUNED and t.report.get("pruned_at") == step)
        value = trial.metrics[data.primary]
        reason = (
            f"the final network is trial {trial.number}, the best by {data.primary} ({value:.4g}) of the {peers} "
            f"stopped trial{'s' if peers != 1 else ''} that reached {at}, the furthest any got"
        )
        if any(t.report.get("pruned_reason") == DEADLINE for t in data.trials):
            reason += "; a resume with more seconds lets trials finish"
        record = data.trial_dict(trial)
        record["final_choice"] = {"trial": trial.number, "arch": trial.arch.to_dict(),
                                  "arch_string": data.space.to_string(trial.arch), "reason": reason,
                                  "stopped": True}  # fmt: skip
        if previous.get("trial") == trial.number and "finalized" in previous:
            record["finalized"] = previous["finalized"]
        _write_json(out, record)
        return out, reason

    def stopped_final_model(self) -> dict[str, Any] | None:
        """The stopped trial a final model fell back to when no trial completed, as
        ``best.json`` records it (trial, arch_string, reason) with ``model``, the ``best/``
        folder of its retrained network when it was retrained; ``None`` otherwise."""
        record = _read_json(self.path / BEST_JSON)
        choice = record.get("final_choice")
        if not isinstance(choice, dict) or not choice.get("stopped"):
            return None
        out = {k: choice.get(k) for k in ("trial", "arch_string", "reason")}
        model = self.path / BEST_DIR
        done = record.get("finalized") == choice.get("trial") and model.is_dir()
        out["model"] = str(model) if done else None
        return out

    # -- finishing -----------------------------------------------------------------------------

    def finish(self, study: Study, *, retrain: bool = True) -> list[str]:
        """End of a search: write ``best.json`` and, when the evaluator is a
        :class:`Finalizer`, retrain the best architecture, test it once and write ``best/``.
        An evaluator with ``choose_final(ranked_archs) -> (index, why)`` (one-shot: the top-k
        by inherited weights trained stand-alone, picked by validation) picks the architecture
        to retrain among the ranked trials; ``best.json`` then records it as ``final_choice``
        (trial, architecture, reason, each candidate's scores). With no complete trial (a time
        budget that ended before any trial finished) the architecture retrained is the stopped
        trial that got furthest (:attr:`RunData.best_stopped`), recorded as a ``final_choice``
        with ``stopped: true``. A best trial already finalized (a resume of a finished run) is
        not retrained again. Returns the lines to show."""
        data = study.results()
        best_path = self.write_best(data)
        best = data.best
        from .evaluators import Finalizer

        lines: list[str] = []
        stopped = None
        if best is None and retrain and isinstance(study.evaluator, Finalizer):
            stopped = data.best_stopped  # no trial finished: the final model falls back to the furthest stopped one
        if stopped is not None:
            best_path, reason = self._write_stopped_best(data, stopped)
            best = stopped
            lines.append(f"no trial completed: {reason}")
        if best_path is None or best is None:
            return [f"Results: {self.db} (no complete trial)"]
        if retrain and isinstance(study.evaluator, Finalizer):
            record = _read_json(best_path)
            if record.get("finalized") == best.number and (self.path / BEST_DIR).is_dir():
                lines.append(f"best model of trial {best.number} already in {self.path / BEST_DIR}/ (not retrained)")
            else:
                arch = best.arch
                choose = getattr(study.evaluator, "choose_final", None)
                if callable(choose) and stopped is None:  # e.g. one-shot: the top-k retrained stand-alone, picked by validation
                    ranked = data.ranked
                    lines.append(f"Training the top {min(len(ranked), getattr(study.evaluator, 'top_k', len(ranked)))} "
                                 "architectures stand-alone to choose the final one ...")  # fmt: skip
                    index, why = choose([t.arch for t in ranked])
                    chosen = ranked[index]
                    for trial, row in zip(ranked, why.get("candidates", [])):
                        row.update({"trial": trial.number, "search": {m: trial.metrics[m] for m in data.objectives.names}})
                    record["final_choice"] = {"trial": chosen.number, "arch": chosen.arch.to_dict(),
                                              "arch_string": data.space.to_string(chosen.arch), **why}  # fmt: skip
                    lines.append(f"chose trial {chosen.number}: {why.get('reason', '')}")
                    arch = chosen.arch
                which = "this stopped trial's architecture" if stopped is not None else "the best architecture"
                lines.append(f"Retraining {which} on train+validation and testing it once ...")
                lines.extend(self.write_final_model(study.evaluator, arch, data.space))
                record["finalized"] = best.number
                _write_json(best_path, record)
        lines.append(f"Results: {self.db}, {best_path}")
        return lines

    def write_final_model(self, finalizer: Finalizer, arch: Arch, space: SearchSpace) -> list[str]:
        """Retrain ``arch``, test it once and write ``best/`` (``arch.json``,
        ``model.safetensors``, ``summary.txt``, and ``model.onnx`` when onnx is installed),
        all into a temporary folder renamed into place, so a failure never leaves a partial
        ``best/``. Returns the lines to show."""
        from . import models

        t0 = time.perf_counter()
        model = finalizer.retrain(arch)
        scores = finalizer.test(model)
        seconds = time.perf_counter() - t0
        final = finalizer.final_info()
        info = {**final.info, **scores}
        shown = ", ".join(f"{k.removeprefix('test_')} {v:.4f}" for k, v in scores.items())
        where = f" on {info['test_samples']} held-out samples" if "test_samples" in info else ""
        trained = f"retrained {info['epochs']} epochs" if "epochs" in info else "retrained"
        if "train_samples" in info:
            trained += f" on {info['train_samples']} samples"
        header = [f"Architecture: {space.to_string(arch)}", f"Data: {info.get('dataset', '?')}, test {shown}{where} ({trained})", ""]
        tmp = self.path / (BEST_DIR + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        written = [models.ARCH_FILE, models.WEIGHTS_FILE, models.SUMMARY_FILE]
        try:
            models.save_model(model, tmp, space=final.space, arch=arch, input_shape=final.input_shape,
                              num_classes=final.num_classes, model_options=final.model_options, info=info,
                              summary_header=header)  # fmt: skip
            if models.onnx_available():
                models.export_onnx(model, final.input_shape, tmp / models.ONNX_FILE)
                written.append(models.ONNX_FILE)
        except BaseException:  # a full disk, an export that fails: no partial folder left, best/ as it was
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        out = self.path / BEST_DIR
        old = self.path / (BEST_DIR + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
        return [
            f"test {shown}{where} never seen by the search; {trained} in {seconds:.1f} s",
            f"best model: {out}/ ({', '.join(written)})",
        ]

    def evaluate_neighbours(self, *, progress: bool = False, accept_changes: bool = False,
                            max_trials: int | None = None, rounds: int | None = None,
                            on_round: Callable[[int, int, Trial], None] | None = None) -> tuple[int, int | None]:  # fmt: skip
        """:meth:`Study.evaluate_neighbours` on this run's study (the best's unmeasured
        neighbours, then a better neighbour's, until the best's are all measured, within
        ``rounds`` and ``max_trials``; ``on_round`` as there); returns how many ran and the
        number of the best trial before they ran (for ``explain``)."""
        open_storage(self.path).close()  # one clear line, before the lock, when there is no study
        with self.lock():
            _, study = self.open(accept_changes=accept_changes)
            study.progress = progress
            try:
                best = study.best
                if best is None:
                    raise ConfigError("run_dir", f"{str(self.path)!r} has no complete trial to explain")
                return study.evaluate_neighbours(max_trials=max_trials, rounds=rounds, on_round=on_round), best.number
            finally:
                study.storage.close()


FINGERPRINT = "fingerprint"
"""The study setting holding what defines its results (:func:`fingerprint`)."""


def fingerprint(
    space: SearchSpace, evaluator: Any, config_file: Path | None, *, stored: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """What defines a study's results beyond its stored config, as SHA-256 hashes: the config
    file it was started from, the space (its ``to_config``), the files the evaluator reads (a
    table, a data file ``npz``/``csv``, an image folder's listing of names, sizes and times),
    the source of the user's modules (a ``function:`` module, a ``model:`` module, the modules
    of training hooks, and the modules from the same folder that these import) and the
    versions of the packages that compute results (nasforge, numpy, and torch for a trainer).

    With ``stored`` (a fingerprint read back), the same entries are computed now for
    comparison, in the same order: files by their stored paths (a config file that is gone
    counts as unchanged: resume runs the stored config either way)."""
    if stored is not None:
        out = []
        for entry in stored:
            entry = dict(entry) if isinstance(entry, dict) else {}
            if entry.get("what") == "space":
                entry["sha256"] = _space_hash(space)
            elif entry.get("what") == "package versions":
                entry["versions"] = _versions(evaluator)
            elif entry.get("what") == "image folder" and isinstance(entry.get("path"), str):
                entry["sha256"] = _folder_hash(Path(entry["path"]))
            elif isinstance(entry.get("path"), str):
                path = Path(entry["path"])
                if not (entry.get("what") == "config file" and not path.exists()):
                    entry["sha256"] = _file_hash(path)
            out.append(entry)
        return out
    entries: list[dict[str, Any]] = []
    files: list[tuple[str, Any]] = [("config file", config_file)]
    files.append(("table", getattr(evaluator, "path", None)))
    files.extend(_user_modules(evaluator))
    data = getattr(evaluator, "data_config", None)
    if isinstance(data, Mapping):
        files.extend((f"data file ({kind})", data.get(kind)) for kind in ("npz", "csv"))
    seen: set[str] = set()
    for what, path in files:
        if isinstance(path, str | os.PathLike) and Path(path).is_file() and str(Path(path).resolve()) not in seen:
            seen.add(str(Path(path).resolve()))
            entries.append({"what": what, "path": str(Path(path).resolve()), "sha256": _file_hash(Path(path))})
    if isinstance(data, Mapping) and isinstance(data.get("images"), str | os.PathLike) and Path(data["images"]).is_dir():
        folder = Path(data["images"]).resolve()
        entries.append({"what": "image folder", "path": str(folder), "sha256": _folder_hash(folder)})
    space_hash = _space_hash(space)
    if space_hash is not None:
        entries.append({"what": "space", "sha256": space_hash})
    entries.append({"what": "package versions", "versions": _versions(evaluator)})
    return entries


def _user_modules(evaluator: Any) -> list[tuple[str, str]]:
    """``(what, file)`` of the user's modules behind ``evaluator``: the modules of its function,
    its model builder and its hooks, then (breadth first, at most 50) the modules from the same
    folders that those import."""
    import inspect
    import types

    found: list[tuple[str, types.ModuleType]] = []
    refs = [("function module", getattr(evaluator, "fn", None)),
            ("model module", getattr(getattr(evaluator, "network", None), "model_fn", None))]  # fmt: skip
    model_ref = getattr(evaluator, "model_ref", None)
    if isinstance(model_ref, str) and ":" in model_ref:
        refs.append(("model module", sys.modules.get(model_ref.split(":", 1)[0])))
    for hook in ("loss", "extra_metrics", "augment", "make_optimizer", "scheduler", "fit_fn", "on_epoch"):
        value = getattr(evaluator, hook, None)
        for fn in value.values() if isinstance(value, Mapping) else [value]:
            refs.append(("hook module", fn))
    for what, obj in refs:
        module = obj if isinstance(obj, types.ModuleType) else inspect.getmodule(obj) if callable(obj) else None
        file = getattr(module, "__file__", None)
        if module is not None and file and not _is_library(file):
            found.append((what, module))
    out: list[tuple[str, str]] = []
    queue = list(found)
    done: set[str] = set()
    while queue and len(done) < 50:
        what, module = queue.pop(0)
        file = str(Path(module.__file__ or "").resolve())
        if file in done:
            continue
        done.add(file)
        out.append((what, file))
        folder = Path(file).parent
        for value in list(vars(module).values()):
            inner = value if isinstance(value, types.ModuleType) else inspect.getmodule(value) if callable(value) else None
            inner_file = getattr(inner, "__file__", None)
            if inner is not None and inner_file and not _is_library(inner_file) and Path(inner_file).resolve().is_relative_to(folder):
                queue.append((f"module imported by {Path(file).name}", inner))
    return out


def _is_library(file: str) -> bool:
    """Whether ``file`` belongs to an installed package or to nasforge itself (not the user's code)."""
    parts = Path(file).resolve().parts
    return "site-packages" in parts or "dist-packages" in parts or Path(file).resolve().is_relative_to(Path(__file__).resolve().parent)


def _versions(evaluator: Any) -> str:
    """The versions of the packages that compute the results, as one line."""
    from importlib.metadata import PackageNotFoundError, version

    names = ["nasforge", "numpy"] + (["torch"] if hasattr(evaluator, "network") else [])
    out = []
    for name in names:
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return ", ".join(out)


def _folder_hash(folder: Path) -> str | None:
    """A hash of the files under ``folder``: their relative names, sizes and modification times."""
    import hashlib

    try:
        listing = sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                         for p in folder.rglob("*") if p.is_file())  # fmt: skip
    except OSError:
        return None
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def _file_hash(path: Path) -> str | None:
    import hashlib

    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _space_hash(space: SearchSpace) -> str | None:
    import hashlib

    try:
        text = json.dumps(space.to_config(), sort_keys=True, default=str)
    except (NasforgeError, TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode()).hexdigest()


def _describe(entry: Any) -> str:
    """One changed fingerprint entry in words."""
    if not isinstance(entry, dict):
        return "a stored fingerprint entry changed"
    if entry.get("what") == "space":
        return "the space's definition changed"
    if entry.get("what") == "package versions":
        return f"the package versions changed (were {entry.get('versions', '?')})"
    return f"the {entry.get('what', 'file')} {entry.get('path', '?')} changed"



def _remove_db(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


def _not_written(db: Path) -> StorageError:
    return StorageError(
        f"{db}: the new study could not be written (is the disk full?); nothing was stored. "
        "Free some space, then run the search again",
        path=str(db),
        disk_full=True,
    )


def _has_log(path: Path) -> bool:
    """Whether the SQLite file ``path`` still has a write-ahead log with content: after its last
    connection closed, that means the log could not be checkpointed into the file."""
    wal = Path(f"{path}-wal")
    return wal.exists() and wal.stat().st_size > 0




def search(
    space: SearchSpace,
    evaluator: Evaluator,
    *,
    strategy: Strategy | str | Mapping[str, Any] = DEFAULT_STRATEGY,
    objectives: Objectives | Mapping[str, str] | str,
    constraints: Sequence[str | MetricConstraint] = (),
    trials: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    run_dir: str | os.PathLike[str] | None = None,
    storage: Storage | None = None,
    executor: Executor | None = None,
    name: str = "study",
    callbacks: Iterable[Callback] = (),
    max_failures_in_a_row: int | None = DEFAULT_MAX_FAILURES_IN_A_ROW,
    progress: bool = True,
    retrain: bool = True,
    pruner: Pruner | str | Mapping[str, Any] | None = None,
) -> Study:
    """Search ``space``: the one-call API, and with ``run_dir`` exactly what ``nasforge search``
    gives — ``study.db`` with every component's config (so ``nasforge resume/status/report/
    explain DIR`` work), ``best.json``, and, for a training evaluator, the best architecture
    retrained, tested once and written to ``best/``.

    Args:
        space: The search space.
        evaluator: Turns architectures into metrics (a ``Trainer``, ``Table``, ``Function``...).
        strategy: A strategy, its registered name, or its config ``{"name": ..., **options}``
            (``transfer`` may name run directories, read relative to the working directory).
        objectives: ``{metric: "maximize" | "minimize"}``.
        constraints: Hard limits on metrics, e.g. ``["params <= 1e6"]``: a trial that breaks
            one is never the best.
        trials, seconds: The budget (a space with continuous decisions needs one); the
            seconds count from this call, so building the study counts too.
        seed: Seed of the search; same seed and settings give the same trials.
        run_dir: A new directory to keep the study in (refused if it holds one already).
        storage: Where trials live without a run directory (default: in memory).
        executor: Where evaluations run (default: this process, one at a time).
        name: The study's name.
        callbacks: Called with ``(study, trial)`` after each finished trial.
        max_failures_in_a_row: Stop after this many failed trials in a row (``None``: never).
        progress: Show a progress line on stderr.
        retrain: With ``run_dir``, retrain and test the best model at the end.
        pruner: Stop poor trials at the epochs they report (``asha``, ``median``, a
            :class:`~nasforge.pruners.Pruner` or its config); stored with the run.
    """
    started = time.monotonic()  # a time budget counts from the call, like the command's from its start
    check_budget(trials, seconds)  # before anything is written
    if trials is None and seconds is None and math.isinf(space.cardinality):
        raise ConfigError("budget", "a space with continuous decisions needs `trials` or `seconds`")
    goals = Objectives.parse(objectives, constraints=list(constraints))
    strategy = as_strategy(strategy, read_run=RunData.load)
    options: dict[str, Any] = {
        "executor": executor, "seed": seed, "name": name, "callbacks": callbacks,
        "max_failures_in_a_row": max_failures_in_a_row, "progress": progress, "pruner": pruner,
    }  # fmt: skip
    if run_dir is None:
        study = Study(space, evaluator, strategy, goals, storage=storage, **options)
        return study.run(trials=trials, seconds=seconds, since=started)
    if storage is not None:
        raise ConfigError("storage", "give either run_dir (its study.db is the storage) or storage, not both")
    run = RunDir(run_dir)
    with run.lock():
        try:
            study = run.create(space, evaluator, strategy, goals, trials=trials, seconds=seconds, **options)
        except Exception:
            run.abandon()  # refused: nothing of it is left (not even the directory, when it was new)
            raise
        study.run(trials=trials, seconds=seconds, since=started)
        lines = run.finish(study, retrain=retrain)
    if progress:
        print("\n".join(lines), file=sys.stderr)
    return study


# -- the functions of the first version, kept for their callers --------------------------------


def create_study(cfg: RunConfig, run_dir: str | os.PathLike[str], *, callbacks: Iterable[Callback] = ()) -> Study:
    """A new study in ``run_dir`` from a parsed config (``RunDir.create`` with its parts)."""
    return RunDir(run_dir).create(
        cfg.space, cfg.evaluator, cfg.make_strategy(), cfg.objectives,
        config=cfg.raw, config_dir=cfg.base_dir, executor=cfg.make_executor(), seed=cfg.seed, name=cfg.name,
        callbacks=callbacks, max_failures_in_a_row=cfg.max_failures_in_a_row, progress=False, pruner=cfg.pruner,
    )  # fmt: skip


def load_study(run_dir: str | os.PathLike[str], *, callbacks: Iterable[Callback] = ()) -> tuple[RunConfig, Study]:
    """Reopen a run directory's study with the config it was created with."""
    return RunDir(run_dir).open(callbacks=callbacks)


def write_best(study: Study, run_dir: str | os.PathLike[str]) -> Path | None:
    """Write ``best.json`` for the best trial of ``study``."""
    return RunDir(run_dir).write_best(study)


def summarize(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts by state, budget, best trial and Pareto front of a run (``status --json``)."""
    return RunDir(run_dir).results().summary()
