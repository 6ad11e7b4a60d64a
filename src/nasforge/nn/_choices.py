"""The choices a user writes inside their PyTorch network, and the three ways of answering them:
probing (to derive the space), building one architecture, and (later) a supernet."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._errors import SpaceError
from ..space import Choice, Domain, FloatRange, IntRange, Value


@dataclass(frozen=True)
class Asked:
    """One decision as the network asked for it: its full name, its domain, and the repeat
    (and layer) it was asked in."""

    name: str
    domain: Domain
    repeat: str | None = None
    layer: int | None = None
    local: str | None = None


Candidate = nn.Module | Callable[[], nn.Module]
"""A candidate of a layer choice: a module, or a function (or class) that makes one when chosen."""


class Choices(ABC):
    """What a model-space function receives: ``c.choice``, ``c.int``, ``c.float``, ``c.layer``,
    ``c.input_choice`` and ``c.repeat`` declare a decision where its value is used, and return
    the value of the architecture being built. ``c.input_shape`` (one sample, no batch) and
    ``c.num_classes`` (outputs) describe the data.

    Names are the decisions' names in the derived space; inside ``c.repeat("blocks", ...)`` they
    are prefixed with the layer (``blocks.0.units``). Asking the same name twice gives the same
    decision (the value is shared), provided the values are the same.

    Three kinds answer the choices: probing with the default values (how the space is derived,
    :func:`nasforge.nn.derive_space`), building one architecture (:class:`Fixed`), and — the
    seam for a one-shot search — a supernet that would return, for :meth:`layer`, a module
    holding every candidate with shared weights, and for a width, its largest value. Subclasses
    implement :meth:`decide` (and :meth:`pick_layer` / :meth:`depth` where they differ).
    """

    def __init__(self, input_shape: Sequence[int], num_classes: int) -> None:
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)
        self._prefix: list[tuple[str, int]] = []

    # -- what a subclass answers --------------------------------------------------------------

    @abstractmethod
    def decide(self, asked: Asked) -> Value:
        """The value of the decision ``asked``."""

    def depth(self, name: str, low: int, high: int) -> int:
        """The number of layers of the repeat ``name`` (a decision itself)."""
        return int(self.decide(self._asked(name, IntRange(low, high))))

    def pick_layer(self, asked: Asked, candidates: Mapping[Value, Candidate]) -> nn.Module:
        """The module of the layer choice ``asked``: the chosen candidate."""
        return _instantiate(candidates[self.decide(asked)], asked.name)

    # -- what the user calls ------------------------------------------------------------------

    def choice(self, name: str, values: Sequence[Value]) -> Any:
        """One of ``values`` (numbers, strings or booleans): a width, a kernel size, a switch
        that makes a part of the network conditional (``if c.choice("bn", [False, True]):``)."""
        return self.decide(self._asked(name, Choice(list(values))))

    def int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        """An integer in ``[low, high]`` (a width, a number of heads)."""
        return int(self.decide(self._asked(name, IntRange(low, high, step=step, log=log))))

    def float(self, name: str, low: builtins.float, high: builtins.float, *, log: bool = False) -> builtins.float:
        """A number in ``[low, high]`` (a dropout rate; a learning rate, read by the trainer)."""
        return float(self.decide(self._asked(name, FloatRange(low, high, log=log))))

    def layer(self, name: str, candidates: Mapping[str, Candidate] | Sequence[Candidate]) -> nn.Module:
        """A layer choice: one of several modules (``{"conv3": nn.Conv2d(...), "pool": nn.MaxPool2d(2)}``).

        A candidate may be a module or a function (or class) that makes one, so that only the
        chosen one is built (``{"relu": nn.ReLU, "gelu": nn.GELU}``). The decision's values are
        the keys of a mapping, or the positions in a list.
        """
        if isinstance(candidates, Mapping):
            table: dict[Value, Candidate] = {k: cand for k, cand in candidates.items()}
        else:
            table = dict(enumerate(candidates))
        if not table:
            raise SpaceError(self._full(name), "a layer choice needs at least one candidate")
        return self.pick_layer(self._asked(name, Choice(list(table), ordered=False)), table)

    def input_choice(self, name: str, n_candidates: builtins.int) -> InputChoice:
        """An input choice: a module that, given a list of ``n_candidates`` tensors in its
        forward pass, returns the chosen one (e.g. which earlier feature map a skip connection
        reads)."""
        if n_candidates < 1:
            raise SpaceError(self._full(name), f"an input choice needs at least one candidate, got {n_candidates}")
        index = self.decide(self._asked(name, Choice(list(range(n_candidates)), ordered=False)))
        return InputChoice(int(index), n_candidates)

    def repeat(self, name: str, low: builtins.int, high: builtins.int) -> Iterator[builtins.int]:
        """Depth: ``for i in c.repeat("blocks", 1, 4): ...`` runs the body ``low..high`` times
        (the depth is a decision named ``name``); decisions asked in the body are per layer
        (``blocks.0.units``, ``blocks.1.units``, ...)."""
        if self._prefix:
            raise SpaceError(self._full(name), "a repeat inside a repeat is not supported; flatten the depth")
        full = self._full(name)
        count = self.depth(full, low, high)
        for k in range(count):
            self._prefix.append((full, k))
            try:
                yield k
            finally:
                self._prefix.pop()

    # -- naming --------------------------------------------------------------------------------

    def _full(self, name: str) -> str:
        if not isinstance(name, str) or not name or "." in name:
            raise SpaceError("nn", f"a decision's name must be a non-empty string without dots, got {name!r}")
        if self._prefix:
            repeat, k = self._prefix[-1]
            return f"{repeat}.{k}.{name}"
        return name

    def _asked(self, name: str, domain: Domain) -> Asked:
        full = self._full(name)
        if self._prefix:
            repeat, k = self._prefix[-1]
            return Asked(full, domain, repeat, k, name)
        return Asked(full, domain)


def _instantiate(candidate: Candidate, name: str) -> nn.Module:
    module = candidate if isinstance(candidate, nn.Module) else candidate()
    if not isinstance(module, nn.Module):
        raise TypeError(f"layer choice {name!r}: the candidate made a {type(module).__name__}, not an nn.Module")
    return module


class InputChoice(nn.Module):
    """The module of :meth:`Choices.input_choice`: ``forward([t0, t1, ...])`` returns ``t[index]``."""

    def __init__(self, index: int, n_candidates: int) -> None:
        super().__init__()
        self.index = index
        self.n_candidates = n_candidates

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(inputs) != self.n_candidates:
            raise ValueError(f"input choice expects {self.n_candidates} inputs, got {len(inputs)}")
        return inputs[self.index]

    def extra_repr(self) -> str:
        return f"index={self.index}, n_candidates={self.n_candidates}"


class Fixed(Choices):
    """Answers every choice from one architecture (building a candidate)."""

    def __init__(self, arch: Mapping[str, Value], input_shape: Sequence[int], num_classes: int) -> None:
        super().__init__(input_shape, num_classes)
        self.arch = arch

    def decide(self, asked: Asked) -> Value:
        if asked.name not in self.arch:
            raise SpaceError(
                f"arch.{asked.name}",
                "the network asked for this decision, but the architecture has none: it is not active in the space "
                "derived from the network (does a part of the network depend on two decisions at once?)",
            )
        return self.arch[asked.name]


class Probe(Choices):
    """Answers every choice with its default value, or the value ``force`` gives, and records
    what was asked (in order); a repeat takes its largest depth unless forced."""

    def __init__(self, input_shape: Sequence[int], num_classes: int, force: Mapping[str, Value] | None = None) -> None:
        super().__init__(input_shape, num_classes)
        self.force = dict(force or {})
        self.asked: dict[str, Asked] = {}
        self.repeats: dict[str, tuple[int, int]] = {}

    def decide(self, asked: Asked) -> Value:
        seen = self.asked.get(asked.name)
        if seen is not None and seen.domain.to_config() != asked.domain.to_config():
            raise SpaceError(
                f"nn.{asked.name}",
                f"is asked twice with different values ({seen.domain.to_config()} and {asked.domain.to_config()}); "
                "give each decision its own name",
            )
        self.asked.setdefault(asked.name, asked)
        return self.force.get(asked.name, asked.domain.default)

    def depth(self, name: str, low: int, high: int) -> int:
        self.repeats[name] = (low, high)
        self.asked.setdefault(name, Asked(name, IntRange(low, high)))
        return int(self.force.get(name, high))


# -- one-shot: a supernet's answers -------------------------------------------------------------


class PathSelector:
    """The path a weight-sharing supernet runs: one architecture, set before each forward pass
    and read by every :class:`LayerChoice` and :class:`InputSelect` built with it."""

    def __init__(self) -> None:
        self.path: Mapping[str, Value] = {}

    def value(self, name: str) -> Value:
        """The path's value of the decision ``name``."""
        if name not in self.path:
            raise KeyError(f"the supernet's path has no value for decision {name!r}; set a path first")
        return self.path[name]


class LayerChoice(nn.Module):
    """A layer choice of a supernet: every candidate module, with its own weights, kept once;
    the forward pass runs the one the current path picks. Two paths that pick the same
    candidate run the same module (its weights are shared)."""

    def __init__(self, name: str, candidates: Mapping[Value, nn.Module], selector: PathSelector) -> None:
        super().__init__()
        self.name = name
        self.keys: dict[Value, str] = {value: f"c{i}" for i, value in enumerate(candidates)}
        self.candidates = nn.ModuleDict({self.keys[v]: m for v, m in candidates.items()})
        self.selector = selector

    def chosen(self) -> nn.Module:
        """The candidate of the current path."""
        return self.candidates[self.keys[self.selector.value(self.name)]]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.chosen()(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, candidates={list(self.keys)!r}"


class InputSelect(InputChoice):
    """An input choice of a supernet: ``forward([t0, t1, ...])`` returns the tensor the current
    path picks."""

    def __init__(self, name: str, n_candidates: int, selector: PathSelector) -> None:
        super().__init__(-1, n_candidates)
        self.name = name
        self.selector = selector

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(inputs) != self.n_candidates:
            raise ValueError(f"input choice expects {self.n_candidates} inputs, got {len(inputs)}")
        return inputs[int(self.selector.value(self.name))]  # type: ignore[call-overload]


class Shared(Choices):
    """Answers the choices while building a weight-sharing supernet: a layer choice (or input
    choice) named in ``shared`` becomes a :class:`LayerChoice` (:class:`InputSelect`) holding
    every candidate, switched by ``selector`` at run time; every other decision (widths,
    kernels, switches, depths) takes its value from ``fixed``: one build per combination of
    those values (per-value modules)."""

    def __init__(
        self,
        fixed: Mapping[str, Value],
        shared: frozenset[str],
        selector: PathSelector,
        input_shape: Sequence[int],
        num_classes: int,
    ) -> None:
        super().__init__(input_shape, num_classes)
        self.fixed = fixed
        self.shared = shared
        self.selector = selector

    def decide(self, asked: Asked) -> Value:
        if asked.name not in self.fixed:
            raise SpaceError(f"arch.{asked.name}", "the network asked for this decision, but the path has none")
        return self.fixed[asked.name]

    def pick_layer(self, asked: Asked, candidates: Mapping[Value, Candidate]) -> nn.Module:
        if asked.name not in self.shared:
            return super().pick_layer(asked, candidates)
        return LayerChoice(
            asked.name, {v: _instantiate(cand, asked.name) for v, cand in candidates.items()}, self.selector
        )

    def input_choice(self, name: str, n_candidates: builtins.int) -> InputChoice:
        full = self._full(name)
        if full not in self.shared:
            return super().input_choice(name, n_candidates)
        return InputSelect(full, n_candidates, self.selector)


class KindProbe(Probe):
    """A :class:`Probe` that also records which decisions are layer choices and input choices
    (those a supernet can share across), and runs a repeat at its forced depth."""

    def __init__(self, input_shape: Sequence[int], num_classes: int, force: Mapping[str, Value] | None = None) -> None:
        super().__init__(input_shape, num_classes, force)
        self.switched: set[str] = set()

    def pick_layer(self, asked: Asked, candidates: Mapping[Value, Candidate]) -> nn.Module:
        self.switched.add(asked.name)
        return super().pick_layer(asked, candidates)

    def input_choice(self, name: str, n_candidates: builtins.int) -> InputChoice:
        self.switched.add(self._full(name))
        return super().input_choice(name, n_candidates)
