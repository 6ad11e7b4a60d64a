"""The study: the search loop with budgets, persistence, resume and callbacks.

The study is where the parts meet, and it owns what lies between them:

- **Checks before any work**: the objectives name metrics the evaluator declares, every
  decision is read by the model builder or the trainer, the strategy can use this many
  objectives, a pruner has steps to judge (each refused with one line naming the field).
- **The space the search sees**: the evaluator's ``constraints(space)`` hook narrows it (e.g.
  to the networks that fit the data's shape) and a declared equivalence (a table's id column)
  replaces its canonical key; users never pass the narrowed space back in.
- **The history** (:class:`~nasforge.strategies.History`): every candidate asked or enqueued and
  every result told, by canonical key; a strategy only reads it, and a duplicate ask is refused.
  A strategy answers a candidate, :data:`~nasforge.strategies.WAIT` (nothing now) or ``None``
  (exhausted).
- **Results as data**: each trial's constraint violation is computed once, when it is stored;
  the best trial and the Pareto front come from :class:`~nasforge.Objectives` only.
- **Resume**: the stored asks and tells are replayed into a fresh strategy in their order,
  each replayed ask given its stored answer (``History.replaying``).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from . import _validate as v
from ._errors import ConfigError, FatalError, NasforgeError, SpaceError
from ._progress import Progress
from ._results import RunData
from ._trial import Candidate, Objectives, Trial, TrialState
from .evaluators import DEADLINE, Evaluator, check_decisions, check_objectives, static_constraints
from .executors import Executor, InlineExecutor, Outcome, TrialWatch
from .executors._base import DEADLINE_GRACE_SECONDS
from .pruners import Curves, Pruner, check_pruner, make_pruner
from .space import SearchSpace
from .storage import InMemoryStorage, Storage
from .strategies import WAIT, History, Strategy, as_strategy, strategy_label

DEFAULT_MAX_FAILURES_IN_A_ROW = 10
"""A search stops after this many consecutive failed trials unless told otherwise."""

Callback = Callable[["Study", Trial], None]
"""Called after each finished trial has been stored and told, with the study and the trial."""

INTERRUPTED = "interrupted: the search stopped while this trial ran"

DEADLINE_STOPPED = "pruned: deadline (the search's time budget ended while this trial ran)"
"""The error of a trial the study stopped at its deadline (it is run again on resume)."""


def check_budget(trials: int | None, seconds: float | None) -> None:
    """Refuse a trial budget that is not a non-negative integer, or a time budget that is not
    a positive finite number (NaN and infinity included), naming ``budget.<field>``."""
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 0):
        raise ConfigError("budget.trials", f"must be a non-negative integer, got {trials!r}")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < math.inf
    ):
        raise ConfigError("budget.seconds", f"must be a positive number of seconds, got {seconds!r}")


def _stopped_at_deadline(outcome: Outcome) -> bool:
    """Whether a trial ended because the search's time budget did (not on its merits)."""
    return outcome.state is TrialState.PRUNED and outcome.report.get("pruned_reason") == DEADLINE


def component_config(component: object) -> dict[str, Any] | str:
    """A component's ``to_config()`` (what rebuilds it), or its class name when it has none."""
    to_config = getattr(component, "to_config", None)
    if callable(to_config):
        try:
            out = to_config()
            if isinstance(out, dict):
                return out
        except NasforgeError:
            pass
    return type(component).__name__


class Study:
    """Runs a search: ask the strategy, evaluate, store, tell — until a budget ends.

    Every finished trial is written to storage before the strategy hears of it. Running a
    study whose storage already holds trials resumes it: the strategy is rebuilt by replaying
    the stored asks and tells with the same seed, trials that were running when the last
    process died are marked failed (interrupted) and run again once, and no finished trial is
    run twice.

    Args:
        space: The search space.
        evaluator: Turns architectures into metrics.
        strategy: A :class:`Strategy`, its registered name, or its config ``{"name": ..., **options}``.
        objectives: ``{metric: "maximize" | "minimize"}`` or :class:`Objectives`.
        storage: Where trials live (default: in memory).
        executor: Where evaluations run (default: inline, one at a time).
        seed: Seed of the one random generator handed to the strategy.
        name: The study's name, stored with it.
        callbacks: Functions called after each finished trial.
        max_failures_in_a_row: Stop with :class:`FatalError` after this many consecutive
            failed trials (default 10, as the CLI; ``None``: never).
        progress: Show a progress line on stderr while :meth:`run` runs (``False``: silent).
        pruner: Stops poor trials at the steps (epochs) they report: a
            :class:`~nasforge.pruners.Pruner`, its name (``asha``, ``median``) or config
            (``{"name": "asha", "eta": 3}``); it judges the primary objective. Refused with an
            evaluator that does not report steps.

    Example:
        >>> from nasforge.space import SearchSpace, Choice
        >>> from nasforge.evaluators import Function
        >>> space = SearchSpace({"x": Choice([1, 2, 3])})
        >>> study = Study(space, Function(lambda a: {"y": -(a["x"] - 2) ** 2}), "grid", {"y": "maximize"})
        >>> study.run(trials=3).best.arch["x"]
        2
    """

    def __init__(
        self,
        space: SearchSpace,
        evaluator: Evaluator,
        strategy: Strategy | str | Mapping[str, Any],
        objectives: Objectives | Mapping[str, str] | str,
        *,
        storage: Storage | None = None,
        executor: Executor | None = None,
        seed: int = 0,
        name: str = "study",
        callbacks: Iterable[Callback] = (),
        max_failures_in_a_row: int | None = DEFAULT_MAX_FAILURES_IN_A_ROW,
        progress: bool = True,
        pruner: Pruner | str | Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ConfigError("seed", f"must be a non-negative integer, got {seed!r}")
        narrowing = check_decisions(evaluator, space)  # the evaluator's hook (e.g. what fits the data's shape)
        self.space = space.with_constraints(narrowing) if narrowing else space
        same = getattr(evaluator, "equivalence", None)  # declared equivalence (a table's id column)
        if callable(same) and (canonical := same(self.space)) is not None:
            self.space = self.space.with_canonical(canonical, stored_elsewhere=True)
        self.evaluator = evaluator
        self.strategy = as_strategy(strategy)
        self.objectives = Objectives.parse(objectives)
        alias = [c for c in self.strategy.constraints if c not in self.objectives.constraints]
        if alias:  # a strategy's `constraints` option (NSGA-II) is an alias of the study's
            self.objectives = Objectives.parse(self.objectives, constraints=alias)
        check_objectives(evaluator, self.objectives)  # before any work: metrics the evaluator produces
        before_training = static_constraints(evaluator, self.objectives)  # e.g. params <= 1e5 with a trainer
        if before_training:  # judged from the architecture alone: never proposed, never trained
            self.space.check_possible()  # the space's own constraints first (space.constraints)
            narrowed = self.space.with_constraints(before_training)
            try:
                narrowed.check_possible()
            except SpaceError:
                raise ConfigError(
                    "constraints", f"no architecture of the space meets {before_training[0].name}; loosen the limit"
                ) from None
            self.space = narrowed
        self.strategy.validate(self.space, self.objectives)
        if self.strategy.multi_fidelity and getattr(evaluator, "multi_fidelity", True) is False:
            raise ConfigError(
                "strategy",
                f"{strategy_label(self.strategy)} evaluates at budgets below the full one, but the evaluator "
                f"({type(evaluator).__name__}) has one fidelity; use a single-fidelity strategy (evolution, random, bayesian)",
            )
        self.pruner = make_pruner(pruner)
        if self.pruner is not None:
            check_pruner(self.pruner, evaluator, self.objectives)
            steps = getattr(evaluator, "max_steps", None)
            self.pruner.start(max_steps=steps if isinstance(steps, int) and not isinstance(steps, bool) else None)
        self.storage = storage if storage is not None else InMemoryStorage()
        self.executor = executor if executor is not None else InlineExecutor()
        self.seed = int(seed)
        self.name = name
        self.callbacks = list(callbacks)
        if max_failures_in_a_row is not None and (
            isinstance(max_failures_in_a_row, bool) or not isinstance(max_failures_in_a_row, int)
            or max_failures_in_a_row < 1
        ):  # fmt: skip
            raise ConfigError(
                "max_failures_in_a_row", f"must be a positive integer or None (never stop), got {max_failures_in_a_row!r}"
            )
        self.max_failures_in_a_row = max_failures_in_a_row
        self.progress = bool(progress)
        meta = self.storage.get_meta()
        if meta.get("name") not in (None, name):
            raise ConfigError("name", f"the storage holds study {meta['name']!r}, not {name!r}")
        if "seed" in meta and meta["seed"] != self.seed:
            raise ConfigError("seed", f"the storage holds a study with seed {meta['seed']}, got {self.seed}")
        if "name" not in meta:
            self.storage.set_meta(
                {
                    "name": name,
                    "seed": self.seed,
                    "objectives": self.objectives.to_config(),
                    "constraints": self.objectives.constraints_config(),
                    "space": space.describe(),
                    "strategy": component_config(self.strategy),
                    **({"pruner": component_config(self.pruner)} if self.pruner is not None else {}),
                    "created": time.time(),
                    "elapsed_seconds": 0.0,
                }
            )
        self.replay_mismatches = 0
        self._enqueued: list[Candidate] = []
        self._started = False

    # -- results --------------------------------------------------------------------------

    @property
    def trials(self) -> list[Trial]:
        """All stored trials, by number."""
        return self.storage.trials(space=self.space)

    @property
    def best(self) -> Trial | None:
        """The complete trial with the best primary objective, or ``None``; under
        multi-fidelity, among the trials at the largest budget, and leaving out trials that
        break the metric constraints (:meth:`Objectives.best`, the one definition)."""
        return self.objectives.best(self.trials)

    @property
    def pareto_front(self) -> list[Trial]:
        """Complete trials that no other complete trial dominates on all objectives (at the
        largest budget, meeting the metric constraints: :meth:`Objectives.pareto_front`)."""
        return self.objectives.pareto_front(self.trials)

    def results(self) -> RunData:
        """This study's stored trials as the shared read model (what status, the report and
        ``explain`` read): ``nasforge.write_report(study.results())``."""
        return RunData.from_storage(self.storage, space=self.space, objectives=self.objectives)

    def enqueue(self, arch: Mapping[str, Any], *, budget: float | None = None) -> Candidate:
        """Have the next :meth:`run` evaluate ``arch`` before asking the strategy (as Optuna's
        ``enqueue_trial``): for architectures you want measured, e.g. a known good design or the
        neighbours that ``nasforge explain --evaluate`` fills in. The trial is stored as
        enqueued, counts toward the trial budget, and its result is told to the strategy
        (which then never proposes an equivalent architecture)."""
        cand = Candidate(self.space.validate(arch, field="enqueue"), budget)
        self._enqueued.append(cand)
        return cand

    def evaluate_neighbours(self, *, max_trials: int | None = None, rounds: int | None = None,
                            on_round: Callable[[int, int, Trial], None] | None = None) -> int:  # fmt: skip
        """Run the best architecture's neighbours (one decision changed, every value) that no
        trial at its fidelity has measured (nor an equivalent network: the same canonical key,
        which ``explain`` counts as measuring it), as enqueued trials; when one beats the best, do the
        same for the new best, until the best's neighbours are all measured (a local optimum,
        so every swap ``explain`` states is measured), ``rounds`` rounds have run, or
        ``max_trials`` new trials (the last round cut short). Each round improves the best, so
        it ends. ``on_round(round, count, best)`` is called before each round runs. Returns how
        many ran (0 without a complete trial)."""
        from .space._neighbours import one_change_neighbours

        if max_trials is not None:
            max_trials = v.non_negative_int(max_trials, "max_trials")
        if rounds is not None:
            rounds = v.positive_int(rounds, "rounds")
        best, ran, done = self.best, 0, 0
        while best is not None and (rounds is None or done < rounds):
            trials = self.trials
            key = 1.0 if best.budget is None else best.budget
            measured = {self.space.canonical(t.arch) for t in trials
                        if t.state.finished and (1.0 if t.budget is None else t.budget) == key}  # fmt: skip
            new = []
            for arch in one_change_neighbours(self.space, best.arch):
                k = self.space.canonical(arch)  # an equivalent network measured (or queued) already measures it
                if k not in measured:
                    measured.add(k)
                    new.append(arch)
            if max_trials is not None:
                new = new[: max_trials - ran]
            if not new:
                break
            if on_round is not None:
                on_round(done + 1, len(new), best)
            for arch in new:
                self.enqueue(arch, budget=best.budget)
            self.run(trials=sum(1 for t in trials if t.counts_toward_budget) + len(new))
            ran, done = ran + len(new), done + 1
            moved = self.best
            if moved is None or moved.number == best.number:
                break
            best = moved
        return ran

    @staticmethod
    def counts_toward_budget(trial: Trial) -> bool:
        """Finished trials count toward the trial budget, except interrupted ones (rerun)."""
        return trial.counts_toward_budget

    # -- the loop -------------------------------------------------------------------------

    def _rebuild(self) -> int:
        """Bind the strategy to a fresh :class:`History` and replay the stored asks and tells
        in their original order; queue interrupted trials. Returns how many stored trials
        count toward the trial budget."""
        self.history = History(self.space, self.objectives)
        self.strategy.start(self.space, self.objectives, np.random.default_rng(self.seed), self.history)
        trials = self.storage.trials(space=self.space)
        self.curves = self._stored_curves(trials)
        told = sorted((t for t in trials if t.tell_seq is not None), key=lambda t: t.tell_seq or 0)
        i = 0
        for t in trials:
            while i < len(told) and (told[i].tell_seq or 0) < t.asked_after:
                self._tell(told[i])
                i += 1
            if t.requeued_from is not None:
                continue  # a re-run: its candidate is pending since the interrupted trial
            if not t.enqueued:
                self.history.replaying = t.candidate  # a model may skip its argmax (History.replaying)
                try:
                    cand = self.strategy.ask()
                finally:
                    self.history.replaying = None
                if not isinstance(cand, Candidate) or cand.arch != t.arch or cand.budget != t.budget:
                    self.replay_mismatches += 1
            self.history.asked(t.candidate)  # what the study ran, even where the replay disagreed
        for t in told[i:]:
            self._tell(t)
        self._tells = len(told)
        self._next = self.storage.next_number()  # past every stored row, readable or not
        self._queue: list[tuple[Candidate, int | None, bool]] = []
        requeued = {t.requeued_from for t in trials if t.requeued_from is not None}
        for t in trials:
            if t.state is TrialState.RUNNING or t.state is TrialState.PENDING:
                t = replace(t, state=TrialState.FAILED, error=INTERRUPTED, interrupted=True, finished=time.time())
                self.storage.put_trial(t)
            if not t.interrupted or t.number in requeued:
                continue
            if t.requeued_from is None:
                self._queue.append((t.candidate, t.number, t.enqueued))
            elif t.tell_seq is None:
                # A re-run that was interrupted too: give up on it and tell the strategy.
                t = replace(t, tell_seq=self._tells)
                self._tells += 1
                self.storage.put_trial(t)
                self._tell(t)
        return sum(1 for t in trials if self.counts_toward_budget(t))

    def _stored_curves(self, trials: Iterable[Trial]) -> Curves:
        """The pruner's curves rebuilt from the steps stored with finished trials (those run
        again, interrupted, left out), in trial order."""
        curves = Curves()
        metric = self.objectives.primary.metric
        for t in trials:
            if not t.state.finished or t.interrupted:
                continue
            for step in t.report.get("steps", ()) if isinstance(t.report.get("steps"), list) else ():
                if isinstance(step, Mapping) and isinstance(step.get("step"), int | float):
                    curves.record(t.number, int(step["step"]), self._signed(step.get(metric)))
        return curves

    def _tell(self, trial: Trial) -> None:
        """Record a stored result in the history, then tell the strategy."""
        shown = trial.for_strategy()
        self.history.told(shown)
        self.strategy.tell(shown)

    def _ask(self, running: Mapping[int, Trial]) -> Candidate | None:
        """The strategy's next candidate; ``None`` when it has nothing now (:data:`WAIT`, with
        trials running) or is exhausted. A candidate already asked (pending or done, by
        canonical key and budget) is refused: a strategy must check ``history.is_new``."""
        ask = self.strategy.ask()
        if ask is None:
            self._exhausted = True
            return None
        if ask is WAIT:
            if not running:
                raise FatalError(
                    f"strategy {strategy_label(self.strategy)} answered WAIT with no trial running, so no result "
                    "can ever come: it should answer None (exhausted) or a new candidate"
                )
            return None
        if not isinstance(ask, Candidate):
            raise FatalError(
                f"strategy {strategy_label(self.strategy)} answered {ask!r} to ask(); expected a Candidate, WAIT or None"
            )
        if not self.history.is_new(ask.arch, ask.budget):
            budget = "" if ask.budget is None else f" at budget {ask.budget:g}"
            raise FatalError(
                f"strategy {strategy_label(self.strategy)} asked again for {ask.arch.to_json()}{budget}, "
                "which is already pending or done (by canonical key); a strategy must propose only "
                "architectures for which history.is_new(arch) holds"
            )
        return ask

    def run(self, *, trials: int | None = None, seconds: float | None = None, since: float | None = None) -> Study:
        """Search until ``trials`` trials have finished in this study (interrupted ones not
        counted), ``seconds`` of search time have passed in all runs together, or the
        strategy has nothing left to try. Returns the study.

        ``since`` is a :func:`time.monotonic` reading of when this run's work began, when that
        was before the call (``nasforge search`` passes the command's start, so reading the
        data, the checks and the imports count toward ``seconds`` and the command's search
        ends ``seconds`` after it started); by default the time counts from the call.

        Without ``trials`` and ``seconds``, runs until the strategy is exhausted.

        With a parallel executor the strategy is asked while other trials run. An ``ask`` that
        answers :data:`~nasforge.strategies.WAIT` means "nothing to propose now": the study
        asks again after the next finished trial. ``None`` means exhausted: the study asks no
        more and ends when the running trials are done. Neither answer is replayed on resume,
        so neither may change the strategy's state. Every candidate the study submits is
        recorded in the strategy's history; one already asked is refused (:class:`FatalError`).

        A time budget holds: each trial is handed the deadline (a trainer stops at the next
        batch, a function at its next :func:`~nasforge.evaluators.report_step`), and trials
        still running a short grace after it are stopped (their workers killed). Both are
        stored as pruned (``report["pruned_reason"] == "deadline"``), marked interrupted: they
        do not count toward the trial budget and a resume with time left runs them again once.
        With a :attr:`pruner`, each step a trial reports is judged; a pruned trial is stored
        with the step it reached (``report["pruned_at"]``) and its cost, counts toward the
        trial budget, is told to the strategy, and is never the best.
        """
        check_budget(trials, seconds)
        self.space.check_possible()
        done = self._rebuild()
        elapsed_before = float(self.storage.get_meta().get("elapsed_seconds", 0.0))
        t0 = min(since, time.monotonic()) if since is not None else time.monotonic()
        spent = time.monotonic() - t0  # before this call (the command's start), counted in the budget
        deadline = time.time() + max(0.0, seconds - elapsed_before - spent) if seconds is not None else None
        stop_at = deadline + DEADLINE_GRACE_SECONDS if deadline is not None else None
        running: dict[int, Trial] = {}
        failures_in_a_row = 0
        self._exhausted = False
        self._live_steps: dict[int, list[dict[str, float]]] = {}

        def out_of_budget() -> bool:
            if trials is not None and done + len(running) >= trials:
                return True
            return seconds is not None and elapsed_before + time.monotonic() - t0 >= seconds

        bar = Progress(self, trials, seconds=seconds, elapsed=elapsed_before) if self.progress else None
        callbacks: list[Callback] = [*self.callbacks, *([bar] if bar is not None else [])]
        prepare = getattr(self.evaluator, "prepare", None)
        if callable(prepare):  # e.g. a one-shot supernet, trained once here before workers load it
            prepare()
        watch = TrialWatch(deadline, prune=self.pruner is not None, metric=self.objectives.primary.metric)
        self.executor.watch(watch, self._on_step if self.pruner is not None else None)
        self.executor.start(self.evaluator)
        past_deadline = False
        submitted = 0
        try:
            while True:
                while not self._exhausted and not out_of_budget() and self.executor.free() > 0:
                    if self._queue:
                        cand, source, enqueued = self._queue.pop(0)
                    elif self._enqueued:
                        cand, source, enqueued = self._enqueued.pop(0), None, True
                    else:
                        ask = self._ask(running)
                        if ask is None:
                            break  # WAIT (ask again after the next tell) or exhausted
                        cand, source, enqueued = ask, None, False
                    if source is None:
                        self.history.asked(cand)  # a re-run's candidate is pending already
                    trial = Trial(
                        self._next, cand.arch, cand.budget, TrialState.RUNNING, started=time.time(),
                        asked_after=self._tells, requeued_from=source, enqueued=enqueued,
                    )  # fmt: skip
                    self._next += 1
                    submitted += 1
                    self.storage.put_trial(trial)
                    running[trial.number] = trial
                    self.executor.submit(trial.number, cand)
                if not running:
                    break
                if stop_at is not None and time.time() >= stop_at:
                    past_deadline = True
                    break  # the trials still running are stopped below
                last_failed: Trial | None = None
                outcomes = self.executor.wait()
                if not outcomes:  # past the deadline and its grace
                    past_deadline = True
                    break
                for outcome in outcomes:
                    self._live_steps.pop(outcome.number, None)
                    if _stopped_at_deadline(outcome):
                        self._store_deadline_stop(running.pop(outcome.number), outcome)
                        continue
                    trial = self._finish(running.pop(outcome.number), outcome)
                    done += 1
                    self.storage.set_meta({"elapsed_seconds": elapsed_before + time.monotonic() - t0})
                    for cb in callbacks:
                        cb(self, trial)
                    failures_in_a_row = failures_in_a_row + 1 if trial.state is TrialState.FAILED else 0
                    last_failed = trial if trial.state is TrialState.FAILED else last_failed
                limit = self.max_failures_in_a_row
                if limit is not None and failures_in_a_row >= limit and last_failed is not None:
                    raise FatalError(
                        f"stopped after {failures_in_a_row} failed trials in a row; last error: {last_failed.error} "
                        f"(trial {last_failed.number}; the limit is max_failures_in_a_row={limit})"
                    )
        finally:
            if bar is not None:
                bar.close()
            self.executor.shutdown()
            self.storage.set_meta({"elapsed_seconds": elapsed_before + time.monotonic() - t0})
            for trial in running.values():  # stopped (deadline, Ctrl-C, a fatal error): not left "running"
                try:
                    if past_deadline:
                        self._store_deadline_stop(trial, None)
                    else:
                        stopped = replace(
                            trial, state=TrialState.FAILED, error=INTERRUPTED, interrupted=True, finished=time.time()
                        )
                        self.storage.put_trial(stopped)
                except NasforgeError:  # the storage itself failed: resume marks it the same way
                    break
        if seconds is not None and elapsed_before < seconds and not submitted and not self._exhausted and (
            trials is None or done < trials
        ):
            warnings.warn(
                f"the time budget ({seconds:g} s) ended before this run's first trial ({elapsed_before:.1f} s "
                f"spent by earlier runs, {spent:.1f} s by this one before its search began: reading the data, "
                "the checks, the imports); give more seconds",
                RuntimeWarning,
                stacklevel=2,
            )
        self._warn_if_nothing_completed()
        return self

    def _on_step(self, number: int, step: int, metrics: dict[str, float]) -> str | None:
        """The pruner's answer to trial ``number``'s report after ``step`` (executors call it
        from :meth:`Executor.wait`): record the judged value, then ask the pruner."""
        assert self.pruner is not None  # only installed with a pruner
        self._live_steps.setdefault(number, []).append({"step": float(step), **metrics})
        self.curves.record(number, step, self._signed(metrics.get(self.objectives.primary.metric)))
        return self.pruner.prune(self.curves, number, step)

    def _signed(self, value: Any) -> float:
        """A judged metric's value as larger-is-better (missing or NaN: ``-inf``)."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            return -math.inf
        return -math.inf if math.isnan(number) else self.objectives.primary.sign * number

    def _store_deadline_stop(self, trial: Trial, outcome: Outcome | None) -> None:
        """Store ``trial`` as stopped by the deadline: pruned, interrupted (run again on resume,
        not told now), with its partial metrics and cost (from ``outcome`` when it stopped by
        itself, else from the steps the study saw)."""
        now = time.time()
        if outcome is not None:
            metrics, report = outcome.metrics, dict(outcome.report)
            cost = outcome.cost_seconds
        else:
            from .executors._base import stored_step

            seen = self._live_steps.get(trial.number, [])
            last = seen[-1] if seen else {}
            metrics = {k: float(val) for k, val in last.items() if k != "step" and math.isfinite(val)}
            report = {"pruned_at": int(last["step"]) if last else None, "pruned_reason": DEADLINE,
                      **({"steps": [stored_step(s) for s in seen]} if seen else {})}  # fmt: skip
            cost = now - (trial.started or now)
        self.storage.put_trial(replace(
            trial, state=TrialState.PRUNED, metrics=metrics, report=report, error=DEADLINE_STOPPED,
            interrupted=True, finished=now, cost_seconds=cost,
        ))  # fmt: skip

    def _warn_if_nothing_completed(self) -> None:
        """Say why there is no best trial when every trial failed (instead of a silent ``None``)."""
        trials = self.trials
        if not trials or any(t.state is TrialState.COMPLETE for t in trials):
            return
        failed = [t for t in trials if t.state is TrialState.FAILED]
        if failed:
            last = failed[-1]
            warnings.warn(
                f"no trial of study {self.name!r} completed ({len(failed)} failed); last error (trial "
                f"{last.number}): {last.error}",
                RuntimeWarning,
                stacklevel=3,
            )

    def _finish(self, trial: Trial, outcome: Outcome) -> Trial:
        """Store the outcome of ``trial``, then tell the strategy."""
        trial = replace(
            trial,
            state=outcome.state,
            metrics=outcome.metrics,
            report=outcome.report,
            error=outcome.error,
            started=outcome.started or trial.started,
            finished=outcome.finished or time.time(),
            cost_seconds=outcome.cost_seconds,
            tell_seq=self._tells,
        )
        trial = replace(trial, violation=self.objectives.violation(trial))  # once, stored with the trial
        self._tells += 1
        self.storage.put_trial(trial)
        self._tell(trial)
        return trial
