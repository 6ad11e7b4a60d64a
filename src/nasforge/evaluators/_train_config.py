"""``evaluator: {dataset: ...}`` in configs: real training with :class:`Trainer`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ..config import Built, check_keys, register_evaluator
from ..data import TEST_FRACTION, load_dataset
from ..data._dataset import check_fraction
from ..space import SearchSpace

TRAINER_KEYS = {
    "epochs", "folds", "validation", "batch_size", "optimizer", "lr", "weight_decay", "momentum", "early_stopping",
    "fidelity", "seed", "device", "threads", "time_limit", "model", "measure_latency",
}  # fmt: skip


@register_evaluator("dataset")
def build_trainer(data: Mapping[str, Any], space: SearchSpace, base: Path) -> Built:
    """Build a :class:`nasforge.evaluators.Trainer` from its config, e.g.
    ``{dataset: digits, folds: 3, epochs: 5}``, ``{dataset: {csv: data.csv, target: label}}``.

    ``seed`` (default 0) fixes the test split, the validation folds and the initialisation of
    every trial, independently of the search seed, so that searches with different seeds or
    strategies are compared on the same data. ``test_fraction`` (default 0.2) is the share of
    the data set aside for the final test. The space is narrowed to the architectures that fit
    the data's shape; default objective ``{accuracy: maximize}``. With ``proxy:`` the networks
    are scored untrained by zero-cost proxies instead (see ``_proxy_config``).
    """
    if "proxy" in data:
        from ._proxy_config import build_proxy_evaluator

        return build_proxy_evaluator(data, space, base)
    check_keys(data, {"dataset", "test_fraction", *TRAINER_KEYS}, "evaluator")
    from ._trainer import Trainer  # torch is imported only when a config trains

    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("evaluator.seed", f"must be a non-negative integer, got {seed!r}")
    test_fraction = check_fraction(data.get("test_fraction", TEST_FRACTION), "evaluator.test_fraction")
    dataset = load_dataset(data["dataset"], base=base, test_fraction=test_fraction, seed=seed)
    options = {k: v for k, v in data.items() if k in TRAINER_KEYS and k != "model"}
    model_options = data.get("model", {})
    if not isinstance(model_options, Mapping):
        raise ConfigError(
            "evaluator.model", f"must map model options to values, e.g. {{C: 16, N: 1}}, got {model_options!r}"
        )
    try:
        trainer = Trainer(dataset, space=space, model_options=dict(model_options), **options)
    except TypeError as exc:
        raise ConfigError("evaluator", f"bad trainer options: {exc}") from None
    assert trainer.space is not None
    return Built(trainer, trainer.space, {"accuracy": "maximize"})
