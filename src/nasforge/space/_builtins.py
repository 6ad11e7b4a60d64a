"""The space registry and the built-in search spaces, available by name in configs.

The registry lives here, below :mod:`._config` (which reads it), so that no import circle
joins the two.
"""

from __future__ import annotations

from collections.abc import Callable

from .._errors import SpaceError
from ._cell import Cell
from ._domains import Choice
from ._space import Repeat, SearchSpace

BUILTIN_SPACES: dict[str, Callable[[], SearchSpace]] = {}
"""Built-in spaces by name; :func:`register_space` adds to it."""


def register_space(name: str) -> Callable[[Callable[[], SearchSpace]], Callable[[], SearchSpace]]:
    """Decorator that makes a space factory available by ``name`` in configs.

    A space made by :func:`builtin` remembers its name, so that
    :meth:`SearchSpace.to_config` stores it as that name while it is unchanged.
    """

    def wrap(factory: Callable[[], SearchSpace]) -> Callable[[], SearchSpace]:
        BUILTIN_SPACES[name] = factory
        return factory

    return wrap


def builtin(name: str, *, field: str = "space") -> SearchSpace:
    """The built-in space called ``name``.

    Example:
        >>> builtin("seed-cnn").to_config()
        'seed-cnn'
    """
    if not isinstance(name, str) or name not in BUILTIN_SPACES:
        raise SpaceError(field, f"unknown built-in space {name!r}; choose one of {sorted(BUILTIN_SPACES)}")
    space = BUILTIN_SPACES[name]()
    space.builtin = name
    return space


NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


@register_space("seed-cnn")
def seed_cnn() -> SearchSpace:
    """The classic tutorial space: Conv2d(kernel, channels) → Dense(units) → classes; 27 archs."""
    return SearchSpace(
        {"kernel": Choice([1, 3, 5]), "channels": Choice([16, 32, 64]), "units": Choice([64, 128, 256])},
        name="seed-cnn",
    )


@register_space("nasbench201")
def nasbench201() -> SearchSpace:
    """The NAS-Bench-201 cell: 4 nodes, 6 edges, 5 ops; 15,625 cells."""
    return SearchSpace({"cell": Cell(nodes=4, ops=NB201_OPS)}, name="nasbench201")


@register_space("cnn")
def cnn() -> SearchSpace:
    """A variable-depth chain CNN: 1-3 conv layers (kernel, channels, pooling, batch norm,
    activation), then a dense head (``units`` 0 = none) with dropout."""
    return _conv_chain([3, 5], name="cnn")


@register_space("mlp")
def mlp() -> SearchSpace:
    """A multilayer perceptron on flattened inputs: 1-3 dense layers (units, activation), then
    dropout before the classifier."""
    return SearchSpace(
        {
            "layers": Repeat({"units": Choice([64, 128, 256]), "activation": Choice(["relu", "gelu"])}, 1, 3),
            "dropout": Choice([0.0, 0.25]),
        },
        name="mlp",
    )


@register_space("cnn1d")
def cnn1d() -> SearchSpace:
    """A variable-depth 1-D CNN for sequences such as MNIST-1D: 1-3 conv layers (kernel,
    channels, pooling, batch norm, activation), then a dense head (``units`` 0 = none)."""
    return _conv_chain([3, 5, 7], name="cnn1d")


def _conv_chain(kernels: list[int], *, name: str) -> SearchSpace:
    """1-3 conv layers (kernel from ``kernels``, channels, pooling, batch norm, activation), then
    a dense head (``units`` 0 = none) with dropout: the shape of the ``cnn`` and ``cnn1d`` spaces."""
    return SearchSpace(
        {
            "layers": Repeat(
                {
                    "kernel": Choice(kernels),
                    "channels": Choice([16, 32, 64]),
                    "pool": Choice(["none", "max", "avg"]),
                    "batchnorm": Choice([True, False]),
                    "activation": Choice(["relu", "gelu"]),
                },
                1,
                3,
            ),
            "units": Choice([0, 64, 128]),
            "dropout": Choice([0.0, 0.25]),
        },
        name=name,
    )
