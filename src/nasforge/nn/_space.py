"""A model space written as the network: derive the :class:`SearchSpace` from the choices a
user's network asks for, and build each candidate from the same code."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

import torch
from torch import nn

from .._errors import SpaceError
from ..space import Arch, Conditional, Domain, IntRange, Repeat, SearchSpace, Value
from ._choices import Asked, Fixed, Probe

PROBE_VALUES = 32
"""A choice with at most this many values is probed for the parts of the network it switches."""

MAX_PROBES = 500
"""Most runs of the network function while deriving its space."""

MAX_NESTING = 4
"""Deepest chain of conditions (a part inside a part inside a part ...) followed while probing."""

NetworkFn = Callable[..., nn.Module]
"""``fn(c, **options) -> nn.Module`` (the network with its choices), or, with a declared space,
the plain ``build(arch, input_shape, num_classes, **options) -> nn.Module``."""


class ModelSpace:
    """A user's network with the choices inside it: both the search space and the builder.

    Write the network once as a function (or an ``nn.Module`` class) of a
    :class:`~nasforge.nn.Choices` ``c``; ``c.choice``, ``c.int``, ``c.float``, ``c.layer``,
    ``c.input_choice`` and ``c.repeat`` declare the decisions where their values are used, and
    ``if c.choice(...)`` makes a part conditional. :meth:`space` derives the
    :class:`SearchSpace` (by running the function with default values and with each value of
    every choice, recording which decisions each run asks for); calling the object as
    ``model_space(arch, input_shape, num_classes)`` builds the candidate, so it is a
    ``model_fn`` for :class:`nasforge.evaluators.Trainer`.

    Keyword options of the function (``def net(c, *, width=1.0)``) are its options: a decision
    named like one (given in ``extra``) overrides it for that trial. ``extra`` adds decisions
    that are not asked inside the network (``lr``, read by the trainer). With ``space=``, the
    function is the plain ``build(arch, input_shape, num_classes)`` form and ``space`` is its
    declared space.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> @model_space
        ... def net(c):
        ...     width = c.choice("width", [8, 16])
        ...     layers = [nn.Flatten(), nn.LazyLinear(width), c.layer("act", {"relu": nn.ReLU, "tanh": nn.Tanh})]
        ...     if c.choice("extra", [False, True]):
        ...         layers += [nn.Linear(width, width), nn.ReLU()]
        ...     return nn.Sequential(*layers, nn.Linear(width, c.num_classes))
        >>> space = net.space((1, 4, 4), 3)
        >>> space.names, space.cardinality
        (['width', 'act', 'extra'], 8)
        >>> net({"width": 8, "act": "tanh", "extra": True}, (1, 4, 4), 3)(torch.zeros(2, 1, 4, 4)).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        fn: NetworkFn,
        *,
        name: str | None = None,
        space: SearchSpace | None = None,
        extra: Mapping[str, Domain | Conditional] | None = None,
    ) -> None:
        if not callable(fn):
            raise SpaceError("nn", f"a model space needs a function or nn.Module class, got {fn!r}")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "network"))
        self.declared = space
        self.extra: dict[str, Domain | Conditional] = dict(extra or {})
        self.options = _keyword_options(fn, plain=space is not None)
        """The function's keyword options and their defaults; a decision of such a name overrides one."""
        self._spaces: dict[tuple[tuple[int, ...], int], SearchSpace] = {}
        # importable back by its name when decorated at the top level of a module
        self.__module__ = getattr(fn, "__module__", __name__)
        self.__qualname__ = getattr(fn, "__qualname__", self.name)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __repr__(self) -> str:
        return f"ModelSpace({self.name!r})"

    def __reduce__(self) -> Any:
        """Pickled by name when it is a module's attribute (as a decorated function is), so it
        travels to worker processes like the function it wraps."""
        module = sys.modules.get(self.__module__)
        found: Any = module
        for part in self.__qualname__.split("."):
            found = getattr(found, part, None)
        if found is self:
            return (_by_name, (self.__module__, self.__qualname__))
        return (_from_state, (type(self), dict(self.__dict__)))

    # -- the space ---------------------------------------------------------------------------

    def space(self, input_shape: Sequence[int], num_classes: int) -> SearchSpace:
        """The search space of this network for inputs of ``input_shape`` (one sample) and
        ``num_classes`` outputs (derived once per shape, then cached)."""
        key = (tuple(int(s) for s in input_shape), int(num_classes))
        if key not in self._spaces:
            if self.declared is not None:
                space = self.declared
                if self.extra:
                    space = SearchSpace({**space.spec, **self.extra}, constraints=space.constraints, name=space.name)
            else:
                space = derive_space(self.fn, key[0], key[1], name=self.name, extra=self.extra, options=self.options)
            self._spaces[key] = space
        return self._spaces[key]

    def reads(self, name: str) -> bool:
        """Whether the network reads the decision ``name`` (it asks for it, or it is an option);
        ``True`` for every name until a space was derived."""
        if name in self.options:
            return True
        if not self._spaces:
            return True
        for space in self._spaces.values():
            if name in space.names and (
                name not in self.extra or self.declared is not None and name in self.declared.names
            ):
                return True
        return False

    # -- building ----------------------------------------------------------------------------

    def __call__(self, arch: Mapping[str, Value], input_shape: Sequence[int], num_classes: int) -> nn.Module:
        """The network of ``arch`` (initialised from torch's global RNG)."""
        options = {**self.options, **{k: arch[k] for k in self.options if k in arch}}
        if self.declared is not None:
            return _checked(self.fn(Arch(dict(arch)), tuple(input_shape), int(num_classes), **options), self.name)
        return _checked(self.fn(Fixed(arch, input_shape, num_classes), **options), self.name)


def _from_state(cls: type[ModelSpace], state: dict[str, Any]) -> ModelSpace:
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def _by_name(module: str, qualname: str) -> ModelSpace:
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found  # type: ignore[no-any-return]


def _checked(model: Any, name: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model space {name!r} returned {type(model).__name__}, not an nn.Module")
    return model


def _keyword_options(fn: Callable[..., Any], *, plain: bool) -> dict[str, Any]:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return {}
    skip = 3 if plain else 1
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    rest = positional[skip:] + [p for p in params if p.kind is p.KEYWORD_ONLY]
    return {p.name: p.default for p in rest if p.default is not p.empty}


@overload
def model_space(fn: NetworkFn, /) -> ModelSpace: ...


@overload
def model_space(
    *,
    name: str | None = None,
    space: SearchSpace | None = None,
    extra: Mapping[str, Domain | Conditional] | None = None,
) -> Callable[[NetworkFn], ModelSpace]: ...


def model_space(
    fn: NetworkFn | None = None,
    /,
    *,
    name: str | None = None,
    space: SearchSpace | None = None,
    extra: Mapping[str, Domain | Conditional] | None = None,
) -> ModelSpace | Callable[[NetworkFn], ModelSpace]:
    """Decorator (bare, or with options) making a :class:`ModelSpace` of a network function.

    Example:
        >>> from torch import nn
        >>> from nasforge.space import Choice
        >>> @model_space(extra={"lr": Choice([1e-3, 1e-2])})
        ... def net(c):
        ...     return nn.Sequential(nn.Flatten(), nn.LazyLinear(c.choice("units", [16, 32])), nn.ReLU(),
        ...                          nn.LazyLinear(c.num_classes))
        >>> net.space((4,), 2).names
        ['units', 'lr']
    """

    def wrap(f: NetworkFn) -> ModelSpace:
        return ModelSpace(f, name=name, space=space, extra=extra)

    return wrap(fn) if fn is not None else wrap


# -- deriving the space -------------------------------------------------------------------------


class _Prober:
    """Runs the network function under forced values and keeps what each run asked."""

    def __init__(self, fn: NetworkFn, shape: tuple[int, ...], classes: int, options: Mapping[str, Any]) -> None:
        self.fn, self.shape, self.classes, self.options = fn, shape, classes, dict(options)
        self.runs = 0
        self.meta = True

    def run(self, force: Mapping[str, Value]) -> Probe:
        self.runs += 1
        if self.runs > MAX_PROBES:
            raise SpaceError("nn", f"deriving the space ran the network {MAX_PROBES} times; it has too many switches "
                                   "(choices that change which other choices exist) to probe")  # fmt: skip
        probe = Probe(self.shape, self.classes, force)
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            if self.meta:
                try:
                    with torch.device("meta"):  # no memory, no initialisation: only the choices matter
                        self.fn(probe, **self.options)
                    return probe
                except Exception:  # noqa: BLE001 - some code cannot run on the meta device; run it for real
                    self.meta = False
                    probe = Probe(self.shape, self.classes, force)
            self.fn(probe, **self.options)
        return probe


def derive_space(
    fn: NetworkFn,
    input_shape: Sequence[int],
    num_classes: int,
    *,
    name: str = "network",
    extra: Mapping[str, Domain | Conditional] | None = None,
    options: Mapping[str, Any] | None = None,
) -> SearchSpace:
    """The :class:`SearchSpace` of the network function ``fn`` (see :class:`ModelSpace`).

    The function runs with every decision at its default value (a repeat at its largest
    depth), then, for each choice of at most :data:`PROBE_VALUES` values, once with each other
    value: a decision asked only under some values of a choice becomes conditional on it (for
    chains of conditions, the nearest switch is the parent); the decisions asked inside
    ``c.repeat`` become the repeat's block, per layer. Integer and float ranges are taken not
    to switch parts. Errors are :class:`SpaceError` naming the decision.
    """
    shape = tuple(int(s) for s in input_shape)
    prober = _Prober(fn, shape, int(num_classes), options or {})
    try:
        base = prober.run({})
    except SpaceError:
        raise
    except Exception as exc:
        raise SpaceError("nn", f"running the network {name!r} with its default choices failed: "
                               f"{type(exc).__name__}: {exc}") from exc  # fmt: skip
    asked: dict[str, Asked] = dict(base.asked)
    repeats: dict[str, tuple[int, int]] = dict(base.repeats)
    order: list[str] = list(base.asked)
    presence: dict[str, dict[str, set[Value]]] = {}  # x -> {switch: values of the switch under which x is asked}
    varies: dict[str, list[str]] = {}  # x -> the switches that change whether x is asked (in order)

    def explore(force: dict[str, Value], present: list[str], probe: list[str], depth: int) -> None:
        """Probe each decision of ``probe`` (asked in the run under ``force``, which asked ``present``)."""
        for d in probe:
            a = asked[d]
            if d in force or d in repeats or (a.layer or 0) > 0 or a.domain.size > PROBE_VALUES:
                continue
            current = a.domain.default
            seen: dict[Value, list[str]] = {current: present}
            for value in a.domain.values():
                if value == current:
                    continue
                try:
                    run = prober.run({**force, d: value})
                except SpaceError:
                    raise
                except Exception as exc:
                    raise SpaceError(f"nn.{d}", f"running the network with {d}={value!r} failed: "
                                                f"{type(exc).__name__}: {exc}") from exc  # fmt: skip
                names = list(run.asked)
                seen[value] = names
                for x in names:
                    if x not in asked:
                        asked[x] = run.asked[x]
                        earlier = [n for n in names[: names.index(x)] if n in order]
                        order.insert(max((order.index(n) for n in earlier), default=-1) + 1, x)
                    if x in run.repeats:
                        repeats.setdefault(x, run.repeats[x])
            union = {x for names in seen.values() for x in names}
            for x in union:
                if x == d:
                    continue
                where = {v for v, names in seen.items() if x in names}
                if len(where) < len(seen):
                    presence.setdefault(x, {})[d] = where
                    varies.setdefault(x, []).append(d)
            if depth < MAX_NESTING:
                for value, names in seen.items():
                    if value == current:
                        continue
                    new = [x for x in names if x not in present]
                    if new:
                        explore({**force, d: value}, names, new, depth + 1)

    explore({}, order.copy(), order.copy(), 1)
    return _assemble(name, order, asked, repeats, presence, varies, dict(extra or {}))


def _assemble(
    name: str,
    order: list[str],
    asked: dict[str, Asked],
    repeats: dict[str, tuple[int, int]],
    presence: dict[str, dict[str, set[Value]]],
    varies: dict[str, list[str]],
    extra: dict[str, Domain | Conditional],
) -> SearchSpace:
    def parent_of(x: str) -> tuple[str, tuple[Value, ...]] | None:
        switches = varies.get(x)
        if not switches:
            return None
        nearest = max(switches, key=order.index)  # a chain d -> e -> x: x hangs on e
        values = asked[nearest].domain.values()
        return nearest, tuple(v for v in values if v in presence[x][nearest])

    spec: dict[str, Domain | Conditional | Repeat] = {}
    for x in order:
        a = asked[x]
        cond = parent_of(x)
        if x in repeats:
            if cond is not None:
                raise SpaceError(f"nn.{x}", f"a repeat exists only for some values of {cond[0]!r}; a repeat must "
                                            "always exist (put the switch inside the repeat)")  # fmt: skip
            low, high = repeats[x]
            block: dict[str, Domain | Conditional] = {}
            for y in order:
                b = asked[y]
                if b.repeat != x or b.local is None or b.local in block and b.layer != 0:
                    continue
                inner = parent_of(y) if b.layer == 0 else None
                if inner is None:
                    block.setdefault(b.local, b.domain)
                    continue
                switch = asked[inner[0]]
                if switch.repeat != x or switch.layer != 0:
                    raise SpaceError(f"nn.{y}", f"depends on {inner[0]!r}, outside its layer of the repeat {x!r}; "
                                                "a part of a repeated layer may only switch on a choice of the same layer")  # fmt: skip
                block[b.local] = Conditional(b.domain, parent=str(switch.local), values=inner[1])
            if not block:  # a depth with nothing chosen per layer: an integer decision
                spec[x] = IntRange(low, high)
                continue
            spec[x] = Repeat(block, low, high)
            continue
        if a.repeat is not None:
            continue
        if cond is None:
            spec[x] = a.domain
        else:
            if asked[cond[0]].repeat is not None:
                raise SpaceError(f"nn.{x}", f"depends on {cond[0]!r}, a choice inside a repeat; "
                                            "move it into the repeat's body")  # fmt: skip
            spec[x] = Conditional(a.domain, parent=cond[0], values=cond[1])
    for key, item in extra.items():
        if key in spec:
            raise SpaceError(f"nn.extra.{key}", "is also asked inside the network; declare it in one place")
        spec[key] = item
    if not spec:
        raise SpaceError("nn", f"the network {name!r} asks for no decision; add c.choice(...) where a value is chosen")
    return SearchSpace(spec, name=name)
