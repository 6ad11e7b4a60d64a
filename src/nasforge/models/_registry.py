"""Model builders by space name: ``Arch -> torch.nn.Module`` and the input-shape constraints."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from .._errors import ConfigError, SpaceError
from ..space import Arch, Constraint, SearchSpace, builtin

BuildFn = Callable[..., nn.Module]
"""``build(arch, input_shape, num_classes, **options) -> nn.Module``."""

ConstraintFn = Callable[[tuple[int, ...]], list[Constraint]]
"""``constraints(input_shape) -> [Constraint, ...]``: which architectures fit the input."""


@dataclass(frozen=True)
class ModelBuilder:
    """How the architectures of one space become networks.

    ``build(arch, input_shape, num_classes, **options)`` returns the module; ``constraints``
    (optional) gives, for an input shape, the constraints that refuse architectures that
    cannot be built for it; ``options`` lists the keyword options ``build`` accepts;
    ``reads`` lists the decisions ``build`` reads, as regular expressions over decision names
    (``layers\\.\\d+\\.kernel``), or is ``None`` when the builder does not say (then
    every decision is assumed read).
    """

    build: BuildFn
    constraints: ConstraintFn | None = None
    options: tuple[str, ...] = ()
    reads: tuple[str, ...] | None = None

    def unread(self, names: Sequence[str]) -> list[str]:
        """The decision ``names`` this builder does not read (none when it does not say)."""
        if self.reads is None:
            return []
        patterns = [re.compile(p) for p in self.reads]
        return [n for n in names if not any(p.fullmatch(n) for p in patterns)]


MODEL_BUILDERS: dict[str, ModelBuilder] = {}
"""Model builders by space name; :func:`register_model` adds to it."""


def register_model(
    space_name: str,
    *,
    constraints: ConstraintFn | None = None,
    options: Sequence[str] = (),
    reads: Sequence[str] | None = None,
) -> Callable[[BuildFn], BuildFn]:
    """Decorator: networks of the space called ``space_name`` are built by the decorated
    ``build(arch, input_shape, num_classes, **options)``. ``reads`` (regular expressions over
    decision names) declares which decisions it reads, so that a decision nothing reads is
    refused before a search; without it every decision is assumed read.

    Example:
        >>> import torch
        >>> @register_model("tiny-mlp")
        ... def tiny(arch, input_shape, num_classes):
        ...     return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(num_classes))
        >>> "tiny-mlp" in MODEL_BUILDERS
        True
    """

    def wrap(fn: BuildFn) -> BuildFn:
        MODEL_BUILDERS[space_name] = ModelBuilder(
            fn, constraints, tuple(options), None if reads is None else tuple(reads)
        )
        return fn

    return wrap


def _space_name(space: SearchSpace | str) -> str:
    return space if isinstance(space, str) else space.name


def get_builder(space: SearchSpace | str, *, field: str = "space") -> ModelBuilder:
    """The builder of ``space`` (by its name), or a :class:`ConfigError` listing the known ones."""
    name = _space_name(space)
    if name not in MODEL_BUILDERS:
        raise ConfigError(
            field,
            f"no model builder for space {name!r}; spaces with builders: {sorted(MODEL_BUILDERS)} "
            "(name an inline space after one of them, or give the trainer a `model` function)",
        )
    return MODEL_BUILDERS[name]


def check_model_options(
    space: SearchSpace | str, options: Mapping[str, Any], *, field: str = "evaluator.model"
) -> None:
    """Refuse options the space's builder does not take."""
    accepted = get_builder(space).options
    for key in options:
        if key not in accepted:
            raise ConfigError(
                f"{field}.{key}",
                f"unknown option of the {_space_name(space)} model; accepted: {list(accepted) or 'none'}",
            )


def build_model(
    space: SearchSpace | str,
    arch: Arch | Mapping[str, Any],
    input_shape: Sequence[int],
    num_classes: int,
    **options: Any,
) -> nn.Module:
    """The network of ``arch`` in ``space`` (a space or its name) for inputs of shape
    ``input_shape`` (one sample, no batch dimension) and ``num_classes`` outputs (logits).

    Built-in builders: ``seed-cnn``, ``cnn``, ``cnn1d``, ``mlp``, ``nasbench201`` (options
    ``C`` channels and ``N`` cells per stage). Weights are initialised from torch's global
    generator: seed it (``torch.manual_seed``) for a reproducible network.

    Example:
        >>> import torch
        >>> model = build_model("seed-cnn", {"kernel": 3, "channels": 16, "units": 64}, (1, 8, 8), 10)
        >>> model(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """
    builder = get_builder(space)
    if not isinstance(arch, Arch):
        arch = Arch(arch)
    shape = tuple(int(s) for s in input_shape)
    return builder.build(arch, shape, int(num_classes), **options)


def input_constraints(space: SearchSpace | str, input_shape: Sequence[int]) -> list[Constraint]:
    """Constraints that refuse the architectures of ``space`` that cannot be built for inputs
    of ``input_shape`` (a kernel larger than its feature map, pooling a map of one pixel, a
    2-D network on 1-D data). Empty for spaces without a builder or without such limits.

    Example:
        >>> from nasforge.space import builtin
        >>> space = builtin("seed-cnn").with_constraints(input_constraints("seed-cnn", (1, 4, 4)))
        >>> sorted({a["kernel"] for a in space.enumerate()})
        [1, 3]
    """
    builder = MODEL_BUILDERS.get(_space_name(space))
    if builder is None or builder.constraints is None:
        return []
    return builder.constraints(tuple(int(s) for s in input_shape))


def fitting_constraints(
    space: SearchSpace, input_shape: Sequence[int], *, builder: str | None = None, field: str = "space"
) -> list[Constraint]:
    """:func:`input_constraints` of ``builder`` (default: the space's name) for ``input_shape``,
    checked: a space of which no architecture fits is a one-line :class:`ConfigError` naming
    the first failed rule."""
    extra = input_constraints(builder if builder is not None else space, input_shape)
    if not extra:
        return []
    try:
        space.with_constraints(extra).check_possible()
    except SpaceError:
        probe = next(iter(space.enumerate()), None) if space.cardinality <= 100_000 else None
        failed = [c.name for c in extra if probe is not None and not c(probe)] or [c.name for c in extra]
        raise ConfigError(
            field,
            f"no architecture of {space.name!r} can be built for inputs of shape {tuple(input_shape)}: "
            f"{failed[0]}; use a space that fits this data",
        ) from None
    return extra


def fit_space(space: SearchSpace | str, input_shape: Sequence[int], *, field: str = "space") -> SearchSpace:
    """``space`` narrowed with :func:`input_constraints` for ``input_shape``; a space of which no
    architecture fits is a one-line :class:`ConfigError` naming the first failed rule."""
    if isinstance(space, str):
        space = builtin(space, field=field)
    extra = fitting_constraints(space, input_shape, field=field)
    return space.with_constraints(extra) if extra else space
