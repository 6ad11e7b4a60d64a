"""Your training, not only ours: a trial's training settings (the trainer's options overridden
by decisions of the same names) and the hooks of :class:`nasforge.evaluators.Trainer` (a loss,
extra metrics, the optimizer and its schedule, augmentation, a whole fit step, per-epoch
reports), and how they are named in a config (``module:callable``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import _validate as v
from .._errors import ConfigError, NotStorable
from .._refs import callable_ref, import_ref

OPTIMIZERS = ("adam", "adamw", "sgd")

TRAINING_DECISIONS = ("lr", "optimizer", "momentum", "weight_decay", "batch_size", "epochs", "dropout")
"""Decisions the trainer reads itself: a decision of one of these names overrides the trainer's
option of the same name for that trial (``dropout`` sets ``p`` of every ``nn.Dropout``)."""


@dataclass(frozen=True)
class TrialSettings:
    """The training options of one trial: the trainer's, overridden by the architecture's
    decisions of the same names (:data:`TRAINING_DECISIONS`)."""

    lr: float
    optimizer: str
    momentum: float
    weight_decay: float
    batch_size: int
    epochs: int
    dropout: float | None = None


def check_setting(name: str, value: Any, field: str) -> Any:
    """One training option's value, checked (``ConfigError`` naming ``field``)."""
    if name == "optimizer":
        return v.one_of(value, OPTIMIZERS, field, what="optimizer")
    if name in ("batch_size", "epochs"):
        return v.positive_int(value, field)
    if name == "lr":
        return v.positive_number(value, field)
    if name == "dropout":
        number = v.non_negative_number(value, field)
        if number >= 1:
            raise ConfigError(field, f"must be a probability in [0, 1), got {value!r}")
        return number
    return v.non_negative_number(value, field)


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss(outputs, targets) -> scalar tensor`` (targets standardized for regression)."""
MetricFn = Callable[[torch.Tensor, torch.Tensor], float]
"""``metric(outputs, targets) -> float`` on the validation data (regression: predictions and
targets in the target's units); larger or smaller is for the objectives to say."""
AugmentFn = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""``augment(batch, generator) -> batch``: applied to every training batch (not to validation)."""
OptimizerFn = Callable[[nn.Module, TrialSettings], torch.optim.Optimizer]
"""``make_optimizer(model, settings) -> Optimizer`` (``settings.lr`` etc. include the trial's decisions)."""
SchedulerFn = Callable[[torch.optim.Optimizer, int], Any]
"""``scheduler(optimizer, total_steps) -> an LR scheduler`` stepped after every batch."""
EpochFn = Callable[[int, Mapping[str, float]], None]
"""``on_epoch(epoch, validation_metrics)``, called after every epoch when ``epoch_reports`` is on;
it may raise :class:`nasforge.TrialFailed` to stop the trial (a pruner)."""
SCHEDULERS = ("none", "cosine")

HOOKS = ("loss", "extra_metrics", "augment", "make_optimizer", "scheduler", "fit_fn", "on_epoch")
"""The trainer's options that take functions; in YAML each is ``module:callable`` (``extra_metrics``:
a mapping of names to ``module:callable``; ``scheduler`` also ``cosine`` or ``none``)."""


@dataclass
class FitContext:
    """What a whole custom fit step (``fit_fn(model, x, y, ctx)``, as Keras Tuner's
    ``HyperModel.fit``) gets: the trial's settings, its epochs, the seeded generator for
    shuffling, the loss, a ready optimizer (and scheduler, or ``None``), the augmentation, and
    ``check()`` to call now and then (it raises :class:`nasforge.TrialFailed` past the trial's
    time limit). The trainer scores the model on the validation data afterwards."""

    settings: TrialSettings
    epochs: int
    generator: torch.Generator
    loss: LossFn
    optimizer: torch.optim.Optimizer
    scheduler: Any
    augment: AugmentFn | None
    check: Callable[[], None]
    extra: dict[str, Any] = field(default_factory=dict)


def cosine(optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    """Cosine annealing of the learning rate to 0 over the whole training."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
    )


def resolve_hook(value: Any, name: str, base: str | Path = ".") -> Any:
    """A hook as given (a function, or ``module:callable`` imported from ``base``); ``scheduler``
    also takes ``cosine`` / ``none``; ``extra_metrics`` a mapping of names to either."""
    if value is None:
        return None
    if name == "scheduler" and isinstance(value, str) and value in SCHEDULERS:
        return value
    if name == "extra_metrics":
        if not isinstance(value, Mapping) or not value:
            raise ConfigError(name, f"must be a mapping of metric names to functions, got {value!r}")
        return {str(k): resolve_hook(fn, f"{name}.{k}", base) for k, fn in value.items()}
    if isinstance(value, str):
        return import_ref(value, base, name)
    if not callable(value):
        raise ConfigError(name, f"must be a function (or module:callable), got {value!r}")
    return value


def hook_config(value: Any, name: str) -> Any:
    """The config form of a hook: ``module:callable`` (``NotStorable`` when it cannot be imported
    back by its name)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {k: hook_config(fn, f"{name}.{k}") for k, fn in value.items()}
    ref = callable_ref(value)
    if ref is None:
        raise NotStorable(f"the trainer's {name} hook cannot be stored as module:callable (a lambda, a nested "
                          "function or a function of __main__); define it at the top level of a module")  # fmt: skip
    return ref
