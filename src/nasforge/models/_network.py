"""How the architectures of a space become networks for one kind of input: the part that
:class:`nasforge.evaluators.Trainer` and :class:`nasforge.evaluators.ZeroCost` share."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import ConfigError
from .._refs import callable_ref
from ..space import Arch, Constraint, SearchSpace, builtin
from ._io import CUSTOM
from ._profile import materialize
from ._registry import build_model, check_model_options, fitting_constraints, get_builder

ModelFn = Callable[[Arch, tuple[int, ...], int], nn.Module]
"""A user's model function: ``(arch, input_shape, num_classes) -> nn.Module``."""


def arch_seed(seed: int, arch: Arch) -> int:
    """The seed of ``arch``'s network and trials: from ``seed`` and the architecture's id, so
    it does not depend on the order in which a strategy asks."""
    digest = hashlib.sha256(f"{seed}:{arch.id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


@dataclass
class Network:
    """The network side of an evaluator: a built-in builder (chosen by the space's name) with
    its options, or a user's ``model_fn``, for inputs of ``input_shape`` and ``num_classes``
    outputs.

    It knows which architectures can be built for the input (:meth:`constraints`, the hook
    by which the study narrows the space), which decisions the builder reads
    (:meth:`unread`), and builds networks (:meth:`build`). A user's ``model_fn`` is trusted:
    nothing is known about which decisions it reads or which shapes it accepts.

    Field names in its errors are relative to the evaluator that owns it (``model.C``,
    ``space``).
    """

    builder: str | None
    """The builder's name (the space's name), or ``None`` with a ``model_fn``."""
    input_shape: tuple[int, ...]
    num_classes: int
    model_fn: ModelFn | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        space: SearchSpace | str | None,
        model_fn: ModelFn | None,
        input_shape: Sequence[int],
        num_classes: int,
        options: Mapping[str, Any] | None = None,
    ) -> Network:
        """Check the pairing of space, builder and options; raises :class:`ConfigError`."""
        options = dict(options or {})
        if model_fn is not None:
            if not callable(model_fn):
                raise ConfigError(
                    "model_fn", f"must be a function (arch, input_shape, num_classes) -> nn.Module, got {model_fn!r}"
                )
            if options:
                raise ConfigError(
                    f"model.{next(iter(options))}", "is an option of a built-in model builder; a model_fn takes none"
                )
            return cls(None, tuple(input_shape), int(num_classes), model_fn, {})
        if space is None:
            raise ConfigError("space", "the evaluator needs a space with a model builder, or a model_fn")
        name = space if isinstance(space, str) else space.name
        get_builder(name)
        check_model_options(name, options, field="model")
        return cls(name, tuple(input_shape), int(num_classes), None, options)

    @property
    def name(self) -> str:
        """The builder's name, or :data:`CUSTOM` for a user's ``model_fn``."""
        return self.builder if self.builder is not None else CUSTOM

    def build(self, arch: Arch) -> nn.Module:
        """``arch``'s network, initialised from torch's current global RNG, its lazy modules
        (``nn.LazyLinear``, ...) materialized by one forward pass under ``no_grad`` so that
        its parameters are ordinary tensors (countable, trainable, loadable)."""
        if self.model_fn is not None:
            model = self.model_fn(arch, self.input_shape, self.num_classes)
            if not isinstance(model, nn.Module):
                raise TypeError(f"the model function returned {type(model).__name__}, not a torch.nn.Module")
        else:
            assert self.builder is not None
            model = build_model(self.builder, arch, self.input_shape, self.num_classes, **self.options)
        return materialize(model, self.input_shape)

    @property
    def record_builder(self) -> str:
        """What ``arch.json`` records as the builder: the built-in builder's name, the user
        model's ``module:qualname`` when it can be imported back, else :data:`CUSTOM`."""
        if self.builder is not None:
            return self.builder
        assert self.model_fn is not None
        return callable_ref(self.model_fn) or CUSTOM

    @property
    def record_path(self) -> str | None:
        """The folder from which the user model's module imports (``arch.json``'s
        ``builder_path``, so that :func:`load_model` finds it from any directory), or ``None``."""
        if self.model_fn is None or callable_ref(self.model_fn) is None:
            return None
        module = sys.modules.get(str(getattr(self.model_fn, "__module__", "")))
        file = getattr(module, "__file__", None)
        if module is None or not file:
            return None
        depth = len(module.__name__.split(".")) + (1 if Path(file).name == "__init__.py" else 0)
        return str(Path(file).resolve().parents[depth - 1])

    def unread(self, space: SearchSpace, also_read: Collection[str] = ()) -> list[str]:
        """Decisions of ``space`` that neither the builder nor ``also_read`` (decisions the
        evaluator itself reads, e.g. ``lr``) reads; none for a ``model_fn`` that does not say
        what it reads, or a builder that does not declare it."""
        reads = getattr(self.model_fn, "reads", None) if self.model_fn is not None else None
        if callable(reads):
            return [n for n in space.names if n not in also_read and not reads(n)]
        if self.builder is None:
            return []
        return [n for n in get_builder(self.builder).unread(space.names) if n not in also_read]

    def reads_itself(self, name: str) -> bool:
        """Whether the builder (or the user's model, when it says what it reads) reads the
        decision ``name`` itself (e.g. ``dropout``, which the trainer sets otherwise)."""
        reads = getattr(self.model_fn, "reads", None) if self.model_fn is not None else None
        if callable(reads):
            return bool(reads(name))
        if self.builder is None:
            return False
        builder = get_builder(self.builder)
        return builder.reads is not None and not builder.unread([name])

    def check_decisions(
        self, space: SearchSpace, reader: str = "the trainer reads none", also_read: Collection[str] = ()
    ) -> None:
        """Refuse the first decision of ``space`` that nothing reads, as ``space.<name>``."""
        unread = self.unread(space, also_read)
        if unread:
            read = [n for n in space.names if n not in unread]
            shown = str(read[:6])[:-1] + (", ...]" if len(read) > 6 else "]") if read else "none of them"
            raise ConfigError(
                f"space.{unread[0]}",
                f"no part reads this decision: the {self.builder or 'user'} model reads {shown} "
                f"and {reader}; remove it from the space, or train your own network (model_fn) that reads it",
            )

    def constraints(self, space: SearchSpace) -> list[Constraint]:
        """The constraints that keep ``space`` to the architectures this builder can build for
        the input shape; a :class:`ConfigError` (``space``) when none can be built."""
        if self.builder is None:
            return []
        return fitting_constraints(space, self.input_shape, builder=self.builder)

    def check_builds(self, space: SearchSpace) -> None:
        """Build one architecture of ``space`` (narrowed) now, so that bad model options fail
        before the search; a user's ``model_fn`` is trusted until its trials run."""
        if self.model_fn is not None:
            return
        arch = space.with_constraints(self.constraints(space)).sample(np.random.default_rng(0))
        try:
            with torch.random.fork_rng(devices=[]):  # building draws weights; leave the caller's RNG alone
                self.build(arch)
        except (ValueError, TypeError) as exc:
            raise ConfigError("model", f"cannot build a {space.name} network for this data: {exc}") from None


def resolve_space(space: SearchSpace | str | None) -> SearchSpace | None:
    """A space object for a space or a built-in space's name."""
    return builtin(space, field="space") if isinstance(space, str) else space
