"""Conformance checks that every storage must pass, as a test class that takes a factory.

Subclass :class:`StorageConformance` in a test module (its name must start with ``Test``) and
give it a ``make`` factory that returns a fresh, empty storage for a folder; pytest then runs
every ``test_*`` check on it, as Optuna's ``optuna/testing/pytest_storages.py`` does for its
storages::

    class TestSQLite(StorageConformance):
        @staticmethod
        def make(folder: Path) -> Storage:
            return SQLiteStorage(folder / "study.db")

``reopen`` (optional) gives the same storage again from the folder, for storages that persist:
the checks then also read everything back through a second instance.

The checks: trials round-trip exactly (every field, updates replace, order by number),
settings merge and round-trip as JSON, a metric that is not a number is refused, a read checked against a space reports (never drops)
architectures that do not fit it, ``skip_bad`` warns naming what it left out,
``next_number`` is past every row, and :meth:`Storage.check` is empty for a healthy storage.

Example:
    >>> from nasforge.storage import InMemoryStorage
    >>> class Memory(StorageConformance):
    ...     make = staticmethod(lambda folder: InMemoryStorage())
    >>> Memory().test_round_trip_of_every_field(Path("."))
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

from .._trial import Trial, TrialState
from ..space import Arch, Choice, IntRange, SearchSpace
from ..storage import Storage, StorageError, StorageWarning


def sample_trials() -> list[Trial]:
    """Trials that use every field of a trial: states, budgets, reports, errors, requeues."""
    a = Arch({"kernel": 3, "act": "relu", "lr": 0.001, "bn": False})
    return [
        Trial(0, a, None, TrialState.COMPLETE, {"acc": 0.9, "params": 1e6}, {"test": 0.88}, None, 1.0, 2.0, 1.0,
              asked_after=0, tell_seq=0),
        Trial(1, a.replace(kernel=5), 0.25, TrialState.FAILED, {}, {}, "ValueError: boom", 2.0, 3.0, 0.5,
              interrupted=True, asked_after=1, tell_seq=1),
        Trial(2, a.replace(kernel=1), None, TrialState.RUNNING, started=4.0, requeued_from=1, asked_after=2),
        Trial(3, a.replace(kernel=7), 1.0, TrialState.PRUNED, {"acc": -math.inf, "loss": math.nan}, {"epochs": [1, 2]},
              enqueued=True, asked_after=2, tell_seq=2, violation=0.5),
    ]  # fmt: skip


def _same(a: list[Trial], b: list[Trial]) -> bool:
    """Trial lists equal, NaN metrics included (NaN != NaN)."""

    def key(t: Trial) -> Trial:
        metrics = {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in t.metrics.items()}
        return Trial(**{**t.__dict__, "metrics": metrics})

    return [key(t) for t in a] == [key(t) for t in b]


class StorageConformance:
    """The checks; a subclass sets ``make`` (and, for a persistent storage, ``reopen``)."""

    make: Callable[[Path], Storage]
    reopen: Callable[[Path], Storage] | None = None

    def _views(self, storage: Storage, folder: Path) -> list[Storage]:
        """The storage itself and, when it persists, a second instance opened on the same folder."""
        return [storage] if self.reopen is None else [storage, type(self).reopen(folder)]  # type: ignore[misc]

    def test_round_trip_of_every_field(self, tmp_path: Path) -> None:
        storage = type(self).make(tmp_path)
        assert storage.trials() == [] and storage.get_meta() == {} and storage.next_number() == 0
        for t in reversed(sample_trials()):
            storage.put_trial(t)
        for view in self._views(storage, tmp_path):
            assert _same(view.trials(), sample_trials())
            assert view.next_number() == 4

    def test_put_replaces_by_number(self, tmp_path: Path) -> None:
        storage = type(self).make(tmp_path)
        for t in sample_trials():
            storage.put_trial(t)
        done = sample_trials()[2]
        storage.put_trial(Trial(2, done.arch, None, TrialState.COMPLETE, {"acc": 0.5}, requeued_from=1, asked_after=2))
        for view in self._views(storage, tmp_path):
            trials = view.trials()
            assert len(trials) == 4 and trials[2].state is TrialState.COMPLETE and trials[2].metrics == {"acc": 0.5}
            assert [t.number for t in trials] == [0, 1, 2, 3]

    def test_settings_merge_and_round_trip_as_json(self, tmp_path: Path) -> None:
        storage = type(self).make(tmp_path)
        storage.set_meta({"name": "x", "config": {"a": [1, 2]}, "seed": 3})
        storage.set_meta({"seed": 4, "elapsed_seconds": 1.5})
        for view in self._views(storage, tmp_path):
            assert view.get_meta() == {"name": "x", "config": {"a": [1, 2]}, "seed": 4, "elapsed_seconds": 1.5}
        got = storage.get_meta()
        got["config"]["a"].append(3)  # a copy: changing it changes nothing stored
        assert storage.get_meta()["config"] == {"a": [1, 2]}

    def test_a_read_checked_against_a_space_reports_archs_that_do_not_fit(self, tmp_path: Path) -> None:
        space = SearchSpace({"kernel": Choice([1, 3]), "depth": IntRange(1, 3)})
        storage = type(self).make(tmp_path)
        storage.put_trial(Trial(0, Arch({"kernel": 3, "depth": 2}), state=TrialState.COMPLETE, metrics={"acc": 1.0}))
        storage.put_trial(Trial(1, Arch({"kernel": 3}), state=TrialState.COMPLETE, metrics={"acc": 0.5}))
        storage.put_trial(Trial(2, Arch({"kernel": 9, "depth": 1}), state=TrialState.FAILED))
        for view in self._views(storage, tmp_path):
            assert len(view.trials()) == 3  # without a space, nothing to judge them by
            read = view.read_trials(space=space)
            assert [t.number for t in read.trials] == [0] and read.next_number == 3
            assert [p.number for p in read.problems] == [1, 2]
            assert "arch.depth: is missing" in read.problems[0].reason
            assert "arch.kernel: 9 is not a value" in read.problems[1].reason
            try:
                view.trials(space=space)
            except StorageError as exc:
                assert exc.number == 1 and "trial 1" in str(exc) and "2 unreadable trials" in str(exc)
                assert "\n" not in str(exc)
            else:
                raise AssertionError("a trial that does not fit the space was read silently")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                assert [t.number for t in view.trials(skip_bad=True, space=space)] == [0]
            messages = [str(w.message) for w in caught if issubclass(w.category, StorageWarning)]
            assert len(messages) == 1 and "left out 2" in messages[0] and "trial 1" in messages[0]
            assert "trial 2" in messages[0]
            problems = view.check(space=space)
            assert len(problems) == 2 and problems[0].startswith("trial 1: ")
            assert view.check() == []

    def test_a_healthy_storage_checks_clean(self, tmp_path: Path) -> None:
        storage = type(self).make(tmp_path)
        assert storage.check() == []
        for t in sample_trials():
            storage.put_trial(t)
        storage.set_meta({"name": "x"})
        assert storage.check() == []
        storage.close()

    def test_a_metric_that_is_not_a_number_is_refused(self, tmp_path: Path) -> None:
        storage = type(self).make(tmp_path)
        bad = Trial(0, Arch({"k": 1}), state=TrialState.COMPLETE, metrics={"acc": "high"})  # type: ignore[dict-item]
        try:
            storage.put_trial(bad)
        except StorageError as exc:
            assert "trial 0: metric 'acc' must be a number" in str(exc)
        else:
            raise AssertionError("a metric that is not a number was stored")
        assert storage.trials() == [] and storage.next_number() == 0
