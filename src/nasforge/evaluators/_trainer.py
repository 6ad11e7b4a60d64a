"""Real training: the PyTorch evaluator with holdout or K-fold cross-validation."""

from __future__ import annotations

import contextlib
import inspect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import _validate as v
from .. import models
from .._errors import ConfigError, NotStorable, SpaceError, TrialFailed
from .._refs import callable_ref, import_ref
from .._validate import called, check_keys
from ..data import TEST_FRACTION, Dataset, holdout_split, kfold_splits, load_dataset, stratified_split
from ..models import ModelFn
from ..models._network import resolve_space
from ..nn import ModelSpace
from ..space import Arch, Constraint, SearchSpace
from ._base import EvaluatorSetup, FinalModel, Result
from ._hooks import (
    HOOKS,
    OPTIMIZERS,
    SCHEDULERS,
    TRAINING_DECISIONS,
    Augmentation,
    AugmentFn,
    EpochFn,
    FitContext,
    LossFn,
    MetricFn,
    OptimizerFn,
    SchedulerFn,
    TrialSettings,
    check_setting,
    hook_config,
    resolve_hook,
)
from ._steps import (
    DEADLINE,
    TrialPruned,
    current_step_context,
    finite_metrics,
    past_deadline,
    report_step,
    steps_wanted,
    stop_reason,
)
from ._torch import (
    NetworkEvaluator,
    available_cpus,
    check_device,
    data_config,
    default_threads,
    resolve_device,
    signature_options,
    torch_scope,
)

FIDELITIES = ("epochs", "data", "both")


@dataclass
class FoldScore:
    """What one training run on one split gave: its validation metrics (see
    :meth:`Trainer.score`; only ``loss``, the training loss, without validation data), the
    epochs trained and the seconds taken."""

    metrics: dict[str, float]
    epochs: int
    seconds: float
    curve: list[dict[str, float]] = field(default_factory=list)
    """The validation metrics after each epoch (with ``epoch_reports`` or early stopping)."""


class Trainer(NetworkEvaluator):
    """Evaluates an architecture by training its network (PyTorch) and scoring it on held-out
    validation data: one stratified holdout split, or stratified K-fold cross-validation whose
    score is the mean over the folds.

    Metrics (all visible to the search, listed in :attr:`metrics`): ``accuracy`` (validation,
    mean over folds), ``loss`` (validation cross-entropy), ``params``, ``flops`` (one input),
    ``latency_ms`` (one input, CPU; only with ``measure_latency``) and ``train_seconds``, plus
    any ``extra_metrics``; for a regression data set ``mse``, ``mae`` and ``r2`` (in the
    target's units) replace ``accuracy`` and the default objective is ``{mse: minimize}``. The
    report (hidden from the search) holds ``accuracy_std``, ``fold_accuracy`` (each fold's
    score; ``mse_std``, ``fold_mse`` for regression), ``epochs`` (mean epochs trained) and, with
    ``epoch_reports``, the per-epoch validation curve.

    Decisions named like a training option (:data:`TRAINING_DECISIONS`: ``lr``,
    ``optimizer``, ``momentum``, ``weight_decay``, ``batch_size``, ``epochs``, ``dropout``)
    override it for their trial (:meth:`settings`). Tabular inputs (and a regression target)
    are standardized with the statistics of each split's training part only.

    The candidate's ``budget`` (a fraction in (0, 1], ``None`` = 1) scales the epochs, the
    training data, or both (``fidelity``). Each trial seeds torch from ``seed`` and the
    architecture's id inside a forked RNG state, so the same seed gives the same scores and
    the caller's RNG is untouched. A NaN loss, running past ``time_limit`` or any exception
    fails the trial; the search goes on.

    Inside a study with a pruner or a time budget, the trainer validates after every epoch of
    the first split and reports it (:func:`nasforge.evaluators.report_step`, metrics
    :attr:`step_metrics`); when the pruner answers "stop", or past the search's deadline
    (checked after every batch), the trial ends as pruned with its last epoch's metrics.

    The space is not narrowed here: the study asks :meth:`constraints` for the architectures
    that can be built for the data's shape, so ``search(space, Trainer(...))`` is right with
    the plain space. A decision that neither the model builder nor the trainer reads is
    refused (``space.<name>: no part reads this decision``); a :class:`nasforge.nn.ModelSpace`
    says what it reads (and gives :attr:`space`), while of a plain ``model_fn`` nothing is
    known, so every decision is accepted. For the final model,
    :meth:`retrain` trains the best architecture on all the search data and :meth:`test`
    scores it once on the test split (the :class:`Finalizer` capability).

    Args:
        data: A :class:`nasforge.data.Dataset`, arrays ``(x, y)``, any ``torch.utils.data.Dataset``,
            a built-in data set name, or a data set's
            config form (``{csv: FILE, target: COLUMN}``, ...).
        space: The search space (or a built-in name); it picks the model builder.
        model_fn: Instead of a built-in builder: ``model_fn(arch, input_shape, num_classes) -> nn.Module``.
        folds: ``None`` for one holdout split of ``validation``; an integer ``k >= 2`` for
            stratified K-fold cross-validation.
        validation: Share of the search data held out for validation (holdout only).
        epochs: Epochs at the full budget.
        final_epochs: Epochs of the final :meth:`retrain` on all the search data (default:
            ``epochs``): search at a lower fidelity, train the chosen network longer.
        batch_size: Training batch size.
        optimizer: ``adam`` (fused where supported), ``adamw`` or ``sgd`` (with ``momentum``).
        lr: Learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: SGD momentum.
        early_stopping: Patience in epochs: stop when the validation loss has not improved for
            this many epochs and report the epoch with the lowest validation loss. ``None``:
            train all epochs and validate once at the end.
        fidelity: What ``budget`` scales: ``epochs``, ``data`` or ``both``.
        seed: Seed of the data splits and of every trial's initialisation and shuffling.
        test_fraction: Share of the data set aside for the final test when ``data`` is loaded
            here (a name or config form).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``, ...
        threads: torch CPU threads during a trial (default: :func:`default_threads`, half the
            CPUs) and during :meth:`retrain` (default: all the CPUs this process may use, since
            the final retrain runs alone once the search's trials are done).
        time_limit: Seconds one trial may train before it fails.
        model_options: Options of the model builder (e.g. ``{"C": 16, "N": 1}`` for
            nasbench201); ``model:`` in YAML.
        measure_latency: Time one forward pass per trial (about 10-50 ms).
        scheduler: The learning-rate schedule, stepped after every batch: ``none`` (default),
            ``cosine`` (annealed to 0 over the training), ``onecycle`` (a warm-up to ``lr``
            over the first 30% of the steps, then annealed; :func:`onecycle`), or
            ``fn(optimizer, total_steps)``.
        loss: ``loss(outputs, targets) -> tensor`` instead of cross-entropy (MSE for regression);
            also the validation ``loss`` and what early stopping watches.
        extra_metrics: ``{name: fn(outputs, targets) -> float}`` computed on the validation data
            of every split (mean over folds), each a metric the objectives may name.
        augment: ``augment(batch, generator) -> batch`` on every training batch (e.g. random
            flips or crops of images), seeded by the trial's generator; or a built-in
            :class:`Augmentation` by name, ``shift`` or ``affine``.
        make_optimizer: ``make_optimizer(model, settings) -> Optimizer`` instead of ``optimizer``.
        fit_fn: A whole fit step of your own, ``fit_fn(model, x, y, ctx)`` with a
            :class:`FitContext` (settings, epochs, generator, loss, optimizer, scheduler,
            augmentation, ``check()`` for the time limit), as Keras Tuner's ``HyperModel.fit``;
            the trainer still splits, scales, validates, retrains, tests and exports.
        epoch_reports: Validate after every epoch and report the curve (``epoch_accuracy`` or
            ``epoch_mse``, and ``epoch_loss``: mean over folds) with the trial.
        on_epoch: ``on_epoch(epoch, metrics)`` after every epoch's validation (with
            ``epoch_reports``); raise :class:`nasforge.TrialFailed` in it to stop a trial early.
        standardize: Standardize the inputs with the mean and std of the training part of each
            split (the validation fold and the test part never enter them); default: as the
            data set says (on for tabular data: CSV, arrays of shape ``(samples, features)``).

    Example:
        >>> from nasforge import search
        >>> from nasforge.space import builtin
        >>> trainer = Trainer("digits", space="seed-cnn", folds=3, epochs=1, threads=1)
        >>> study = search(builtin("seed-cnn"), trainer, strategy="random", objectives={"accuracy": "maximize"},
        ...                trials=2, progress=False)
        >>> 0.0 < study.best.metrics["accuracy"] <= 1.0
        True
    """

    def __init__(
        self,
        data: Dataset | str | Mapping[str, Any] | Any,
        *,
        space: SearchSpace | str | None = None,
        model_fn: ModelFn | None = None,
        folds: int | None = None,
        validation: float = 0.2,
        epochs: int = 10,
        final_epochs: int | None = None,
        batch_size: int = 64,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        early_stopping: int | None = None,
        fidelity: str = "epochs",
        seed: int = 0,
        test_fraction: float = TEST_FRACTION,
        device: str = "auto",
        threads: int | None = None,
        time_limit: float | None = None,
        model_options: Mapping[str, Any] | None = None,
        measure_latency: bool = True,
        standardize: bool | None = None,
        scheduler: str | SchedulerFn | None = None,
        loss: LossFn | None = None,
        extra_metrics: Mapping[str, MetricFn] | None = None,
        augment: AugmentFn | str | None = None,
        make_optimizer: OptimizerFn | None = None,
        fit_fn: Callable[..., None] | None = None,
        epoch_reports: bool = False,
        on_epoch: EpochFn | None = None,
    ) -> None:
        with called("Trainer"):
            self.seed = v.non_negative_int(seed, "seed")
            self.test_fraction = v.fraction(test_fraction, "test_fraction")
            self.data_config: Any = data if isinstance(data, str | Mapping) else None
            """The data set's config form (for :meth:`to_config`); ``None`` for a data set given in memory."""
            self.data = load_dataset(data, test_fraction=self.test_fraction, seed=self.seed, field="dataset")
            self.folds = v.integer(folds, "folds", low=2, none_ok=True)
            self.validation = v.fraction(validation, "validation")
            self.epochs = v.positive_int(epochs, "epochs")
            self.final_epochs = v.positive_int(final_epochs, "final_epochs", none_ok=True)
            self.batch_size = v.positive_int(batch_size, "batch_size")
            self.optimizer = v.one_of(optimizer, OPTIMIZERS, "optimizer", what="optimizer")
            self.lr = v.positive_number(lr, "lr")
            self.weight_decay = v.non_negative_number(weight_decay, "weight_decay")
            self.momentum = v.non_negative_number(momentum, "momentum")
            self.early_stopping = v.positive_int(early_stopping, "early_stopping", none_ok=True)
            self.fidelity = v.one_of(fidelity, FIDELITIES, "fidelity")
            self.device_name = check_device(device)
            self.threads = v.integer(threads, "threads", low=1, high=v.MAX_THREADS, none_ok=True)
            self.time_limit = v.positive_number(time_limit, "time_limit", none_ok=True)
            if model_options is not None:
                v.mapping(model_options, "model_options", "{C: 16, N: 1}")
            self.measure_latency = v.boolean(measure_latency, "measure_latency")
            self.standardize = self.data.standardize if standardize is None else v.boolean(standardize, "standardize")
            self.scheduler = resolve_hook(scheduler, "scheduler")
            self.loss = resolve_hook(loss, "loss")
            self.extra_metrics: dict[str, MetricFn] | None = resolve_hook(extra_metrics, "extra_metrics")
            for name in self.extra_metrics or {}:
                if name in ("accuracy", "loss", "mse", "mae", "r2", "params", "flops", "latency_ms", "train_seconds"):
                    raise ConfigError(
                        f"extra_metrics.{name}", "is a metric the trainer already produces; name it otherwise"
                    )
            self.augment = resolve_hook(augment, "augment")
            if isinstance(self.augment, Augmentation):
                self.augment.check(self.data.input_shape)
            self.make_optimizer = resolve_hook(make_optimizer, "make_optimizer")
            self.fit_fn = resolve_hook(fit_fn, "fit_fn")
            self.epoch_reports = v.boolean(epoch_reports, "epoch_reports")
            self.on_epoch = resolve_hook(on_epoch, "on_epoch")
            self.space_name = space if isinstance(space, str) else space.name if space is not None else None
            """The name of the space given (which picks the model builder)."""
            self.network = models.Network.of(
                space, model_fn, self.data.input_shape, self.data.num_classes, model_options
            )
            self.splits = self._make_splits()
            given = resolve_space(space)
            self.space: SearchSpace | None = given
            """The space given, or the one the model declares (a :class:`nasforge.nn.ModelSpace`)."""
            if given is None and isinstance(model_fn, ModelSpace):
                try:
                    self.space = model_fn.space(self.data.input_shape, self.data.num_classes)
                except SpaceError as exc:
                    raise ConfigError("model_fn", str(exc)) from None
                self.space_name = self.space.name
            if given is not None:
                self.network.check_builds(given)
        self._cache: dict[str, Any] = {}
        self.model_ref: str | None = None
        """``module:callable`` of the user's model when the YAML named it (kept for :meth:`to_config`)."""

    # -- config ---------------------------------------------------------------------------

    YAML_ONLY = ("dataset", "model")
    """Keys of the YAML form that are not constructor options of the same name: ``dataset``
    is ``data``; ``model`` is ``model_options`` (a mapping: the built-in builder's options) or
    ``model_fn`` (a string ``module:callable``: the user's model, path relative to the config)."""

    @classmethod
    def options(cls) -> list[str]:
        """The keys of ``evaluator: {dataset: ...}`` (read from the constructor's signature)."""
        return sorted([*cls.YAML_ONLY, *signature_options(cls, exclude=("space", "model_fn", "model_options"))])

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], space: SearchSpace | None, base: Path) -> EvaluatorSetup:
        """Build a trainer from ``{dataset: digits, folds: 3, epochs: 5, model: {C: 16}}`` or
        ``{dataset: {csv: data.csv, target: label}, ...}``; relative paths from ``base``.

        ``seed`` (default 0) fixes the test split, the validation folds and the initialisation of
        every trial, independently of the search seed, so that searches with different seeds or
        strategies are compared on the same data. Default objective ``{accuracy: maximize}``.
        Errors name fields relative to the evaluator's config.
        """
        check_keys(spec, cls.options())
        options = {k: val for k, val in spec.items() if k not in cls.YAML_ONLY}
        for hook in HOOKS:
            if hook in options:
                options[hook] = resolve_hook(options[hook], hook, base)
        model_fn: Any = None
        if isinstance(spec.get("model"), str):
            model_fn = import_ref(spec["model"], base, "model")
            model_options: Mapping[str, Any] = {}
            if space is None and not isinstance(model_fn, ModelSpace):
                raise ConfigError("space", f"is required: the model {spec['model']!r} declares no space of its own "
                                           "(write it with nasforge.nn.model_space, or give `space:`)")  # fmt: skip
        else:
            model_options = v.mapping(spec.get("model", {}), "model", "{C: 16, N: 1} or module:callable")
            if space is None:
                raise ConfigError(
                    "space", "is required (or name a model that declares its own: `model: module:callable`)"
                )
        seed = v.non_negative_int(options.get("seed", 0), "seed")
        test_fraction = v.fraction(options.get("test_fraction", TEST_FRACTION), "test_fraction")
        dataset = load_dataset(spec["dataset"], base=base, test_fraction=test_fraction, seed=seed, field="dataset")
        try:
            if model_fn is not None:
                trainer = cls(dataset, space=space, model_fn=model_fn, **options)
            else:
                trainer = cls(dataset, space=space, model_options=dict(model_options), **options)
        except ConfigError as exc:
            field = "model" if exc.field == "model_fn" else exc.field
            raise ConfigError(field, exc.message) from None
        trainer.data_config = data_config(spec["dataset"], base)
        trainer.model_ref = spec["model"] if model_fn is not None else None
        goal = {"mse": "minimize"} if trainer.data.regression else {"accuracy": "maximize"}
        return EvaluatorSetup(trainer, goal, space=trainer.space, base_dir=base)

    def to_config(self) -> dict[str, Any]:
        """The ``evaluator:`` config that rebuilds this trainer (data set by name or absolute
        path, and every option that differs from its default); :class:`NotStorable` for a
        data set given in memory or a ``model_fn``."""
        if self.data_config is None:
            raise NotStorable(
                "a Trainer on a data set given in memory cannot be stored; give the data set by name or file"
            )
        ref = None
        if self.network.model_fn is not None:
            ref = self.model_ref or callable_ref(self.network.model_fn)
            if ref is None:
                raise NotStorable(
                    "a Trainer with a model_fn that cannot be imported by name (a lambda, a nested function or a "
                    "function of __main__) cannot be stored as a config; define it at the top level of a module"
                )
        out: dict[str, Any] = {"dataset": self.data_config}
        if ref is not None:
            out["model"] = ref
        params = inspect.signature(type(self).__init__).parameters
        for name in signature_options(type(self), exclude=("space", "model_fn", "model_options")):
            value = getattr(self, "device_name" if name == "device" else name)
            if name == "standardize" and value == self.data.standardize:
                continue  # the data set's own default
            if value != params[name].default:
                out[name] = hook_config(value, name) if name in HOOKS else value
        if self.network.options:
            out["model"] = dict(self.network.options)
        return out

    # -- capabilities ---------------------------------------------------------------------

    @property
    def metrics(self) -> list[str]:
        """The metrics each trial produces (visible to the search)."""
        first = ["mse", "mae", "r2", "loss"] if self.data.regression else ["accuracy", "loss"]
        names = [*first, *(self.extra_metrics or {}), "params", "flops", "latency_ms", "train_seconds"]
        return [n for n in names if n != "latency_ms" or self.measure_latency]

    @property
    def step_metrics(self) -> list[str]:
        """The metrics of each epoch's report to a pruner (validation ``accuracy`` and
        ``loss``, or ``mse``, ``mae``, ``r2`` and ``loss``, and the ``extra_metrics``); none
        with a ``fit_fn``, whose epochs the trainer does not see."""
        if self.fit_fn is not None:
            return []
        first = ["mse", "mae", "r2", "loss"] if self.data.regression else ["accuracy", "loss"]
        return [*first, *(self.extra_metrics or {})]

    static_metrics = ("params",)
    """Metrics known from the architecture alone: the study makes a constraint on one
    (``params <= 1e5``) a constraint of the space, so a network that breaks it is never
    proposed nor trained (:func:`~nasforge.evaluators.static_constraints`)."""

    def static_metric(self, arch: Arch, name: str) -> float:
        """``name`` (one of :attr:`static_metrics`) of ``arch``'s network, without training it:
        the network is built (torch's global RNG left as it was) and its parameters counted."""
        if name not in self.static_metrics:
            raise KeyError(name)
        with torch.random.fork_rng(devices=[]):
            model = models.materialize(self.network.build(arch), self.data.input_shape)
        return float(models.count_params(model))

    @property
    def max_steps(self) -> int:
        """Steps (epochs) of a trial at the full budget: where a pruner's rungs end."""
        return self.epochs

    def constraints(self, space: SearchSpace) -> list[Constraint]:
        """The study's hook: constraints that keep ``space`` to the architectures the model
        builder can build for the data's shape. Refuses (``space.<name>``) a decision that
        neither the builder nor the trainer reads, and a space of which nothing fits."""
        self.network.check_decisions(
            space, f"the trainer reads {list(TRAINING_DECISIONS)}", also_read=TRAINING_DECISIONS
        )
        if self.final_epochs is not None and "epochs" in space.names:
            raise ConfigError("evaluator.final_epochs", "the space decides epochs, and the retrain trains the best trial's "
                              "epochs; drop final_epochs or the epochs decision")  # fmt: skip
        for name in TRAINING_DECISIONS:
            if name in space.names:
                domain = space.decision(name).domain
                values = (
                    domain.values()
                    if domain.size <= 10_000
                    else [getattr(domain, "low", 1), getattr(domain, "high", 1)]
                )
                for value in values:
                    check_setting(name, value, f"space.{name}")
        self.space_name = space.name
        return self.network.constraints(space)

    # -- setup ----------------------------------------------------------------------------

    def _make_splits(self) -> list[tuple[np.ndarray, np.ndarray]]:
        y = self.data.strata()
        if self.folds is not None:
            return kfold_splits(y, self.folds, seed=self.seed, field="folds")
        return [holdout_split(y, self.validation, seed=self.seed, field="validation")]

    @property
    def device(self) -> torch.device:
        """The device trials train on."""
        return resolve_device(self.device_name)

    def _tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The search data as tensors on the training device (made once)."""
        if "xy" not in self._cache:
            dev = self.device
            self._cache["xy"] = (
                torch.from_numpy(self.data.x_train).to(dev),
                torch.from_numpy(self.data.y_train).to(dev),
            )
        return self._cache["xy"]  # type: ignore[no-any-return]

    def _build(self, arch: Arch) -> nn.Module:
        model = self.network.build(arch)
        dropout = self.settings(arch).dropout
        if dropout is not None and not self.network.reads_itself("dropout"):
            layers = [m for m in model.modules() if isinstance(m, nn.Dropout)]
            if not layers and dropout > 0:
                raise TrialFailed("decision 'dropout': the network has no nn.Dropout layer whose rate it could set")
            for m in layers:
                m.p = dropout
        return model

    def trial_seed(self, arch: Arch) -> int:
        """The seed of ``arch``'s trials: from :attr:`seed` and the architecture's id, so it does
        not depend on the order in which a strategy asks."""
        return models.arch_seed(self.seed, arch)

    def epochs_for(self, budget: float | None, epochs: int | None = None) -> int:
        """Epochs at ``budget`` (at least one) of ``epochs`` at the full budget (default: the trainer's)."""
        full = self.epochs if epochs is None else epochs
        if budget is None or self.fidelity == "data":
            return full
        return max(1, math.floor(full * budget + 0.5))

    def _trial_context(self, seed: int) -> contextlib.AbstractContextManager[None]:
        """Threads and torch's RNG as this trial owns them; both restored afterwards."""
        return torch_scope(self.threads or default_threads(), self.device, seed)

    def settings(self, arch: Mapping[str, Any] | None = None) -> TrialSettings:
        """The training options of ``arch``'s trials: the trainer's own, each overridden by the
        decision of the same name when ``arch`` has one (joint architecture and
        hyperparameter search). A bad value fails the trial."""
        values: dict[str, Any] = {
            "lr": self.lr, "optimizer": self.optimizer, "momentum": self.momentum,
            "weight_decay": self.weight_decay, "batch_size": self.batch_size, "epochs": self.epochs, "dropout": None,
        }  # fmt: skip
        for name in TRAINING_DECISIONS:
            if arch is not None and name in arch:
                try:
                    values[name] = check_setting(name, arch[name], f"arch.{name}")
                except ConfigError as exc:
                    raise TrialFailed(str(exc)) from None
        return TrialSettings(**values)

    def _make_optimizer(self, model: nn.Module, s: TrialSettings) -> torch.optim.Optimizer:
        params = list(model.parameters())
        if s.optimizer == "sgd":
            return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
        cls = torch.optim.AdamW if s.optimizer == "adamw" else torch.optim.Adam
        return cls(params, lr=s.lr, weight_decay=s.weight_decay, fused=_fused_ok(params) or None)

    # -- training -------------------------------------------------------------------------

    def fit(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, generator: torch.Generator,
            val: tuple[torch.Tensor, torch.Tensor] | None = None, deadline: float | None = None,
            settings: TrialSettings | None = None, y_stats: tuple[float, float] = (0.0, 1.0),
            report: bool = False) -> FoldScore:  # fmt: skip
        """Train ``model`` on ``(x, y)`` (tensors on the training device, already scaled) for
        ``epochs``, the data reshuffled each epoch with ``generator``, with ``settings``
        (default: the trainer's options) and the hooks (``loss``, ``augment``,
        ``make_optimizer``, ``scheduler``, or a whole ``fit_fn``); score it on ``val`` (at
        every epoch with early stopping or ``epoch_reports``, else once at the end; the best
        epoch by validation loss with early stopping). ``y_stats``: the mean and std the
        regression target was scaled with. Raises :class:`TrialFailed` on a NaN loss or past
        ``deadline`` (a ``time.perf_counter()`` value). With ``report`` it validates after
        every epoch and reports it (:func:`~nasforge.evaluators.report_step`), raising
        :class:`TrialPruned` when the study answers "stop"; past the search's deadline
        (checked after every batch) it raises :class:`TrialPruned` (``deadline``)."""
        t0 = time.perf_counter()
        s = settings if settings is not None else self.settings()
        opt = self.make_optimizer(model, s) if self.make_optimizer is not None else self._make_optimizer(model, s)
        n, bs = len(y), s.batch_size
        # A final batch of one sample breaks batch norm in training mode: drop it (it is a
        # different sample every epoch, since the data is reshuffled).
        stop = n - 1 if n % bs == 1 and n > 1 else n
        steps = epochs * len(range(0, stop, bs))
        sched = self._make_scheduler(opt, steps)

        def check(epoch: int = 0) -> None:
            if deadline is not None and time.perf_counter() > deadline:
                raise TrialFailed(f"time limit of {self.time_limit:g} s reached in epoch {epoch + 1} of {epochs}")
            if past_deadline():
                raise TrialPruned(DEADLINE)

        curve: list[dict[str, float]] = []
        if self.fit_fn is not None:
            ctx = FitContext(s, epochs, generator, self._loss, opt, sched, self.augment, check)
            model.train()
            self.fit_fn(model, x, y, ctx)
            seconds = time.perf_counter() - t0
            if val is None:
                return FoldScore({"loss": math.nan}, epochs, seconds)
            scores = self.score(model, *val, y_stats=y_stats)
            if not math.isfinite(scores["loss"]):
                raise TrialFailed(f"validation loss is {scores['loss']}")
            return FoldScore(scores, epochs, seconds)
        best: dict[str, float] | None = None  # validation metrics of the best epoch
        since_best = 0
        done = 0
        train_loss = math.nan
        report = report and val is not None
        every_epoch = val is not None and (self.early_stopping is not None or self.epoch_reports or report)
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(n, generator=generator).to(x.device, non_blocking=True)
            xs, ys = x[perm], y[perm]
            losses = []
            for i in range(0, stop, bs):
                xb = xs[i : i + bs]
                if self.augment is not None:
                    xb = self.augment(xb, generator)
                loss = self._loss(model(xb), ys[i : i + bs])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                losses.append(loss.detach())
                check(epoch)
            done = epoch + 1
            if not losses:
                raise TrialFailed(f"no training batch: {n} training samples")
            train_loss = float(torch.stack(losses).mean())
            if not math.isfinite(train_loss):
                raise TrialFailed(f"training loss is {train_loss} in epoch {epoch + 1}; lower the learning rate")
            if every_epoch and val is not None:
                scores = self.score(model, *val, y_stats=y_stats)
                curve.append(scores)
                if self.on_epoch is not None:
                    self.on_epoch(epoch + 1, dict(scores))
                if report and report_step(epoch + 1, scores):
                    raise TrialPruned(stop_reason() or "pruned", metrics=scores, step=epoch + 1)
                if self.early_stopping is None:
                    best = scores
                    continue
                if best is None or scores["loss"] < best["loss"]:
                    best, since_best = scores, 0
                else:
                    since_best += 1
                    if since_best >= self.early_stopping:
                        break
        seconds = time.perf_counter() - t0
        if val is None:
            return FoldScore({"loss": train_loss}, done, seconds)
        if best is None:
            best = self.score(model, *val, y_stats=y_stats)
        if not math.isfinite(best["loss"]):
            raise TrialFailed(f"validation loss is {best['loss']}")
        return FoldScore(best, done, seconds, curve)

    def _make_scheduler(self, opt: torch.optim.Optimizer, steps: int) -> Any:
        make = SCHEDULERS[self.scheduler] if isinstance(self.scheduler, str) else self.scheduler
        return make(opt, steps) if make is not None else None

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.loss is not None:
            return self.loss(out, y)
        if self.data.regression:
            return F.mse_loss(out.reshape(-1), y)
        return F.cross_entropy(out, y)

    def score(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 2048, *,
              y_stats: tuple[float, float] = (0.0, 1.0)) -> dict[str, float]:  # fmt: skip
        """``model``'s metrics on ``(x, y)`` in eval mode: ``{"accuracy", "loss"}`` (the
        training loss: cross-entropy by default), or for regression ``{"mse", "mae", "r2",
        "loss"}``: ``loss`` in the units the model was trained in (the standardized target),
        ``mse`` and ``mae`` in the target's units (``y_stats``: the mean and std the target
        was scaled with); plus each of ``extra_metrics``."""
        model.eval()
        with torch.inference_mode():
            out = torch.cat([model(x[i : i + batch]) for i in range(0, len(y), batch)]) if len(y) else None
            if out is None:
                return {"loss": math.nan, **({"mse": math.nan} if self.data.regression else {"accuracy": math.nan})}
            scores = self._metrics(out, y, y_stats)
        return scores

    def _metrics(self, out: torch.Tensor, y: torch.Tensor, y_stats: tuple[float, float]) -> dict[str, float]:
        n = max(len(y), 1)
        loss = float(self._loss(out, y))
        if not self.data.regression:
            scores = {"accuracy": float((out.argmax(1) == y).sum()) / n, "loss": loss}
            for name, fn in (self.extra_metrics or {}).items():
                scores[name] = float(fn(out, y))
            return scores
        mean, std = y_stats
        pred = out.reshape(-1).double()
        yd = y.double()
        err = pred - yd
        mse = float((err**2).mean())
        total = float(((yd - yd.mean()) ** 2).mean())
        scores = {
            "mse": mse * std**2,
            "mae": float(err.abs().mean()) * std,
            "r2": 1.0 - mse / total if total > 0 else math.nan,
            "loss": loss,
        }
        for name, fn in (self.extra_metrics or {}).items():
            scores[name] = float(fn(pred * std + mean, yd * std + mean))
        return scores

    def _scaling(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float, float] | None:
        """Input mean and std per feature (and the target's for regression) of the training part
        ``(x, y)``, or ``None`` when the data is not standardized. A constant feature gets std 1."""
        if not self.standardize and not self.data.regression:
            return None
        if self.standardize:
            mean = x.mean(0)
            std = x.std(0, unbiased=False)
            std = torch.where(std > 1e-12, std, torch.ones_like(std))
        else:
            mean, std = torch.zeros(x.shape[1:], device=x.device), torch.ones(x.shape[1:], device=x.device)
        ym, ys = (
            (float(y.double().mean()), float(y.double().std(unbiased=False)) or 1.0)
            if self.data.regression
            else (0.0, 1.0)
        )
        return mean, std, ym, ys

    def _scaled(self, stats: tuple[torch.Tensor, torch.Tensor, float, float] | None, x: torch.Tensor,
                y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        if stats is None:
            return x, y
        mean, std, ym, ys = stats
        return (x - mean) / std, ((y - ym) / ys if self.data.regression else y)

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result:
        """Train and validate ``arch`` at ``budget`` on every split; see the class docs.

        When the study listens to step reports (a pruner or a time budget), the first
        split's epochs are reported (:func:`~nasforge.evaluators.report_step`: K-fold reports
        fold 1's curve) and a "stop" answer or the search's deadline ends the trial with
        :class:`TrialPruned`, its metrics those of the last reported epoch plus ``params``,
        ``flops`` and ``train_seconds``."""
        t0 = time.perf_counter()
        seed = self.trial_seed(arch)
        settings = self.settings(arch)
        scores: list[FoldScore] = []
        with self._trial_context(seed):
            model = self._build(arch)
            prof = models.profile(model, self.data.input_shape, latency=self.measure_latency)
            try:
                self._fit_splits(arch, model, budget, seed, settings, scores, t0)
            except TrialPruned as exc:
                ctx = current_step_context()
                last = ctx.steps[-1] if ctx is not None and ctx.steps else None
                partial = exc.metrics if exc.metrics is not None else last
                exc.metrics = {**finite_metrics(partial), "params": float(prof.params), "flops": float(prof.flops),
                               "train_seconds": time.perf_counter() - t0}  # fmt: skip
                if exc.step is None and last is not None:
                    exc.step = int(last["step"])
                raise
        return self._result(scores, prof, t0)

    def _fit_splits(self, arch: Arch, model: nn.Module, budget: float | None, seed: int, settings: TrialSettings,
                    scores: list[FoldScore], t0: float) -> None:  # fmt: skip
        """Train and validate ``arch`` on every split (``model``: the first split's network),
        appending each split's score to ``scores``."""
        deadline = t0 + self.time_limit if self.time_limit is not None else None
        epochs = self.epochs_for(budget, settings.epochs)
        fraction = 1.0 if budget is None or self.fidelity == "epochs" else float(budget)
        report = steps_wanted()  # a pruner or a deadline listens
        x, y = self._tensors()
        dev = x.device
        strata = self.data.strata()
        for k, (train_idx, val_idx) in enumerate(self.splits):
            if k:
                model = self._build(arch)  # a fresh initialisation for every fold
            if fraction < 1.0:
                sub, _ = stratified_split(strata[train_idx], 1.0 - fraction, np.random.default_rng(seed + k))
                train_idx = train_idx[sub]
            tr = torch.from_numpy(train_idx).to(dev)
            va = torch.from_numpy(val_idx).to(dev)
            stats = self._scaling(x[tr], y[tr])  # the training part of this split only
            xtr, ytr = self._scaled(stats, x[tr], y[tr])
            xva, yva = self._scaled(stats, x[va], y[va])
            generator = torch.Generator().manual_seed(seed + k)
            model.to(dev)
            scores.append(self.fit(model, xtr, ytr, epochs=epochs, generator=generator,
                                   val=(xva, yva), deadline=deadline, settings=settings,
                                   y_stats=(stats[2], stats[3]) if stats is not None else (0.0, 1.0),
                                   report=report and k == 0))  # fmt: skip
            del model  # freed by reference counting; no gc.collect() (0.2 s with torch loaded)

    def _result(self, scores: list[FoldScore], prof: Any, t0: float) -> Result:
        """The trial's result from its splits' scores and the network's profile."""
        main = "mse" if self.data.regression else "accuracy"
        names = ["mse", "mae", "r2", "loss"] if self.data.regression else ["accuracy", "loss"]
        names += list(self.extra_metrics or {})
        metrics = {name: float(np.mean([sc.metrics[name] for sc in scores])) for name in names}
        metrics.update({
            "params": float(prof.params),
            "flops": float(prof.flops),
            "latency_ms": float(prof.latency_ms),
            "train_seconds": float(sum(sc.seconds for sc in scores)),
        })  # fmt: skip
        if not self.measure_latency:
            del metrics["latency_ms"]
        report: dict[str, Any] = {"epochs": float(np.mean([sc.epochs for sc in scores]))}
        if len(scores) > 1:
            values = np.array([sc.metrics[main] for sc in scores])
            report[f"{main}_std"] = float(values.std())
            report[f"fold_{main}"] = [round(float(a), 6) for a in values]
        if self.epoch_reports:
            length = min(len(sc.curve) for sc in scores)
            for name in (main, "loss"):
                report[f"epoch_{name}"] = [
                    round(float(np.mean([sc.curve[e][name] for sc in scores])), 6) for e in range(length)
                ]
        return Result(metrics, report=report, cost_seconds=time.perf_counter() - t0)

    # -- the best model -------------------------------------------------------------------

    def retrain(self, arch: Arch) -> nn.Module:
        """``arch``'s network trained on all the search data (train + validation) for the full
        epochs (``final_epochs`` when given), seeded like its trials; on the training device,
        in eval mode. With standardized data (or a regression target) the network is returned inside
        :class:`nasforge.models.Standardized`, holding the statistics of all the search data
        (never the test part), so it takes raw inputs and predicts in the target's units."""
        x, y = self._tensors()
        seed = self.trial_seed(arch)
        settings = self.settings(arch)
        stats = self._scaling(x, y)
        xs, ys = self._scaled(stats, x, y)
        # The final retrain runs alone, after the search's workers are done: all the CPUs.
        with torch_scope(self.threads or available_cpus(), self.device, seed):
            model = self._build(arch).to(x.device)
            self.fit(model, xs, ys, epochs=self.final_epochs or settings.epochs,
                     generator=torch.Generator().manual_seed(seed),
                     settings=settings)  # fmt: skip
        if stats is not None:
            mean, std, ym, yscale = stats
            if self.data.regression:
                model = models.Standardized(model, mean, std, torch.tensor(ym, device=x.device),
                                            torch.tensor(yscale, device=x.device))  # fmt: skip
            else:
                model = models.Standardized(model, mean, std)
        return model.eval()

    def test(self, model: nn.Module) -> dict[str, float]:
        """``{"test_accuracy", "test_loss"}`` (regression: ``{"test_mse", "test_mae",
        "test_r2"}``) of the model :meth:`retrain` gave, on the test split (use once, at the end)."""
        dev = next(iter(model.parameters())).device
        xt = torch.from_numpy(self.data.x_test).to(dev)
        yt = torch.from_numpy(self.data.y_test).to(dev)
        scores = self.score(model, xt, yt)
        if self.data.regression:
            return {"test_mse": scores["mse"], "test_mae": scores["mae"], "test_r2": scores["r2"]}
        return {"test_accuracy": scores["accuracy"], "test_loss": scores["loss"]}

    def final_info(self) -> FinalModel:
        """What writing the final model needs (``models.save_model``'s arguments): builder
        name, input shape, classes, builder options and the record fields (data set, classes,
        epochs, sample counts, seed; add the numbers of :meth:`test`)."""
        return FinalModel(
            space=self.space_name or self.network.name,
            input_shape=self.data.input_shape,
            num_classes=self.data.num_classes,
            model_options=dict(self.network.options),
            info={
                "dataset": self.data.name,
                "classes": list(self.data.classes),
                **({"features": list(self.data.feature_names)} if self.data.feature_names else {}),
                "epochs": self.final_epochs or self.epochs,
                "train_samples": len(self.data.y_train),
                "test_samples": len(self.data.y_test),
                "seed": self.seed,
                "builder": self.network.record_builder,
                **({"builder_path": path} if (path := self.network.record_path) is not None else {}),
                "task": self.data.task,
                "standardize": bool(self.standardize or self.data.regression),
            },
        )


def _fused_ok(params: Sequence[torch.Tensor]) -> bool:
    """Fused Adam runs on CPU and CUDA floating-point parameters (15-35% faster steps here)."""
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
