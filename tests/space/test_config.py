"""Spaces from YAML/JSON data: same model as the Python API, errors that name the path."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from nasforge import SpaceError
from nasforge.space import Choice, FloatRange, IntRange, SearchSpace, builtin, from_config

YAML = """
decisions:
  kernel: {choice: [1, 3, 5]}
  lr: {float: [1.0e-4, 1.0e-1], log: true}
  depth: {int: [1, 4]}
  opt: {choice: [sgd, adam]}
  momentum: {float: [0.0, 0.99], when: {opt: [sgd]}}
  layers:
    repeat: {min: 1, max: 3}
    block:
      channels: {choice: [16, 32]}
      pool: {choice: [none, max]}
      pool_size: {choice: [2, 3], when: {pool: [max]}}
  cell: {cell: {nodes: 3, ops: [none, skip_connect, conv]}}
constraints:
  - "kernel <= 3 or depth <= 2"
  - "layers.0.channels >= 32 or not has(layers.1.channels)"
"""


def test_yaml_space_has_every_decision_type() -> None:
    space = from_config(yaml.safe_load(YAML))
    g = np.random.default_rng(0)
    for _ in range(300):
        a = space.sample(g)
        assert a["kernel"] <= 3 or a["depth"] <= 2
        assert ("momentum" in a) == (a["opt"] == "sgd")
        for k in range(int(a["layers"])):
            assert (f"layers.{k}.pool_size" in a) == (a[f"layers.{k}.pool"] == "max")
        if "layers.1.channels" in a:
            assert a["layers.0.channels"] >= 32
        assert {"cell.0-1", "cell.0-2", "cell.1-2"} <= set(a)


def test_yaml_and_python_api_build_the_same_space() -> None:
    data = {"decisions": {"k": {"choice": [1, 3]}, "d": {"int": [1, 4], "step": 3}, "lr": {"float": [0.1, 1.0], "grid": 2}}}
    a = from_config(data)
    b = SearchSpace({"k": Choice([1, 3]), "d": IntRange(1, 4, step=3), "lr": FloatRange(0.1, 1.0, grid=2)})
    assert list(a.enumerate()) == list(b.enumerate())
    assert a.cardinality == b.cardinality == 8


@pytest.mark.parametrize(
    "data, field",
    [
        ({"decisions": {"kernel": {"choice": []}}}, "space.decisions.kernel.choice: must be a non-empty list"),
        ({"decisions": {"kernel": {"choise": [1]}}}, "space.decisions.kernel: needs exactly one of"),
        ({"decisions": {"kernel": {"choice": [1], "size": 3}}}, "space.decisions.kernel.size: unknown key"),
        ({"decisions": {"d": {"int": [4, 1]}}}, "space.decisions.d.int: low <= high must hold"),
        ({"decisions": {"d": {"int": [1]}}}, r"space.decisions.d.int: must be a list \[low, high\]"),
        ({"decisions": {"m": {"float": [0, 1], "when": {"opt": ["sgd"]}}}}, "space.decisions.m.when: names 'opt'"),
        ({"decisions": {"l": {"repeat": {"min": 3, "max": 1}, "block": {"w": {"choice": [1]}}}}}, "space.decisions.l.repeat"),
        ({"decisions": {"c": {"cell": {"nodes": 4, "ops": []}}}}, "space.decisions.c.cell.ops"),
        ({"decisions": {"k": {"choice": [1]}}, "constraints": ["k <"]}, r"space.constraints\[0\]: cannot parse"),
        ({"decisions": {"k": {"choice": [1]}}, "constraints": ["q > 1"]}, r"space.constraints\[0\]: .*names 'q'"),
        ({"decisions": {"k": {"choice": [1]}}, "constraints": ["__import__('os')"]}, r"space.constraints\[0\]"),
        ({"decisions": {"k": {"choice": [1]}}, "extra": 1}, "space.extra: unknown key"),
        ("no-such-space", "space: unknown built-in space 'no-such-space'"),
    ],
)
def test_bad_space_config_names_the_path(data, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpaceError, match=field):
        from_config(data)


def test_builtins_by_name() -> None:
    assert builtin("seed-cnn").cardinality == 27
    assert builtin("nasbench201").cardinality == 15625
    cnn = builtin("cnn")
    a = cnn.sample(np.random.default_rng(0))
    assert 1 <= a["layers"] <= 3
    assert from_config({"builtin": "seed-cnn", "constraints": ["kernel > 1"]}).cardinality == 18
