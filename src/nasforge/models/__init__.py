"""Model builders: turn an architecture of a built-in space into a ``torch.nn.Module``, and
measure what it costs.

The data-shape rules of each space are constraints (:func:`input_constraints`), so a search
never samples an architecture that cannot be built; each builder declares which decisions it
reads (``register_model(..., reads=...)``), so that a decision nothing reads is refused.
:class:`Network` (a builder with its options, or a user's ``model_fn``, for one input shape)
is what the trainer and the proxy evaluator share: its ``constraints(space)`` is the hook by
which the study narrows the space.

Example:
    >>> import torch
    >>> from nasforge.models import build_model, profile
    >>> arch = {"kernel": 3, "channels": 16, "units": 64}
    >>> model = build_model("seed-cnn", arch, input_shape=(1, 8, 8), num_classes=10)
    >>> model(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    >>> profile(model, (1, 8, 8), latency=False).params
    37738
"""

from ._chain import ACTIVATIONS, ChainFits, KernelFits, NeverFits, activation, conv_chain, layout
from ._io import (
    ARCH_FILE,
    BEST_DIR,
    CUSTOM,
    ONNX_FILE,
    SUMMARY_FILE,
    WEIGHTS_FILE,
    best_dir,
    export_onnx,
    load_model,
    onnx_available,
    read_record,
    save_model,
)
from ._nb201 import CellBlock, CellNetwork, ReLUConvBN, ResidualReduction, cell_op
from ._network import ModelFn, Network, arch_seed
from ._profile import Profile, count_flops, count_params, has_lazy, materialize, measure_latency, profile, summary
from ._registry import (
    MODEL_BUILDERS,
    ModelBuilder,
    build_model,
    check_model_options,
    fit_space,
    fitting_constraints,
    get_builder,
    input_constraints,
    register_model,
)
from ._scaled import Standardized
from ._supernet import (
    MAX_STRUCTURES,
    SUPERNETS,
    CellSupernet,
    ChainSupernet,
    MLPSupernet,
    ModelSupernet,
    SeedSupernet,
    SlicedBatchNorm,
    SlicedConv,
    SlicedLinear,
    Supernet,
    build_supernet,
    recalibrate,
    register_supernet,
)

__all__ = [
    "ACTIVATIONS",
    "ARCH_FILE",
    "BEST_DIR",
    "CUSTOM",
    "MAX_STRUCTURES",
    "MODEL_BUILDERS",
    "ONNX_FILE",
    "SUMMARY_FILE",
    "SUPERNETS",
    "WEIGHTS_FILE",
    "CellBlock",
    "CellNetwork",
    "CellSupernet",
    "ChainFits",
    "ChainSupernet",
    "KernelFits",
    "MLPSupernet",
    "ModelBuilder",
    "ModelFn",
    "ModelSupernet",
    "Network",
    "NeverFits",
    "Profile",
    "ReLUConvBN",
    "ResidualReduction",
    "SeedSupernet",
    "SlicedBatchNorm",
    "SlicedConv",
    "SlicedLinear",
    "Standardized",
    "Supernet",
    "activation",
    "arch_seed",
    "best_dir",
    "build_model",
    "build_supernet",
    "cell_op",
    "check_model_options",
    "conv_chain",
    "count_flops",
    "count_params",
    "export_onnx",
    "fit_space",
    "fitting_constraints",
    "get_builder",
    "has_lazy",
    "input_constraints",
    "layout",
    "load_model",
    "materialize",
    "measure_latency",
    "onnx_available",
    "profile",
    "read_record",
    "recalibrate",
    "register_model",
    "register_supernet",
    "save_model",
    "summary",
]
