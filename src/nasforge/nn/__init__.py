"""A model space written as the network: put the choices inside your PyTorch code, and nasforge
derives the search space from it and builds each candidate from it.

Like Keras Tuner's ``HyperModel.build(hp)`` and NNI's ``LayerChoice`` / ``InputChoice`` /
value choices, the network is written once. Decisions are declared where their values are
used: ``c.choice`` (a width, a kernel size, a switch), ``c.int`` / ``c.float``, ``c.layer`` (one
of several modules), ``c.input_choice`` (which input a connection reads), ``c.repeat`` (depth);
``if c.choice(...):`` makes a part conditional. The derived space is an ordinary
:class:`nasforge.SearchSpace`: every strategy searches it. The same :class:`Choices` protocol is
the seam for a one-shot search: a supernet answers ``c.layer`` with all candidates at once
(:class:`Shared`, :class:`LayerChoice`; see :func:`nasforge.models.build_supernet`).

Example:
    >>> import torch
    >>> from torch import nn
    >>> import nasforge.nn as nf
    >>> @nf.model_space
    ... def net(c):
    ...     ch = c.choice("channels", [8, 16])
    ...     layers = [nn.Conv2d(c.input_shape[0], ch, c.choice("kernel", [3, 5]), padding="same"), nn.ReLU()]
    ...     for _ in c.repeat("blocks", 0, 2):
    ...         layers += [nn.Conv2d(ch, ch, 3, padding=1), c.layer("act", {"relu": nn.ReLU, "gelu": nn.GELU})]
    ...     return nn.Sequential(*layers, nn.Flatten(), nn.LazyLinear(c.num_classes))
    >>> space = net.space((1, 8, 8), 10)
    >>> space.names
    ['channels', 'kernel', 'blocks', 'blocks.0.act', 'blocks.1.act']
    >>> model = net({"channels": 8, "kernel": 3, "blocks": 1, "blocks.0.act": "gelu"}, (1, 8, 8), 10)
    >>> model(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
"""

from ._choices import (
    Asked,
    Choices,
    Fixed,
    InputChoice,
    InputSelect,
    KindProbe,
    LayerChoice,
    PathSelector,
    Probe,
    Shared,
)
from ._space import MAX_PROBES, PROBE_VALUES, ModelSpace, NetworkFn, derive_space, model_space

__all__ = [
    "MAX_PROBES",
    "PROBE_VALUES",
    "Asked",
    "Choices",
    "Fixed",
    "InputChoice",
    "InputSelect",
    "KindProbe",
    "LayerChoice",
    "ModelSpace",
    "NetworkFn",
    "PathSelector",
    "Probe",
    "Shared",
    "derive_space",
    "model_space",
]
