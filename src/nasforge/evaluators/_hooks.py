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
HOOKS = ("loss", "extra_metrics", "augment", "make_optimizer", "scheduler", "fit_fn", "on_epoch")
"""The trainer's options that take functions; in YAML each is ``module:callable`` (``extra_metrics``:
a mapping of names to ``module:callable``; ``scheduler`` also ``cosine``, ``onecycle`` or ``none``;
``augment`` also ``shift`` or ``affine``)."""


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


def onecycle(optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    """The one-cycle policy (Smith & Topin, 2019) as torch's ``OneCycleLR``: the learning rate
    warms up from lr/25 to the trial's lr over the first 30% of the steps, then anneals to
    about lr/10^4 (cosine); the momentum (Adam's beta1) cycles the other way, 0.95 to 0.85 and
    back, when the optimizer has one."""
    defaults = optimizer.defaults
    cycle = "betas" in defaults or float(defaults.get("momentum", 0.0) or 0.0) > 0
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=max(total_steps, 1),
        cycle_momentum=cycle,
    )  # fmt: skip


SCHEDULERS: dict[str, SchedulerFn | None] = {"none": None, "cosine": cosine, "onecycle": onecycle}
"""The schedules a config may name (``scheduler: cosine``)."""


@dataclass(frozen=True)
class Augmentation:
    """A built-in ``augment``, named in configs (``augment: shift`` or ``affine``), applied to
    every training batch with the trial's generator (so seeded like the rest of the trial):

    - ``shift``: every image moved by a whole number of pixels, up to 10% of its side (at least
      1) in each direction, the border filled with 0; a sequence (inputs of one axis) along its
      length.
    - ``affine``: every image rotated by up to 10 degrees, scaled by up to 10% and moved by up
      to 10% of its side (bilinear, the border filled with 0).

    Images are inputs of 2 axes ``(H, W)`` or 3 ``(C, H, W)``; :meth:`check` refuses other
    shapes before any work."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in AUGMENTATIONS:
            raise ConfigError("augment", f"unknown augmentation {self.name!r}; built in: {', '.join(AUGMENTATIONS)}")

    def check(self, input_shape: tuple[int, ...]) -> None:
        """Refuse (``augment``) inputs this augmentation does not know how to move."""
        if len(input_shape) in (2, 3) or (self.name == "shift" and len(input_shape) == 1):
            return
        takes = (
            "images (H, W) or (C, H, W), or sequences (L,)" if self.name == "shift" else "images (H, W) or (C, H, W)"
        )
        raise ConfigError("augment", f"{self.name} moves {takes}; the data's inputs have shape {input_shape}: "
                          "drop augment or give your own module:callable")  # fmt: skip

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.name == "shift":
            return _shift(x, generator)
        return _affine(x, generator)


AUGMENTATIONS = ("shift", "affine")


def _rand(n: int, generator: torch.Generator, *shape: int) -> torch.Tensor:
    """Uniform in [-1, 1), drawn on the CPU with ``generator`` (the same on every device)."""
    return torch.rand(n, *shape, generator=generator) * 2 - 1


def _shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    n, axes = x.shape[0], 1 if x.dim() == 2 else 2
    sizes = x.shape[-axes:]
    pads = [max(1, round(0.1 * s)) for s in sizes]
    offsets = [torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device) for p in pads]
    flat = x.reshape(n, -1, *sizes)  # (N, M, *spatial)
    padded = torch.nn.functional.pad(flat, [q for p in reversed(pads) for q in (p, p)])
    rows = offsets[0][:, None] + torch.arange(sizes[0], device=x.device)  # (N, S0)
    idx = torch.arange(n, device=x.device)
    if axes == 1:
        out = padded[idx[:, None], :, rows]  # (N, L, M)
        return out.permute(0, 2, 1).reshape(x.shape)
    cols = offsets[1][:, None] + torch.arange(sizes[1], device=x.device)  # (N, S1)
    out = padded[idx[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # (N, H, W, M)
    return out.permute(0, 3, 1, 2).reshape(x.shape)


def _affine(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    images = x if x.dim() == 4 else x.unsqueeze(1)
    angle = _rand(n, generator) * math.radians(10)
    scale = 1 + 0.1 * _rand(n, generator)
    shift = 0.2 * _rand(n, generator, 2)  # 10% of the side: normalized coordinates span 2
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = torch.cos(angle) / scale, -torch.sin(angle) / scale
    theta[:, 1, 0], theta[:, 1, 1] = torch.sin(angle) / scale, torch.cos(angle) / scale
    theta[:, :, 2] = shift
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
    out = torch.nn.functional.grid_sample(images, grid, align_corners=False, padding_mode="zeros")
    return out.reshape(x.shape)


def resolve_hook(value: Any, name: str, base: str | Path = ".") -> Any:
    """A hook as given (a function, or ``module:callable`` imported from ``base``); ``scheduler``
    also takes ``cosine`` / ``onecycle`` / ``none``, ``augment`` ``shift`` / ``affine``
    (:class:`Augmentation`); ``extra_metrics`` a mapping of names to either."""
    if value is None:
        return None
    if name == "scheduler" and isinstance(value, str) and value in SCHEDULERS:
        return value
    if name == "augment" and isinstance(value, str) and value in AUGMENTATIONS:
        return Augmentation(value)
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
    if isinstance(value, Augmentation):
        return value.name
    if isinstance(value, Mapping):
        return {k: hook_config(fn, f"{name}.{k}") for k, fn in value.items()}
    ref = callable_ref(value)
    if ref is None:
        raise NotStorable(f"the trainer's {name} hook cannot be stored as module:callable (a lambda, a nested "
                          "function or a function of __main__); define it at the top level of a module")  # fmt: skip
    return ref
