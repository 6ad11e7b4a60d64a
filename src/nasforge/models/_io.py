"""The best model on disk: ``RUN_DIR/best/`` (arch.json, safetensors weights, summary, ONNX)."""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model as _load_weights
from safetensors.torch import save_model as _save_weights
from torch import nn

from .._errors import ConfigError
from .._refs import import_ref
from ..space import Arch
from ._profile import materialize, summary
from ._registry import build_model
from ._scaled import Standardized

BEST_DIR = "best"
ARCH_FILE = "arch.json"
WEIGHTS_FILE = "model.safetensors"
SUMMARY_FILE = "summary.txt"
ONNX_FILE = "model.onnx"
CUSTOM = "custom"
"""The ``space`` recorded for a model built by a user's function (rebuilt with ``builder=``)."""


def onnx_available() -> bool:
    """Whether ONNX export can run (it needs the ``onnx`` package: ``pip install nasforge[onnx]``)."""
    return importlib.util.find_spec("onnx") is not None


def best_dir(path: str | os.PathLike[str]) -> Path:
    """The ``best/`` folder of a run directory (or ``path`` itself if it is one)."""
    p = Path(path)
    return p if (p / ARCH_FILE).is_file() or p.name == BEST_DIR else p / BEST_DIR


def save_model(model: nn.Module, directory: str | os.PathLike[str], *, space: str, arch: Mapping[str, Any],
               input_shape: Sequence[int], num_classes: int, model_options: Mapping[str, Any] | None = None,
               info: Mapping[str, Any] | None = None, summary_header: Sequence[str] = ()) -> list[Path]:  # fmt: skip
    """Write ``arch.json`` (what is needed to rebuild the network, plus ``info``), the weights
    (``model.safetensors``) and ``summary.txt`` into ``directory``; returns the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    record = {
        "space": space,
        "arch": dict(arch),
        "input_shape": [int(s) for s in input_shape],
        "num_classes": int(num_classes),
        "model_options": dict(model_options or {}),
        **dict(info or {}),
    }
    arch_path, weights_path, summary_path = out / ARCH_FILE, out / WEIGHTS_FILE, out / SUMMARY_FILE
    _save_weights(model, str(weights_path))
    text = "\n".join([*summary_header, summary(model, input_shape)]) + "\n"
    summary_path.write_text(text)
    tmp = arch_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(arch_path)
    return [arch_path, weights_path, summary_path]


def read_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``arch.json`` of a run directory or ``best/`` folder."""
    folder = best_dir(path)
    arch_path = folder / ARCH_FILE
    if not arch_path.is_file():
        raise ConfigError("run_dir", f"{str(path)!r} holds no best model ({arch_path} is missing); finish a search with a "
                                     "training evaluator first")  # fmt: skip
    try:
        record = json.loads(arch_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError("run_dir", f"cannot read {arch_path}: {exc}") from None
    for key in ("space", "arch", "input_shape", "num_classes"):
        if key not in record:
            raise ConfigError("run_dir", f"{arch_path} lacks {key!r}")
    return dict(record)


def load_model(path: str | os.PathLike[str], *, builder: Callable[..., nn.Module] | None = None,
               device: str | torch.device = "cpu") -> nn.Module:  # fmt: skip
    """The best network of a run (``RUN_DIR`` or ``RUN_DIR/best``) with its trained weights, in
    eval mode.

    ``arch.json`` records the space's name (``space``) and what built the network
    (``builder``): a built-in builder's name, a user model's ``module:qualname`` (imported
    back here, so nothing needs to be passed), or ``custom`` for a function that cannot be
    imported by name (a lambda, a function of ``__main__``): then pass it as ``builder``,
    called as ``builder(arch, input_shape, num_classes)``. Lazy modules are materialized
    before the weights are loaded.

    Example:
        >>> model = load_model("runs/seed-cnn")  # doctest: +SKIP
        >>> model(torch.zeros(1, 1, 8, 8)).argmax(1)  # doctest: +SKIP
    """
    record = read_record(path)
    arch = Arch(record["arch"])
    shape = tuple(record["input_shape"])
    made_by = str(record.get("builder", record["space"]))
    if builder is None and made_by != CUSTOM and ":" in made_by:
        builder = import_ref(made_by, record.get("builder_path", "."), "builder")
    if builder is not None:
        model = builder(arch, shape, record["num_classes"])
    elif made_by == CUSTOM:
        raise ConfigError(
            "builder",
            f"the best model of {str(path)!r} (space {record['space']!r}) was built by a model function that cannot be "
            "imported by name (a lambda or a function of __main__); pass that function as builder=",
        )
    else:
        model = build_model(made_by, arch, shape, record["num_classes"], **record.get("model_options", {}))
    model = materialize(model, shape)
    if record.get("standardize"):
        model = Standardized.empty(model, shape, regression=record.get("task") == "regression")
    weights = best_dir(path) / WEIGHTS_FILE
    if not weights.is_file():
        raise ConfigError("run_dir", f"{weights} is missing")
    _load_weights(model, str(weights), strict=True)
    return model.to(device).eval()


def export_onnx(model: nn.Module, input_shape: Sequence[int], path: str | os.PathLike[str]) -> Path:
    """Write ``model`` as ONNX to ``path``: input ``input`` with a free batch axis, output
    ``logits``. Uses torch's TorchScript-based exporter (``dynamo=False``, no onnxscript
    needed); needs the ``onnx`` package."""
    if not onnx_available():
        raise ConfigError("format", "ONNX export needs the onnx package: pip install 'nasforge[onnx]'")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    x = torch.zeros(1, *(int(s) for s in input_shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (x,), str(out), dynamo=False, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )  # fmt: skip
    import onnx

    onnx.checker.check_model(onnx.load(str(out)))
    return out
